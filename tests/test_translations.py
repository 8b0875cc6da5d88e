"""Every visible string has its Vietnamese translation, in NFC, and the compiled catalogue is current."""
import io
import subprocess
import sys
import unicodedata
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "translations" / "vi" / "LC_MESSAGES" / "messages.po"
MO = PO.with_suffix(".mo")


def extracted_ids(tmp_path) -> set[str]:
    pot = tmp_path / "messages.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg", "-k", "_l",
                    "-k", "_n:1,2", "-k", "lazy_gettext", "--no-location", "-o", str(pot), "."],
                   cwd=ROOT, check=True, capture_output=True)
    with pot.open("rb") as fh:
        return {m.id for m in read_po(fh) if m.id}


def test_every_message_has_a_vietnamese_translation(tmp_path):
    with PO.open("rb") as fh:
        catalog = read_po(fh)
    translated = {m.id: m.string for m in catalog if m.id}
    missing = sorted(i for i in extracted_ids(tmp_path) if not translated.get(i))
    assert missing == [], "run: pybabel extract ... && pybabel update, then translate"
    for msgid, text in translated.items():
        # a plural message: its id is (singular, plural), its translation one form per plural form
        singular, forms = (msgid[0], text) if isinstance(msgid, tuple) else (msgid, (text,))
        for form in forms:
            assert unicodedata.is_normalized("NFC", form), msgid
            assert '"' not in form, f"Vietnamese text quotes with “ ”: {msgid}"
            for placeholder in ("%(", "%%"):
                assert singular.count(placeholder) == form.count(placeholder), msgid


def test_compiled_catalogue_matches_the_po_file():
    with PO.open("rb") as fh:
        catalog = read_po(fh)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    assert MO.read_bytes() == buffer.getvalue(), "run: pybabel compile -d translations"

"""Keep the Vietnamese catalogue current: extract, merge, add translations, compile.

    python scripts/translations.py                 # extract + update + compile; lists untranslated ids
    python scripts/translations.py add FILE.json   # also set translations from {"English id": "Tiếng Việt"}

A plural message (ngettext) is keyed by its singular id; Vietnamese has one form, so its value may
be a string or a list of one string.

The catalogue is rewritten under a lock, so several people (or editors) updating it at once
do not overwrite each other's entries.
"""
from __future__ import annotations

import fcntl
import io
import json
import os
import subprocess
import sys
import tempfile
import unicodedata
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
POT = ROOT / "translations" / "messages.pot"
PO = ROOT / "translations" / "vi" / "LC_MESSAGES" / "messages.po"
MO = PO.with_suffix(".mo")
LOCK = ROOT / "translations" / ".lock"


def extract() -> None:
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg", "-k", "_l",
                    "-k", "_n:1,2", "-k", "lazy_gettext", "--no-location", "--sort-output", "-o", str(POT), "."],
                   cwd=ROOT, check=True, capture_output=True)


def update(additions: dict[str, str]) -> list[str]:
    with POT.open("rb") as fh:
        template = read_po(fh)
    with PO.open("rb") as fh:
        catalog = read_po(fh, locale="vi")
    catalog.update(template, no_fuzzy_matching=True)
    for msgid, text in additions.items():
        forms = [unicodedata.normalize("NFC", t) for t in ([text] if isinstance(text, str) else text)]
        if msgid in catalog:
            message = catalog[msgid]
            message.string = tuple(forms) if message.pluralizable else forms[0]
            message.flags.discard("fuzzy")
        else:
            print(f"not in the code (skipped): {msgid}", file=sys.stderr)
    catalog.obsolete.clear()
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=100, omit_header=False, sort_output=True)
    _replace(PO, buffer.getvalue())
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    _replace(MO, buffer.getvalue())
    return sorted(_singular(m.id) for m in catalog if m.id and not _translated(m))


def _singular(msgid) -> str:
    return msgid if isinstance(msgid, str) else msgid[0]


def _translated(message) -> bool:
    if message.pluralizable:
        return bool(message.string) and all(message.string)
    return bool(message.string)


def _replace(path: Path, content: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent)
    with os.fdopen(fd, "wb") as fh:
        fh.write(content)
    os.replace(tmp, path)


def main(argv: list[str]) -> int:
    additions: dict[str, str] = {}
    if len(argv) >= 2 and argv[0] == "add":
        additions = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
    with LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        extract()
        missing = update(additions)
    for msgid in missing:
        print(f"untranslated: {msgid}")
    return 1 if missing else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

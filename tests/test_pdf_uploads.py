"""PDF uploads are read by a parser, not judged by their first and last bytes: active content
(scripts, actions run on opening or on events, launch and form-submission actions, embedded
files, media, XFA forms), encrypted files and files that only look like a PDF are refused with a
reason and nothing kept; hostile structures (deep nesting, reference cycles, too many objects)
end in a refusal or an acceptance, quickly, never a server error."""
from __future__ import annotations

import importlib.util
import random
import time

import pytest
from pypdf import PdfWriter
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    FloatObject,
    NameObject,
    StreamObject,
    TextStringObject,
)

from congress.audit.models import AuditRecord
from congress.drafts import storage
from congress.drafts.models import DraftVersion
from congress.errors import Unprocessable
from congress.extensions import db
from tests.pdfs import tiny_pdf
from tests.test_drafts import REPORT_1, TU_MINH
from tests.test_drafts_api import upload
from tests.test_drafts_web import post_upload, text_of
from tests.test_web_units import signed_in


@pytest.fixture
def files(app, tmp_path):
    app.config["FILES_FOLDER"] = str(tmp_path / "files")
    return tmp_path / "files"


@pytest.fixture
def api(app, api_as, files):
    return api_as("unit_staff", unit=TU_MINH)


@pytest.fixture
def staff(app, files):
    return signed_in(app, "tuminh.vanphong")


# --- the PDFs --------------------------------------------------------------------------------------

def name(value: str) -> NameObject:
    return NameObject(value)


def action(kind: str, **entries) -> DictionaryObject:
    """An action dictionary: /S kind and its entries (strings as text, names when they start with /)."""
    found = DictionaryObject({name("/Type"): name("/Action"), name("/S"): name(kind)})
    for key, value in entries.items():
        found[name(f"/{key}")] = value if not isinstance(value, str) else (
            name(value) if value.startswith("/") else TextStringObject(value))
    return found


def rect() -> ArrayObject:
    return ArrayObject([FloatObject(10), FloatObject(10), FloatObject(100), FloatObject(30)])


def annotation(subtype: str, **entries) -> DictionaryObject:
    found = DictionaryObject({name("/Type"): name("/Annot"), name("/Subtype"): name(subtype), name("/Rect"): rect()})
    found.update({name(f"/{key}"): value for key, value in entries.items()})
    return found


def annotated(*annotations: DictionaryObject) -> bytes:
    def change(writer: PdfWriter):
        for each in annotations:
            writer.add_annotation(0, each)
    return tiny_pdf(change=change)


def catalog(key: str, value) -> bytes:
    def change(writer: PdfWriter):
        writer.root_object[name(key)] = value
    return tiny_pdf(change=change)


def page_entry(key: str, value) -> bytes:
    def change(writer: PdfWriter):
        writer.pages[0][name(key)] = value
    return tiny_pdf(change=change)


def with_script(writer: PdfWriter):
    """A document-level script: the catalog's /Names /JavaScript name tree."""
    scripts = DictionaryObject({name("/Names"): ArrayObject([
        TextStringObject("mo-dau"), writer._add_object(action("/JavaScript", JS="app.alert('x');"))])})
    writer.root_object[name("/Names")] = DictionaryObject({name("/JavaScript"): writer._add_object(scripts)})


def with_attachment(writer: PdfWriter):
    writer.add_attachment("bang-luong.xlsx", b"PK\x03\x04 not really")


def with_outline_script(writer: PdfWriter):
    item = writer.add_outline_item(title="Phần thứ nhất", page_number=0)
    item.get_object()[name("/A")] = action("/JavaScript", JS="app.alert('x');")


def with_xfa(writer: PdfWriter):
    writer.root_object[name("/AcroForm")] = writer._add_object(DictionaryObject({
        name("/Fields"): ArrayObject(), name("/XFA"): writer._add_object(StreamObject())}))


def with_field_script(writer: PdfWriter):
    field = writer._add_object(annotation("/Widget", FT=name("/Tx"), T=TextStringObject("ho_ten"),
                                          AA=DictionaryObject({name("/K"): action("/JavaScript", JS="1")})))
    writer.pages[0][name("/Annots")] = ArrayObject([field])
    writer.root_object[name("/AcroForm")] = DictionaryObject({name("/Fields"): ArrayObject([field])})


def with_cycle(writer: PdfWriter):
    """Two dictionaries naming each other, hung on the catalog and the page."""
    first = writer._add_object(DictionaryObject())
    second = writer._add_object(DictionaryObject({name("/Next"): first}))
    first.get_object()[name("/Next")] = second
    writer.root_object[name("/Loop")] = first
    writer.pages[0][name("/Loop")] = second


def escaped(pdf: bytes) -> bytes:
    """The same PDF with every /JavaScript written /Java#53cript (the same name to a reader); the
    cross-reference offsets no longer match, as in many a real file, and the parser repairs them."""
    return pdf.replace(b"/JavaScript", b"/Java#53cript")


def raw_pdf(catalog_extra: bytes = b"", kids: bytes = b"[3 0 R]") -> bytes:
    """A hand-written PDF of one page, its cross-reference table counted here."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R " + catalog_extra + b" >>",
               b"<< /Type /Pages /Kids " + kids + b" /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>"]
    out, offsets = bytearray(b"%PDF-1.7\n"), []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    table = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Root 1 0 R /Size %d >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, table)
    return bytes(out)


def encrypted(algorithm: str, user_password: str = "") -> bytes:
    return tiny_pdf(change=lambda writer: writer.encrypt(user_password, "chu-so-huu", algorithm=algorithm))


JS = action("/JavaScript", JS="app.launchURL('http://example.com');")

ACTIVE = [
    ("document-level JavaScript", tiny_pdf(change=with_script), "/JavaScript"),
    ("a script run on opening", catalog("/OpenAction", JS), "/OpenAction"),
    ("a web page opened on opening", catalog("/OpenAction", action("/URI", URI="http://example.com")),
     "/OpenAction"),
    ("additional actions of the document", catalog("/AA", DictionaryObject({name("/WC"): JS})), "/AA"),
    ("additional actions of a page", page_entry("/AA", DictionaryObject({name("/O"): JS})), "/AA"),
    ("a link that launches a program", annotated(annotation("/Link", A=action("/Launch", F="cmd.exe"))),
     "/Launch"),
    ("a link that runs a script", annotated(annotation("/Link", A=JS)), "/JavaScript"),
    ("a link that submits a form", annotated(annotation("/Link", A=action("/SubmitForm", F="http://x.example"))),
     "/SubmitForm"),
    ("a link that imports data", annotated(annotation("/Link", A=action("/ImportData", F="data.fdf"))),
     "/ImportData"),
    ("an embedded file", tiny_pdf(change=with_attachment), "/EmbeddedFiles"),
    ("a file attachment annotation", annotated(annotation("/FileAttachment", Contents=TextStringObject("a"))),
     "/FileAttachment"),
    ("a movie", annotated(annotation("/Movie")), "/Movie"),
    ("a sound", annotated(annotation("/Sound")), "/Sound"),
    ("rich media", annotated(annotation("/RichMedia")), "/RichMedia"),
    ("a screen annotation", annotated(annotation("/Screen")), "/Screen"),
    ("an outline item that runs a script", tiny_pdf(change=with_outline_script), "/JavaScript"),
    ("an XFA form", tiny_pdf(change=with_xfa), "/XFA"),
    ("a form field with a script", tiny_pdf(change=with_field_script), "/AA"),
    ("a script under an escaped name", escaped(tiny_pdf(change=with_script)), "/JavaScript"),
]


# --- storage.check ---------------------------------------------------------------------------------

def refusal(content: bytes) -> Unprocessable:
    with pytest.raises(Unprocessable) as refused:
        storage.check(content)
    return refused.value


@pytest.mark.parametrize(("label", "content", "what"), ACTIVE, ids=[a[0] for a in ACTIVE])
def test_active_content_is_refused_and_named(app, label, content, what):
    refused = refusal(content)
    assert (refused.code, refused.params) == ("upload_pdf_active", {"what": what}), label


CLEAN = [
    ("a blank page", tiny_pdf()),
    ("three pages", tiny_pdf(pages=3)),
    ("opening at the first page (a destination)",
     tiny_pdf(change=lambda w: w.root_object.__setitem__(name("/OpenAction"),
                                                         ArrayObject([w.pages[0].indirect_reference, name("/Fit")])))),
    ("opening at the first page (a go-to action)",
     tiny_pdf(change=lambda w: w.root_object.__setitem__(name("/OpenAction"), action(
         "/GoTo", D=ArrayObject([w.pages[0].indirect_reference, name("/Fit")]))))),
    ("a hyperlink", annotated(annotation("/Link", A=action("/URI", URI="https://thanhuy.example.vn")))),
    ("an outline", tiny_pdf(change=lambda w: w.add_outline_item(title="Phần thứ nhất", page_number=0))),
    ("a comment", annotated(annotation("/Text", Contents=TextStringObject("Sửa lại số liệu")))),
    ("a reference cycle", tiny_pdf(change=with_cycle)),
]


@pytest.mark.parametrize(("label", "content"), CLEAN, ids=[c[0] for c in CLEAN])
def test_a_clean_pdf_is_accepted(app, label, content):
    checked = storage.check(content)
    assert (checked.format, checked.size) == ("pdf", len(content)), label


def test_a_pdf_made_by_libreoffice_is_accepted(app, libreoffice):
    from congress.papers import convert

    pdf = convert.to_pdf(REPORT_1)
    assert storage.check(pdf).format == "pdf"


NOT_PDF = [
    ("garbage between the markers", b"%PDF-1.7 garbage %%EOF"),
    ("no end marker", tiny_pdf()[:-7]),
    ("cut in the middle", tiny_pdf()[:200] + b"\n%%EOF\n"),
    ("a catalog that is a number", b"%PDF-1.4\n1 0 obj\n42\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"),
    ("the old fake minimal PDF", b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"),
    ("no pages", tiny_pdf(pages=0)),
    ("a page tree that is its own child", raw_pdf(kids=b"[2 0 R]")),
]


@pytest.mark.parametrize(("label", "content"), NOT_PDF, ids=[n[0] for n in NOT_PDF])
def test_what_only_looks_like_a_pdf_is_refused(app, label, content):
    assert refusal(content).code in ("upload_corrupted", "upload_pdf_no_pages"), label


def test_the_hand_written_pdf_is_a_pdf(app):
    """The hostile ones below are this one with something added."""
    assert storage.check(raw_pdf()).format == "pdf"


def test_a_pdf_without_pages_says_so(app):
    assert refusal(tiny_pdf(pages=0)).code == "upload_pdf_no_pages"


ENCRYPTIONS = ["RC4-40", "RC4-128"] + (["AES-128", "AES-256"] if importlib.util.find_spec("cryptography") else [])


@pytest.mark.parametrize("algorithm", ENCRYPTIONS)
@pytest.mark.parametrize("user_password", ["", "mat-khau"], ids=["opens without a password", "needs a password"])
def test_an_encrypted_pdf_is_refused(app, algorithm, user_password):
    assert refusal(encrypted(algorithm, user_password)).code == "upload_pdf_encrypted"


def test_deep_nesting_ends_quickly_without_a_server_error(app):
    deep = raw_pdf(b"/Deep " + b"[" * 200_000 + b"]" * 200_000)
    deep_dictionaries = raw_pdf(b"/Deep " + b"<< /A " * 50_000 + b">> " * 50_000)
    for content in (deep, deep_dictionaries):
        started = time.monotonic()
        try:
            storage.check(content)
        except Unprocessable as refused:
            assert refused.code == "upload_corrupted"
        assert time.monotonic() - started < 10


def test_too_many_objects_are_refused_rather_than_walked_for_long(app, monkeypatch):
    monkeypatch.setattr(storage, "MAX_OBJECTS", 20)
    refused = refusal(tiny_pdf(pages=30))
    assert (refused.code, refused.params) == ("upload_pdf_too_complex", {"limit": 20})
    assert storage.check(tiny_pdf(pages=2)).format == "pdf"


def test_damaged_pdfs_are_refused_or_accepted_never_a_crash(app):
    """A few hundred random damages to a PDF with a script: each is refused (422) or, if the damage
    removed the script, accepted; no other exception escapes."""
    original = tiny_pdf(pages=2, change=with_script)
    chance = random.Random(20250805)
    for _ in range(300):
        content = bytearray(original)
        for _ in range(chance.randint(1, 8)):
            at = chance.randrange(9, len(content) - 8)
            if chance.random() < 0.5:
                content[at] = chance.randrange(256)
            else:
                del content[at:at + chance.randint(1, 40)]
        try:
            storage.check(bytes(content))
        except Unprocessable as refused:  # refused is fine, as one of the upload's own refusals
            assert refused.code.startswith("upload_")


# --- the upload, end to end ------------------------------------------------------------------------

def versions_kept() -> int:
    return db.session.execute(db.select(db.func.count(DraftVersion.id))).scalar()


def uploads_audited() -> int:
    return db.session.execute(db.select(db.func.count(AuditRecord.id)).filter_by(action="draft.upload")).scalar()


def nothing_written(files) -> bool:
    return not files.exists() or not any(p.is_file() for p in files.rglob("*"))


THROUGH_THE_ROUTES = [
    ("script", tiny_pdf(change=with_script), "upload_pdf_active", "/JavaScript"),
    ("launch", annotated(annotation("/Link", A=action("/Launch", F="cmd.exe"))), "upload_pdf_active", "/Launch"),
    ("attachment", tiny_pdf(change=with_attachment), "upload_pdf_active", "/EmbeddedFiles"),
    ("encrypted", encrypted("RC4-128"), "upload_pdf_encrypted", "PDF"),
    ("garbage", b"%PDF-1.7 garbage %%EOF", "upload_corrupted", "PDF"),
    ("no pages", tiny_pdf(pages=0), "upload_pdf_no_pages", "PDF"),
]


@pytest.mark.parametrize(("label", "content", "code", "shown"), THROUGH_THE_ROUTES,
                         ids=[t[0] for t in THROUGH_THE_ROUTES])
def test_the_api_refuses_with_the_reason_and_keeps_nothing(api, files, label, content, code, shown):
    versions, audited = versions_kept(), uploads_audited()
    response = upload(api, content, "du-thao.pdf")
    assert response.status_code == 422, response.json
    assert response.json["error"] == code and shown in response.json["message"]
    assert versions_kept() == versions and uploads_audited() == audited
    assert nothing_written(files)


@pytest.mark.parametrize(("label", "content", "code", "shown"), THROUGH_THE_ROUTES,
                         ids=[t[0] for t in THROUGH_THE_ROUTES])
def test_the_page_refuses_with_the_reason_and_keeps_nothing(staff, files, label, content, code, shown):
    versions, audited = versions_kept(), uploads_audited()
    response = post_upload(staff, content, "du-thao.pdf")
    assert response.status_code == 422
    assert shown in text_of(response) and 'role="alert"' in text_of(response)
    assert versions_kept() == versions and uploads_audited() == audited
    assert nothing_written(files)


def test_a_clean_pdf_goes_through_the_api_and_the_page(api, staff, files):
    versions = versions_kept()
    created = upload(api, tiny_pdf(), "ban-in.pdf")
    assert created.status_code == 201 and created.json["format"] == "pdf"
    assert post_upload(staff, tiny_pdf(pages=2), "ban-in-2.pdf").status_code == 302
    assert versions_kept() == versions + 2
    assert not nothing_written(files)

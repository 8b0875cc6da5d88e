"""An admin's Word template replaces a built-in kind for a province; a bad file changes nothing."""
from __future__ import annotations

import io
import zipfile

import pytest
from docx import Document

from congress.audit.models import AuditRecord
from congress.errors import Forbidden, Unprocessable
from congress.extensions import db
from congress.papers import generate, wordfiles
from congress.papers.models import PaperTemplate
from congress.papers.operations import remove_template, upload_template
from congress.units.models import Province, Unit

AN_PHU = "10645"


def word_file(*paragraphs: list[str]) -> bytes:
    """A .docx whose paragraphs are made of the given runs (Word splits text into runs at will)."""
    document = Document()
    for runs in paragraphs:
        paragraph = document.add_paragraph()
        for text in runs:
            paragraph.add_run(text)
    header = document.sections[0].header.paragraphs[0]
    header.add_run("{document.number_line}")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


GOOD = word_file(["{committee.issuing_body}"], ["Kính gửi: ", "{province.", "standing}"],
                 ["Đảng bộ có {unit.members|", "number} đảng viên, {branches.held}/{branches.total} chi bộ."],
                 ["{{giữ nguyên}} ", "{document.place_date}"])


def rewritten(content: bytes, changes: dict[str, bytes], extra: dict[str, bytes] | None = None) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(content))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as target:
        for info in source.infolist():
            target.writestr(info.filename, changes.get(info.filename, source.read(info.filename)))
        for name, data in (extra or {}).items():
            target.writestr(name, data)
    return buffer.getvalue()


def macro_enabled() -> bytes:
    types = zipfile.ZipFile(io.BytesIO(GOOD)).read("[Content_Types].xml").replace(
        wordfiles.WORD_MAIN.encode(), wordfiles.MACRO_MAIN.encode())
    return rewritten(GOOD, {"[Content_Types].xml": types}, {"word/vbaProject.bin": b"\x00macro"})


def spreadsheet() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", '<Types><Override ContentType="application/vnd.openxmlformats-'
                                                'officedocument.spreadsheetml.sheet.main+xml"/></Types>')
    return buffer.getvalue()


BAD_FILES = {
    "template_not_docx": [b"not a zip at all", b"", spreadsheet(), GOOD[: len(GOOD) // 2]],
    "template_broken": [rewritten(GOOD, {"word/document.xml": b"<w:document><broken"})],
    "template_macros": [macro_enabled()],
    "template_unknown_placeholders": [word_file(["{unit.nme} và {branches.held|shout}"])],
}


def province() -> Province:
    return db.session.get(Province, "31")


def admin():
    from congress.accounts.models import User

    return db.session.execute(db.select(User).filter_by(username="admin")).scalar_one()


@pytest.mark.parametrize("code,content", [(code, c) for code, files in BAD_FILES.items() for c in files])
def test_a_bad_file_is_refused_with_its_reason_and_changes_nothing(app, code, content):
    upload_template(province(), "congress_plan", "old.docx", GOOD, admin())
    db.session.commit()
    audits = db.session.scalar(db.select(db.func.count(AuditRecord.id)))
    with pytest.raises(Unprocessable) as refused:
        upload_template(province(), "congress_plan", "new.docx", content, admin())
    assert refused.value.code == code
    db.session.rollback()
    kept = db.session.execute(db.select(PaperTemplate)).scalar_one()
    assert (kept.filename, kept.content) == ("old.docx", GOOD)
    assert db.session.scalar(db.select(db.func.count(AuditRecord.id))) == audits


def test_unknown_placeholders_are_named(app):
    with pytest.raises(Unprocessable) as refused:
        upload_template(province(), "congress_plan", "x.docx", BAD_FILES["template_unknown_placeholders"][0],
                        admin())
    problems = refused.value.params["problems"]
    assert "paragraph 1: unknown placeholder {unit.nme}" in problems
    assert "unknown filter 'shout'" in problems


def closed(response):
    """The test client leaves the request body's spooled file open: close it with the response."""
    response.close()
    response.request.environ["wsgi.input"].close()
    return response


def test_the_web_upload_answers_a_4xx_with_a_message(make_app, api_as):
    app = make_app("demo", WTF_CSRF_ENABLED=False)
    with app.app_context():
        client = api_as("admin", username="admin")
        response = closed(client.post("/provinces/31/paper-templates/congress_plan",
                                      data={"file": (io.BytesIO(macro_enabled()), "mau.docm")},
                                      content_type="multipart/form-data"))
        assert response.status_code == 422
        assert "macro" in response.get_data(as_text=True)
        assert db.session.scalar(db.select(db.func.count(PaperTemplate.id))) == 0
        client.client = app.test_client()
        response = closed(client.post("/provinces/31/paper-templates/congress_plan",
                                      data={"file": (io.BytesIO(GOOD), "Mẫu kế hoạch.docx")},
                                      content_type="multipart/form-data"))
        assert response.status_code == 302
        staff = api_as("city_staff", province="31")
        refused = closed(staff.post("/provinces/31/paper-templates/congress_plan",
                                    data={"file": (io.BytesIO(GOOD), "x.docx")}, content_type="multipart/form-data"))
        assert refused.status_code == 403


def test_an_uploaded_template_replaces_the_built_in_one_for_its_province(app):
    upload_template(province(), "congress_plan", "mau.docx", GOOD, admin())
    db.session.commit()
    record = db.session.execute(db.select(AuditRecord).filter_by(action="paper_template.upload")).scalar_one()
    assert record.entity_key == "31/congress_plan" and record.new["sha256"]
    found = db.session.execute(db.select(Unit).filter_by(code=AN_PHU)).scalar_one()
    document = Document(io.BytesIO(generate.unit_paper(found, "congress_plan").content))
    texts = [p.text for p in document.paragraphs]
    members = f"{found.members:,}".replace(",", ".")
    assert texts[0] == "ĐẢNG ỦY XÃ AN PHÚ"
    assert texts[1] == "Kính gửi: Ban Thường vụ Thành ủy"
    assert texts[2].startswith(f"Đảng bộ có {members} đảng viên, ")
    assert texts[3] == "{giữ nguyên} Hải Phòng, ngày 05 tháng 8 năm 2025"
    assert document.sections[0].header.paragraphs[0].text == "Số    -KH/ĐU"
    remove_template(province(), "congress_plan", admin())
    db.session.commit()
    document = Document(io.BytesIO(generate.unit_paper(found, "congress_plan").content))
    assert document.tables[0].rows[0].cells[1].paragraphs[0].text == "ĐẢNG CỘNG SẢN VIỆT NAM"


def test_only_admins_manage_templates(app, make_user):
    staff = make_user("city.staff", "city_staff", province="31")
    with pytest.raises(Forbidden):
        upload_template(province(), "congress_plan", "x.docx", GOOD, staff)

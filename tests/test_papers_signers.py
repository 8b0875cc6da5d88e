"""The signer's name, set per unit and printed under the signature it belongs to."""
from __future__ import annotations

import html
import io

from docx import Document

from congress.audit.models import AuditRecord
from congress.extensions import db
from congress.papers import generate
from congress.progress import queries
from congress.units.models import Unit

TU_MINH = "10891"


def unit(code: str) -> Unit:
    return db.session.execute(db.select(Unit).filter_by(code=code)).scalar_one()


def signature_texts(content: bytes) -> list[str]:
    """The right-hand cell of each signature table (the last table of each document)."""
    document = Document(io.BytesIO(content))
    cells = [t.rows[0].cells[-1] for t in document.tables if "T/M" in t.rows[0].cells[-1].text
             or "K/T" in t.rows[0].cells[-1].text]
    return [[p.text for p in cell.paragraphs if p.text.strip()] for cell in cells]


def version_of(code: str) -> int:
    return queries.unit_preparation(unit(code)).version


def test_the_names_are_printed_under_the_signature_they_belong_to(app, api_as):
    staff = api_as("unit_staff", unit=TU_MINH)
    response = staff.put(f"/api/v1/units/{TU_MINH}/signers",
                         json={"version": version_of(TU_MINH), "secretary": "  Nguyễn Văn A ", "deputy": "Trần Thị B"})
    assert response.status_code == 200, response.json
    assert response.json["secretary"] == "Nguyễn Văn A" and response.json["deputy"] == "Trần Thị B"
    found = unit(TU_MINH)
    assert signature_texts(generate.unit_paper(found, "congress_plan").content) == [
        ["T/M BAN THƯỜNG VỤ", "BÍ THƯ", "Nguyễn Văn A"]]
    assert signature_texts(generate.unit_paper(found, "propaganda_plan").content) == [
        ["T/M BAN THƯỜNG VỤ", "K/T BÍ THƯ", "PHÓ BÍ THƯ", "Trần Thị B"]]
    assert signature_texts(generate.unit_paper(found, "subcommittee_decisions").content) == [
        ["T/M BAN THƯỜNG VỤ", "BÍ THƯ", "Nguyễn Văn A"]] * 3
    # the congress's presidium signs its own documents: not the committee's secretary
    assert signature_texts(generate.unit_paper(found, "congress_resolution").content) == [["T/M ĐOÀN CHỦ TỊCH"]]
    listed = staff.get(f"/api/v1/units/{TU_MINH}/papers").json
    assert listed["signers"]["secretary"] == "Nguyễn Văn A"


def test_setting_the_names_is_audited_once_and_checks_its_input(app, api_as):
    staff = api_as("unit_staff", unit=TU_MINH)
    url = f"/api/v1/units/{TU_MINH}/signers"
    version = version_of(TU_MINH)
    assert staff.put(url, json={"version": version, "secretary": "Nguyễn Văn A", "deputy": None}).status_code == 200
    again = staff.put(url, json={"version": version_of(TU_MINH), "secretary": "Nguyễn Văn A", "deputy": None})
    assert again.status_code == 200
    records = db.session.execute(db.select(AuditRecord).filter_by(action="signers.set")).scalars().all()
    assert len(records) == 1 and records[0].new == {"secretary_name": "Nguyễn Văn A",
                                                     "version": records[0].new["version"]}
    # stale version, too long, not text, unknown field, another unit's staff, a viewer
    assert staff.put(url, json={"version": version, "secretary": "X", "deputy": None}).status_code == 409
    long_name = staff.put(url, json={"version": version_of(TU_MINH), "secretary": "A" * 81, "deputy": None})
    assert long_name.status_code == 422 and long_name.json["details"]["field"] == "secretary"
    assert staff.put(url, json={"version": version_of(TU_MINH), "secretary": 7, "deputy": None}).status_code == 422
    assert staff.put(url, json={"version": version_of(TU_MINH), "secretary": "X", "deputy": None,
                                "title": "x"}).status_code == 422
    assert staff.put(url, json={"version": version_of(TU_MINH), "secretary": "X"}).status_code == 422
    other = api_as("unit_staff", unit="10645")
    assert other.put(url, json={"version": version_of(TU_MINH), "secretary": "X", "deputy": None}).status_code == 403
    viewer = api_as("viewer", unit=TU_MINH)
    assert viewer.put(url, json={"version": version_of(TU_MINH), "secretary": "X", "deputy": None}).status_code == 403
    assert queries.unit_preparation(unit(TU_MINH)).secretary_name == "Nguyễn Văn A"


def test_the_documents_page_names_the_signers(app):
    from tests.test_idempotency import form_on, signed_in

    client = signed_in(app, "tuminh.vanphong")
    action = f"/units/{TU_MINH}/signers"
    fields = form_on(client, f"/units/{TU_MINH}/documents", action)
    fields.update({"signers-secretary": "Lê Văn C", "signers-deputy": ""})
    response = client.post(action, data=fields)
    assert response.status_code == 302
    page = html.unescape(client.get(response.headers["Location"]).get_data(as_text=True))
    assert "Lê Văn C" in page
    fields = form_on(client, f"/units/{TU_MINH}/documents", action)
    fields.update({"signers-secretary": "B" * 81})
    refused = client.post(action, data=fields)
    assert refused.status_code == 422 and "80" in refused.get_data(as_text=True)
    assert queries.unit_preparation(unit(TU_MINH)).secretary_name == "Lê Văn C"

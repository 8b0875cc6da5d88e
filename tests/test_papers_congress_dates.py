"""The congress's own documents carry the congress's dates, and each type counts its own numbers.

The resolution and the minutes are dated the day of the session, the report of the result that
day or after it, never the day they were downloaded; issuing one before the congress is held is
refused with a message naming the planned day. A draft of them carries the planned day in the
heading as in the text (blanks while the day is not planned).
"""
from __future__ import annotations

import html
import io
from datetime import date

import pytest
from docx import Document

from congress.errors import Unprocessable
from congress.extensions import db
from congress.papers import generate
from congress.papers.models import PaperIssue
from congress.papers.operations import issue_document
from congress.progress import queries
from congress.units.models import Unit
from workflows.documents import DOCUMENT_KINDS

HA_TAY = "10846"      # congress held on 29/7/2025 (the demo's today is 5/8/2025)
AN_PHU = "10645"      # congress planned on 13/8/2025
TU_MINH = "10891"
SESSION_KINDS = ("congress_resolution", "congress_minutes")


def unit(code: str) -> Unit:
    return db.session.execute(db.select(Unit).filter_by(code=code)).scalar_one()


def heading_date(content: bytes) -> str:
    right = Document(io.BytesIO(content)).tables[0].rows[0].cells[1]
    return right.paragraphs[-1].text


def body_text(content: bytes) -> str:
    return "\n".join(p.text for p in Document(io.BytesIO(content)).paragraphs)


def symbols(issue) -> list[str]:
    return [n.symbol for n in issue.numbers]


def test_the_kinds_say_how_they_are_dated():
    dated = {key: kind.dated for key, kind in DOCUMENT_KINDS.items()}
    assert dated["congress_resolution"] == dated["congress_minutes"] == "session"
    assert dated["result_report"] == "after_session"
    assert dated["congress_plan"] == "issue"


@pytest.mark.parametrize("kind", SESSION_KINDS)
def test_a_session_document_is_dated_the_day_of_the_session(app, make_user, kind):
    staff = make_user("hatay.staff", "unit_staff", unit=HA_TAY)
    found = unit(HA_TAY)
    draft = generate.unit_paper(found, kind)
    assert heading_date(draft.content) == "Hải Phòng, ngày 29 tháng 7 năm 2025"
    assert "ngày 29 tháng 7 năm 2025" in body_text(draft.content)
    issue = issue_document(found, kind, staff)
    db.session.commit()
    assert issue.issued_on == date(2025, 7, 29)
    issued = generate.unit_paper(found, kind)
    assert heading_date(issued.content) == "Hải Phòng, ngày 29 tháng 7 năm 2025"


def test_the_result_report_is_dated_on_or_after_the_session(app, make_user):
    staff = make_user("hatay.staff", "unit_staff", unit=HA_TAY)
    found = unit(HA_TAY)
    with pytest.raises(Unprocessable) as refused:
        issue_document(found, "result_report", staff, on=date(2025, 7, 28))
    assert refused.value.code == "paper_dated_before_congress"
    issue = issue_document(found, "result_report", staff)
    db.session.commit()
    assert issue.issued_on == date(2025, 8, 5)  # today, after the session
    assert heading_date(generate.unit_paper(found, "result_report").content) == "Hải Phòng, ngày 05 tháng 8 năm 2025"


def test_a_session_document_dated_another_day_is_refused(app, make_user):
    staff = make_user("hatay.staff", "unit_staff", unit=HA_TAY)
    with pytest.raises(Unprocessable) as refused:
        issue_document(unit(HA_TAY), "congress_resolution", staff, on=date(2025, 8, 5))
    assert refused.value.code == "paper_not_session_day"


@pytest.mark.parametrize("kind", SESSION_KINDS + ("result_report",))
def test_issuing_before_the_congress_is_held_is_refused_clearly(app, api_as, kind):
    staff = api_as("unit_staff", unit=AN_PHU)
    response = staff.post(f"/api/v1/units/{AN_PHU}/papers/{kind}/issue", json={})
    assert response.status_code == 422
    assert response.json["error"] == "congress_not_held"
    assert "13/8/2025" in response.json["message"] and "Đại hội" in response.json["message"]
    assert staff.get(f"/api/v1/units/{AN_PHU}/papers").json["kinds"]
    listed = next(k for k in staff.get(f"/api/v1/units/{AN_PHU}/papers").json["kinds"] if k["kind"] == kind)
    assert listed["issues"] == []  # nothing kept


def test_a_draft_before_the_session_carries_the_planned_day_or_blanks(app):
    found = unit(AN_PHU)
    draft = generate.unit_paper(found, "congress_resolution")
    assert heading_date(draft.content) == "Hải Phòng, ngày 13 tháng 8 năm 2025"
    report = generate.unit_paper(found, "result_report")
    assert heading_date(report.content) == "Hải Phòng, ngày …… tháng …… năm 2025"
    prep = queries.unit_preparation(found)
    prep.congress_on = None
    db.session.flush()
    draft = generate.unit_paper(found, "congress_minutes")
    assert heading_date(draft.content) == "Hải Phòng, ngày …… tháng …… năm 2025"
    assert "ngày …… tháng …… năm 2025" in body_text(draft.content)
    db.session.rollback()


def test_the_documents_page_says_when_it_can_be_issued_and_a_forced_post_is_refused(app):
    from tests.test_idempotency import form_on, signed_in

    client = signed_in(app, "tuminh.vanphong")   # Tứ Minh: congress planned on 12/8/2025
    page = html.unescape(client.get(f"/units/{TU_MINH}/documents").get_data(as_text=True))
    assert "Ban hành từ ngày Đại hội (dự kiến ngày 12/8/2025)" in page
    assert f"/units/{TU_MINH}/papers/congress_resolution/issue" not in page
    fields = form_on(client, f"/units/{TU_MINH}/documents", f"/units/{TU_MINH}/papers/congress_plan/issue")
    response = client.post(f"/units/{TU_MINH}/papers/congress_resolution/issue", data=fields)
    assert response.status_code == 422
    assert "12/8/2025" in html.unescape(response.get_data(as_text=True))
    assert not db.session.execute(db.select(PaperIssue).filter_by(kind="congress_resolution")).first()


def test_each_type_of_the_congress_documents_counts_from_01(app, make_user):
    staff = make_user("hatay.staff", "unit_staff", unit=HA_TAY)
    found = unit(HA_TAY)
    assert symbols(issue_document(found, "congress_agenda", staff)) == ["01-CTr/ĐH"]
    assert symbols(issue_document(found, "working_regulations", staff)) == ["01-QC/ĐH"]
    assert symbols(issue_document(found, "election_regulations", staff)) == ["02-QC/ĐH"]
    assert symbols(issue_document(found, "congress_resolution", staff)) == ["01-NQ/ĐH"]
    assert symbols(issue_document(found, "congress_minutes", staff)) == ["01-BB/ĐH"]
    db.session.commit()
    document = Document(io.BytesIO(generate.unit_paper(found, "congress_resolution").content))
    assert document.tables[0].rows[0].cells[0].paragraphs[-1].text == "Số 01-NQ/ĐH"


def test_the_file_says_who_issued_it_and_when(app):
    import zipfile

    made = generate.unit_paper(unit(HA_TAY), "congress_resolution")
    with zipfile.ZipFile(io.BytesIO(made.content)) as archive:
        core = archive.read("docProps/core.xml").decode()
        names = archive.namelist()
    assert "2025-07-29T" in core and "python-docx" not in core
    assert "Đại hội đại biểu Đảng bộ xã Hà Tây" in core
    assert not any("thumbnail" in n for n in names)
    plan = Document(io.BytesIO(generate.unit_paper(unit(HA_TAY), "congress_plan").content)).core_properties
    assert plan.author == "Đảng ủy xã Hà Tây" and plan.created.date() == date(2025, 8, 5)

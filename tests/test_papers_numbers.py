"""Document numbers per the Party rule: per committee, per type, per term, from 01; taken when
issued, never reused; the congress's documents count per type too."""
from __future__ import annotations

import io
import threading

import pytest
from docx import Document

from congress.accounts.models import User
from congress.audit.models import AuditRecord
from congress.errors import Forbidden
from congress.extensions import db
from congress.papers import generate
from congress.papers.models import PaperNumber
from congress.papers.operations import issue_document
from congress.units.models import Unit
from tests.conftest import needs_postgresql

AN_PHU = "10645"


def unit(code: str) -> Unit:
    return db.session.execute(db.select(Unit).filter_by(code=code)).scalar_one()


def symbols(issue) -> list[str]:
    return [n.symbol for n in issue.numbers]


def heading_number(content: bytes) -> str:
    left = Document(io.BytesIO(content)).tables[0].rows[0].cells[0]
    return left.paragraphs[3].text


def test_two_issues_take_01_and_02_and_each_type_counts_alone(app, make_user):
    staff = make_user("anphu.vanphong", "unit_staff", unit=AN_PHU)
    found = unit(AN_PHU)
    first = issue_document(found, "congress_plan", staff)
    second = issue_document(found, "congress_plan", staff)
    db.session.commit()
    assert symbols(first) == ["01-KH/ĐU"] and symbols(second) == ["02-KH/ĐU"]
    assert symbols(issue_document(found, "propaganda_plan", staff)) == ["03-KH/ĐU"]  # the same type: KH
    assert symbols(issue_document(found, "political_report", staff)) == ["01-BC/ĐU"]
    assert symbols(issue_document(found, "subcommittee_decisions", staff)) == ["01-QĐ/ĐU", "02-QĐ/ĐU", "03-QĐ/ĐU"]
    assert symbols(issue_document(found, "personnel_submission", staff)) == ["01-TTr/ĐU"]
    # the congress counts each type alone too (tests/test_papers_congress_dates.py: all its types)
    assert symbols(issue_document(found, "congress_agenda", staff)) == ["01-CTr/ĐH"]
    assert symbols(issue_document(found, "working_regulations", staff)) == ["01-QC/ĐH"]
    assert symbols(issue_document(found, "election_regulations", staff)) == ["02-QC/ĐH"]
    db.session.commit()
    # another unit starts from 01
    other = make_user("tuminh.staff2", "unit_staff", unit="10891")
    assert symbols(issue_document(unit("10891"), "congress_plan", other)) == ["01-KH/ĐU"]
    db.session.commit()


def test_an_issued_document_bears_its_number_and_no_draft_mark(app, make_user):
    staff = make_user("anphu.vanphong", "unit_staff", unit=AN_PHU)
    found = unit(AN_PHU)
    draft = generate.unit_paper(found, "congress_plan")
    assert heading_number(draft.content) == "Số    -KH/ĐU"
    issue_document(found, "congress_plan", staff)
    db.session.commit()
    issued = generate.unit_paper(found, "congress_plan")
    assert heading_number(issued.content) == "Số 01-KH/ĐU"
    assert issued.filename == "01-KH-ĐU Kế hoạch tổ chức đại hội - Xã An Phú.docx"
    document = Document(io.BytesIO(issued.content))
    assert "DỰ THẢO" not in document.sections[0].first_page_header._element.xml
    # a draft can still be had, without a number
    assert heading_number(generate.unit_paper(found, "congress_plan", draft=True).content) == "Số    -KH/ĐU"
    decisions = issue_document(found, "subcommittee_decisions", staff)
    db.session.commit()
    document = Document(io.BytesIO(generate.unit_paper(found, "subcommittee_decisions", issue=decisions).content))
    numbers = [t.rows[0].cells[0].paragraphs[3].text for t in document.tables if "*" in t.rows[0].cells[0].text]
    assert numbers == ["Số 01-QĐ/ĐU", "Số 02-QĐ/ĐU", "Số 03-QĐ/ĐU"]


def test_issuing_is_audited_and_needs_the_units_own_staff(app, make_user):
    found = unit(AN_PHU)
    city = make_user("city.staff", "city_staff", province="31")
    stranger = make_user("tuminh.x", "unit_staff", unit="10891")
    viewer = make_user("anphu.viewer", "viewer", unit=AN_PHU)
    for actor in (city, stranger, viewer):
        with pytest.raises(Forbidden):
            issue_document(found, "congress_plan", actor)
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count(PaperNumber.id))) == 0
    leader = make_user("anphu.bithu", "unit_leader", unit=AN_PHU)
    issue_document(found, "congress_plan", leader)
    db.session.commit()
    record = db.session.execute(db.select(AuditRecord).filter_by(action="paper.issue")).scalar_one()
    assert record.actor == "anphu.bithu" and record.unit_id == found.id
    assert record.new["numbers"] == ["01-KH/ĐU"] and record.entity_key == f"{AN_PHU}/congress_plan"
    admin = db.session.execute(db.select(User).filter_by(username="admin")).scalar_one()
    assert symbols(issue_document(found, "congress_plan", admin)) == ["02-KH/ĐU"]


def test_the_api_issues_and_lists(app, api_as):
    staff = api_as("unit_staff", unit=AN_PHU)
    first = staff.post(f"/api/v1/units/{AN_PHU}/papers/congress_plan/issue", json={})
    second = staff.post(f"/api/v1/units/{AN_PHU}/papers/congress_plan/issue", json={})
    assert (first.status_code, second.status_code) == (201, 201)
    assert [n["symbol"] for n in second.json["numbers"]] == ["02-KH/ĐU"]
    listed = staff.get(f"/api/v1/units/{AN_PHU}/papers").json
    plan = next(k for k in listed["kinds"] if k["kind"] == "congress_plan")
    assert [i["numbers"][0]["number"] for i in plan["issues"]] == [2, 1]
    assert staff.post(f"/api/v1/units/{AN_PHU}/papers/congress_plan/issue", json={"number": 7}).status_code == 422


@pytest.mark.postgres
def test_simultaneous_issues_get_distinct_numbers_on_postgresql(app, make_user):
    needs_postgresql(db.engine.dialect.name, "simultaneous numbering")
    make_user("anphu.a", "unit_staff", unit=AN_PHU)
    make_user("anphu.b", "unit_staff", unit=AN_PHU)
    flask_app = app
    count = 6
    barrier = threading.Barrier(count)
    results: list[str] = []
    errors: list[BaseException] = []

    def worker(username: str):
        try:
            with flask_app.app_context():
                actor = db.session.execute(db.select(User).filter_by(username=username)).scalar_one()
                found = unit(AN_PHU)
                barrier.wait(timeout=30)
                issue = issue_document(found, "congress_plan", actor)
                results.extend(symbols(issue))
                db.session.commit()
                db.session.remove()
        except BaseException as exc:  # noqa: BLE001  (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=("anphu.a" if i % 2 else "anphu.b",)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert sorted(results) == [f"{n:02d}-KH/ĐU" for n in range(1, count + 1)]

"""A report "as of" a past day shows that day: the steps, branches and dates as they were at the
end of that day (local time), rebuilt from the audit log, not today's rows read with a past "today".

The checks here replay the audit log forwards, the straightforward way (every record up to the
end of the day, oldest first, from the initial state), and compare with the overview, the report
and the API, which rebuild the day backwards from today's rows.
"""
from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime, time, timedelta

import pytest
import sqlalchemy as sa
from docx import Document
from openpyxl import load_workbook

from congress.audit.models import AuditRecord
from congress.extensions import db
from congress.papers import report
from congress.progress import queries
from congress.progress.models import Campaign, Preparation, Step
from congress.units.models import Branch, Province, Unit
from tests.test_queries import count_queries
from workflows.deadlines import LOCAL_TZ

API = "/api/v1"
DAY = date(2025, 7, 31)
TODAY = date(2025, 8, 5)


def end_of(day: date) -> datetime:
    """The first instant after ``day`` in Vietnam, in UTC."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=LOCAL_TZ).astimezone(UTC)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def replayed(day: date) -> dict:
    """Per unit code, forwards from the audit log: the unit steps done and the branches (held or
    not) that existed at the end of ``day``."""
    cutoff = end_of(day)
    units = {u.id: u.code for u in db.session.execute(sa.select(Unit).filter_by(province_code="31")).scalars()}
    step_state: dict[tuple[str, str], str] = {}
    held: dict[str, object] = {}
    added_later: set[str] = set()
    existed: set[str] = set()
    records = db.session.execute(sa.select(AuditRecord).where(
        AuditRecord.unit_id.in_(list(units)), AuditRecord.entity.in_(("step", "branch")))
        .order_by(AuditRecord.id)).scalars()
    for record in records:
        later = _utc(record.at) >= cutoff
        if record.entity == "branch":
            if record.action == "branch.add":
                (added_later if later else existed).add(record.entity_key)
            if not later and "held_on" in (record.new or {}):
                held[record.entity_key] = record.new["held_on"]
            continue
        owner, key = record.entity_key.split("/", 1)
        if later or owner != units[record.unit_id]:
            continue  # after the day, or a branch's step
        if "state" in (record.new or {}):
            step_state[(owner, key)] = record.new["state"]
    branches = db.session.execute(sa.select(Branch.code, Unit.code).join(Unit, Unit.id == Branch.unit_id)
                                  .where(Unit.province_code == "31")).all()
    found = {code: {"done": set(), "branches": 0, "held": 0} for code in units.values()}
    for (owner, key), state in step_state.items():
        if state == "done":
            found[owner]["done"].add(key)
    for branch_code, unit_code in branches:
        if branch_code in added_later:
            continue
        found[unit_code]["branches"] += 1
        found[unit_code]["held"] += held.get(branch_code) is not None
    return found


def province() -> Province:
    return db.session.get(Province, "31")


def overview(day: date | None = DAY, kind: str | None = None):
    db.session.expire_all()
    return queries.province_overview({"31"}, kind=kind, as_of=day)


def picture(result) -> dict:
    """What an overview says about each unit: its readiness, facts and planned congress."""
    return {row.unit.code: (row.readiness, row.steps, row.preparation.congress_on) for row in result.rows}


def done_keys(row) -> set[str]:
    return {f.key for f in row.steps if f.state.value == "done"}


# --- the past day, as the audit log tells it -------------------------------------------------------

def test_a_past_day_counts_what_was_done_by_its_end(app):
    expected = replayed(DAY)
    past = overview(DAY)
    assert len(past.rows) == 114
    for row in past.rows:
        unit = expected[row.unit.code]
        assert done_keys(row) == unit["done"], row.unit.code
        assert (row.readiness.branches_held, row.readiness.branches_total) == (unit["held"], unit["branches"])
        assert row.readiness.steps_done == len(unit["done"])
    assert past.readiness.branches_held == sum(u["held"] for u in expected.values())
    assert past.readiness.tasks.done == sum(len(u["done"]) for u in expected.values())
    # the completions of 1/8–5/8 are not counted: today's figures are higher by exactly them
    now = overview(None)
    completed_later = [r for r in db.session.execute(sa.select(AuditRecord).where(
        AuditRecord.entity == "step", AuditRecord.at >= end_of(DAY))).scalars()
        if "-" not in r.entity_key.split("/")[0] and (r.new or {}).get("state") == "done"]
    done_now = sum(r.readiness.steps_done for r in now.rows)
    done_then = sum(r.readiness.steps_done for r in past.rows)
    assert completed_later and done_now > done_then
    assert now.readiness.branches_held > past.readiness.branches_held
    # nothing completed after the day shows, whatever its completion date says
    for row in past.rows:
        for fact in row.steps:
            if fact.completed_on is not None and fact.state.value == "done":
                assert fact.completed_on <= DAY, (row.unit.code, fact.key)


def test_each_day_matches_the_replay(app):
    for day in (date(2025, 7, 1), date(2025, 7, 15), date(2025, 8, 1), date(2025, 8, 4)):
        expected = replayed(day)
        past = overview(day)
        assert {r.unit.code: done_keys(r) for r in past.rows} == {c: u["done"] for c, u in expected.items()}, day
        assert sum(r.readiness.branches_held for r in past.rows) == sum(u["held"] for u in expected.values())


def test_today_and_no_day_read_the_current_rows(app):
    assert picture(overview(TODAY)) == picture(overview(None))
    assert overview(None).as_of == TODAY


def test_the_report_shows_the_day(app):
    expected = replayed(DAY)
    built = report.build(province(), DAY)
    assert built.values["report.branches_held"] == sum(u["held"] for u in expected.values())
    assert built.values["tasks.done"] == sum(len(u["done"]) for u in expected.values())
    book = load_workbook(io.BytesIO(report.xlsx(province(), DAY).content))
    for row in book["Tiến độ"].iter_rows(min_row=2, values_only=True):
        unit = expected[row[0]]
        assert (row[4], row[7], row[8]) == (len(unit["done"]), unit["held"], unit["branches"]), row[0]
    document = Document(io.BytesIO(report.docx(province(), DAY).content))
    units = next(t for t in document.tables if t.rows[0].cells[1].text == "Đơn vị")
    names = {r.unit.name: r.unit.code for r in built.overview.rows}
    for table_row in units.rows[1:]:
        cells = [c.text for c in table_row.cells]
        unit = expected[names[cells[1]]]
        assert [int(n) for n in re.findall(r"\d+", cells[4].replace(".", ""))] == [unit["held"], unit["branches"]]
        assert int(re.findall(r"\d+", cells[3].replace(".", ""))[0]) == len(unit["done"])
    assert built.values["tasks.text"] != report.build(province(), TODAY).values["tasks.text"]


# --- writes made after the day do not change it ----------------------------------------------------

def _reopen_one_done_before(city) -> tuple[str, str]:
    """Reopen, today, a unit step finished before the day; the first that may be reopened."""
    past = overview(DAY)
    for row in past.rows:
        for fact in row.steps:
            if fact.state.value != "done" or fact.completed_on is None or fact.completed_on > DAY - timedelta(days=3):
                continue
            detail = city.get(f"{API}/units/{row.unit.code}").json
            step = next(s for s in detail["steps"] if s["key"] == fact.key)
            if "reopen" not in [a["action"] for a in step["actions"]]:
                continue
            response = city.post(f"{API}/units/{row.unit.code}/steps/{fact.key}/transitions",
                                 json={"action": "reopen", "version": step["version"], "note": "Làm lại"})
            if response.status_code == 200:
                return row.unit.code, fact.key
    raise AssertionError("no step could be reopened")


def _move_a_congress_date(city) -> tuple[str, date, date]:
    """Move, today, the congress of a unit whose congress is still ahead, a week later: one with a
    step already overdue, so the move keeps its lapse on record ("step.due_moved")."""
    overdue = (sa.select(Step.preparation_id).where(Step.branch_id.is_(None), Step.due_on < TODAY,
                                                    Step.state.not_in(("done", "not_applicable"))))
    for prep in db.session.execute(sa.select(Preparation).join(Unit).where(
            Preparation.congress_on > TODAY + timedelta(days=3), Preparation.id.in_(overdue))
            .order_by(Unit.code)).scalars():
        old = prep.congress_on
        new = old + timedelta(days=7)
        response = city.put(f"{API}/units/{prep.unit.code}/congress-date",
                            json={"version": prep.version, "date": new.isoformat(), "confirm": True,
                                  "reason": "Điều chỉnh lịch"})
        if response.status_code == 200:
            return prep.unit.code, old, new
    raise AssertionError("no congress could be moved")


def test_writes_after_the_day_leave_it_as_it_was(app, api_as):
    before = picture(overview(DAY))
    before_totals = overview(DAY).readiness
    city = api_as("city_staff", province="31")
    reopened_unit, reopened_key = _reopen_one_done_before(city)
    moved_unit, old_date, new_date = _move_a_congress_date(city)
    # a branch added today (one already held, one not) to a unit whose branches were all held
    staff = api_as("unit_staff", unit=reopened_unit)
    for name, held in (("Chi bộ Thử nghiệm A", None), ("Chi bộ Thử nghiệm B", "2025-07-20")):
        response = staff.post(f"{API}/units/{reopened_unit}/branches",
                              json={"name": name, "held_on": held, "confirm_reopen": True})
        assert response.status_code == 201, response.json
    # a unit's own deadline, and the campaign's, changed today
    prep = db.session.execute(sa.select(Preparation).join(Unit).where(Unit.code == moved_unit)).scalar_one()
    assert city.put(f"{API}/units/{moved_unit}/deadline", json={
        "version": prep.version, "date": "2025-09-20", "kind": "by"}).status_code == 200
    campaign = db.session.execute(sa.select(Campaign)).scalars().first()
    response = city.put(f"{API}/campaigns/{campaign.id}/deadline",
                        json={"version": campaign.version, "date": "2025-09-15", "kind": "by"})
    assert response.status_code == 200, response.json
    assert db.session.execute(sa.select(sa.func.count()).select_from(AuditRecord)
                              .where(AuditRecord.action == "step.due_moved")).scalar() > 0

    now = overview(None)
    now_rows = {r.unit.code: r for r in now.rows}
    assert reopened_key not in done_keys(now_rows[reopened_unit])
    assert now_rows[moved_unit].preparation.congress_on == new_date
    assert now_rows[reopened_unit].readiness.branches_total == before[reopened_unit][0].branches_total + 2

    after = overview(DAY)
    after_rows = {r.unit.code: r for r in after.rows}
    assert reopened_key in done_keys(after_rows[reopened_unit])  # done that day
    assert after_rows[moved_unit].preparation.congress_on == old_date  # the date planned then
    assert after_rows[reopened_unit].readiness.branches_total == before[reopened_unit][0].branches_total
    assert picture(after) == before
    assert after.readiness == before_totals
    assert after.campaign.deadline == campaign_deadline_then()
    assert report.build(province(), DAY).values["campaign.deadline"] == "trước ngày 31/8/2025"


def campaign_deadline_then():
    from workflows.deadlines import Deadline, DeadlineKind

    return Deadline(date(2025, 8, 31), DeadlineKind.BEFORE)


def test_a_branch_congress_taken_back_after_the_day_still_counts_that_day(app, api_as):
    row = next(r for r in overview(DAY).rows if r.readiness.branches_held)
    branch = db.session.execute(sa.select(Branch).join(Unit).where(
        Unit.code == row.unit.code, Branch.held_on.is_not(None), Branch.held_on <= DAY)
        .order_by(Branch.code)).scalars().first()
    held_now = {r.unit.code: r for r in overview(None).rows}[row.unit.code].readiness.branches_held
    staff = api_as("unit_staff", unit=row.unit.code)
    response = staff.patch(f"{API}/branches/{branch.code}",
                           json={"version": branch.version, "held_on": None, "confirm_reopen": True})
    assert response.status_code == 200, response.json
    past = {r.unit.code: r for r in overview(DAY).rows}[row.unit.code]
    assert past.readiness == row.readiness
    now = {r.unit.code: r for r in overview(None).rows}[row.unit.code]
    assert now.readiness.branches_held == held_now - 1


# --- the API --------------------------------------------------------------------------------------

def test_the_api_as_of_gives_the_report_figures(app, api_as):
    city = api_as("city_staff", province="31")
    api = city.get(f"{API}/readiness?province=31&as_of=2025-07-31").json
    built = report.build(province(), DAY)
    values = built.values
    assert api["as_of"] == "2025-07-31"
    assert values["tasks.text"] == api["tasks"]["text"]
    assert values["report.percent"] == api["percent"]
    assert {k: values[f"report.{k}"] for k in ("done", "on_track", "at_risk", "late")} == api["by_risk"]
    assert (values["report.branches_held"], values["report.branches_total"]) == (api["branches_held"],
                                                                                 api["branches_total"])
    rows = {r.unit.code: r for r in built.overview.rows}
    for unit in api["units"]:
        ready = rows[unit["code"]].readiness
        assert (unit["readiness"]["percent"], unit["readiness"]["risk"], unit["readiness"]["steps_done"]) == (
            ready.percent, ready.risk.value, ready.steps_done)
    # the Vietnamese way of writing the day says the same
    assert city.get(f"{API}/readiness?province=31&as_of=31/7/2025").json == api
    assert city.get(f"{API}/readiness?province=31").json["tasks"] != api["tasks"]
    listed = city.get(f"{API}/units?province=31&as_of=2025-07-31").json
    assert listed["as_of"] == "2025-07-31"
    assert {u["code"]: u["readiness"] for u in listed["units"]} == {u["code"]: u["readiness"] for u in api["units"]}
    assert {u["code"]: u["congress_on"] for u in listed["units"]} == {
        code: r.preparation.congress_on.isoformat() if r.preparation.congress_on else None
        for code, r in rows.items()}


def test_one_unit_as_of_a_past_day(app, api_as):
    expected = replayed(DAY)
    city = api_as("city_staff", province="31")
    code = next(c for c, u in sorted(expected.items()) if u["held"] and u["held"] < u["branches"])
    detail = city.get(f"{API}/units/{code}?as_of=2025-07-31").json
    row = {r.unit.code: r for r in overview(DAY).rows}[code]
    assert detail["as_of"] == "2025-07-31"
    assert detail["readiness"]["percent"] == row.readiness.percent
    assert detail["readiness"]["steps_done"] == len(expected[code]["done"])
    assert {s["key"] for s in detail["steps"] if s["state"] == "done"} == expected[code]["done"]
    assert all(s["actions"] == [] for s in detail["steps"])  # the past is read, not acted on
    assert len(detail["branches"]) == expected[code]["branches"]
    assert sum(b["held"] for b in detail["branches"]) == expected[code]["held"]
    for branch in detail["branches"]:
        assert branch["held_on"] is None or branch["held_on"] <= "2025-07-31"
        congress = next(s for s in branch["steps"] if s["key"] == "congress") if branch["steps"] else None
        if congress is not None:
            assert (congress["state"] == "done") == branch["held"], branch["code"]
    today_detail = city.get(f"{API}/units/{code}").json
    assert today_detail["as_of"] == "2025-08-05"
    assert city.get(f"{API}/units/{code}?as_of=2025-08-05").json["readiness"] == today_detail["readiness"]


@pytest.mark.parametrize("path", ["/readiness?province=31&", "/units?province=31&", "/units/10891?"])
@pytest.mark.parametrize("value, error", [("tomorrow", "invalid_field"), ("2025-02-31", "invalid_field"),
                                          ("31/2/2025", "invalid_field"), ("2025-7-31x", "invalid_field"),
                                          ("2025-08-06", "date_in_future"), ("6/8/2025", "date_in_future")])
def test_a_bad_or_future_day_is_refused(app, api_as, path, value, error):
    city = api_as("city_staff", province="31")
    response = city.get(f"{API}{path}as_of={value}")
    assert response.status_code == 422, response.json
    assert response.json["error"] == error
    assert "as_of" in response.json["message"] or "6/8/2025" in response.json["message"]


def test_the_api_documents_as_of(app):
    from congress.api.openapi import document

    paths = document()["paths"]
    for path in ("/readiness", "/units", "/units/{code}"):
        names = [p.get("$ref", "").rsplit("/", 1)[-1] for p in paths[path]["get"]["parameters"]]
        assert "AsOf" in names, path
        assert "422" in paths[path]["get"]["responses"], path


# --- a constant number of queries ------------------------------------------------------------------

def test_the_past_overview_reads_a_constant_number_of_queries(app):
    overview(DAY)  # warm caches (workflow definitions)
    counts = {}
    for kind in ("dac_khu", "phuong", None):
        db.session.expire_all()
        with count_queries() as statements:
            result = queries.province_overview({"31"}, kind=kind, as_of=DAY)
        assert result.rows
        counts[kind] = len(statements)
    assert len(set(counts.values())) == 1, counts
    assert counts[None] <= 8, counts


def test_the_past_api_reads_a_constant_number_of_queries(app, api_as):
    client = api_as("city_staff", province="31")
    client.get(f"{API}/readiness?province=31&as_of=2025-07-31")
    counts = {}
    for suffix in ("&kind=dac_khu", "&kind=phuong", ""):
        with count_queries() as statements:
            assert client.get(f"{API}/readiness?province=31&as_of=2025-07-31{suffix}").status_code == 200
        counts[suffix] = len(statements)
    assert len(set(counts.values())) == 1, counts


def test_one_units_past_readiness_is_read_from_the_nights_record(app):
    """A unit's readiness on a recorded night is that night's record (what the province's past
    figures say): no statement reads the unit's history (only the campaign's deadline as it was);
    without the record it is rebuilt from the audit log, the same."""
    from congress.notices.models import ReadinessNight

    unit = db.session.execute(sa.select(Unit).filter_by(code="10891")).scalar_one()
    prep = db.session.execute(sa.select(Preparation).filter_by(unit_id=unit.id)).scalar_one()
    queries.unit_readiness_row(prep, as_of=DAY)  # warm caches (workflow definitions)
    with count_queries() as statements:
        recorded = queries.unit_readiness_row(prep, as_of=DAY)
    assert statements and not any("audit_records.unit_id" in s for s in statements), statements
    assert recorded.readiness == {r.unit.code: r for r in overview(DAY).rows}["10891"].readiness
    db.session.execute(sa.delete(ReadinessNight).where(ReadinessNight.unit_id == unit.id,
                                                       ReadinessNight.day == DAY))
    with count_queries() as statements:
        rebuilt = queries.unit_readiness_row(prep, as_of=DAY)
    assert any("audit_records.unit_id" in s for s in statements)
    assert rebuilt.readiness == recorded.readiness
    db.session.rollback()

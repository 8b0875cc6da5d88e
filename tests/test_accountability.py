"""Moves of dates that change who is accountable are explicit, and lateness already incurred stays
on the record.

The demo's phường Hồng Bàng must hold its congress "trước ngày 20/8/2025" (last allowed day 19/8),
plans it on 15/8, and is late on 5/8 (the demo's today): its branch congresses were due on 1/8.
"""
from __future__ import annotations

import re
from datetime import date

import pytest
import sqlalchemy as sa

from congress.audit.models import AuditRecord
from congress.extensions import db
from congress.progress import queries
from congress.progress.models import Campaign, Preparation, Step
from congress.units.models import Unit
from tests.test_web import login

API = "/api/v1"
HONG_BANG, TU_MINH = "11311", "10891"
ORIGINAL_DUE = date(2025, 8, 1)  # Hồng Bàng's branch congresses, 10 working days before 15/8


# --- helpers ------------------------------------------------------------------------------------

def unit_of(code: str) -> Unit:
    return db.session.execute(db.select(Unit).filter_by(code=code)).scalar_one()


def preparation(code: str = HONG_BANG) -> Preparation:
    db.session.expire_all()
    return db.session.execute(db.select(Preparation).filter_by(unit_id=unit_of(code).id)).scalar_one()


def unit_step(key: str, code: str = HONG_BANG) -> Step:
    db.session.expire_all()
    return db.session.execute(db.select(Step).filter_by(
        preparation_id=preparation(code).id, branch_id=None, key=key)).scalar_one()


def readiness(code: str = HONG_BANG, as_of: date | None = None):
    return queries.readiness_rows(unit_ids=[unit_of(code).id], as_of=as_of)[0].readiness


def records(action: str, code: str = HONG_BANG) -> list[AuditRecord]:
    return list(db.session.execute(db.select(AuditRecord).where(
        AuditRecord.action == action, AuditRecord.unit_id == unit_of(code).id).order_by(AuditRecord.id)).scalars())


def step_dates(code: str = HONG_BANG) -> list[tuple]:
    db.session.expire_all()
    return sorted(db.session.execute(sa.select(Step.key, Step.branch_id, Step.due_on, Step.missed_due_on).where(
        Step.preparation_id == preparation(code).id)).all(), key=lambda r: (r[0], r[1] or 0))


def move_congress(client, day: str, **extra):
    return client.put(f"{API}/units/{HONG_BANG}/congress-date",
                      json={"version": preparation().version, "date": day, **extra})


@pytest.fixture
def leader(app, api_as):
    return api_as("unit_leader", unit=HONG_BANG, username="hongbang.bithu")


@pytest.fixture
def city(app, api_as):
    return api_as("city_staff", province="31", username="thanhuy.vanphong")


def web_client(app, username: str):
    client = app.test_client()
    assert login(client, username).status_code == 302
    return client


def form_token(client, code: str = HONG_BANG) -> str:
    html = client.get(f"/units/{code}").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def text(response) -> str:
    return response.get_data(as_text=True)


# --- 1. a congress planned after the unit's deadline --------------------------------------------

def test_the_demo_unit_is_late_before_anything_moves(app):
    prep = preparation()
    assert prep.congress_on == date(2025, 8, 15) and prep.deadline.last_allowed_day == date(2025, 8, 19)
    assert unit_step("branch_congresses").due_on == ORIGINAL_DUE
    assert readiness().risk.value == "late" and readiness().overdue == ("branch_congresses",)


def test_unit_leader_cannot_plan_the_congress_after_the_units_deadline(app, leader):
    before = (preparation().version, step_dates(), len(records("congress_date.set")))
    response = move_congress(leader, "2025-08-25")
    assert response.status_code == 422, response.json
    body = response.json
    assert body["error"] == "congress_after_deadline"
    assert "trước ngày 20/8/2025" in body["message"] and "25/8/2025" in body["message"]
    assert body["details"]["last_allowed_day"] == "2025-08-19"
    assert (preparation().version, step_dates(), len(records("congress_date.set"))) == before
    assert preparation().congress_on == date(2025, 8, 15)
    assert readiness().risk.value == "late"
    # within the deadline the leader plans as before
    assert move_congress(leader, "2025-08-19").status_code == 200


def test_unit_leaders_form_refuses_it_in_words(app):
    client = web_client(app, "hongbang.bithu")
    response = client.post(f"/units/{HONG_BANG}/congress-date", data={
        "congress-csrf_token": form_token(client), "congress-version": str(preparation().version),
        "congress-day": "25/8/2025", "congress-confirm": "y", "congress-reason": "Xin lùi"})
    assert response.status_code == 422
    assert "trước ngày 20/8/2025" in text(response)
    assert preparation().congress_on == date(2025, 8, 15)
    assert 'name="congress-confirm"' not in text(response)  # the unit cannot confirm it


def test_city_staff_plan_it_only_with_a_confirmed_reason(app, city):
    unconfirmed = move_congress(city, "2025-08-25")
    assert unconfirmed.status_code == 422 and unconfirmed.json["error"] == "congress_after_deadline_unconfirmed"
    assert "trước ngày 20/8/2025" in unconfirmed.json["message"]
    assert unconfirmed.json["details"]["field"] == "confirm"
    without_reason = move_congress(city, "2025-08-25", confirm=True, reason="  ")
    assert without_reason.status_code == 422 and without_reason.json["error"] == "confirmation_reason_required"
    assert move_congress(city, "2025-08-25", confirm="yes", reason="x").json["error"] == "invalid_field"
    assert preparation().congress_on == date(2025, 8, 15)

    reason = "Ban Thường vụ Thành ủy đồng ý lùi theo Công văn 12-CV/TU"
    response = move_congress(city, "2025-08-25", confirm=True, reason=reason)
    assert response.status_code == 200, response.json
    assert preparation().congress_on == date(2025, 8, 25)
    record = records("congress_date.set")[-1]
    assert record.actor == "thanhuy.vanphong" and record.reason == reason
    assert record.new["congress_on"] == "2025-08-25" and record.old["congress_on"] == "2025-08-15"

    # shown to the city: among the readiness reasons, in the API and on the unit's page
    detail = city.get(f"{API}/units/{HONG_BANG}").json
    reasons = {r["code"]: r["text"] for r in detail["readiness"]["reasons"]}
    assert reasons["congress_after_deadline"] == (
        "Ngày đại hội dự kiến (25/8/2025) sau thời hạn của đơn vị (trước ngày 20/8/2025).")
    listed = city.get(f"{API}/readiness?province=31").json
    row = next(u for u in listed["units"] if u["code"] == HONG_BANG)
    assert "congress_after_deadline" in [r["code"] for r in row["readiness"]["reasons"]]
    page = text(web_client(app, "thanhuy.vanphong").get(f"/units/{HONG_BANG}"))
    assert "Ngày đại hội dự kiến sau thời hạn" in page and 'id="congress-after-deadline"' in page
    dashboard = text(web_client(app, "thanhuy.lanhdao").get("/dashboard"))
    listed_late = dashboard.split('id="planned-late"')[1].split("</section>")[0]
    assert "Đại hội dự kiến sau thời hạn (1)" in listed_late and "Phường Hồng Bàng" in listed_late
    assert "25/8/2025" in listed_late and "trước ngày 20/8/2025" in listed_late
    english = city.get(f"{API}/units/{HONG_BANG}", headers={"Accept-Language": "en"}).json
    assert "after the unit's deadline (before 20 Aug 2025)" in " ".join(
        r["text"] for r in english["readiness"]["reasons"])


def test_city_staff_confirm_on_the_units_page(app):
    client = web_client(app, "thanhuy.vanphong")
    page = text(client.get(f"/units/{HONG_BANG}"))
    assert 'name="congress-confirm"' in page and 'name="congress-reason"' in page
    data = {"congress-csrf_token": form_token(client), "congress-version": str(preparation().version),
            "congress-day": "25/8/2025"}
    refused = client.post(f"/units/{HONG_BANG}/congress-date", data=data)
    assert refused.status_code == 422 and "xác nhận" in text(refused)
    assert preparation().congress_on == date(2025, 8, 15)
    done = client.post(f"/units/{HONG_BANG}/congress-date",
                       data={**data, "congress-confirm": "y", "congress-reason": "Theo chỉ đạo của Thành ủy"})
    assert done.status_code == 302, text(done)[:2000]
    assert preparation().congress_on == date(2025, 8, 25)
    assert records("congress_date.set")[-1].reason == "Theo chỉ đạo của Thành ủy"


def test_an_admin_needs_the_confirmation_too(app, api_as):
    admin = api_as("admin", username="admin")
    assert move_congress(admin, "2025-08-20").json["error"] == "congress_after_deadline_unconfirmed"
    assert move_congress(admin, "2025-08-20", confirm=True, reason="Kiểm tra").status_code == 200


# --- 3. lateness already incurred stays on the record -------------------------------------------

def test_moving_the_congress_later_does_not_make_a_late_unit_better(app, city):
    """The scenario of finding 1, by city staff with the confirmation: the unit stays late while the
    step it let pass is unfinished."""
    overview = queries.province_overview({"31"})
    overdue_tasks = overview.readiness.tasks.overdue
    assert move_congress(city, "2025-08-25", confirm=True, reason="Theo chỉ đạo").status_code == 200

    step = unit_step("branch_congresses")
    assert step.due_on > date(2025, 8, 5)  # by its rule the step would no longer be late
    assert (step.missed_due_on, step.missed_due_kind) == (ORIGINAL_DUE, "by")
    assert step.due.last_allowed_day == ORIGINAL_DUE and step.planned_due.last_allowed_day == step.due_on
    assert step.lapsed
    after = readiness()
    assert after.risk.value == "late"
    assert after.overdue == ("branch_congresses",)
    assert [r.code for r in after.reasons][:2] == ["congress_after_deadline", "steps_overdue"]
    assert queries.province_overview({"31"}).readiness.tasks.overdue == overdue_tasks

    # the API says the step is overdue against its original date
    shown = next(s for s in city.get(f"{API}/units/{HONG_BANG}").json["steps"] if s["key"] == "branch_congresses")
    assert shown["overdue"] is True and shown["due"]["last_allowed_day"] == "2025-08-01"
    html = text(web_client(app, "thanhuy.vanphong").get(f"/units/{HONG_BANG}"))
    assert "chậm tiến độ" in html.lower()

    # the move of the due date is audited, with its old and new dates
    moved = [r for r in records("step.due_moved") if r.step_key == "branch_congresses"]
    assert len(moved) == 1 and moved[0].actor == "thanhuy.vanphong"
    assert moved[0].old == {"due_on": "2025-08-01", "due_kind": "by"}
    assert moved[0].new == {"due_on": step.due_on.isoformat(), "due_kind": "by", "missed_due_on": "2025-08-01"}
    # steps not yet due when the date moved carry no lapse
    assert unit_step("delegates").missed_due_on is None


def test_a_step_overdue_on_a_day_stays_overdue_for_that_day(app, city):
    # on 2/8 the comment round (due 31/7, completed on 3/8) was overdue too: a past day shows that day
    assert readiness(as_of=date(2025, 7, 31)).overdue == ()
    assert readiness(as_of=date(2025, 8, 2)).overdue == ("branch_congresses", "comment_round")
    assert move_congress(city, "2025-08-25", confirm=True, reason="Theo chỉ đạo").status_code == 200
    assert readiness(as_of=date(2025, 7, 31)).overdue == ()
    assert readiness(as_of=date(2025, 8, 2)).overdue == ("branch_congresses", "comment_round")
    report = queries.province_overview({"31"}, as_of=date(2025, 8, 2))
    assert "branch_congresses" in next(r for r in report.rows if r.unit.code == HONG_BANG).readiness.overdue


def test_the_first_missed_date_is_kept_through_later_moves(app, city):
    assert move_congress(city, "2025-08-25", confirm=True, reason="Lần 1").status_code == 200
    assert move_congress(city, "2025-08-28", confirm=True, reason="Lần 2").status_code == 200
    step = unit_step("branch_congresses")
    assert step.missed_due_on == ORIGINAL_DUE and step.due.last_allowed_day == ORIGINAL_DUE
    # back before the deadline: the rule's date is the original again, still overdue
    assert move_congress(city, "2025-08-15").status_code == 200
    step = unit_step("branch_congresses")
    assert step.due_on == ORIGINAL_DUE and step.due.last_allowed_day == ORIGINAL_DUE and not step.lapsed
    assert readiness().overdue == ("branch_congresses",)


def test_it_stays_overdue_until_done(app, city, api_as):
    assert move_congress(city, "2025-08-25", confirm=True, reason="Theo chỉ đạo").status_code == 200
    staff = api_as("unit_staff", unit=HONG_BANG, username="hongbang.vanphong")
    pending = [b for b in queries.unit_branches(unit_of(HONG_BANG)) if b.held_on is None]
    assert len(pending) == 1
    response = staff.patch(f"{API}/branches/{pending[0].code}", json={"version": pending[0].version,
                                                                      "held_on": "2025-08-04"})
    assert response.status_code == 200, response.json
    step = unit_step("branch_congresses")
    assert step.state == "done" and step.missed_due_on == ORIGINAL_DUE  # the lapse stays on the record
    after = readiness()
    assert after.overdue == () and after.risk.value == "at_risk"  # the congress is still after the deadline


def test_a_due_date_moved_earlier_is_no_lapse(app, city):
    """The city brings a deadline forward: due dates move earlier, nothing is recorded as missed."""
    prep = preparation(TU_MINH)
    response = city.put(f"{API}/units/{TU_MINH}/congress-date",
                        json={"version": prep.version, "date": "2025-08-10"})
    assert response.status_code == 200, response.json
    assert records("step.due_moved", TU_MINH) == []
    assert all(missed is None for *_, missed in step_dates(TU_MINH))


# --- 2. a deadline already passed ------------------------------------------------------------------

@pytest.mark.parametrize("day, kind, past", [
    ("2025-08-04", "by", True), ("2025-08-05", "before", True),
    ("2025-08-05", "by", False), ("2025-08-06", "before", False),
])
def test_a_unit_deadline_already_passed_needs_a_confirmed_reason(app, city, day, kind, past):
    body = {"version": preparation(TU_MINH).version, "date": day, "kind": kind, "basis": "Công văn 9-CV/TU"}
    response = city.put(f"{API}/units/{TU_MINH}/deadline", json=body)
    if not past:
        assert response.status_code == 200, response.json
        assert records("deadline.set", TU_MINH)[-1].reason == "Công văn 9-CV/TU"
        return
    assert response.status_code == 422 and response.json["error"] == "deadline_in_past_unconfirmed"
    assert "đã qua" in response.json["message"] and "5/8/2025" in response.json["message"]
    assert preparation(TU_MINH).deadline_on is None and records("deadline.set", TU_MINH) == []
    response = city.put(f"{API}/units/{TU_MINH}/deadline",
                        json={**body, "confirm": True, "reason": "Ghi nhận thời hạn đã giao từ trước"})
    assert response.status_code == 200, response.json
    assert preparation(TU_MINH).deadline_on == date.fromisoformat(day)
    record = records("deadline.set", TU_MINH)[-1]
    assert record.reason == "Ghi nhận thời hạn đã giao từ trước" and record.new["deadline_basis"] == "Công văn 9-CV/TU"


def test_going_back_to_a_campaign_deadline_already_passed_needs_it_too(app, city):
    campaign = db.session.execute(db.select(Campaign).filter_by(province_code="31")).scalar_one()
    campaign.deadline_on, campaign.deadline_kind = date(2025, 8, 1), "by"
    db.session.commit()
    response = city.put(f"{API}/units/{HONG_BANG}/deadline", json={"version": preparation().version, "date": None})
    assert response.status_code == 422 and response.json["error"] == "deadline_in_past_unconfirmed"
    assert preparation().deadline_on == date(2025, 8, 20)


def test_a_campaign_deadline_already_passed_needs_a_confirmed_reason(app, city):
    campaign = city.get(f"{API}/campaigns").json["campaigns"][0]
    url = f"{API}/campaigns/{campaign['id']}/deadline"
    body = {"version": campaign["version"], "date": "2025-08-01", "kind": "before"}
    refused = city.put(url, json=body)
    assert refused.status_code == 422 and refused.json["error"] == "deadline_in_past_unconfirmed"
    assert "trước ngày 1/8/2025" in refused.json["message"]
    assert city.get(f"{API}/campaigns").json["campaigns"][0]["version"] == campaign["version"]
    response = city.put(url, json={**body, "confirm": True, "reason": "Điều chỉnh theo kết luận"})
    assert response.status_code == 200, response.json
    record = db.session.execute(db.select(AuditRecord).filter_by(action="campaign.deadline.set")
                                .order_by(AuditRecord.id.desc())).scalars().first()
    assert record.reason == "Điều chỉnh theo kết luận" and record.new["deadline_on"] == "2025-08-01"
    # a deadline still ahead needs nothing
    later = {"version": response.json["version"], "date": "2025-08-30", "kind": "by"}
    assert city.put(url, json=later).status_code == 200


def test_the_deadline_form_asks_for_the_confirmation(app):
    client = web_client(app, "thanhuy.vanphong")
    page = text(client.get(f"/units/{TU_MINH}"))
    assert 'name="deadline-confirm"' in page and 'name="deadline-reason"' in page
    data = {"deadline-csrf_token": form_token(client, TU_MINH), "deadline-version": str(preparation(TU_MINH).version),
            "deadline-day": "1/8/2025", "deadline-kind": "by", "deadline-basis": "Công văn 9-CV/TU"}
    refused = client.post(f"/units/{TU_MINH}/deadline", data=data)
    assert refused.status_code == 422 and "đã qua" in text(refused)
    assert preparation(TU_MINH).deadline_on is None
    no_reason = client.post(f"/units/{TU_MINH}/deadline", data={**data, "deadline-confirm": "y"})
    assert no_reason.status_code == 422 and "lý do" in text(no_reason)
    done = client.post(f"/units/{TU_MINH}/deadline",
                       data={**data, "deadline-confirm": "y", "deadline-reason": "Thời hạn đã giao từ trước"})
    assert done.status_code == 302
    assert preparation(TU_MINH).deadline_on == date(2025, 8, 1)
    assert records("deadline.set", TU_MINH)[-1].reason == "Thời hạn đã giao từ trước"

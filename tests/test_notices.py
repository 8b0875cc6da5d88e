"""Notices: reminders, city alerts, digests and snapshots driven with a controlled clock; e-mail
through a real SMTP server on localhost; the calendar feed parsed back with icalendar."""
from __future__ import annotations

import socket
import time
from datetime import date, datetime

import icalendar
import pytest
import sqlalchemy as sa

from congress.accounts.models import User
from congress.audit.models import AuditRecord
from congress.extensions import db
from congress.notices import jobs
from congress.notices.models import NoticeAddress, NoticeLedger, Notification, ReadinessSnapshot
from congress.progress import queries
from congress.progress.models import Preparation, Step
from congress.units.models import Unit
from workflows.deadlines import LOCAL_TZ
from workflows.readiness import projected_finish_from_history

TU_MINH = "10891"


def _campaign_id(unit) -> int:
    from congress.progress.models import Preparation

    return db.session.execute(db.select(Preparation.campaign_id).filter_by(unit_id=unit.id)).scalar_one()


def at(day: str, hour: int = 9, minute: int = 0) -> datetime:
    return datetime.combine(date.fromisoformat(day), datetime.min.time(), LOCAL_TZ).replace(hour=hour, minute=minute)


def user(username: str) -> User:
    return db.session.execute(db.select(User).filter_by(username=username)).scalar_one()


def unit_step(code: str, key: str) -> Step:
    unit = db.session.execute(db.select(Unit).filter_by(code=code)).scalar_one()
    prep = db.session.execute(db.select(Preparation).filter_by(unit_id=unit.id)).scalar_one()
    return db.session.execute(db.select(Step).filter_by(preparation_id=prep.id, branch_id=None, key=key)).scalar_one()


def set_due(code: str, key: str, last_day: date, kind: str = "by") -> Step:
    """Pin a step's last allowed day, so the calendar of the test is the one it describes."""
    step = unit_step(code, key)
    step.due_on, step.due_kind = last_day, kind
    db.session.commit()
    return step


@pytest.fixture
def saturday_deadline(app):
    """Tứ Minh's congress step due by Saturday 9/8/2025."""
    return set_due(TU_MINH, "congress", date(2025, 8, 9))


def notices_of(username: str, kind: str | None = None, step: str | None = None) -> list[Notification]:
    query = db.select(Notification).filter_by(user_id=user(username).id).order_by(Notification.id)
    if kind:
        query = query.filter_by(kind=kind)
    found = list(db.session.execute(query).scalars())
    return [n for n in found if step is None or n.params.get("step") == step]


def test_reminders_across_a_deadline_a_weekend_and_a_missed_day(app, saturday_deadline):
    """Tứ Minh's congress step is due by Saturday 9/8/2025 (last allowed day 9/8)."""

    assert jobs.send_reminders(at("2025-08-05")).created > 0  # Tuesday: 4 days left -> the 7-day reminder
    first = notices_of("tuminh.vanphong", "due_soon", "congress")
    assert [n.params["offset"] for n in first] == [7]
    assert first[0].params["days_left"] == 4

    assert jobs.send_reminders(at("2025-08-05", 15)).created == 0  # the same day again: nothing twice
    # Wednesday and Thursday are missed (the scheduler was down); Friday is the last working day
    # before the Saturday deadline: one reminder, the nearest, not the 3-day one as well.
    jobs.send_reminders(at("2025-08-08"))
    assert [n.params["offset"] for n in notices_of("tuminh.vanphong", "due_soon", "congress")] == [7, 1]
    # Saturday is not a working day: nothing is sent
    assert jobs.send_reminders(at("2025-08-09")).skipped == "not_working_day"
    # Monday: overdue, once
    jobs.send_reminders(at("2025-08-11"))
    jobs.send_reminders(at("2025-08-12"))
    overdue = notices_of("tuminh.vanphong", "overdue", "congress")
    assert len(overdue) == 1 and overdue[0].day == date(2025, 8, 9)
    # each of the unit's staff gets their own; other units' staff get none of Tứ Minh's
    assert len(notices_of("tuminh.bithu", "overdue", "congress")) == 1
    assert all(n.params["unit_code"] != TU_MINH for n in notices_of("hongbang.vanphong"))
    # the ledger holds one row per (job, day, recipient, subject)
    keys = db.session.execute(sa.select(NoticeLedger.job, NoticeLedger.day, NoticeLedger.recipient_id,
                                        NoticeLedger.subject)).all()
    assert len(keys) == len(set(keys))


def test_reminder_of_a_before_deadline_uses_its_last_allowed_day(app):
    """Hồng Bàng must finish "trước ngày 20/8/2025": the congress step's last allowed day is 19/8."""
    step = set_due("11311", "congress", date(2025, 8, 19), "before")
    last = step.due_on
    jobs.send_reminders(at(last.isoformat()))
    found = notices_of("hongbang.vanphong", "due_soon", "congress")
    assert found and found[-1].params["days_left"] == 0
    from congress.notices.texts import summary, title

    assert "Hôm nay là hạn cuối" in title(found[-1])
    assert "trước ngày 20/8/2025" in summary(found[-1])


def test_three_day_reminder_when_the_day_comes(app, saturday_deadline):
    jobs.send_reminders(at("2025-08-05"))
    jobs.send_reminders(at("2025-08-06"))  # 3 days left
    jobs.send_reminders(at("2025-08-07"))  # still within the 3-day reminder: nothing new
    assert [n.params["offset"] for n in notices_of("tuminh.vanphong", "due_soon", "congress")] == [7, 3]


def test_city_alert_after_n_days_late_once_per_unit(app, saturday_deadline):
    app.config["NOTICES_CITY_ALERT_DAYS"] = 3
    jobs.send_city_alerts(at("2025-08-11"))  # 9/8 + 2 days: not yet
    assert not [n for n in notices_of("thanhuy.vanphong", "city_alert") if n.params["unit_code"] == TU_MINH]
    jobs.send_city_alerts(at("2025-08-13"))  # 4 days late
    jobs.send_city_alerts(at("2025-08-14"))
    alerts = [n for n in notices_of("thanhuy.vanphong", "city_alert") if n.params["unit_code"] == TU_MINH]
    assert len(alerts) == 1 and alerts[0].params["days_late"] == 4
    assert [n for n in notices_of("thanhuy.lanhdao", "city_alert") if n.params["unit_code"] == TU_MINH]
    # unit staff do not get the city's alerts
    assert notices_of("tuminh.vanphong", "city_alert") == []


def test_digest_day_skips_weekends_and_holidays(app):
    # 30-31/8/2025 is a weekend, 1-2/9/2025 the National Day holiday
    assert jobs.digest_day(at("2025-09-03", 8), 17) == date(2025, 8, 29)
    assert jobs.digest_day(at("2025-09-03", 17), 17) == date(2025, 9, 3)
    assert jobs.digest_day(at("2025-09-02", 18), 17) == date(2025, 8, 29)
    assert jobs.digest_day(at("2025-08-05", 17, 30), 17) == date(2025, 8, 5)


def test_digests_per_unit_and_for_the_city_once_per_working_day(app):
    result = jobs.send_digests(at("2025-08-05", 17, 5))
    assert result.day == date(2025, 8, 5) and result.created > 0
    assert jobs.send_digests(at("2025-08-05", 18)).created == 0
    # after a holiday and a weekend with the scheduler down, one catch-up digest, of the last working day
    caught_up = jobs.send_digests(at("2025-09-03", 8))
    assert caught_up.day == date(2025, 8, 29)
    assert jobs.send_digests(at("2025-09-03", 9)).created == 0
    digests = notices_of("hongbang.vanphong", "digest")
    assert [n.day for n in digests] == [date(2025, 8, 5), date(2025, 8, 29)]
    first = digests[0].params
    assert first["scope"] == "unit" and first["unit_code"] == "11311"
    assert first["next_day"] == "2025-08-06"
    # one part, the unit's one campaign's: blocked and why names Hồng Bàng's overdue step with its
    # title and days late
    [part] = first["campaigns"]
    assert part["campaign_id"] == _campaign_id(db.session.get(Unit, digests[0].unit_id))
    assert part["overdue"] and part["overdue"][0]["days_late"] > 0 and part["overdue"][0]["titles"]["vi"]
    # what changed that day comes from the audit log (the demo recorded changes on 5/8)
    changes = db.session.execute(sa.select(sa.func.count(AuditRecord.id)).where(
        AuditRecord.unit_id == digests[0].unit_id, queries.local_date(AuditRecord.at) == date(2025, 8, 5))).scalar_one()
    assert first["changes_count"] == part["changes_count"] == changes
    city = notices_of("thanhuy.lanhdao", "digest")
    assert [n.params["scope"] for n in city] == ["province", "province"]
    tasks = city[0].params["tasks"]
    assert tasks["done_percent"] + tasks["in_progress_percent"] + tasks["overdue_percent"] == 100


def test_snapshots_for_every_unit_in_bulk_and_once_a_day(no_nights):
    from tests.test_queries import count_queries

    with count_queries() as statements:
        result = jobs.record_readiness(at("2025-08-05", 23, 40))
    assert result.day == date(2025, 8, 5) and result.created == 114
    inserts = [s for s in statements if s.lstrip().upper().startswith("INSERT")]
    # one statement for the snapshots, one for the whole readiness of the night beside them
    assert sorted(s.split()[2] for s in inserts) == ["readiness_nights", "readiness_snapshots"]
    assert len(statements) <= 9, statements
    # a run the next morning (after downtime) records the night before, already done: nothing
    assert jobs.record_readiness(at("2025-08-06", 7)).created == 0
    assert db.session.execute(sa.select(sa.func.count(ReadinessSnapshot.id))).scalar_one() == 114


def test_projected_finish_from_the_recorded_pace():
    history = [(date(2025, 8, 1), 40), (date(2025, 8, 5), 50), (date(2025, 8, 11), 62)]
    # 22 points in 10 days: 2.2 a day, 38 left -> 18 days after 11/8
    assert projected_finish_from_history(history) == date(2025, 8, 29)
    assert projected_finish_from_history([(date(2025, 8, 1), 40), (date(2025, 8, 2), 40)]) is None
    assert projected_finish_from_history([(date(2025, 8, 1), 40)]) is None
    assert projected_finish_from_history([(date(2025, 8, 1), 90), (date(2025, 8, 3), 100)]) == date(2025, 8, 3)


def test_recorded_pace_in_the_api(no_nights, api_as):
    unit = db.session.execute(db.select(Unit).filter_by(code=TU_MINH)).scalar_one()
    for day, percent in (("2025-08-01", 60), ("2025-08-05", 70)):
        db.session.add(ReadinessSnapshot(
            campaign_id=_campaign_id(unit), unit_id=unit.id, day=date.fromisoformat(day), percent=percent, steps_done=1,
                                         steps_total=17, overdue=0, branches_held=0, branches_total=0,
                                         risk="on_track", recorded_at=datetime.now(LOCAL_TZ)))
    db.session.commit()
    body = api_as("unit_staff", unit=TU_MINH).get(f"/api/v1/units/{TU_MINH}/readiness-history").json
    assert [s["percent"] for s in body["snapshots"]] == [60, 70]
    assert body["projected_finish"] == "2025-08-17"  # 2.5 a day, 30 left -> 12 days
    assert api_as("unit_staff", unit="11311").get(f"/api/v1/units/{TU_MINH}/readiness-history").status_code == 403
    from congress.dashboard.series import recorded_levels

    levels = recorded_levels(queries.average_readiness_by_day({"31"}), date(2025, 8, 1), date(2025, 8, 3))
    assert [(p.value, p.recorded) for p in levels] == [(60, True), (60, False), (60, False)]


# --- e-mail through a real SMTP server on localhost ---------------------------------------------

@pytest.fixture
def smtp_server():
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    class Inbox(Message):
        def __init__(self):
            super().__init__()
            self.messages = []

        def handle_message(self, message):
            self.messages.append(message)

    inbox = Inbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield controller, inbox
    finally:
        controller.stop()


def header(value: str) -> str:
    from email.header import decode_header, make_header

    return str(make_header(decode_header(value)))


def wait_for(condition, timeout: float = 5.0) -> None:
    ends = time.monotonic() + timeout
    while not condition() and time.monotonic() < ends:
        time.sleep(0.05)


def test_email_is_sent_once_through_smtp(app, smtp_server, saturday_deadline):
    controller, inbox = smtp_server
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=controller.port,
                      SMTP_TLS="none", SMTP_SENDER="daihoi@haiphong.example.vn")
    db.session.add(NoticeAddress(user_id=user("tuminh.vanphong").id, email="vanphong@tuminh.example.vn"))
    db.session.commit()
    result = jobs.send_reminders(at("2025-08-05"))
    mine = notices_of("tuminh.vanphong")
    assert result.emailed == len(mine) > 0
    wait_for(lambda: len(inbox.messages) >= len(mine))
    assert len(inbox.messages) == len(mine)
    message = next(m for m in inbox.messages if "Tổ chức đại hội" in header(m["Subject"]))
    assert message["To"] == "vanphong@tuminh.example.vn"
    assert "daihoi@haiphong.example.vn" in message["From"]
    assert "chậm nhất ngày 9/8/2025" in message.get_payload(decode=True).decode("utf-8")
    assert all(n.email_state == "sent" for n in notices_of("tuminh.vanphong"))
    # the others have no address: in the app only
    assert all(n.email_state is None for n in notices_of("tuminh.bithu"))
    # again: nothing new, nothing sent twice
    again = jobs.send_reminders(at("2025-08-05", 16))
    assert again.created == 0 and again.emailed == 0
    time.sleep(0.2)
    assert len(inbox.messages) == len(mine)


def test_email_left_pending_by_a_crash_is_sent_by_the_next_run(app, smtp_server):
    controller, inbox = smtp_server
    db.session.add(NoticeAddress(user_id=user("tuminh.vanphong").id, email="vanphong@tuminh.example.vn"))
    db.session.commit()
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=1, SMTP_TLS="none")  # nothing listens on port 1
    jobs.send_reminders(at("2025-08-05"))
    pending = notices_of("tuminh.vanphong")
    assert pending and all(n.email_state == "pending" and n.email_attempts == 1 for n in pending)
    app.config["SMTP_PORT"] = controller.port
    assert jobs.send_reminders(at("2025-08-05", 10)).emailed == len(pending)
    wait_for(lambda: len(inbox.messages) >= len(pending))
    assert len(inbox.messages) == len(pending)
    assert len(notices_of("tuminh.vanphong")) == len(pending)  # the in-app notices were not duplicated


def test_without_smtp_notices_stay_in_the_app(app):
    db.session.add(NoticeAddress(user_id=user("tuminh.vanphong").id, email="vanphong@tuminh.example.vn"))
    db.session.commit()
    assert app.config["SMTP_HOST"] is None
    result = jobs.send_reminders(at("2025-08-05"))
    assert result.created > 0 and result.emailed == 0
    assert all(n.email_state is None for n in notices_of("tuminh.vanphong"))


def test_preferences_turn_channels_off(app):
    from congress.notices.operations import save_settings

    save_settings(user("tuminh.vanphong"), {"due_soon": {"in_app": False, "email": False}}, "")
    db.session.commit()
    jobs.send_reminders(at("2025-08-05"))
    assert all(not n.in_app for n in notices_of("tuminh.vanphong", "due_soon"))
    assert all(n.in_app for n in notices_of("tuminh.bithu", "due_soon"))
    record = db.session.execute(db.select(AuditRecord).filter_by(action="notices.settings")).scalar_one()
    assert record.new["preferences"]["due_soon"] == {"in_app": False, "email": False}


# --- the calendar feed ---------------------------------------------------------------------------

def test_calendar_feed_is_valid_icalendar_with_all_day_events(app):
    from congress.notices.calendar import create_feed

    unit = db.session.execute(db.select(Unit).filter_by(code="11311")).scalar_one()
    feed, token = create_feed(user("hongbang.vanphong"), unit)
    db.session.commit()
    client = app.test_client()
    response = client.get(f"/calendar/{token}.ics")
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    parsed = icalendar.Calendar.from_ical(response.data)
    events = list(parsed.walk("VEVENT"))
    assert events
    by_summary = {str(e["SUMMARY"]): e for e in events}
    deadline = next(e for s, e in by_summary.items() if s.startswith("Hạn đại hội"))
    # "trước ngày 20/8/2025": an all-day event on 19/8, the rule in words
    assert deadline.decoded("DTSTART") == date(2025, 8, 19)
    assert deadline.decoded("DTEND") == date(2025, 8, 20)
    assert "trước ngày 20/8/2025" in str(deadline["DESCRIPTION"])
    congress_step = unit_step("11311", "congress")
    step_event = next(e for e in events if str(e["UID"]) == f"step-{congress_step.id}@congress")
    assert step_event.decoded("DTSTART") == congress_step.due_on
    assert all(isinstance(e.decoded("DTSTART"), date) and not isinstance(e.decoded("DTSTART"), datetime)
               for e in events)
    assert client.get("/calendar/cal_wrong.ics").status_code == 404


def test_a_step_whose_lateness_is_kept_stays_overdue_in_notices_and_the_calendar(app):
    """Tứ Minh's congress step missed its last day (1/8/2025); the congress then moved to 20/8. The step
    answers to the day it missed until it is done (Step.due): the reminders, the city's alerts, the
    digests and the calendar count it overdue from 1/8, not due on 20/8."""
    from congress.notices.calendar import create_feed
    from tests.steps import plan_congress

    app.config["NOTICES_CITY_ALERT_DAYS"] = 3
    set_due(TU_MINH, "congress", date(2025, 8, 1))
    plan_congress(TU_MINH, date(2025, 8, 20))
    step = unit_step(TU_MINH, "congress")
    assert (step.due_on, step.missed_due_on) == (date(2025, 8, 20), date(2025, 8, 1))
    assert step.due.last_allowed_day == date(2025, 8, 1)

    jobs.send_reminders(at("2025-08-05"))
    overdue = notices_of("tuminh.vanphong", "overdue", "congress")
    assert len(overdue) == 1 and overdue[0].day == date(2025, 8, 1)
    assert overdue[0].params["last_day"] == "2025-08-01" and overdue[0].params["days_left"] == -4
    assert notices_of("tuminh.vanphong", "due_soon", "congress") == []

    jobs.send_city_alerts(at("2025-08-05"))  # 4 days late, over the 3 days the city allows
    alerts = [n for n in notices_of("thanhuy.vanphong", "city_alert") if n.params["unit_code"] == TU_MINH]
    assert len(alerts) == 1 and alerts[0].params["days_late"] == 4
    assert [(s["step"], s["last_day"]) for s in alerts[0].params["steps"]] == [("congress", "2025-08-01")]

    jobs.send_digests(at("2025-08-05", 17, 5))
    [digest] = notices_of("tuminh.vanphong", "digest")[-1].params["campaigns"]
    assert [(s["step"], s["last_day"], s["days_late"]) for s in digest["overdue"]] == [("congress", "2025-08-01", 4)]
    assert "congress" not in [s["step"] for s in digest["due"]]

    unit = db.session.execute(db.select(Unit).filter_by(code=TU_MINH)).scalar_one()
    _, token = create_feed(user("tuminh.vanphong"), unit)
    db.session.commit()
    events = icalendar.Calendar.from_ical(app.test_client().get(f"/calendar/{token}.ics").data).walk("VEVENT")
    event = next(e for e in events if str(e["UID"]) == f"step-{step.id}@congress")
    assert event.decoded("DTSTART") == date(2025, 8, 1)
    assert "20/8/2025" in str(event["DESCRIPTION"])  # where its due date moved, said beside the day it missed


def test_a_unit_feed_only_for_those_who_may(app):
    from congress.errors import Forbidden
    from congress.notices.calendar import create_feed

    other = db.session.execute(db.select(Unit).filter_by(code=TU_MINH)).scalar_one()
    with pytest.raises(Forbidden):
        create_feed(user("hongbang.vanphong"), other)
    create_feed(user("thanhuy.vanphong"), other)  # the city may


def test_scheduler_jobs_have_stable_ids_and_local_cron_triggers(app):
    from congress.notices.scheduler import build_scheduler, job_specs

    specs = job_specs(app)
    assert [s.id for s in specs] == ["readiness.new_day", "notices.reminders", "notices.city_alerts",
                                     "notices.digests", "notices.snapshots"]
    assert all(str(s.trigger.timezone) == "Asia/Ho_Chi_Minh" for s in specs)
    scheduler = build_scheduler(app)
    scheduler.start(paused=True)
    try:
        job = scheduler.get_job("notices.digests")
        assert job.coalesce is True and job.misfire_grace_time >= 3600 and job.max_instances == 1
        assert job.next_run_time.hour == app.config["NOTICES_DIGEST_HOUR"]
    finally:
        scheduler.shutdown(wait=False)

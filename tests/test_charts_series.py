"""Issue 16, charts: the demo's nightly readiness series is a real curve (one snapshot per unit and
night, from the campaign's start to the reference day, rebuilt from the demo's own audit log), and
the city's "in progress" says how many of its tasks are not started yet."""
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from congress.extensions import db
from congress.notices import jobs
from congress.notices.models import ReadinessSnapshot
from congress.progress import history, queries
from congress.progress.models import Campaign, Preparation
from congress.units.models import Unit
from tests.test_web import login
from workflows.readiness import task_summary
from workflows.rules import State

REFERENCE_DAY = date(2025, 8, 5)


def _nights(start: date, end: date) -> list[date]:
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def test_the_demo_has_a_snapshot_of_every_unit_every_night(app):
    campaign = db.session.execute(db.select(Campaign).filter_by(province_code="31")).scalar_one()
    units = db.session.execute(sa.select(sa.func.count(Unit.id)).where(Unit.province_code == "31")).scalar_one()
    per_night = dict(db.session.execute(
        sa.select(ReadinessSnapshot.day, sa.func.count(ReadinessSnapshot.id)).group_by(ReadinessSnapshot.day)).all())
    per_night = {queries._as_date(d): n for d, n in per_night.items()}
    assert sorted(per_night) == _nights(campaign.starts_on, REFERENCE_DAY)
    assert set(per_night.values()) == {units}
    # a curve, not two points: the average rises from near nothing to the day's readiness
    averages = [p for _, p in queries.average_readiness_by_day({"31"})]
    assert averages == sorted(averages) and averages[0] < 5 and len(set(averages)) > 20
    assert averages[-1] == queries.province_overview({"31"}).readiness.percent
    # recorded as the nightly job would have: at 23:30 of the night, whatever the seed's hour
    first = db.session.execute(sa.select(ReadinessSnapshot).order_by(ReadinessSnapshot.day)).scalars().first()
    assert first.recorded_at.replace(tzinfo=None) == datetime(2025, 7, 1, 16, 30)  # 1/7 23:30 in Vietnam (UTC+7)


def test_a_seeded_night_is_what_the_nightly_job_records_that_night(app):
    """The seed's snapshots are the readiness rebuilt from the audit log for that day, exactly as
    record_readiness computes it (done + started + not started = the steps counted)."""
    seeded = {(s.unit_id, queries._as_date(s.day)): s
              for s in db.session.execute(db.select(ReadinessSnapshot)).scalars()}
    for day in (date(2025, 7, 1), date(2025, 7, 18), date(2025, 8, 4), REFERENCE_DAY):
        for row in queries.readiness_rows({"31"}, as_of=day):
            snap = seeded[(row.unit.id, day)]
            r = row.readiness
            assert (snap.percent, snap.steps_done, snap.steps_total, snap.overdue, snap.branches_held,
                    snap.branches_total, snap.risk) == (
                r.percent, r.steps_done, r.steps_total, len(r.overdue), r.branches_held, r.branches_total,
                r.risk.value), (row.unit.code, day)
            assert 0 <= snap.steps_done <= snap.steps_total


def test_the_nights_rebuilt_at_once_are_the_days_rebuilt_one_by_one(app):
    preps = list(db.session.execute(db.select(Preparation)).scalars())
    days = [date(2025, 7, 3), date(2025, 7, 25), date(2025, 7, 26), date(2025, 8, 4)]

    def picture(past):
        steps = sorted((s.preparation_id, s.key, s.state, s.due_on, s.due_kind, s.completed_on, s.missed_due_on)
                       for found in past.unit_steps.values() for s in found)
        branches = sorted((b.code, b.held_on, b.planned_on) for found in past.branches.values() for b in found)
        dates = sorted((p.id, p.congress_on, p.deadline_on) for p in past.preparations)
        return steps, branches, dates

    together = {past.day: picture(past) for past in history.rebuild_nights(preps, days)}
    assert sorted(together) == days
    for day in days:
        assert together[day] == picture(history.rebuild(preps, day)), day


def test_recording_past_nights_again_adds_nothing(app):
    before = db.session.execute(sa.select(sa.func.count(ReadinessSnapshot.id))).scalar_one()
    assert jobs.record_past_nights({"31"}, [date(2025, 7, 10), date(2025, 7, 11)]) == 0
    assert db.session.execute(sa.select(sa.func.count(ReadinessSnapshot.id))).scalar_one() == before


def test_in_progress_counts_the_tasks_not_started_apart():
    rows = [(State.DONE, None), (State.NOT_STARTED, None), (State.NOT_STARTED, None), (State.IN_PROGRESS, None),
            (State.SUBMITTED, None), (State.APPROVED, None), (State.NOT_APPLICABLE, None)]
    t = task_summary(rows, date(2025, 8, 5))
    assert (t.assigned, t.done, t.in_progress, t.overdue) == (6, 1, 5, 0)
    assert (t.not_started, t.started) == (2, 3)
    assert t.not_started + t.started + t.done + t.overdue == t.assigned


def test_the_city_line_says_how_many_in_progress_are_not_started(app):
    rows = queries.readiness_rows({"31"})
    states = [f.state for row in rows for f in row.steps if f.state is not State.NOT_APPLICABLE]
    tasks = task_summary(((f.state, f.due) for row in rows for f in row.steps), REFERENCE_DAY)
    assert tasks.not_started > 0 and tasks.started > 0
    assert tasks.not_started + tasks.started + tasks.done + tasks.overdue == tasks.assigned == len(states)
    client = app.test_client()
    assert login(client, "thanhuy.vanphong").status_code == 302
    html = client.get("/dashboard").get_data(as_text=True)
    # the city's report line as it was, and under it what its "in progress" counts
    assert "đang thực hiện" in html
    note = html.split('id="headline-in-progress">', 1)[1].split("</p>", 1)[0]
    assert "chưa bắt đầu" in note or "not started" in note, note
    assert f"{tasks.not_started:,}".replace(",", ".") in note
    assert f"{tasks.started:,}".replace(",", ".") in note

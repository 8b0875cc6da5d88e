"""Scheduled work of the notices: plain functions of a moment in local time (Asia/Ho_Chi_Minh).

Each job works out what is due at ``now``, writes a ledger row and its notification in one
transaction (the ledger's unique key makes a second run, or a second process, produce nothing),
commits, and only then sends the e-mail of what it created (mail.deliver_pending).

- reminders: a unit's staff hear of a step 7, 3 and 1 days (configurable) before its last allowed
  day, and once when it is overdue. They run on working days; a reminder whose day falls on a
  weekend or holiday comes on the working day before it.
- city alerts: the city's staff and leaders hear of a unit late by more than N days.
- digests: at the end of each working day, one per unit (to its staff) and one per province (to
  the city): what changed that day, what is due by the next working day, what is blocked and why.
  A unit's digest has a section for each open campaign the unit is in.
- snapshots: every night, every unit's readiness in one INSERT.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects import postgresql, sqlite

from congress.accounts.models import CITY_ROLES, UNIT_ROLES, User
from congress.audit.models import AuditRecord
from congress.clock import local_now, utcnow
from congress.extensions import db
from congress.messages import approver_params
from congress.progress import queries
from congress.progress.models import OPEN, Campaign, Preparation, Step, WorkflowVersion, accountable_due
from congress.units.models import Unit
from workflows.deadlines import DEFAULT_CALENDAR, LOCAL_TZ, WorkingCalendar
from workflows.readiness import Risk, task_summary
from workflows.rules import FINISHED, State

from . import mail
from .models import (
    NoticeAddress,
    NoticeLedger,
    NoticePreference,
    Notification,
    ReadinessNight,
    ReadinessSnapshot,
    audience_of,
)

FINISHED_VALUES = tuple(s.value for s in FINISHED)
#: the nightly snapshot is taken at this local time; a run before it records the previous day
SNAPSHOT_TIME = time(23, 30)
#: rows per INSERT of the snapshots (12 parameters each)
SNAPSHOT_SLICE = 2000
#: at most this many changes are listed in a digest (the count says how many there were)
DIGEST_CHANGES_LIMIT = 30


@dataclass
class JobResult:
    job: str
    day: date
    created: int = 0
    emailed: int = 0
    #: why the job did nothing that day ("not_working_day"), else None
    skipped: str | None = None
    details: list[str] = field(default_factory=list)


# --- shared pieces ----------------------------------------------------------------------------

def _local(now: datetime | None) -> datetime:
    now = now or local_now()
    if now.tzinfo is None:
        return now.replace(tzinfo=LOCAL_TZ)
    return now.astimezone(LOCAL_TZ)


def _calendar() -> WorkingCalendar:
    return current_app.config.get("NOTICES_CALENDAR") or DEFAULT_CALENDAR


def next_working_day(day: date, calendar: WorkingCalendar | None = None) -> date:
    return (calendar or _calendar()).add_working_days(day, 1)


def digest_day(now: datetime, hour: int, calendar: WorkingCalendar | None = None) -> date:
    """The working day whose digest is due at ``now``: today from the digest hour on, else the
    working day before. A run after downtime thus sends the last missed digest, and only it."""
    calendar = calendar or _calendar()
    day = now.date() if now.time() >= time(hour) else now.date() - timedelta(days=1)
    while not calendar.is_working_day(day):
        day -= timedelta(days=1)
    return day


def snapshot_day(now: datetime) -> date:
    return now.date() if now.time() >= SNAPSHOT_TIME else now.date() - timedelta(days=1)


def _insert(model):
    dialect = db.session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)


@dataclass(frozen=True)
class Recipient:
    user: User
    in_app: bool
    email: str | None


class Audience:
    """The people notices go to and what each wants, read in three queries for all units (or, with
    ``where``, for the users it selects: one unit's, one province's)."""

    def __init__(self, roles: Iterable[str], where=None):
        query = db.select(User).where(User.role.in_(tuple(roles)), User.active.is_(True))
        if where is not None:
            query = query.where(where)
        self.users = list(db.session.execute(query.order_by(User.id)).scalars())
        ids = [u.id for u in self.users]
        self.prefs = {(p.user_id, p.kind): p for p in db.session.execute(
            db.select(NoticePreference).where(NoticePreference.user_id.in_(ids))).scalars()} if ids else {}
        self.addresses = {a.user_id: a.email for a in db.session.execute(
            db.select(NoticeAddress).where(NoticeAddress.user_id.in_(ids))).scalars()} if ids else {}
        self.by_unit: dict[int, list[User]] = defaultdict(list)
        self.by_province: dict[str, list[User]] = defaultdict(list)
        for user in self.users:
            if user.role in UNIT_ROLES and user.unit_id:
                self.by_unit[user.unit_id].append(user)
            elif user.role in CITY_ROLES and user.province_code:
                self.by_province[user.province_code].append(user)

    def recipient(self, user: User, kind: str) -> Recipient:
        pref = self.prefs.get((user.id, kind))
        in_app = pref.in_app if pref else True
        wants_email = pref.email if pref else True
        email = self.addresses.get(user.id) if wants_email and mail.configured() else None
        return Recipient(user, in_app, email)


def notify(result: JobResult, *, job: str, key_day: date, subject: str, recipient: Recipient, kind: str,
           day: date, params: dict, unit_id: int | None = None, link: str | None = None) -> Notification | None:
    """Record (job, key_day, recipient, subject) once, with its notification; None if already done.

    INSERT ... ON CONFLICT DO NOTHING: a concurrent run waits for the other's commit, then finds
    the row and does nothing.
    """
    ledger_id = db.session.execute(
        _insert(NoticeLedger).values(job=job, day=key_day, recipient_id=recipient.user.id, subject=subject,
                                     created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["job", "day", "recipient_id", "subject"])
        .returning(NoticeLedger.id)).scalar_one_or_none()
    if ledger_id is None:
        return None
    notification = Notification(
        user_id=recipient.user.id, kind=kind, unit_id=unit_id, day=day, params=params, link=link,
        created_at=utcnow(), in_app=recipient.in_app, email_state="pending" if recipient.email else None,
        email_to=recipient.email, email_attempts=0)
    db.session.add(notification)
    db.session.flush()
    db.session.execute(sa.update(NoticeLedger).where(NoticeLedger.id == ledger_id)
                       .values(notification_id=notification.id))
    result.created += 1
    return notification


def _finish(result: JobResult) -> JobResult:
    db.session.commit()
    result.emailed = mail.deliver_pending()
    return result


def _titles(definition, key: str) -> dict[str, str]:
    step = definition.step(key)
    return {"vi": step.title_vi, "en": step.title_en}


@dataclass(frozen=True)
class OpenStep:
    step_id: int
    key: str
    due_on: date
    due_kind: str
    state: str
    reason: str | None
    unit: Unit
    titles: dict[str, str]
    #: the campaign of the step's preparation
    campaign_id: int | None = None


def _open_unit_steps(due_matches: Callable) -> list[OpenStep]:
    """Unfinished unit steps whose last allowed day matches ``due_matches`` (``lambda d: d <= horizon``),
    with their unit and titles, in one query. The day is the one the step answers to (``Step.due``): a
    step that missed its due date before the date moved later keeps counting from the missed one."""
    rows = db.session.execute(
        sa.select(Step.id, Step.key, Step.due_on, Step.due_kind, Step.missed_due_on, Step.missed_due_kind,
                  Step.state, Step.reason, Unit, WorkflowVersion, Preparation.campaign_id)
        .join(Preparation, Preparation.id == Step.preparation_id)
        .join(Campaign, Campaign.id == Preparation.campaign_id)
        .join(Unit, Unit.id == Preparation.unit_id)
        .join(WorkflowVersion, WorkflowVersion.id == Preparation.workflow_version_id)
        # either date may be the one the step answers to; accountable_due picks it below; a closed
        # campaign's steps are left as they were, and remind nobody
        .where(Step.branch_id.is_(None), Step.state.not_in(FINISHED_VALUES), Campaign.status == OPEN,
               sa.or_(due_matches(Step.due_on), due_matches(Step.missed_due_on))))
    found = []
    for r in rows:
        due = accountable_due(State(r.state), r.due_on, r.due_kind, r.missed_due_on, r.missed_due_kind)
        if due is not None and due_matches(due.last_allowed_day):
            found.append(OpenStep(r.id, r.key, due.last_allowed_day, due.kind.value, r.state, r.reason, r.Unit,
                                  _titles(r.WorkflowVersion.definition(), r.key), r.campaign_id))
    return sorted(found, key=lambda s: (s.unit.code, s.due_on, s.step_id))


def _step_params(step: OpenStep, today: date) -> dict:
    return {"unit_code": step.unit.code, "unit_name": step.unit.name, "step_id": step.step_id, "step": step.key,
            "titles": step.titles,
            "last_day": step.due_on.isoformat(), "due_kind": step.due_kind,
            "days_left": (step.due_on - today).days, "state": step.state}


# --- reminders and overdue notices ------------------------------------------------------------

def reminder_offset(due_on: date, day: date, offsets: Iterable[int], calendar: WorkingCalendar) -> int | None:
    """Which reminder (days before the last allowed day) is due on working day ``day``.

    A reminder whose own day falls before the next working day is sent today; when several are
    due (after a missed day) only the nearest is, so a user hears once, not three times.
    """
    if due_on < day:
        return None
    horizon = next_working_day(day, calendar) - timedelta(days=1)
    due = [o for o in offsets if due_on - timedelta(days=o) <= horizon]
    return min(due) if due else None


def send_reminders(now: datetime | None = None) -> JobResult:
    """Remind a unit's staff of steps falling due, and tell them once of each overdue step."""
    now = _local(now)
    day = now.date()
    result = JobResult("reminders", day)
    calendar = _calendar()
    if not calendar.is_working_day(day):
        result.skipped = "not_working_day"
        return result
    offsets = current_app.config["NOTICES_REMINDER_DAYS"]
    audience = Audience(audience_of("due_soon", "overdue"))
    horizon = next_working_day(day, calendar) + timedelta(days=max(offsets, default=0))
    for step in _open_unit_steps(lambda due_on: due_on <= horizon):
        users = audience.by_unit.get(step.unit.id, [])
        if not users:
            continue
        params = _step_params(step, day)
        link = f"/units/{step.unit.code}#step-{step.key}"
        if step.due_on < day:
            for user in users:
                notify(result, job="overdue", key_day=step.due_on, subject=f"step:{step.step_id}",
                       recipient=audience.recipient(user, "overdue"), kind="overdue", day=step.due_on,
                       params=params, unit_id=step.unit.id, link=link)
            continue
        offset = reminder_offset(step.due_on, day, offsets, calendar)
        if offset is None:
            continue
        for user in users:
            notify(result, job="due_soon", key_day=step.due_on, subject=f"step:{step.step_id}:{offset}",
                   recipient=audience.recipient(user, "due_soon"), kind="due_soon", day=step.due_on,
                   params={**params, "offset": offset}, unit_id=step.unit.id, link=link)
    return _finish(result)


def send_city_alerts(now: datetime | None = None) -> JobResult:
    """Alert the city's staff and leaders of a unit late by more than N days (once per late step
    that started the lateness: a unit catching up and falling behind again alerts again)."""
    now = _local(now)
    day = now.date()
    result = JobResult("city_alerts", day)
    if not _calendar().is_working_day(day):
        result.skipped = "not_working_day"
        return result
    threshold = current_app.config["NOTICES_CITY_ALERT_DAYS"]
    audience = Audience(audience_of("city_alert"))
    late: dict[int, list[OpenStep]] = defaultdict(list)
    for step in _open_unit_steps(lambda due_on: due_on < day - timedelta(days=threshold)):
        late[step.unit.id].append(step)
    for steps in late.values():
        unit = steps[0].unit
        oldest = min(steps, key=lambda s: (s.due_on, s.step_id))
        params = {"unit_code": unit.code, "unit_name": unit.name, "days_late": (day - oldest.due_on).days,
                  "threshold": threshold, "count": len(steps),
                  "steps": [{"step": s.key, "titles": s.titles, "last_day": s.due_on.isoformat(),
                             "due_kind": s.due_kind} for s in steps]}
        for user in audience.by_province.get(unit.province_code, []):
            notify(result, job="city_alert", key_day=oldest.due_on, subject=f"unit:{unit.code}",
                   recipient=audience.recipient(user, "city_alert"), kind="city_alert", day=day,
                   params=params, unit_id=unit.id, link=f"/units/{unit.code}")
    return _finish(result)


# --- digests ----------------------------------------------------------------------------------

def _changes_on(day: date) -> dict[int, list[AuditRecord]]:
    """The audit records of each unit on a local day, in one query."""
    # compared in UTC: SQLite keeps timestamps as UTC text without their offset
    start = datetime.combine(day, time(0), LOCAL_TZ).astimezone(UTC)
    found: dict[int, list[AuditRecord]] = defaultdict(list)
    for record in db.session.execute(
            db.select(AuditRecord).where(AuditRecord.unit_id.is_not(None), AuditRecord.at >= start,
                                         AuditRecord.at < start + timedelta(days=1))
            .order_by(AuditRecord.at, AuditRecord.id)).scalars():
        found[record.unit_id].append(record)
    return found


def _change_json(record: AuditRecord) -> dict:
    return {"action": record.action, "entity_key": record.entity_key, "step": record.step_key,
            "actor": record.actor, "at": record.at.astimezone(LOCAL_TZ).strftime("%H:%M")}


def _campaign_section(row: queries.UnitRow, changes: list[AuditRecord], due: list[OpenStep],
                      open_steps: list[OpenStep], day: date, definition) -> dict:
    """One campaign's part of a unit's digest: its readiness, the changes made in it, its steps due
    and blocked (``changes``, ``due`` and ``open_steps`` are that campaign's)."""
    overdue = [s for s in open_steps if s.due_on < day]
    returned = [s for s in open_steps if s.state == State.IN_PROGRESS.value and s.reason]
    readiness = row.readiness
    campaign = row.preparation.campaign
    return {
        "campaign_id": campaign.id, "name": {"vi": campaign.name_vi, "en": campaign.name_en or campaign.name_vi},
        "approver": approver_params(definition.approver),
        "percent": readiness.percent, "risk": readiness.risk.value, "changes_count": len(changes),
        "changes": [{**_change_json(c), "titles": _titles(definition, c.step_key)
                     if c.step_key and c.step_key in definition.step_keys else None}
                    for c in changes[:DIGEST_CHANGES_LIMIT]],
        "due": [{"step": s.key, "titles": s.titles, "last_day": s.due_on.isoformat(), "due_kind": s.due_kind}
                for s in due],
        "overdue": [{"step": s.key, "titles": s.titles, "last_day": s.due_on.isoformat(),
                     "due_kind": s.due_kind, "days_late": (day - s.due_on).days} for s in overdue],
        "returned": [{"step": s.key, "titles": s.titles, "reason": s.reason} for s in returned],
        "branches_held": readiness.branches_held, "branches_total": readiness.branches_total,
    }


def send_digests(now: datetime | None = None) -> JobResult:
    """The end-of-day digests: per unit to its staff, per province to the city."""
    now = _local(now)
    calendar = _calendar()
    day = digest_day(now, current_app.config["NOTICES_DIGEST_HOUR"], calendar)
    result = JobResult("digests", day)
    following = next_working_day(day, calendar)
    # each unit's rows, one per open campaign it is in (a few queries per round, whatever the units);
    # the city's digest reads each unit once, in the first open round it is in
    unit_rows: dict[int, list[queries.UnitRow]] = defaultdict(list)
    rows = []
    for round_ in open_rounds():
        for row in queries.readiness_rows(None, as_of=day, round_=round_):
            if row.preparation.campaign.status != OPEN:
                continue  # a closed campaign of a round still running elsewhere: nothing to tell
            if row.unit.id not in unit_rows:
                rows.append(row)
            unit_rows[row.unit.id].append(row)
    changes = _changes_on(day)
    open_by_campaign: dict[tuple[int, int | None], list[OpenStep]] = defaultdict(list)
    for step in _open_unit_steps(lambda due_on: due_on <= following):
        open_by_campaign[(step.unit.id, step.campaign_id)].append(step)
    definitions = {v.id: v.definition() for v in db.session.execute(db.select(WorkflowVersion)).scalars()}
    audience = Audience(audience_of("digest"))
    by_province: dict[str, list[dict]] = defaultdict(list)
    for unit_id, found in unit_rows.items():
        unit = found[0].unit
        # one section per campaign, the one started first first; a change recorded in a campaign
        # goes to its section, one recorded for the unit alone (its drafts, its accounts) to each
        found.sort(key=lambda r: (r.preparation.campaign.starts_on, r.preparation.campaign_id))
        campaign_ids = {r.preparation.campaign_id for r in found}
        records = [c for c in changes.get(unit_id, []) if c.campaign_id is None or c.campaign_id in campaign_ids]
        sections = []
        for row in found:
            campaign_id = row.preparation.campaign_id
            unit_open = open_by_campaign.get((unit_id, campaign_id), [])
            due = [s for s in unit_open if day <= s.due_on <= following]
            sections.append(_campaign_section(row, [c for c in records if c.campaign_id in (None, campaign_id)],
                                              due, unit_open, day, definitions[row.preparation.workflow_version_id]))
        by_province[unit.province_code].append({
            "unit_code": unit.code, "unit_name": unit.name, "changes_count": len(records),
            **{part: [item for s in sections for item in s[part]] for part in ("due", "overdue", "returned")}})
        params = {"scope": "unit", "day": day.isoformat(), "next_day": following.isoformat(),
                  "unit_code": unit.code, "unit_name": unit.name, "changes_count": len(records),
                  "campaigns": sections}
        for user in audience.by_unit.get(unit_id, []):  # one digest a day, whatever the campaigns
            notify(result, job="digest", key_day=day, subject=f"unit:{unit.code}",
                   recipient=audience.recipient(user, "digest"), kind="digest", day=day, params=params,
                   unit_id=unit_id, link=f"/units/{unit.code}")
    for province_code, digests in by_province.items():
        users = audience.by_province.get(province_code, [])
        if not users:
            continue
        province_rows = [r for r in rows if r.unit.province_code == province_code]
        tasks = task_summary(((f.state, f.due) for r in province_rows for f in r.steps), day)
        params = {
            "scope": "province", "province_code": province_code,
            "province_name": province_rows[0].unit.province.name, "day": day.isoformat(),
            "next_day": following.isoformat(), "units": len(digests),
            "tasks": {"assigned": tasks.assigned, "done": tasks.done, "in_progress": tasks.in_progress,
                      "overdue": tasks.overdue, "done_percent": tasks.done_percent,
                      "in_progress_percent": tasks.in_progress_percent, "overdue_percent": tasks.overdue_percent},
            "changed": [{"unit_code": d["unit_code"], "unit_name": d["unit_name"], "count": d["changes_count"]}
                        for d in digests if d["changes_count"]],
            "due": [{"unit_code": d["unit_code"], "unit_name": d["unit_name"], "steps": d["due"]}
                    for d in digests if d["due"]],
            "late": [{"unit_code": d["unit_code"], "unit_name": d["unit_name"], "overdue": d["overdue"],
                      "returned": d["returned"]}
                     for d in digests if d["overdue"] or d["returned"]],
            "late_units": sum(1 for r in province_rows if r.readiness.risk is Risk.LATE),
            "at_risk_units": sum(1 for r in province_rows if r.readiness.risk is Risk.AT_RISK),
        }
        for user in users:
            notify(result, job="digest", key_day=day, subject=f"province:{province_code}",
                   recipient=audience.recipient(user, "digest"), kind="digest", day=day, params=params,
                   link=f"/dashboard?province={province_code}")
    return _finish(result)


# --- nightly readiness snapshots --------------------------------------------------------------

def record_readiness(now: datetime | None = None) -> JobResult:
    """Every unit's readiness for the day, in one INSERT; a day already recorded is kept."""
    now = _local(now)
    day = snapshot_day(now)
    result = JobResult("snapshots", day)
    values = []
    for round_ in open_rounds():  # a closed campaign's figures no longer change: nothing to record
        values += _snapshot_values(queries.readiness_rows(None, as_of=day, round_=round_), day, utcnow())
    result.created = _insert_snapshots(values)
    db.session.commit()
    return result


def open_rounds() -> list:
    """Every round with an open campaign (one query)."""
    from congress.progress.campaigns import Round

    return [Round(*r) for r in db.session.execute(
        sa.select(Campaign.organisation, Campaign.level, Campaign.term).where(Campaign.status == OPEN)
        .distinct().order_by(Campaign.organisation, Campaign.level, Campaign.term)).all()]


def record_past_nights(province_codes: set[str] | None, days: list[date]) -> int:
    """The snapshots of nights gone by, as the nightly job would have recorded them then (at
    SNAPSHOT_TIME): each day's readiness rebuilt from the audit log, read once for all the days
    (the demo's history); nights already recorded are kept. Not committed. Returns the rows added."""
    values = []
    for day, rows in queries.readiness_by_night(province_codes, days):
        values += _snapshot_values(rows, day, datetime.combine(day, SNAPSHOT_TIME, tzinfo=LOCAL_TZ).astimezone(UTC))
    count = sa.select(sa.func.count(ReadinessSnapshot.id))
    before = db.session.execute(count).scalar_one()
    if values:  # many rows, one statement executed for each (compiled once)
        _insert_nights(values)
        db.session.execute(_insert(ReadinessSnapshot).on_conflict_do_nothing(
            index_elements=["campaign_id", "unit_id", "day"]), values)
    return db.session.execute(count).scalar_one() - before


def _snapshot_values(rows: Iterable, day: date, recorded_at: datetime) -> list[dict]:
    from congress.progress import stored

    return [{"campaign_id": row.preparation.campaign_id, "unit_id": row.unit.id, "day": day,
             "percent": row.readiness.percent,
             "steps_done": row.readiness.steps_done, "steps_total": row.readiness.steps_total,
             "overdue": len(row.readiness.overdue), "branches_held": row.readiness.branches_held,
             "branches_total": row.readiness.branches_total, "risk": row.readiness.risk.value,
             "projected_finish": row.readiness.projected_finish, "recorded_at": recorded_at,
             NIGHT: {"campaign_id": row.preparation.campaign_id, "unit_id": row.unit.id, "day": day,
                     "readiness": stored.encoded_readiness(row), "steps": stored.encode_steps(row.steps),
                     "congress_on": row.preparation.congress_on}}
            for row in rows]


#: the key of a snapshot's whole readiness (notices.models.ReadinessNight) among its values
NIGHT = "night"


def _insert_nights(values: list[dict]) -> None:
    """The whole readiness beside each snapshot (kept as recorded the first time, as snapshots are)."""
    nights = [v.pop(NIGHT) for v in values]
    for start in range(0, len(nights), SNAPSHOT_SLICE):
        db.session.execute(_insert(ReadinessNight).values(nights[start:start + SNAPSHOT_SLICE])
                           .on_conflict_do_nothing(index_elements=["campaign_id", "unit_id", "day"]))


def _insert_snapshots(values: list[dict]) -> int:
    """One statement for every unit (in slices that keep under SQLite's limit on parameters)."""
    _insert_nights(values)
    created = 0
    for start in range(0, len(values), SNAPSHOT_SLICE):
        inserted = db.session.execute(
            _insert(ReadinessSnapshot).values(values[start:start + SNAPSHOT_SLICE])
            .on_conflict_do_nothing(index_elements=["campaign_id", "unit_id", "day"])
            .returning(ReadinessSnapshot.id)).all()
        created += len(inserted)
    return created


#: the jobs by their stable ids
# --- the stored readiness when the day turns ----------------------------------------------------

def recompute_readiness(now: datetime | None = None) -> JobResult:
    """Every open campaign's stored readiness computed for the new day (overdue steps, days left
    and risk change with the date; see congress.progress.stored)."""
    from congress.progress import stored

    day = _local(now).date()
    result = JobResult("readiness", day)
    result.created = stored.rebuild(open_only=True, day=day)
    db.session.commit()
    return result


JOBS = {
    "readiness.new_day": recompute_readiness,
    "notices.reminders": send_reminders,
    "notices.city_alerts": send_city_alerts,
    "notices.digests": send_digests,
    "notices.snapshots": record_readiness,
}

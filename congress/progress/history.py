"""Units' steps, branches and dates as they were at the end of a past day, rebuilt from the audit log.

The readiness of a past day (the city's progress report "as of" a day, the API's ``as_of``) is
that day's picture, not today's rows read with a past "today". Every write to a step, a branch, a
preparation's dates and a campaign's deadline is audited with the fields it changed, old and new
(``changed_fields`` in congress.progress.operations, congress.units.operations and the import's
appliers). Starting from today's rows and undoing, newest first, every change recorded after the
end of the day gives the rows as they were then; a row created after the day (a branch added, a
unit enrolled later) did not exist then.

The day ends at local midnight in Asia/Ho_Chi_Minh (``workflows.deadlines.LOCAL_TZ``), the one
time zone the application counts days in (congress.clock).

Two columns are rewritten without a record of their own, and are rebuilt from what is recorded:

- due dates (``due_on``, ``due_kind``): ``refresh_due_dates`` recomputes them whenever a date
  they count from moves (the congress, a deadline, a branch's planned congress); they are
  recomputed from the day's dates wherever those differ from today's;
- a lapse kept on record (``missed_due_on``): set once, by the first "step.due_moved", and never
  cleared; it was there at the end of the day when such a record of the step precedes it.

Nothing is written: the rebuilt rows are plain stand-ins with the attributes the readers use
(readiness, the API's serializers). The reads are a constant number of queries, whatever the
number of units: today's steps, today's branches, the audit records since the day (and the
"step.due_moved" ones), and the workflow definitions when the caller has not read them.
"""
from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa

from congress.audit.models import AuditRecord
from congress.extensions import db
from congress.units.models import Branch, Unit
from workflows.deadlines import LOCAL_TZ, Deadline
from workflows.rules import State

from .models import Campaign, Preparation, Step, WorkflowVersion

#: the columns of a step a write changes (step_snapshot) and those refresh_due_dates changes
STEP_FIELDS = ("state", "started_on", "submitted_on", "approved_on", "completed_on", "due_on", "due_kind",
               "missed_due_on", "missed_due_kind", "note", "reason", "version")
BRANCH_FIELDS = ("name", "kind", "members", "secretary", "planned_on", "held_on", "delegates", "new_secretary",
                 "version")
PREPARATION_FIELDS = ("congress_on", "deadline_on", "deadline_kind", "deadline_basis", "version")
CAMPAIGN_FIELDS = ("deadline_on", "deadline_kind", "deadline_basis", "version")
#: the entities whose records hold a unit's steps, branches and dates
UNIT_ENTITIES = ("step", "branch", "preparation")
CHUNK = 5000


def end_of_day(day: date) -> datetime:
    """The first instant after ``day`` in Vietnam, in UTC: a record from then on came after it."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=LOCAL_TZ).astimezone(UTC)


def _day(value):
    """A date as the audit log (ISO text) or SQLite (text) gives it."""
    return date.fromisoformat(value) if isinstance(value, str) else value


def _value(name: str, value):
    return _day(value) if name.endswith("_on") else value


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)  # SQLite drops it


@dataclass(eq=False)
class PastStep:
    """A step as it was: the columns of :class:`Step` the readers use."""
    preparation_id: int
    branch_id: int | None
    key: str
    state: str
    id: int | None = None
    started_on: date | None = None
    submitted_on: date | None = None
    approved_on: date | None = None
    completed_on: date | None = None
    due_on: date | None = None
    due_kind: str | None = None
    missed_due_on: date | None = None
    missed_due_kind: str | None = None
    note: str | None = None
    reason: str | None = None
    version: int = 1

    state_enum = Step.__dict__["state_enum"]
    due = Step.__dict__["due"]
    planned_due = Step.__dict__["planned_due"]
    lapsed = Step.__dict__["lapsed"]


@dataclass(eq=False)
class PastBranch:
    """A branch as it was; ``unit`` is the unit as it is (its name and code)."""
    id: int
    code: str
    campaign_id: int
    unit_id: int
    name: str
    kind: str
    members: int | None
    secretary: str | None
    planned_on: date | None
    held_on: date | None
    delegates: int | None
    new_secretary: str | None
    version: int
    unit: object = None
    #: today's planned congress, to tell whether the branch's due dates moved since
    planned_now: date | None = None


class PastCampaign:
    """A campaign with its deadline as it was; everything else as it is."""

    deadline = Campaign.__dict__["deadline"]

    def __init__(self, current: Campaign):
        self.current = current
        for name in CAMPAIGN_FIELDS:
            setattr(self, name, getattr(current, name))

    def __getattr__(self, name):
        return getattr(self.__dict__["current"], name)


class PastPreparation:
    """A unit's preparation with its congress date and deadline as they were, in its campaign as it
    was; everything else (the unit, the workflow versions) as it is."""

    deadline = Preparation.__dict__["deadline"]
    deadline_is_override = Preparation.__dict__["deadline_is_override"]

    def __init__(self, current: Preparation, campaign: PastCampaign):
        self.current = current
        self.campaign = campaign
        for name in PREPARATION_FIELDS:
            setattr(self, name, getattr(current, name))

    def __getattr__(self, name):
        return getattr(self.__dict__["current"], name)


@dataclass
class Past:
    """The rebuilt rows of the end of ``day``."""
    day: date
    #: the preparations that existed then, in the order given
    preparations: list[PastPreparation]
    #: each preparation's unit steps, by preparation id
    unit_steps: dict[int, list[PastStep]]
    #: the branches that existed then, by preparation id, by code
    branches: dict[int, list[PastBranch]]
    #: each branch's steps, by branch id (when asked for)
    branch_steps: dict[int, list[PastStep]] = field(default_factory=dict)

    def branch_counts(self) -> dict[int, tuple[int, int]]:
        """Per preparation: (branches, held), as readiness counts them."""
        return {prep_id: (len(found), sum(1 for b in found if b.held_on is not None))
                for prep_id, found in self.branches.items() if found}


def rebuild(preps: Iterable[Preparation], day: date, *, definitions: dict | None = None,
            branch_steps: bool = False) -> Past:
    """The state of ``preps`` (loaded with their unit and campaign) at the end of ``day``: their
    unit steps, their units' branches (with the branches' steps if ``branch_steps``), their
    congress dates and deadlines, their campaigns' deadlines.

    ``definitions``: the workflow definitions the caller already has, by workflow version id.
    """
    return next(rebuild_nights(preps, [day], definitions=definitions, branch_steps=branch_steps))


def rebuild_nights(preps: Iterable[Preparation], days: Iterable[date], *, definitions: dict | None = None,
                   branch_steps: bool = False) -> Iterator[Past]:
    """:func:`rebuild` for each of ``days``, latest first, reading the database once: today's rows
    and the records since the earliest day, undone night by night (the nightly readiness of a past
    stretch of days, e.g. the demo's history). The rows are shared: a day's :class:`Past` holds
    until the next one is asked for."""
    nights = sorted(set(days), reverse=True)
    preps = list(preps)
    if not preps:
        for day in nights:
            yield Past(day, [], {}, {}, {})
        return
    if not nights:
        return
    campaigns = {p.campaign_id: PastCampaign(p.campaign) for p in preps}
    past_preps = {p.id: PastPreparation(p, campaigns[p.campaign_id]) for p in preps}
    prep_of = {(p.campaign_id, p.unit_id): p for p in preps}
    # a record made before records named their campaign names the unit's latest preparation
    latest = {}
    for p in sorted(preps, key=lambda p: p.id):
        latest[p.unit_id] = p
    unit_ids = list(latest)

    steps, branches, branch_step_rows = _current_rows(preps, unit_ids, branch_steps)
    unit_step_of: dict[tuple[int, int, str], PastStep] = {}
    for step in steps:
        prep = past_preps[step.preparation_id]
        unit_step_of[(prep.campaign_id, prep.unit_id, step.key)] = step
    branch_of = {(b.campaign_id, b.code): b for b in branches}
    branch_by_id = {b.id: b for b in branches}
    branch_step_of = {(branch_by_id[s.branch_id].campaign_id, branch_by_id[s.branch_id].code, s.key): s
                      for s in branch_step_rows if s.branch_id in branch_by_id}
    unit_codes = {p.unit_id: p.unit.code for p in preps}
    campaign_by_key = {f"{c.province_code}/{c.term}": c for c in campaigns.values()}

    # the records after the earliest day, newest first, by the night after which they came (the
    # latest night whose end they are not before); and when each step's lapse was first kept on
    # record ("step.due_moved", whenever it was)
    cutoffs = [end_of_day(day) for day in reversed(nights)]  # earliest first
    undone_after: list[list[tuple]] = [[] for _ in nights]
    lapsed_at: dict[tuple[int, str, str], datetime] = {}
    for _id, at, action, entity, key, unit_id, _step_key, old, new, campaign_id in _records(
            unit_ids, list(campaigns), list(campaign_by_key), cutoffs[0]):
        at = _utc(at)
        if campaign_id is None and entity != "campaign":
            campaign_id = latest[unit_id].campaign_id if unit_id in latest else None
        if action == "step.due_moved":
            owner_key = (campaign_id, *key.split("/", 1))
            lapsed_at[owner_key] = min(at, lapsed_at.get(owner_key, at))
        ended = bisect_right(cutoffs, at)  # the nights that ended before it
        if ended:
            undone_after[len(nights) - ended].append((action, entity, key, unit_id, old or {}, new, campaign_id))
    gone_branches: set[tuple[int, str]] = set()
    gone_preps: set[int] = set()
    for night, day in enumerate(nights):
        cutoff = end_of_day(day)
        for action, entity, key, unit_id, old, _new, campaign_id in undone_after[night]:
            if entity == "step":
                owner, _, step_key = key.partition("/")
                target = (unit_step_of.get((campaign_id, unit_id, step_key)) if owner == unit_codes.get(unit_id)
                          else branch_step_of.get((campaign_id, owner, step_key)))
                _undo(target, old, STEP_FIELDS)
            elif entity == "branch":
                if action == "branch.add":
                    gone_branches.add((campaign_id, key))
                else:
                    _undo(branch_of.get((campaign_id, key)), old, BRANCH_FIELDS)
            elif entity == "preparation":
                prep = prep_of.get((campaign_id, unit_id))
                if action == "preparation.create":
                    if prep is not None:
                        gone_preps.add(prep.id)
                elif prep is not None:
                    _undo(past_preps[prep.id], old, PREPARATION_FIELDS)
            elif entity == "campaign":
                _undo(campaign_by_key.get(key), old, CAMPAIGN_FIELDS)

        # what the day's picture changes on the undone rows, put back before the night before
        more = night + 1 < len(nights)
        kept_values = [(s, s.due_on, s.due_kind, s.missed_due_on, s.missed_due_kind)
                       for s in (*steps, *branch_step_rows)] if more else []
        # the lapses kept on record after the day were not there yet
        for owned in (((c, unit_codes[u], k), s) for (c, u, k), s in unit_step_of.items()), branch_step_of.items():
            for owner_key, step in owned:
                if step.missed_due_on is not None and not (owner_key in lapsed_at and lapsed_at[owner_key] < cutoff):
                    step.missed_due_on = step.missed_due_kind = None

        alive = [b for b in branches if (b.campaign_id, b.code) not in gone_branches]
        by_prep: dict[int, list[PastBranch]] = {}
        for branch in alive:
            owner = prep_of.get((branch.campaign_id, branch.unit_id))
            if owner is not None:
                by_prep.setdefault(owner.id, []).append(branch)
        kept = [past_preps[p.id] for p in preps if p.id not in gone_preps]
        unit_steps: dict[int, list[PastStep]] = {}
        for step in steps:
            unit_steps.setdefault(step.preparation_id, []).append(step)
        steps_by_branch: dict[int, list[PastStep]] = {}
        alive_ids = {b.id for b in alive}
        for step in branch_step_rows:
            if step.branch_id in alive_ids:
                steps_by_branch.setdefault(step.branch_id, []).append(step)
        past = Past(day, kept, {p.id: unit_steps.get(p.id, []) for p in kept}, by_prep, steps_by_branch)
        _refresh_due_dates(past, preps, definitions or {}, branch_steps)
        yield past
        for step, due_on, due_kind, missed_on, missed_kind in kept_values:
            step.due_on, step.due_kind = due_on, due_kind
            step.missed_due_on, step.missed_due_kind = missed_on, missed_kind


def _undo(target, old: dict, fields: tuple[str, ...]) -> None:
    """Put back the values a change replaced."""
    if target is None:
        return
    for name, value in old.items():
        if name in fields:
            setattr(target, name, _value(name, value))


def _records(unit_ids: list[int], campaign_ids: list[int], campaign_keys: list[str], cutoff: datetime):
    """The records of the units' steps, branches and preparations in the campaigns, and of the
    campaigns, made from ``cutoff`` on, with every "step.due_moved" of the units; newest first,
    one query (per 5,000 units)."""
    a = AuditRecord
    columns = (a.id, a.at, a.action, a.entity, a.entity_key, a.unit_id, a.step_key, a.old, a.new, a.campaign_id)
    found = []
    for start in range(0, max(len(unit_ids), 1), CHUNK):
        chunk = unit_ids[start:start + CHUNK]
        where = sa.and_(a.unit_id.in_(chunk), a.entity.in_(UNIT_ENTITIES),
                        sa.or_(a.campaign_id.in_(campaign_ids), a.campaign_id.is_(None)),
                        sa.or_(a.at >= cutoff, a.action == "step.due_moved"))
        if start == 0 and campaign_keys:
            where = sa.or_(where, sa.and_(a.entity == "campaign", a.entity_key.in_(campaign_keys),
                                          a.at >= cutoff))
        found.extend(db.session.execute(sa.select(*columns).where(where).order_by(a.id.desc())).all())
    if len(unit_ids) > CHUNK:
        found.sort(key=lambda r: r[0], reverse=True)
    return found


def date_reader():
    """A converter of stored dates (text on SQLite, dates elsewhere) that converts each value once."""
    seen: dict = {None: None}

    def read(value):
        try:
            return seen[value]
        except KeyError:
            day = seen[value] = _day(value)
            return day
    return read


def _columns(table, names: tuple[str, ...]) -> tuple[list, list[int]]:
    """The columns, dates read as stored (converted once per value by date_reader), and the
    positions of the dates."""
    columns, dates = [], []
    for i, name in enumerate(names):
        column = table.c[name]
        if isinstance(column.type, sa.Date):
            columns.append(sa.type_coerce(column, sa.String()).label(name))
            dates.append(i)
        else:
            columns.append(column)
    return columns, dates


def _unit_steps_table():
    """The steps table read through the partial index of the unit steps on SQLite (see
    congress.progress.queries._IndexedTable): its planner would read "branch_id IS NULL" through
    the (branch_id, key) index, every unit step of the country."""
    from .queries import _IndexedTable

    return _IndexedTable("steps", "uq_steps_unit_step", *(sa.column(c.name, c.type) for c in Step.__table__.columns))


#: PastStep's and PastBranch's fields in their order, as the queries read them
_STEP_NAMES = tuple(f.name for f in fields(PastStep))
_BRANCH_NAMES = tuple(f.name for f in fields(PastBranch) if f.name not in ("unit", "planned_now"))


def _current_rows(preps: list[Preparation], unit_ids: list[int], with_branch_steps: bool):
    """Today's unit steps (and branch steps) of the preparations and the units' branches, as
    stand-ins to rebuild: two queries (per 5,000 units)."""
    read = date_reader()
    prep_ids = [p.id for p in preps]
    steps: list[PastStep] = []
    branch_step_rows: list[PastStep] = []
    table = Step.__table__ if with_branch_steps else _unit_steps_table()
    columns, dates = _columns(table, _STEP_NAMES)
    for start in range(0, len(prep_ids), CHUNK):
        query = sa.select(*columns).where(table.c.preparation_id.in_(prep_ids[start:start + CHUNK]))
        if not with_branch_steps:
            query = query.where(table.c.branch_id.is_(None))
        for row in db.session.execute(query):
            values = list(row)
            for i in dates:
                values[i] = read(values[i])
            step = PastStep(*values)
            (steps if step.branch_id is None else branch_step_rows).append(step)
    units = {p.unit_id: p.unit for p in preps}
    table = Branch.__table__
    columns, dates = _columns(table, _BRANCH_NAMES)
    branches: list[PastBranch] = []
    campaign_ids = sorted({p.campaign_id for p in preps})
    for start in range(0, len(unit_ids), CHUNK):
        query = (sa.select(*columns).where(table.c.unit_id.in_(unit_ids[start:start + CHUNK]),
                                           table.c.campaign_id.in_(campaign_ids))
                 .order_by(table.c.code))
        for row in db.session.execute(query):
            values = list(row)
            for i in dates:
                values[i] = read(values[i])
            branch = PastBranch(*values, unit=units[values[3]])
            branch.planned_now = branch.planned_on
            branches.append(branch)
    return steps, branches, branch_step_rows


def _refresh_due_dates(past: Past, preps: list[Preparation], definitions: dict, branch_steps: bool) -> None:
    """Due dates counted from the day's dates, where they differ from today's (as
    congress.progress.operations.refresh_due_dates computed them then)."""
    from .operations import _due_columns, anchors_for

    current = {p.id: p for p in preps}
    moved = []
    for prep in past.preparations:
        now = current[prep.id]
        unit_anchors = anchors_for(prep)
        if unit_anchors != anchors_for(now):
            moved.append((prep.workflow_version_id, unit_anchors, past.unit_steps[prep.id]))
        if not branch_steps:
            continue
        for branch in past.branches.get(prep.id, []):
            anchors = anchors_for(prep, branch)
            steps = past.branch_steps.get(branch.id, [])
            if steps and (anchors != _with_branch(anchors_for(now), branch.planned_now)):
                moved.append((prep.branch_workflow_version_id, anchors, steps))
    if not moved:
        return
    needed = {version_id for version_id, _, _ in moved} - set(definitions)
    if needed:
        definitions = {**definitions, **{v.id: v.definition() for v in db.session.execute(
            sa.select(WorkflowVersion).where(WorkflowVersion.id.in_(needed))).scalars()}}
    for version_id, anchors, steps in moved:
        definition = definitions[version_id]
        for step in steps:
            if step.key in definition.step_keys:
                columns = _due_columns(definition.step(step.key), anchors)
                step.due_on, step.due_kind = columns["due_on"], columns["due_kind"]


def _with_branch(anchors: dict, planned_on: date | None) -> dict:
    """A unit's anchors with a branch's planned congress, as anchors_for(prep, branch) gives them."""
    return {**anchors, "branch_congress": Deadline(planned_on) if planned_on else None}


def past_child_counts(campaign_id: int | None, held_step: str, province_codes: set[str],
                      day: date) -> dict[str, tuple[int, int]]:
    """Per province: (units, held) of a child campaign at the end of ``day``, as a higher unit's
    roll-up counted them then: its units enrolled by then, and those whose ``held_step`` was done.
    Today's held steps with their records since the day undone, newest first: two queries."""
    if campaign_id is None or not province_codes:
        return {}
    cutoff = end_of_day(day)
    rows = db.session.execute(
        sa.select(Unit.id, Unit.code, Unit.province_code, Step.state)
        .select_from(Preparation).join(Unit, Unit.id == Preparation.unit_id)
        .outerjoin(Step, sa.and_(Step.preparation_id == Preparation.id, Step.branch_id.is_(None),
                                 Step.key == held_step))
        .where(Preparation.campaign_id == campaign_id, Unit.province_code.in_(province_codes))).all()
    state = {unit_id: step_state for unit_id, _, _, step_state in rows}
    codes = {unit_id: code for unit_id, code, _, _ in rows}
    a = AuditRecord
    enrolled_after: set[int] = set()
    for unit_id, action, key, old in db.session.execute(
            sa.select(a.unit_id, a.action, a.entity_key, a.old)
            .where(a.unit_id.in_(list(state)), a.campaign_id == campaign_id, a.at >= cutoff,
                   sa.or_(sa.and_(a.entity == "step", a.step_key == held_step),
                          a.action == "preparation.create"))
            .order_by(a.id.desc())):
        if action == "preparation.create":
            enrolled_after.add(unit_id)
        elif key == f"{codes[unit_id]}/{held_step}" and "state" in (old or {}):
            state[unit_id] = old["state"]
    counts: dict[str, list[int]] = {}
    for unit_id, _, province_code, _ in rows:
        if unit_id in enrolled_after:
            continue
        found = counts.setdefault(province_code, [0, 0])
        found[0] += 1
        found[1] += state[unit_id] == State.DONE.value
    return {code: (total, held) for code, (total, held) in counts.items()}


def past_campaign(campaign: Campaign, day: date) -> PastCampaign:
    """A campaign with its deadline as it was at the end of ``day`` (its records since undone,
    newest first): one query."""
    past = PastCampaign(campaign)
    a = AuditRecord
    for (old,) in db.session.execute(
            sa.select(a.old).where(a.entity == "campaign", a.entity_key == f"{campaign.province_code}/{campaign.term}",
                                   a.at >= end_of_day(day)).order_by(a.id.desc())):
        _undo(past, old or {}, CAMPAIGN_FIELDS)
    return past

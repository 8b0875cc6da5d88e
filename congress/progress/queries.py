"""Reads for pages and the API, shaped for a fixed number of queries whatever the unit count."""
from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import contains_eager
from sqlalchemy.sql.expression import FunctionElement, TableClause

from congress.clock import today
from congress.extensions import db
from congress.text import vi_sort_key
from congress.units.models import Branch, Province, Unit
from workflows.deadlines import LOCAL_TZ, Deadline
from workflows.readiness import (
    ProvinceReadiness,
    Reason,
    StepFacts,
    TaskSummary,
    UnitReadiness,
    combined_tasks,
    province_readiness,
    task_summary,
    unit_readiness,
)
from workflows.rules import FINISHED, ROLLUP_RULES, State

from . import campaigns, history
from .campaigns import Round
from .history import date_reader as _date_reader
from .models import Campaign, Preparation, Step, WorkflowVersion, definitions_of


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused while one many-unit answer is built.

    The readiness of every unit of the country is some 100,000 objects (rows, facts, readiness,
    JSON) that all live until the answer is sent: none is garbage, yet as they pile up the
    collector walks the whole heap again and again (two or three full collections per national
    readiness answer, 250 ms of its 650 ms, measured with gc.callbacks). Reference counting still
    frees them when the answer is done; anything cyclic waits for the next collection after it.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class UnitRow:
    """One unit's readiness in a preparation, its step facts in its workflow's order and its tasks
    as the city counts them (task_summary). A stored row decodes its facts when first asked for
    them: a many-unit answer that shows only the readiness never builds them."""
    __slots__ = ("unit", "preparation", "readiness", "_steps", "tasks")

    def __init__(self, unit: Unit, preparation: Preparation, readiness: UnitReadiness, steps,
                 tasks: TaskSummary):
        self.unit, self.preparation, self.readiness, self.tasks = unit, preparation, readiness, tasks
        self._steps = steps  # a tuple of StepFacts, or a callable that decodes them

    @property
    def steps(self) -> tuple[StepFacts, ...]:
        if callable(self._steps):
            self._steps = self._steps()
        return self._steps


def _preparations(province_codes: set[str] | None = None, unit_ids: list[int] | None = None,
                  kind: str | None = None, round_: Round | None = None) -> list[Preparation]:
    """The preparations of the units asked for, in one round of campaigns (by default the one the
    request shows: see congress.progress.campaigns.chosen_round)."""
    round_ = round_ or campaigns.chosen_round(province_codes)
    query = (db.select(Preparation).join(Preparation.unit).join(Preparation.campaign)
             .options(contains_eager(Preparation.unit), contains_eager(Preparation.campaign)))
    if round_ is not None:
        query = query.where(round_.where())
    if province_codes is not None:
        query = query.where(Unit.province_code.in_(province_codes))
    if unit_ids is not None:
        query = query.where(Unit.id.in_(unit_ids))
    if kind:
        query = query.where(Unit.kind == kind)
    found = list(db.session.execute(query).unique().scalars())
    # the names in Vietnamese alphabetical order (Ái Quốc before Việt Hòa), not the database's
    found.sort(key=lambda p: (p.unit.province_code, vi_sort_key(p.unit.name), p.unit.code))
    return found


class _IndexedTable(TableClause):
    """A table read through a named index on SQLite ("FROM steps INDEXED BY ..."), as is elsewhere.

    Without statistics SQLite's planner reads "branch_id IS NULL" through the (branch_id, key)
    unique index: every unit step of the country, then filtered by preparation. The partial
    index on (preparation_id, key) WHERE branch_id IS NULL holds exactly the unit steps.
    """
    inherit_cache = True

    def __init__(self, name: str, index: str, *columns):
        super().__init__(name, *columns)
        self.index = index


@compiles(_IndexedTable, "sqlite")
def _indexed_table_sqlite(element, compiler, **kw):
    text = compiler.visit_table(element, **kw)
    return f"{text} INDEXED BY {element.index}" if kw.get("asfrom") else text


#: The unit steps (branch_id IS NULL), through their partial index on SQLite. Dates are read as
#: they are stored and converted once per distinct value (see readiness_rows).
_UNIT_STEPS = _IndexedTable("steps", "uq_steps_unit_step", *(
    sa.column(c.name, sa.String() if isinstance(c.type, sa.Date) else c.type)
    for c in Step.__table__.columns
    if c.name in ("preparation_id", "branch_id", "key", "state", "due_on", "due_kind", "completed_on",
                  "missed_due_on", "missed_due_kind")))


def readiness_rows(province_codes: set[str] | None = None, unit_ids: list[int] | None = None,
                   kind: str | None = None, as_of: date | None = None, round_: Round | None = None) -> list[UnitRow]:
    """Readiness of every matching unit in four queries, as of ``as_of`` (default today).

    A day before today is that day's picture: the steps, branches and dates as they were at its
    end, rebuilt from the audit log (congress.progress.history), in five queries; a unit enrolled
    after it is left out. Today (or a later day, counted as "today") reads today's rows.
    """
    preps = _preparations(province_codes, unit_ids, kind, round_)
    if not preps:
        return []
    definitions = definitions_of({p.workflow_version_id for p in preps})
    now = as_of or today()
    if now < today():
        from . import stored

        recorded = stored.recorded_rows(preps, now)  # the night's records, else rebuilt
        return recorded if recorded is not None else _past_rows(preps, definitions, now)
    if now == today():
        from . import stored

        return stored.rows(preps, definitions, now)
    return computed_rows(preps, definitions, now, every=province_codes is None and unit_ids is None and kind is None)


def computed_rows(preps: list[Preparation], definitions: dict, now: date, every: bool = False) -> list[UnitRow]:
    """Readiness of the preparations computed from their steps and children (two queries, and one
    per campaign rolling up lower-level units); ``every``: the preparations are every unit's of
    their round, read by one scan of the unit steps rather than a list of ids."""
    prep_ids = [p.id for p in preps]
    steps_by_prep: dict[int, list] = {}
    t = _UNIT_STEPS.c
    columns = (t.preparation_id, t.key, t.state, t.due_on, t.due_kind, t.completed_on, t.missed_due_on,
               t.missed_due_kind)
    if every:
        # every unit: one scan of the unit steps, not an IN list of thousands of ids (the steps of
        # another round's units are read and left aside)
        chunks = [sa.select(*columns).where(t.branch_id.is_(None))]
    else:
        chunks = [sa.select(*columns).where(t.preparation_id.in_(prep_ids[start:start + 5000]),
                                            t.branch_id.is_(None))
                  for start in range(0, len(prep_ids), 5000)]
    for query in chunks:
        for row in db.session.execute(query).all():
            found = steps_by_prep.get(row[0])
            if found is None:
                steps_by_prep[row[0]] = [row]
            else:
                found.append(row)
    counts = _children_counts(preps, definitions, None, None if every else [p.unit_id for p in preps])
    return _unit_rows(preps, definitions, steps_by_prep, counts, now)


def _children_counts(preps: list[Preparation], definitions: dict, province_codes: set[str] | None,
                     unit_ids: list[int] | None) -> dict[int, tuple[int, int]]:
    """Per preparation: (children, held) its roll-ups count: its branches in its campaign (one
    grouped query), or for a unit whose workflow rolls up lower-level units, those of its
    campaign's child campaign (one grouped query per such campaign)."""
    by_source = _rolling_up_units(preps, definitions)
    branch_preps = {(p.campaign_id, p.unit_id): p.id for p in preps
                    if definitions[p.workflow_version_id].children is not None
                    and definitions[p.workflow_version_id].children.source == "branches"}
    found = (_branch_counts_for({c for c, _ in branch_preps}, province_codes, unit_ids)
             if branch_preps else {})
    counts = {branch_preps[owner]: value for owner, value in found.items() if owner in branch_preps}
    for higher in by_source.values():
        campaign = higher[0].campaign
        children = definitions[higher[0].workflow_version_id].children
        counts.update(_child_unit_counts(campaign, children, higher))
    return counts


def _rolling_up_units(preps, definitions: dict) -> dict[int, list]:
    """The preparations whose workflow rolls up lower-level units, by campaign."""
    by_source: dict[int, list] = {}
    for prep in preps:
        children = definitions[prep.workflow_version_id].children
        if children is not None and children.source == "units":
            by_source.setdefault(prep.campaign_id, []).append(prep)
    return by_source


def _past_counts(past: history.Past, definitions: dict) -> dict[int, tuple[int, int]]:
    """Per preparation: (children, held) at the end of the past day: its branches as they were,
    or the child campaign's units and held steps as they were (history.past_child_counts)."""
    counts = past.branch_counts()
    for higher in _rolling_up_units(past.preparations, definitions).values():
        children = definitions[higher[0].workflow_version_id].children
        by_province = history.past_child_counts(higher[0].campaign.child_campaign_id, children.held_step,
                                                {p.unit.province_code for p in higher}, past.day)
        counts.update({p.id: by_province.get(p.unit.province_code, (0, 0)) for p in higher})
    return counts


def _child_unit_counts(campaign: Campaign, children, preps: list[Preparation]) -> dict[int, tuple[int, int]]:
    """(children, held) of each higher unit, by province, from the child campaign's steps."""
    held = sa.case((Step.state == State.DONE.value, 1))
    query = (sa.select(Unit.province_code, sa.func.count(Preparation.id), sa.func.count(held))
             .select_from(Preparation).join(Unit, Unit.id == Preparation.unit_id)
             .outerjoin(Step, sa.and_(Step.preparation_id == Preparation.id, Step.branch_id.is_(None),
                                      Step.key == children.held_step))
             .where(Preparation.campaign_id == (campaign.child_campaign_id or -1),
                    Unit.province_code.in_({p.unit.province_code for p in preps}))
             .group_by(Unit.province_code))
    by_province = {code: (total, done) for code, total, done in db.session.execute(query)}
    return {p.id: by_province.get(p.unit.province_code, (0, 0)) for p in preps}


def _facts_row(step) -> tuple:
    """A unit step as _unit_rows reads it."""
    return (step.preparation_id, step.key, step.state, step.due_on, step.due_kind, step.completed_on,
            step.missed_due_on, step.missed_due_kind)


def _past_rows(preps: list[Preparation], definitions: dict, day: date) -> list[UnitRow]:
    """Readiness at the end of a past day, from the rows rebuilt as they were then."""
    return _rows_of(history.rebuild(preps, day, definitions=definitions), definitions)


def _rows_of(past: history.Past, definitions: dict) -> list[UnitRow]:
    steps_by_prep = {prep_id: [_facts_row(s) for s in steps] for prep_id, steps in past.unit_steps.items()}
    return _unit_rows(past.preparations, definitions, steps_by_prep, _past_counts(past, definitions), past.day)


def readiness_by_night(province_codes: set[str] | None, days: list[date]) -> Iterator[tuple[date, list[UnitRow]]]:
    """(day, readiness rows) for each of ``days``, as readiness_rows(as_of=day) gives them, latest
    first: the past days rebuilt from one read of the audit log (history.rebuild_nights)."""
    now = today()
    for day in sorted({d for d in days if d >= now}, reverse=True):
        yield day, readiness_rows(province_codes, as_of=day)
    past_days = [d for d in days if d < now]
    preps = _preparations(province_codes, None, None) if past_days else []
    definitions = definitions_of({p.workflow_version_id for p in preps}) if preps else {}
    for past in history.rebuild_nights(preps, past_days, definitions=definitions):
        yield past.day, _rows_of(past, definitions)


@dataclass(frozen=True)
class PastUnit:
    """One unit at the end of a past day: its readiness, and its preparation, steps and branches
    (with their steps) as they were, in the workflow's order and by code."""
    row: UnitRow
    preparation: history.PastPreparation
    steps: list[history.PastStep]
    branches: list[history.PastBranch]
    branch_steps: dict[int, list[history.PastStep]]


def past_unit(prep: Preparation, day: date) -> PastUnit | None:
    """A unit as it was at the end of ``day`` (before today), rebuilt from the audit log; None when
    it was enrolled after that day."""
    unit_def = prep.definition()
    branch_def = prep.branch_definition()
    definitions = {prep.workflow_version_id: unit_def, prep.branch_workflow_version_id: branch_def}
    past = history.rebuild([prep], day, definitions=definitions, branch_steps=True)
    if not past.preparations:
        return None
    then = past.preparations[0]
    steps = past.unit_steps[then.id]
    row = _unit_rows([then], definitions, {then.id: [_facts_row(s) for s in steps]},
                     _past_counts(past, definitions), day)[0]
    unit_order = {key: i for i, key in enumerate(unit_def.step_keys)}
    branch_order = {key: i for i, key in enumerate(branch_def.step_keys)}
    return PastUnit(row, then, sorted(steps, key=lambda s: unit_order.get(s.key, 999)),
                    past.branches.get(then.id, []),
                    {branch_id: sorted(found, key=lambda s: branch_order.get(s.key, 999))
                     for branch_id, found in past.branch_steps.items()})


def unit_readiness_row(prep: Preparation, steps: list[Step] | None = None, as_of: date | None = None) -> UnitRow:
    """The readiness row of one unit, from its preparation as loaded (with its unit and campaign)
    and its unit steps when the caller has them: the branch counts, and the steps if not given,
    are the only queries (readiness_rows would read the preparation and its workflow again).

    A day before today is that night's record (progress.stored.recorded_rows), else that day's
    picture rebuilt from the audit log (see :func:`past_unit`; LookupError if the unit was not
    enrolled yet)."""
    if as_of is not None and as_of < today():
        from . import stored

        recorded = stored.recorded_rows([prep], as_of)
        if recorded:
            return recorded[0]
        found = past_unit(prep, as_of)
        if found is None:
            raise LookupError(f"unit {prep.unit_id} was not enrolled on {as_of.isoformat()}")
        return found.row
    if steps is None:
        steps = unit_steps(prep)
    rows = [(s.preparation_id, s.key, s.state, s.due_on, s.due_kind, s.completed_on, s.missed_due_on,
             s.missed_due_kind) for s in steps if s.branch_id is None]
    definitions = {prep.workflow_version_id: prep.definition()}
    return _unit_rows([prep], definitions, {prep.id: rows},
                      _children_counts([prep], definitions, None, [prep.unit_id]), as_of or today())[0]


def _unit_rows(preps: list[Preparation], definitions: dict, steps_by_prep: dict[int, list],
               counts: dict[int, tuple[int, int]], now: date) -> list[UnitRow]:
    """Each unit's facts and readiness from its unit steps (preparation id, key, state, due day
    and kind, completion day, the due day and kind it missed before its due date moved) and its
    branch counts."""
    # thousands of units share a handful of states, dates and whole steps: convert and build each
    # value once (StepFacts are immutable, so units with the same facts share them)
    states = {state.value: state for state in State}
    unfinished = {state.value for state in State if state not in FINISHED}
    read_date = _date_reader()
    deadlines: dict[tuple, Deadline | None] = {}
    shared_facts: dict[tuple, StepFacts] = {}
    rows = []
    # per workflow version: each step's weight, whether it rolls up the branches held, and its
    # place in the definition (a unit's facts are listed in that order)
    step_info = {version_id: {s.key: (s.weight, s.done_when in ROLLUP_RULES, i)
                              for i, s in enumerate(d.steps)}
                 for version_id, d in definitions.items()}
    known_fact = shared_facts.get
    for prep in preps:
        definition = definitions[prep.workflow_version_id]
        info = step_info[prep.workflow_version_id]
        total, held = counts.get(prep.id, (0, 0))
        share = held / total if total else 0.0
        placed: list = [None] * len(info)
        for _, key, state, due_on, due_kind, completed_on, missed_on, missed_kind in steps_by_prep.get(prep.id, ()):
            if missed_on is not None and state in unfinished and (
                    due_on is None or read_date(missed_on) < read_date(due_on)):
                due_on, due_kind = missed_on, missed_kind or due_kind  # late against its original date
            try:
                weight, rollup, place = info[key]
            except KeyError:
                raise KeyError(key) from None  # a step its workflow version does not define
            partial = share if rollup else None
            fact_key = (key, weight, state, due_on, due_kind, completed_on, partial)
            fact = known_fact(fact_key)
            if fact is None:
                due_key = (due_on, due_kind)
                due = deadlines.get(due_key)
                if due is None and due_key not in deadlines:
                    day = read_date(due_on)
                    due = deadlines[due_key] = Deadline.from_last_day(day, due_kind or "by") if day else None
                fact = shared_facts[fact_key] = StepFacts(
                    key=key, weight=weight, state=states.get(state) or State(state),
                    due=due, completed_on=read_date(completed_on), partial=partial)
            placed[place] = fact  # one step per key and unit (uq_steps_unit_step)
        facts = [f for f in placed if f is not None]
        readiness = unit_readiness(facts, branches_held=held, branches_total=total, deadline=prep.deadline,
                                   started_on=prep.campaign.starts_on, today=now, congress_on=prep.congress_on)
        readiness = _with_step_titles(readiness, definition)
        rows.append(UnitRow(prep.unit, prep, readiness, tuple(facts),
                            task_summary(((f.state, f.due) for f in facts), now)))
    return rows


def _with_step_titles(readiness: UnitReadiness, definition) -> UnitReadiness:
    """Reasons that name steps carry their titles, so they read as words, not keys."""
    if not any("steps" in r.params for r in readiness.reasons):
        return readiness
    reasons = tuple(
        Reason(r.code, {**r.params, "titles": {k: {"vi": definition.step(k).title_vi,
                                                   "en": definition.step(k).title_en}
                                               for k in r.params["steps"]}})
        if "steps" in r.params else r for r in readiness.reasons)
    return replace(readiness, reasons=reasons)


def _branch_counts_for(campaign_ids: set[int], province_codes: set[str] | None, unit_ids: list[int] | None):
    """Per (campaign, unit): (branches, held), in one grouped query (from ix_branches_campaign_unit_held)."""
    query = (sa.select(Branch.campaign_id, Branch.unit_id, sa.func.count(), sa.func.count(Branch.held_on))
             .where(Branch.campaign_id.in_(campaign_ids)).group_by(Branch.campaign_id, Branch.unit_id))
    if province_codes is not None:
        query = query.join(Unit, Unit.id == Branch.unit_id).where(Unit.province_code.in_(province_codes))
    if unit_ids is not None:
        query = query.where(Branch.unit_id.in_(unit_ids))
    return {(r[0], r[1]): (r[2], r[3]) for r in db.session.execute(query)}


@dataclass(frozen=True)
class ProvinceOverview:
    province: Province | None
    campaign: Campaign | None
    readiness: ProvinceReadiness
    rows: list[UnitRow]
    as_of: date


def province_overview(province_codes: set[str] | None, kind: str | None = None,
                      as_of: date | None = None, round_: Round | None = None,
                      summaries: bool = False) -> ProvinceOverview:
    """A province's figures as of ``as_of`` (default today): the day counts as "today", and a day
    before today is read as it was at its end (see readiness_rows); the campaign too, with the
    deadline it had then. ``summaries``: the rows need only what a many-unit answer shows of each
    unit (stored.summary_rows: one query, when every unit's readiness is stored for the day)."""
    now = as_of or today()
    rows = None
    if summaries and now == today():
        from . import stored

        rows = stored.summary_rows(round_ or campaigns.chosen_round(province_codes), province_codes, kind, now)
    if rows is None:
        rows = readiness_rows(province_codes, kind=kind, as_of=now, round_=round_)
    tasks = combined_tasks(r.tasks for r in rows)
    province = campaign = None
    if province_codes is not None and len(province_codes) == 1:
        code = next(iter(province_codes))
        province = db.session.get(Province, code)
        if rows:  # a past day's preparation carries its campaign as it was then
            campaign = getattr(rows[0].preparation, "campaign", None) or db.session.get(
                Campaign, rows[0].preparation.campaign_id)
    return ProvinceOverview(province, campaign, province_readiness([r.readiness for r in rows], tasks),
                            rows, now)


@dataclass(frozen=True)
class StepView:
    step: Step
    definition: object
    overdue: bool


def unit_preparation(unit: Unit, campaign: Campaign | None = None) -> Preparation | None:
    """The unit's preparation in ``campaign``, else in the one the request shows (see
    congress.progress.campaigns.unit_preparation)."""
    return campaigns.unit_preparation(unit, campaign)


def unit_steps(prep: Preparation) -> list[Step]:
    steps = db.session.execute(db.select(Step).where(
        Step.preparation_id == prep.id, Step.branch_id.is_(None))).scalars().all()
    order = {key: i for i, key in enumerate(prep.definition().step_keys)}
    return sorted(steps, key=lambda s: order.get(s.key, 999))


def branch_steps(prep: Preparation) -> dict[int, list[Step]]:
    """Every branch step of a unit, grouped by branch, in one query."""
    grouped: dict[int, list[Step]] = {}
    order = {key: i for i, key in enumerate(prep.branch_definition().step_keys)}
    for step in db.session.execute(db.select(Step).where(
            Step.preparation_id == prep.id, Step.branch_id.is_not(None))).scalars():
        grouped.setdefault(step.branch_id, []).append(step)
    for steps in grouped.values():
        steps.sort(key=lambda s: order.get(s.key, 999))
    return grouped


def unit_branches(owner: Preparation | Unit) -> list[Branch]:
    """The unit's branches in the preparation's campaign (for a unit: in the campaign the request
    shows it in, see unit_preparation), by code."""
    prep = unit_preparation(owner) if isinstance(owner, Unit) else owner
    if prep is None:
        return []
    return list(db.session.execute(db.select(Branch).filter_by(
        unit_id=prep.unit_id, campaign_id=prep.campaign_id).order_by(Branch.code)).scalars())


# --- the city's dashboard: the approval queue and the history behind its charts -----------

@dataclass(frozen=True)
class PendingApproval:
    """A unit's step submitted to the city and waiting for its verdict."""
    step: Step
    unit: Unit
    definition: object


def pending_approvals(province_codes: set[str] | None, round_: Round | None = None) -> list[PendingApproval]:
    """Every unit step in state "submitted" in the round shown, oldest submission first, in one query."""
    round_ = round_ or campaigns.chosen_round(province_codes)
    query = (db.select(Step, Unit, WorkflowVersion)
             .join(Preparation, Preparation.id == Step.preparation_id)
             .join(Campaign, Campaign.id == Preparation.campaign_id)
             .join(Unit, Unit.id == Preparation.unit_id)
             .join(WorkflowVersion, WorkflowVersion.id == Preparation.workflow_version_id)
             .where(Step.branch_id.is_(None), Step.state == State.SUBMITTED.value)
             .order_by(Step.submitted_on, Unit.name, Step.id))
    if round_ is not None:
        query = query.where(round_.where())
    if province_codes is not None:
        query = query.where(Unit.province_code.in_(province_codes))
    return [PendingApproval(step, unit, version.definition().step(step.key))
            for step, unit, version in db.session.execute(query)]


#: Audit actions that finish a unit step, and those that take a finished one back.
COMPLETING_ACTIONS = ("step.complete", "step.auto_complete")
UNDOING_ACTIONS = ("step.reopen", "step.auto_reopen")


class local_date(FunctionElement):
    """The date in Asia/Ho_Chi_Minh of a UTC timestamp column, computed by the database."""
    type = sa.Date()
    inherit_cache = True


@compiles(local_date)
def _local_date_sqlite(element, compiler, **kw):
    # SQLite keeps UTC timestamps as text; Vietnam's offset has been a fixed +7 h since 1975.
    return f"date({compiler.process(element.clauses, **kw)}, '+7 hours')"


@compiles(local_date, "postgresql")
def _local_date_postgresql(element, compiler, **kw):
    return f"CAST(timezone('{LOCAL_TZ.key}', {compiler.process(element.clauses, **kw)}) AS DATE)"


def unit_steps_done_by_day(province_codes: set[str] | None) -> list[tuple[date, int]]:
    """Net unit steps finished per local day, from the audit history, in one grouped query.

    A completion counts +1 and a reopening -1. Branch steps are left out: a unit step's record
    names it "<unit code>/<step key>", a branch step's "<branch code>/<step key>".
    """
    from congress.audit.models import AuditRecord

    day = local_date(AuditRecord.at)
    change = sa.case((AuditRecord.action.in_(COMPLETING_ACTIONS), 1), else_=-1)
    query = (sa.select(day.label("day"), sa.func.sum(change))
             .join(Unit, Unit.id == AuditRecord.unit_id)
             .where(AuditRecord.entity == "step",
                    AuditRecord.action.in_(COMPLETING_ACTIONS + UNDOING_ACTIONS),
                    AuditRecord.entity_key == Unit.code + "/" + AuditRecord.step_key)
             .group_by(day).order_by(day))
    round_ = campaigns.chosen_round(province_codes)
    if round_ is not None:
        query = query.join(Campaign, Campaign.id == AuditRecord.campaign_id).where(round_.where())
    if province_codes is not None:
        query = query.where(Unit.province_code.in_(province_codes))
    return [(_as_date(d), int(n)) for d, n in db.session.execute(query)]


def branches_held_by_day(province_codes: set[str] | None) -> list[tuple[date, int]]:
    """Branch congresses held per day, in one grouped query."""
    query = (sa.select(Branch.held_on, sa.func.count(Branch.id))
             .where(Branch.held_on.is_not(None)).group_by(Branch.held_on).order_by(Branch.held_on))
    round_ = campaigns.chosen_round(province_codes)
    if round_ is not None:
        query = query.join(Campaign, Campaign.id == Branch.campaign_id).where(round_.where())
    if province_codes is not None:
        query = query.join(Unit, Unit.id == Branch.unit_id).where(Unit.province_code.in_(province_codes))
    return [(_as_date(d), int(n)) for d, n in db.session.execute(query)]


def _as_date(value) -> date:
    return date.fromisoformat(value) if isinstance(value, str) else value


def provinces_with_campaigns() -> list[Province]:
    """The provinces an administrator may pick on the dashboard."""
    return list(db.session.execute(
        db.select(Province).join(Campaign, Campaign.province_code == Province.code)
        .order_by(Province.name).distinct()).scalars())


# --- the nightly readiness snapshots (congress/notices) -------------------------------------

def _snapshot_round(query, snapshot, province_codes: set[str] | None, round_: Round | None):
    """Snapshots of the round shown (see campaigns.chosen_round)."""
    round_ = round_ or campaigns.chosen_round(province_codes)
    if round_ is None:
        return query
    return query.join(Campaign, Campaign.id == snapshot.campaign_id).where(round_.where())


def readiness_history(unit_ids: list[int], until: date | None = None,
                      round_: Round | None = None) -> dict[int, list[tuple[date, int]]]:
    """Each unit's recorded (day, percent) in the round shown, oldest first, in one query."""
    from congress.notices.models import ReadinessSnapshot

    query = (sa.select(ReadinessSnapshot.unit_id, ReadinessSnapshot.day, ReadinessSnapshot.percent)
             .where(ReadinessSnapshot.unit_id.in_(unit_ids)).order_by(ReadinessSnapshot.day))
    query = _snapshot_round(query, ReadinessSnapshot, None, round_)
    if until is not None:
        query = query.where(ReadinessSnapshot.day <= until)
    found: dict[int, list[tuple[date, int]]] = {}
    for unit_id, day, percent in db.session.execute(query):
        found.setdefault(unit_id, []).append((_as_date(day), percent))
    return found


def recorded_pace_projections(unit_ids: list[int], until: date | None = None) -> dict[int, date | None]:
    """Projected finish of each unit at the pace its snapshots show (see
    workflows.readiness.projected_finish_from_history), in one query."""
    from workflows.readiness import projected_finish_from_history

    return {unit_id: projected_finish_from_history(points)
            for unit_id, points in readiness_history(unit_ids, until).items()}


def average_readiness_by_day(province_codes: set[str] | None) -> list[tuple[date, int]]:
    """The province's mean recorded readiness per day (the real trajectory), in one grouped query."""
    from congress.notices.models import ReadinessSnapshot

    query = (sa.select(ReadinessSnapshot.day, sa.func.avg(ReadinessSnapshot.percent))
             .join(Unit, Unit.id == ReadinessSnapshot.unit_id)
             .group_by(ReadinessSnapshot.day).order_by(ReadinessSnapshot.day))
    query = _snapshot_round(query, ReadinessSnapshot, province_codes, None)
    if province_codes is not None:
        query = query.where(Unit.province_code.in_(province_codes))
    return [(_as_date(d), round(float(p))) for d, p in db.session.execute(query)]

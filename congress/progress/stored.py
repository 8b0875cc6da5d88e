"""Each preparation's readiness, stored beside its steps.

The engine (workflows.readiness over the unit's steps and children, congress.progress.queries) is
the only definition of a unit's readiness. Its result for a preparation is kept in
``unit_readiness`` so that a many-unit read is one indexed query instead of the engine's work over
every unit's steps:

- **The write that changes it stores it.** Every change to a step, a preparation, a branch or a
  campaign marks the preparations it affects (the session's ``before_flush``, and :func:`touch`
  for the writes made in bulk without objects); just before the transaction commits, their
  readiness is computed by the engine and written, in the same transaction. A unit's change
  also marks the preparations of the campaigns that roll it up (a province over its communes).
- **The day turns.** Overdue steps, days left and risk change with the date: every stored row
  names the local day it was computed for, the nightly job recomputes every open campaign's rows
  when the day turns (:func:`rebuild`), and a read takes a stored row only when it is today's and
  of the preparation's workflow version, computing the others.
- **On demand.** ``flask readiness rebuild`` recomputes every row; ``flask readiness check``
  compares each stored row with a fresh computation and names every preparation that differs.
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date
from functools import partial
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session, aliased, contains_eager
from sqlalchemy.orm.util import identity_key

from congress.clock import today, utcnow
from congress.extensions import db
from congress.text import vi_sort_key
from congress.units.models import Branch, Unit
from workflows.deadlines import Deadline, DeadlineKind
from workflows.readiness import Reason, Risk, StepFacts, TaskSummary, UnitReadiness, task_counts
from workflows.rules import State

from .models import Campaign, Preparation, Step, StoredReadiness, definitions_of

DIRTY = "congress_readiness_dirty"
CHUNK = 2000


# --- encoding ---------------------------------------------------------------------------------

def _encode(value):
    """A reason's parameter as JSON, its type kept: dates, deadlines and tuples are tagged."""
    if isinstance(value, Deadline):
        return {"$deadline": [value.day.isoformat(), value.kind.value]}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, tuple):
        return {"$tuple": [_encode(v) for v in value]}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, Risk):
        return value.value
    return value


def _decode(value):
    if isinstance(value, dict):
        if len(value) == 1:
            if "$date" in value:
                return date.fromisoformat(value["$date"])
            if "$deadline" in value:
                day, kind = value["$deadline"]
                return Deadline(date.fromisoformat(day), DeadlineKind(kind))
            if "$tuple" in value:
                return tuple(_decode(v) for v in value["$tuple"])
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None


def encode_readiness(readiness: UnitReadiness) -> dict:
    """A unit's readiness as JSON: its figures as they are, its dates as ISO text, each reason as
    the JSON text of its code and parameters (thousands of units share a few hundred reasons:
    the text is the key a read decodes each of them once by)."""
    return {
        "percent": readiness.percent, "steps_done": readiness.steps_done, "steps_total": readiness.steps_total,
        "steps_not_applicable": readiness.steps_not_applicable, "branches_held": readiness.branches_held,
        "branches_total": readiness.branches_total, "overdue": list(readiness.overdue),
        "deadline": [readiness.deadline.day.isoformat(), readiness.deadline.kind.value],
        "days_left": readiness.days_left, "projected_finish": _iso(readiness.projected_finish),
        "finished_on": _iso(readiness.finished_on), "risk": readiness.risk.value,
        "reasons": [json.dumps([r.code, _encode(dict(r.params))], ensure_ascii=False, sort_keys=True)
                    for r in readiness.reasons],
    }


class ReadinessDecoder:
    """Decodes stored readiness, each distinct date, deadline, list of overdue steps and reason
    once per decoder (one per answer)."""

    def __init__(self):
        self.days: dict = {None: None}
        self.deadlines: dict = {}
        self.overdue: dict = {}
        self.reasons: dict = {}
        self.tasks: dict = {}

    def task_counts(self, counts: list[int]) -> TaskSummary:
        key = tuple(counts)
        found = self.tasks.get(key)
        if found is None:
            found = self.tasks[key] = task_counts(*key)
        return found

    def day(self, text: str | None) -> date | None:
        found = self.days.get(text, self)
        if found is self:
            found = self.days[text] = date.fromisoformat(text)
        return found

    def __call__(self, body: dict) -> UnitReadiness:
        day, kind = body["deadline"]
        deadline = self.deadlines.get((day, kind))
        if deadline is None:
            deadline = self.deadlines[(day, kind)] = Deadline(date.fromisoformat(day), DeadlineKind(kind))
        overdue_keys = tuple(body["overdue"])
        overdue = self.overdue.setdefault(overdue_keys, overdue_keys)
        reasons = []
        for text in body["reasons"]:
            reason = self.reasons.get(text)
            if reason is None:
                code, params = json.loads(text)
                reason = self.reasons[text] = Reason(code, _decode(params))
            reasons.append(reason)
        return UnitReadiness(
            percent=body["percent"], steps_done=body["steps_done"], steps_total=body["steps_total"],
            steps_not_applicable=body["steps_not_applicable"], branches_held=body["branches_held"],
            branches_total=body["branches_total"], overdue=overdue, deadline=deadline, days_left=body["days_left"],
            projected_finish=self.day(body["projected_finish"]), finished_on=self.day(body["finished_on"]),
            risk=Risk(body["risk"]), reasons=tuple(reasons))


def decode_readiness(body: dict) -> UnitReadiness:
    return ReadinessDecoder()(body)


#: the key of a unit's task counts (done, in progress, overdue, not started) in its stored readiness
TASKS = "$tasks"


def encode_tasks(tasks: TaskSummary) -> list[int]:
    return [tasks.done, tasks.in_progress, tasks.overdue, tasks.not_started]


def encoded_readiness(row) -> dict:
    """A readiness row's readiness and task counts, as stored."""
    return {**encode_readiness(row.readiness), TASKS: encode_tasks(row.tasks)}


def encode_steps(steps: Iterable[StepFacts]) -> list:
    return [[s.key, s.weight, s.state.value, s.due.day.isoformat() if s.due else None,
             s.due.kind.value if s.due else None, s.completed_on.isoformat() if s.completed_on else None,
             s.partial] for s in steps]


def decode_steps(rows: list, shared: dict | None = None) -> tuple[StepFacts, ...]:
    """The step facts, each distinct one built once (thousands of units share a handful)."""
    shared = {} if shared is None else shared
    found = []
    for row in rows:
        key = tuple(row)
        fact = shared.get(key)
        if fact is None:
            name, weight, state, due_day, due_kind, completed, partial = row
            fact = shared[key] = StepFacts(
                key=name, weight=weight, state=State(state),
                due=Deadline(date.fromisoformat(due_day), DeadlineKind(due_kind)) if due_day else None,
                completed_on=date.fromisoformat(completed) if completed else None, partial=partial)
        found.append(fact)
    return tuple(found)


# --- writing ------------------------------------------------------------------------------------

def touch(session: Session | None = None, *, preparations: Iterable[int] = (), campaigns: Iterable[int] = (),
          units: Iterable[tuple[int, int]] = (), higher: bool = True) -> None:
    """Mark preparations whose readiness a write changed, for the writes made without objects (bulk
    inserts and updates): by id, every one of campaigns, or by (campaign id, unit id). ``higher``:
    the write may change what the campaigns over them roll up (a unit's step, a unit enrolled)."""
    dirty = _dirty(session or db.session)
    dirty["preparations"].update(preparations)
    dirty["campaigns"].update(campaigns)
    dirty["units"].update(units)
    dirty["higher"] = dirty["higher"] or higher


def _dirty(session: Session) -> dict:
    found = session.info.get(DIRTY)
    if found is None:
        found = session.info[DIRTY] = {"preparations": set(), "campaigns": set(), "units": set(), "higher": False}
    return found


@event.listens_for(Session, "before_flush")
def _mark_changes(session: Session, flush_context, instances) -> None:
    dirty = None
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Step):
            if obj.branch_id is not None:
                continue  # a unit's readiness reads its own steps and its branches, not theirs
            target, value = "preparations", obj.preparation_id
            dirty = dirty or _dirty(session)
            dirty["higher"] = True  # what a higher campaign's roll-up may count
        elif isinstance(obj, Preparation):
            target, value = "preparations", obj.id
            if obj in session.new or obj in session.deleted:
                dirty = dirty or _dirty(session)
                dirty["higher"] = True
        elif isinstance(obj, Branch):
            target, value = "units", (obj.campaign_id, obj.unit_id)
        elif isinstance(obj, Campaign):
            target, value = "campaigns", obj.id
        else:
            continue
        if obj in session.dirty and not session.is_modified(obj):
            continue
        dirty = dirty or _dirty(session)
        if value is None or value == (None, None):  # new, without its key yet: after the flush
            session.info.setdefault(DIRTY + ".new", []).append(obj)
        else:
            dirty[target].add(value)


@event.listens_for(Session, "after_flush")
def _mark_new(session: Session, flush_context) -> None:
    pending = session.info.pop(DIRTY + ".new", None)
    if pending:
        touch(session, preparations=[o.preparation_id if isinstance(o, Step) else o.id for o in pending
                                     if isinstance(o, Step | Preparation)],
              campaigns=[o.id for o in pending if isinstance(o, Campaign)],
              units=[(o.campaign_id, o.unit_id) for o in pending if isinstance(o, Branch)])


@event.listens_for(Session, "before_commit")
def _store_before_commit(session: Session) -> None:
    dirty = session.info.get(DIRTY)
    if not dirty or not (dirty["preparations"] or dirty["campaigns"] or dirty["units"]
                         or session.info.get(DIRTY + ".new")):
        return
    session.flush()
    dirty = session.info.pop(DIRTY)
    session.info.pop(DIRTY + ".new", None)
    ids = _resolve(session, dirty)
    if ids:
        store(ids, session=session)


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    if not session.in_transaction():  # the whole transaction: nothing it marked was written
        session.info.pop(DIRTY, None)
        session.info.pop(DIRTY + ".new", None)


def _resolve(session: Session, dirty: dict) -> set[int]:
    """The preparation ids marked, with those of the campaigns that roll them up (one query each)."""
    ids = set(dirty["preparations"])
    if dirty["campaigns"]:
        ids.update(session.execute(sa.select(Preparation.id).where(
            Preparation.campaign_id.in_(dirty["campaigns"]))).scalars())
    pairs = [p for p in dirty["units"] if None not in p]
    if pairs:
        ids.update(session.execute(sa.select(Preparation.id).where(
            sa.tuple_(Preparation.campaign_id, Preparation.unit_id).in_(pairs))).scalars())
    if ids and dirty["higher"]:
        # the campaigns over them: a province's roll-up counts its communes held
        child = sa.select(Preparation.campaign_id, Unit.province_code).join(Unit, Unit.id == Preparation.unit_id)
        child = child.where(Preparation.id.in_(ids)).distinct().subquery()
        parent_unit = aliased(Unit)
        ids.update(session.execute(
            sa.select(Preparation.id).join(Campaign, Campaign.id == Preparation.campaign_id)
            .join(parent_unit, parent_unit.id == Preparation.unit_id)
            .join(child, sa.and_(child.c.campaign_id == Campaign.child_campaign_id,
                                 child.c.province_code == parent_unit.province_code))).scalars())
    return ids


def _load(ids: Iterable[int], session: Session) -> list[Preparation]:
    """The preparations with their units and campaigns: those the session holds already as they
    are (the write's own), the others in a query per chunk."""
    ids = sorted(ids)
    found = []
    if len(ids) <= 10:
        held = [session.identity_map.get(identity_key(Preparation, i)) for i in ids]
        if all(p is not None and "unit" in p.__dict__ and "campaign" in p.__dict__ for p in held):
            return held
    for start in range(0, len(ids), CHUNK):
        found.extend(session.execute(
            sa.select(Preparation).join(Preparation.unit).join(Preparation.campaign)
            .options(contains_eager(Preparation.unit), contains_eager(Preparation.campaign))
            .where(Preparation.id.in_(ids[start:start + CHUNK]))).unique().scalars())
    return found


def store(ids: Iterable[int], *, session: Session | None = None, day: date | None = None) -> int:
    """Compute the readiness of the preparations and write it (a statement per chunk); returns how
    many were written."""
    from .queries import computed_rows

    session = session or db.session
    preps = _load(ids, session)
    if not preps:
        return 0
    now = day or today()
    definitions = definitions_of({p.workflow_version_id for p in preps})
    rows = computed_rows(preps, definitions, now)
    moment = utcnow()
    values = [{"preparation_id": r.preparation.id, "campaign_id": r.preparation.campaign_id,
               "unit_id": r.preparation.unit_id, "day": now, "workflow_version_id": r.preparation.workflow_version_id,
               "readiness": encoded_readiness(r),
               "steps": encode_steps(r.steps), "computed_at": moment}
              for r in rows]
    _upsert(session, values)
    return len(values)


def _upsert(session: Session, values: list[dict]) -> None:
    table = StoredReadiness.__table__
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    for start in range(0, len(values), CHUNK):
        statement = insert(table).values(values[start:start + CHUNK])
        statement = statement.on_conflict_do_update(
            index_elements=["preparation_id"],
            set_={name: statement.excluded[name] for name in
                  ("campaign_id", "unit_id", "day", "workflow_version_id", "readiness", "steps", "computed_at")})
        session.execute(statement)


def rebuild(*, open_only: bool = False, day: date | None = None) -> int:
    """Recompute every preparation's stored readiness (``open_only``: of the open campaigns, as the
    nightly job does when the day turns); returns how many were written. The caller commits."""
    query = sa.select(Preparation.id)
    if open_only:
        query = query.join(Campaign, Campaign.id == Preparation.campaign_id).where(Campaign.status == "open")
    ids = list(db.session.execute(query).scalars())
    written = 0
    for start in range(0, len(ids), CHUNK * 5):
        written += store(ids[start:start + CHUNK * 5], day=day)
    return written


def check(day: date | None = None) -> list[tuple[Preparation, str]]:
    """Every preparation whose stored readiness differs from a fresh computation for ``day``
    (default today), with what differs: missing, another day, or its figures."""
    from .queries import computed_rows

    ids = list(db.session.execute(sa.select(Preparation.id)).scalars())
    now = day or today()
    differing = []
    for start in range(0, len(ids), CHUNK * 5):
        preps = _load(ids[start:start + CHUNK * 5], db.session)
        kept = {s.preparation_id: s for s in db.session.execute(sa.select(StoredReadiness).where(
            StoredReadiness.preparation_id.in_([p.id for p in preps]))).scalars()}
        definitions = definitions_of({p.workflow_version_id for p in preps})
        for row in computed_rows(preps, definitions, now):
            found = kept.get(row.preparation.id)
            if found is None:
                differing.append((row.preparation, "missing"))
            elif found.day != now or found.workflow_version_id != row.preparation.workflow_version_id:
                differing.append((row.preparation, f"computed for {found.day.isoformat()}"))
            elif decode_readiness(found.readiness) != row.readiness:
                differing.append((row.preparation, "readiness differs"))
            elif decode_steps(found.steps) != row.steps:
                differing.append((row.preparation, "steps differ"))
    return differing


# --- reading ------------------------------------------------------------------------------------

def rows(preps: list[Preparation], definitions: dict, now: date):
    """The readiness rows of the preparations for today: the stored ones that are today's and of
    the preparation's workflow version, the others computed (one query, plus the engine's for
    those)."""
    from .queries import UnitRow, computed_rows

    kept: dict[int, tuple] = {}
    ids = [p.id for p in preps]
    s = StoredReadiness.__table__.c
    # the step facts as text, parsed only when a row's facts are asked for (a readiness answer
    # never asks)
    steps_text = sa.cast(s.steps, sa.Text())
    for start in range(0, len(ids), CHUNK * 5):
        for prep_id, day, version_id, readiness, steps in db.session.execute(
                sa.select(s.preparation_id, s.day, s.workflow_version_id, s.readiness, steps_text)
                .where(s.preparation_id.in_(ids[start:start + CHUNK * 5]))):
            kept[prep_id] = (day, version_id, readiness, steps)
    shared: dict = {}
    decode = ReadinessDecoder()
    found: dict[int, UnitRow] = {}
    missing = []
    for prep in preps:
        stored = kept.get(prep.id)
        if (stored is None or _day(stored[0]) != now or stored[1] != prep.workflow_version_id
                or TASKS not in stored[2]):
            missing.append(prep)
            continue
        found[prep.id] = UnitRow(prep.unit, prep, decode(stored[2]),
                                 partial(_steps_from_text, stored[3], shared), decode.task_counts(stored[2][TASKS]))
    if missing:
        for row in computed_rows(missing, definitions, now):
            found[row.preparation.id] = row
    return [found[p.id] for p in preps]


def _steps_from_text(text, shared: dict) -> tuple[StepFacts, ...]:
    return decode_steps(json.loads(text) if isinstance(text, str) else text, shared)


def _day(value) -> date:
    return date.fromisoformat(value) if isinstance(value, str) else value


class UnitSummary(NamedTuple):
    """What a many-unit answer shows of a unit."""
    id: int
    code: str
    name: str
    kind: str
    province_code: str
    members: int | None


class PreparationSummary(NamedTuple):
    """What a many-unit answer shows of a unit's preparation."""
    id: int
    campaign_id: int
    congress_on: date | None


def summary_rows(round_, province_codes: set[str] | None, kind: str | None, now: date) -> list | None:
    """Every unit's readiness in ``round_`` for the day, as a many-unit answer shows it (the unit,
    its congress date, its readiness and tasks), in one query and without the preparations' objects;
    None when a preparation has no stored row for the day (the caller computes them all)."""
    from .queries import UnitRow

    s = StoredReadiness.__table__.c
    query = (sa.select(Preparation.id, Preparation.campaign_id, Preparation.congress_on,
                       Preparation.workflow_version_id, Unit.id, Unit.code, Unit.name, Unit.kind,
                       Unit.province_code, Unit.members, s.day, s.workflow_version_id, s.readiness)
             .select_from(Preparation).join(Unit, Unit.id == Preparation.unit_id)
             .join(Campaign, Campaign.id == Preparation.campaign_id)
             .outerjoin(StoredReadiness.__table__, s.preparation_id == Preparation.id))
    if round_ is not None:
        query = query.where(round_.where())
    if province_codes is not None:
        query = query.where(Unit.province_code.in_(province_codes))
    if kind:
        query = query.where(Unit.kind == kind)
    decode = ReadinessDecoder()
    found = []
    for (prep_id, campaign_id, congress_on, version_id, unit_id, code, name, unit_kind, province_code, members,
         day, stored_version, readiness) in db.session.execute(query):
        if readiness is None or _day(day) != now or stored_version != version_id or TASKS not in readiness:
            return None
        found.append(UnitRow(UnitSummary(unit_id, code, name, unit_kind, province_code, members),
                             PreparationSummary(prep_id, campaign_id, _day(congress_on) if congress_on else None),
                             decode(readiness), (), decode.task_counts(readiness[TASKS])))
    # the names in Vietnamese alphabetical order, as queries._preparations sorts them
    found.sort(key=lambda r: (r.unit.province_code, vi_sort_key(r.unit.name), r.unit.code))
    return found


def recorded_rows(preps: list[Preparation], day: date) -> list | None:
    """The readiness rows of a past day from its nightly records (notices.models.ReadinessNight,
    the whole readiness beside each snapshot): the preparations recorded that night, with their planned
    congress and their campaign's deadline as they were. None when the night has no such records
    for them (the caller rebuilds the day from the audit log)."""
    from congress.notices.models import ReadinessNight

    from .history import PastPreparation, past_campaign
    from .queries import UnitRow

    if not preps:
        return None
    snapshot = ReadinessNight.__table__.c
    recorded: dict[tuple[int, int], tuple] = {}
    campaign_ids = sorted({p.campaign_id for p in preps})
    unit_ids = sorted({p.unit_id for p in preps})
    for start in range(0, len(unit_ids), CHUNK * 5):
        for campaign_id, unit_id, readiness, steps, congress_on in db.session.execute(
                sa.select(snapshot.campaign_id, snapshot.unit_id, snapshot.readiness,
                          sa.cast(snapshot.steps, sa.Text()), snapshot.congress_on)
                .where(snapshot.day == day, snapshot.campaign_id.in_(campaign_ids),
                       snapshot.unit_id.in_(unit_ids[start:start + CHUNK * 5]))):
            if readiness is None or TASKS not in readiness:
                return None  # recorded before the whole readiness was kept
            recorded[(campaign_id, unit_id)] = (readiness, steps, congress_on)
    if not recorded:
        return None
    campaigns = {p.campaign_id: p.campaign for p in preps}
    then = {campaign_id: past_campaign(campaign, day) for campaign_id, campaign in campaigns.items()}
    decode = ReadinessDecoder()
    shared: dict = {}
    rows = []
    for prep in preps:
        found = recorded.get((prep.campaign_id, prep.unit_id))
        if found is None:
            continue  # not enrolled yet that night
        readiness_body, steps, congress_on = found
        readiness = decode(readiness_body)
        past = PastPreparation(prep, then[prep.campaign_id])
        past.congress_on = _day(congress_on) if congress_on else None
        own = readiness.deadline != past.campaign.deadline
        past.deadline_on = readiness.deadline.day if own else None
        past.deadline_kind = readiness.deadline.kind.value if own else None
        rows.append(UnitRow(prep.unit, past, readiness, partial(_steps_from_text, steps, shared),
                            decode.task_counts(readiness_body[TASKS])))
    return rows

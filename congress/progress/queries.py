"""Reads for pages and the API, shaped for a fixed number of queries whatever the unit count."""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import contains_eager

from congress.clock import today
from congress.extensions import db
from congress.units.models import Branch, Province, Unit
from workflows.deadlines import Deadline
from workflows.readiness import (
    ProvinceReadiness,
    Reason,
    StepFacts,
    UnitReadiness,
    province_readiness,
    task_summary,
    unit_readiness,
)
from workflows.rules import State

from .models import Campaign, Preparation, Step, WorkflowVersion


@dataclass(frozen=True)
class UnitRow:
    unit: Unit
    preparation: Preparation
    readiness: UnitReadiness
    steps: tuple[StepFacts, ...]


def _preparations(province_codes: set[str] | None = None, unit_ids: list[int] | None = None,
                  kind: str | None = None) -> list[Preparation]:
    query = (db.select(Preparation).join(Preparation.unit).join(Preparation.campaign)
             .options(contains_eager(Preparation.unit), contains_eager(Preparation.campaign))
             .order_by(Unit.province_code, Unit.name, Unit.code))
    if province_codes is not None:
        query = query.where(Unit.province_code.in_(province_codes))
    if unit_ids is not None:
        query = query.where(Unit.id.in_(unit_ids))
    if kind:
        query = query.where(Unit.kind == kind)
    return list(db.session.execute(query).unique().scalars())


def _definitions(version_ids: set[int]):
    versions = db.session.execute(
        db.select(WorkflowVersion).where(WorkflowVersion.id.in_(version_ids))).scalars()
    return {v.id: v.definition() for v in versions}


def readiness_rows(province_codes: set[str] | None = None, unit_ids: list[int] | None = None,
                   kind: str | None = None) -> list[UnitRow]:
    """Readiness of every matching unit in four queries."""
    preps = _preparations(province_codes, unit_ids, kind)
    if not preps:
        return []
    prep_ids = [p.id for p in preps]
    definitions = _definitions({p.workflow_version_id for p in preps})
    steps_by_prep: dict[int, list] = {}
    for start in range(0, len(prep_ids), 5000):
        chunk = prep_ids[start:start + 5000]
        for row in db.session.execute(
                sa.select(Step.preparation_id, Step.key, Step.state, Step.due_on, Step.due_kind,
                          Step.completed_on)
                .where(Step.preparation_id.in_(chunk), Step.branch_id.is_(None))):
            steps_by_prep.setdefault(row.preparation_id, []).append(row)
    counts = _branch_counts_for(province_codes, unit_ids)
    now = today()
    rows = []
    for prep in preps:
        definition = definitions[prep.workflow_version_id]
        total, held, _ = counts.get(prep.unit_id, (0, 0, None))
        facts = []
        for row in steps_by_prep.get(prep.id, []):
            step_def = definition.step(row.key)
            partial = (held / total if total else 0.0) if step_def.done_when == "all_branches_held" else None
            facts.append(StepFacts(
                key=row.key, weight=step_def.weight, state=State(row.state),
                due=Deadline.from_last_day(row.due_on, row.due_kind or "by") if row.due_on else None,
                completed_on=row.completed_on, partial=partial))
        order = {key: i for i, key in enumerate(definition.step_keys)}
        facts.sort(key=lambda f: order.get(f.key, 999))
        readiness = unit_readiness(facts, branches_held=held, branches_total=total,
                                   deadline=prep.deadline, started_on=prep.campaign.starts_on, today=now)
        readiness = _with_step_titles(readiness, definition)
        rows.append(UnitRow(prep.unit, prep, readiness, tuple(facts)))
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


def _branch_counts_for(province_codes: set[str] | None, unit_ids: list[int] | None):
    """Per unit: (branches, held, last held date), in one grouped query."""
    query = (sa.select(Branch.unit_id, sa.func.count(Branch.id), sa.func.count(Branch.held_on),
                       sa.func.max(Branch.held_on)).group_by(Branch.unit_id))
    if province_codes is not None:
        query = query.join(Unit, Unit.id == Branch.unit_id).where(Unit.province_code.in_(province_codes))
    if unit_ids is not None:
        query = query.where(Branch.unit_id.in_(unit_ids))
    return {r[0]: (r[1], r[2], r[3]) for r in db.session.execute(query)}


@dataclass(frozen=True)
class ProvinceOverview:
    province: Province | None
    campaign: Campaign | None
    readiness: ProvinceReadiness
    rows: list[UnitRow]
    as_of: date


def province_overview(province_codes: set[str] | None, kind: str | None = None) -> ProvinceOverview:
    rows = readiness_rows(province_codes, kind=kind)
    now = today()
    tasks = task_summary(((f.state, f.due) for row in rows for f in row.steps), now)
    province = campaign = None
    if province_codes is not None and len(province_codes) == 1:
        code = next(iter(province_codes))
        province = db.session.get(Province, code)
        campaign = rows[0].preparation.campaign if rows else None
    return ProvinceOverview(province, campaign, province_readiness([r.readiness for r in rows], tasks),
                            rows, now)


@dataclass(frozen=True)
class StepView:
    step: Step
    definition: object
    overdue: bool


def unit_preparation(unit: Unit) -> Preparation | None:
    return db.session.execute(
        db.select(Preparation).filter_by(unit_id=unit.id).order_by(Preparation.id.desc())
    ).scalars().first()


def unit_steps(prep: Preparation) -> list[Step]:
    steps = db.session.execute(db.select(Step).where(
        Step.preparation_id == prep.id, Step.branch_id.is_(None))).scalars().all()
    order = {key: i for i, key in enumerate(prep.workflow_version.definition().step_keys)}
    return sorted(steps, key=lambda s: order.get(s.key, 999))


def branch_steps(prep: Preparation) -> dict[int, list[Step]]:
    """Every branch step of a unit, grouped by branch, in one query."""
    grouped: dict[int, list[Step]] = {}
    order = {key: i for i, key in enumerate(prep.branch_workflow_version.definition().step_keys)}
    for step in db.session.execute(db.select(Step).where(
            Step.preparation_id == prep.id, Step.branch_id.is_not(None))).scalars():
        grouped.setdefault(step.branch_id, []).append(step)
    for steps in grouped.values():
        steps.sort(key=lambda s: order.get(s.key, 999))
    return grouped


def unit_branches(unit: Unit) -> list[Branch]:
    return list(db.session.execute(
        db.select(Branch).filter_by(unit_id=unit.id).order_by(Branch.code)).scalars())

"""Setting a unit's steps where a test needs them, as the unit would have got there: the
prerequisites of a step finished, the city's approval of a draft recorded."""
from __future__ import annotations

from datetime import UTC, date, datetime

from congress.extensions import db
from congress.progress.models import Preparation, Step
from congress.units.models import Unit


def _prep(code: str) -> Preparation:
    unit = db.session.execute(db.select(Unit).filter_by(code=code)).scalar_one()
    return db.session.execute(db.select(Preparation).filter_by(unit_id=unit.id)).scalar_one()


def finish_prerequisites(code: str | Preparation, key: str, on: date = date(2025, 7, 10), *,
                         include: bool = False) -> None:
    """Mark done every unit step ``key`` depends on, directly or not (and ``key`` itself with
    ``include``), dated ``on``; committed. Steps already finished are left as they are. ``code``:
    the unit's (its one preparation), or the preparation itself."""
    prep = code if isinstance(code, Preparation) else _prep(code)
    definition = prep.workflow_version.definition()
    wanted, todo = set(), list(definition.step(key).requires) + ([key] if include else [])
    while todo:
        found = todo.pop()
        if found not in wanted:
            wanted.add(found)
            todo.extend(definition.step(found).requires)
    for step in db.session.execute(db.select(Step).where(
            Step.preparation_id == prep.id, Step.branch_id.is_(None), Step.key.in_(wanted))).scalars():
        if step.state not in ("done", "not_applicable"):
            step.state, step.completed_on = "done", on
            step.started_on = step.started_on or on
            step.version += 1
    db.session.commit()


def approve_draft(code: str, kind: str, on: date = date(2025, 7, 20)) -> None:
    """Record that the city approved a version of the unit's ``kind`` (a row as the drafts flow
    leaves it); committed."""
    from congress.drafts.models import DraftVersion

    prep = _prep(code)
    number = (db.session.execute(db.select(db.func.max(DraftVersion.number)).filter_by(
        preparation_id=prep.id, kind=kind)).scalar() or 0) + 1
    db.session.add(DraftVersion(preparation_id=prep.id, unit_id=prep.unit_id, kind=kind, number=number,
                                format="docx", sha256="0" * 64,
                                size=1, original_name="du-thao.docx", uploaded_on=on,
                                uploaded_at=datetime(on.year, on.month, on.day, 3, tzinfo=UTC), actor="test",
                                status="approved", submitted_on=on, decided_on=on))
    db.session.commit()


def plan_congress(code: str, day: date) -> None:
    """Move the unit's planned congress date (and the due dates counted from it); committed."""
    from congress.progress.operations import refresh_due_dates

    prep = _prep(code)
    prep.congress_on = day
    prep.version += 1
    db.session.flush()
    refresh_due_dates(prep)
    db.session.commit()


def submit_without_draft(code: str, key: str, actor) -> Step:
    """Send the unit's approval step ``key`` to the city without a draft, as the step's own submit
    does (the API's transition): its prerequisites finished, the step started if it was not and
    submitted by ``actor`` through the engine, today; committed. Returns the step."""
    from congress.progress.operations import transition
    from workflows.rules import Action

    finish_prerequisites(code, key)
    prep = _prep(code)
    step = db.session.execute(db.select(Step).where(
        Step.preparation_id == prep.id, Step.branch_id.is_(None), Step.key == key)).scalar_one()
    if step.state == "not_started":
        transition(step, action=Action.START, actor=actor, version=step.version)
    transition(step, action=Action.SUBMIT, actor=actor, version=step.version)
    db.session.commit()
    return step

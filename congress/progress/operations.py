"""Every write to campaigns, preparations and steps: check -> change -> flush -> audit.

Callers commit; a refused operation raises before anything is changed, so nothing is half
written.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import sqlalchemy as sa

from congress.accounts import permissions
from congress.audit.operations import changed_fields, record
from congress.clock import today, utcnow
from congress.errors import Conflict, Forbidden, Unprocessable
from congress.extensions import db
from congress.notices import events
from congress.text import clean_text
from congress.units.models import Branch, Unit
from workflows.deadlines import Deadline, DeadlineKind
from workflows.documents import DOCUMENT_KINDS
from workflows.loader import StepDefinition, WorkflowDefinition
from workflows.rules import (
    AUTO_RULES,
    DATED,
    FINISHED,
    REASON_REQUIRED,
    Action,
    Refusal,
    RuleInput,
    State,
    check_transition,
)

from . import stored
from .accountability import (
    check_congress_date,
    check_deadline_not_past,
    check_not_after_dependents,
    guard_completed_step,
)
from .actions import UnitFacts
from .campaigns import check_open, follow_child_step
from .definitions import current_version
from .models import Campaign, Preparation, Step, WorkflowVersion

# --- due dates ---------------------------------------------------------------------------

def anchors_for(prep: Preparation, branch: Branch | None = None) -> dict[str, Deadline | None]:
    """The dates due rules count from, for a unit (and one of its branches)."""
    anchors: dict[str, Deadline | None] = {
        "deadline": prep.deadline,
        "congress": Deadline(prep.congress_on) if prep.congress_on else None,
        "campaign_start": Deadline(prep.campaign.starts_on),
    }
    if branch is not None:
        anchors["branch_congress"] = Deadline(branch.planned_on) if branch.planned_on else None
    return anchors


def _due_columns(step_def: StepDefinition, anchors) -> dict:
    due = step_def.due.resolve(anchors) if step_def.due else None
    return {"due_on": due.last_allowed_day if due else None, "due_kind": due.kind.value if due else None}


def refresh_due_dates(prep: Preparation, branches: Iterable[Branch] | None = None,
                      expire: bool = True, *, actor=None) -> int:
    """Recompute the due dates of a unit's steps (and its branches' steps) after a date changed.

    A step not finished whose due date had already passed keeps the lapse when its due date moves
    later: the first date it missed is kept (``missed_due_on``), it stays overdue against it, and
    the move is audited ("step.due_moved"). Written in one executemany per call, not one ORM
    flush per step. Returns rows changed.
    """
    unit_def = prep.definition()
    branch_def = prep.branch_definition()
    unit_anchors = anchors_for(prep)
    if branches is None:
        branches = db.session.execute(db.select(Branch).filter_by(
            unit_id=prep.unit_id, campaign_id=prep.campaign_id)).scalars().all()
    branch_anchors = {b.id: anchors_for(prep, b) for b in branches}
    branch_codes = {b.id: b.code for b in branches}
    rows = db.session.execute(
        sa.select(Step.id, Step.key, Step.branch_id, Step.state, Step.due_on, Step.due_kind, Step.missed_due_on,
                  Step.missed_due_kind)
        .where(Step.preparation_id == prep.id)
        .where(sa.or_(Step.branch_id.is_(None), Step.branch_id.in_(list(branch_anchors))))
    ).all()
    now = today()
    updates, lapses = [], []
    for row in rows:
        if row.branch_id is None:
            cols = _due_columns(unit_def.step(row.key), unit_anchors)
        else:
            cols = _due_columns(branch_def.step(row.key), branch_anchors[row.branch_id])
        if (cols["due_on"], cols["due_kind"]) == (row.due_on, row.due_kind):
            continue
        missed = {"missed_due_on": row.missed_due_on, "missed_due_kind": row.missed_due_kind}
        if _lapse_kept(row, cols["due_on"], now):
            if row.missed_due_on is None:
                missed = {"missed_due_on": row.due_on, "missed_due_kind": row.due_kind}
            lapses.append((row, cols, missed))
        updates.append({"b_id": row.id, **cols, **missed})
    if updates:
        stored.touch(preparations=[prep.id], higher=False)  # due dates: no roll-up above moves
        db.session.execute(
            sa.update(Step.__table__).where(Step.__table__.c.id == sa.bindparam("b_id"))
            .values(due_on=sa.bindparam("due_on"), due_kind=sa.bindparam("due_kind"),
                    missed_due_on=sa.bindparam("missed_due_on"), missed_due_kind=sa.bindparam("missed_due_kind")),
            updates)
        if expire:
            db.session.expire_all()
    for row, cols, missed in lapses:
        owner = branch_codes[row.branch_id] if row.branch_id else prep.unit.code
        record(action="step.due_moved", entity="step", actor=actor, entity_key=f"{owner}/{row.key}",
               unit_id=prep.unit_id, step_key=row.key, campaign_id=prep.campaign_id,
               old={"due_on": row.due_on, "due_kind": row.due_kind},
               new={**cols, "missed_due_on": missed["missed_due_on"]})
    return len(updates)


def _lapse_kept(row, new_due_on: date | None, now: date) -> bool:
    """Whether moving a step's due date to ``new_due_on`` would hide a lapse already incurred: the
    step is not finished, its due date passed before today, and the new one is later (or none)."""
    return (row.due_on is not None and row.due_on < now and State(row.state) not in FINISHED
            and (new_due_on is None or new_due_on > row.due_on))


# --- creating a unit's steps -------------------------------------------------------------

def enrol_units(campaign: Campaign, units: list[Unit], congress_dates: dict[int, date] | None = None,
                actor=None) -> list[Preparation]:
    """Create the preparation and every step (unit and branches) for units not yet enrolled.

    Idempotent: a unit already in the campaign is left as it is.
    """
    unit_version, branch_version = pinned_versions(campaign)
    enrolled = set(db.session.execute(
        sa.select(Preparation.unit_id).where(Preparation.campaign_id == campaign.id)).scalars())
    fresh = [u for u in units if u.id not in enrolled]
    if not fresh:
        return []
    congress_dates = congress_dates or {}
    preps = [Preparation(campaign=campaign, unit=u, workflow_version=unit_version,
                         branch_workflow_version=branch_version,
                         congress_on=congress_dates.get(u.id)) for u in fresh]
    db.session.add_all(preps)
    db.session.flush()
    unit_def = unit_version.definition()
    branch_def = branch_version.definition() if branch_version is not None else None
    branches_by_unit: dict[int, list[Branch]] = {}
    if branch_def is not None:
        carry_rosters(campaign, [u.id for u in fresh], actor)
        for branch in db.session.execute(db.select(Branch).where(
                Branch.campaign_id == campaign.id, Branch.unit_id.in_([u.id for u in fresh]))).scalars():
            branches_by_unit.setdefault(branch.unit_id, []).append(branch)
    rows = []
    for prep in preps:
        rows.extend(_step_rows(prep, unit_def, anchors_for(prep), None))
        for branch in branches_by_unit.get(prep.unit_id, []) if branch_def is not None else ():
            rows.extend(_step_rows(prep, branch_def, anchors_for(prep, branch), branch.id))
    insert_steps(rows)
    for prep in preps:
        record(action="preparation.create", entity="preparation", actor=actor,
               entity_key=prep.unit.code, unit_id=prep.unit_id, campaign_id=campaign.id,
               new={"campaign": campaign.name_vi, "workflow": f"{unit_version.key} r{unit_version.revision}",
                    "congress_on": prep.congress_on})
    return preps


def roster_sources(campaign: Campaign, unit_ids: list[int]) -> dict[int, int]:
    """For each of the units without branches of their own in ``campaign``: the campaign whose
    roster it starts from, the unit's newest other campaign of the same organisation that counts
    branches (one query)."""
    have = set(db.session.execute(sa.select(Branch.unit_id).distinct().where(
        Branch.campaign_id == campaign.id, Branch.unit_id.in_(unit_ids))).scalars()) if unit_ids else set()
    wanted = [u for u in unit_ids if u not in have]
    if not wanted:
        return {}
    rows = db.session.execute(
        sa.select(Branch.unit_id, sa.func.max(Branch.campaign_id)).join(Campaign, Campaign.id == Branch.campaign_id)
        .where(Branch.unit_id.in_(wanted), Branch.campaign_id != campaign.id,
               Campaign.organisation == campaign.organisation, Campaign.branch_workflow.is_not(None))
        .group_by(Branch.unit_id)).all()
    return dict(rows)


def carry_rosters(campaign: Campaign, unit_ids: list[int], actor) -> int:
    """Give each unit of ``campaign`` without branches in it a copy of its roster in its newest
    earlier campaign (roster_sources): the same codes, names, kinds and members, the secretary the
    last congress elected, and no congress facts (the new round holds its congresses anew).
    Audited; returns the branches copied."""
    sources = roster_sources(campaign, unit_ids)
    if not sources:
        return 0
    wanted = sa.tuple_(Branch.unit_id, Branch.campaign_id).in_(list(sources.items()))
    rows = [{"campaign_id": campaign.id, "unit_id": b.unit_id, "code": b.code, "name": b.name, "kind": b.kind,
             "members": b.members, "secretary": b.new_secretary or b.secretary, "version": 1}
            for b in db.session.execute(db.select(Branch).where(wanted).order_by(Branch.id)).scalars()]
    db.session.execute(sa.insert(Branch.__table__), rows)
    from congress.audit.operations import record_many

    record_many([{"action": "branch.add", "entity": "branch", "actor": actor, "entity_key": r["code"],
                  "unit_id": r["unit_id"], "campaign_id": campaign.id,
                  "new": {k: r[k] for k in ("name", "kind", "members", "secretary")},
                  "reason": "roster"} for r in rows])
    return len(rows)


def pinned_versions(campaign: Campaign) -> tuple[WorkflowVersion, WorkflowVersion | None]:
    """The workflow versions a campaign runs: the ones it was started with, pinned on first use
    (a definition changed later reaches its units only by a migration)."""
    if campaign.unit_workflow_version_id is None:
        campaign.unit_workflow_version_id = current_version(campaign.unit_workflow).id
    if campaign.branch_workflow and campaign.branch_workflow_version_id is None:
        campaign.branch_workflow_version_id = current_version(campaign.branch_workflow).id
    unit_version = db.session.get(WorkflowVersion, campaign.unit_workflow_version_id)
    branch_version = (db.session.get(WorkflowVersion, campaign.branch_workflow_version_id)
                      if campaign.branch_workflow_version_id else None)
    return unit_version, branch_version


def _step_rows(prep: Preparation, definition: WorkflowDefinition, anchors, branch_id: int | None) -> list[dict]:
    return [{"preparation_id": prep.id, "branch_id": branch_id, "key": s.key,
             "state": State.NOT_STARTED.value, "version": 1, **_due_columns(s, anchors)}
            for s in definition.steps]


def insert_steps(rows: list[dict], chunk: int = 5000) -> None:
    stored.touch(preparations={row["preparation_id"] for row in rows})
    for start in range(0, len(rows), chunk):
        db.session.execute(sa.insert(Step.__table__), rows[start:start + chunk])


def add_branch_steps(prep: Preparation, branch: Branch) -> None:
    """Steps for a branch added after its unit was enrolled."""
    add_branches_steps(prep, [branch])


def add_branches_steps(prep: Preparation, branches: Iterable[Branch]) -> None:
    """Steps for branches added after their unit was enrolled, in one insert."""
    if prep.branch_workflow_version_id is None:
        return  # the campaign tracks no subordinate organisations
    definition = prep.branch_definition()
    insert_steps([row for branch in branches for row in _step_rows(prep, definition, anchors_for(prep, branch),
                                                                   branch.id)])


# --- transitions ---------------------------------------------------------------------------

def step_snapshot(step: Step) -> dict:
    return {"state": step.state, "started_on": step.started_on, "submitted_on": step.submitted_on,
            "approved_on": step.approved_on, "completed_on": step.completed_on, "note": step.note,
            "reason": step.reason, "version": step.version}


def definition_of(step: Step) -> StepDefinition:
    return definition_of_scope(step).step(step.key)


def check_version(current: int, expected: int | None, snapshot: dict) -> None:
    if expected is None:
        raise Unprocessable("version_required")
    if expected != current:
        raise Conflict("stale_version", {"expected": expected, "current": current}, current=snapshot)


def transition(step: Step, *, action: Action, actor, version: int | None, on: date | None = None,
               note: str | None = None, facts: UnitFacts | None = None) -> Step:
    """Move a step by one action, after checking role, scope, version and the lifecycle's guards
    (workflows/lifecycle.yaml), in that order."""
    prep = step.preparation
    unit = prep.unit
    step_def = definition_of(step)
    check_open(prep.campaign)
    if not permissions.can_take_action(actor, unit, action, step_def.approval):
        if action is Action.MARK_NOT_APPLICABLE and step_def.approval:
            raise Forbidden("approval_waiver_forbidden")
        raise Forbidden("action_forbidden", {"action": action.value})
    check_version(step.version, version, step_snapshot(step))
    note = (note or "").strip() or None
    facts = facts or UnitFacts(prep)
    context = facts.context(step, action)
    if action in DATED and on is None:
        on = facts.default_day(step, action)
    try:
        new_state = check_transition(state=step.state_enum, action=action, needs_approval=step_def.approval,
                                     on=on if action in DATED else None, note=note, context=context)
    except Refusal as refusal:
        raise Unprocessable(refusal.code, _with_titles(refusal.params, step)) from None
    before = step_snapshot(step)
    _apply(step, action, new_state, on or context.today, note)
    db.session.flush()
    old, new = changed_fields(before, step_snapshot(step))
    record(action=f"step.{action.value}", entity="step", actor=actor, entity_key=_step_label(step),
           unit_id=unit.id, step_key=step.key, old=old, new=new, campaign_id=step.preparation.campaign_id,
           reason=note if action in REASON_REQUIRED else None)
    events.step_moved(step, action, actor)  # the city of a submission, the unit of a verdict
    follow_child_step(step, actor)  # a campaign over this one rolls it up
    return step


def _with_titles(params, step: Step) -> dict:
    """Add the titles of the steps and documents a refusal names, so the message can use them."""
    params = dict(params)
    keys = list(params.get("steps") or []) + ([params["step"]] if params.get("step") else [])
    definition = definition_of_scope(step)
    if keys:
        params["titles"] = {k: {"vi": definition.step(k).title_vi, "en": definition.step(k).title_en}
                            for k in keys if k in definition.step_keys}
    if params.get("kinds"):
        params["documents"] = ", ".join(f"“{DOCUMENT_KINDS[k].title_vi}”" for k in params["kinds"])
    return params


def definition_of_scope(step: Step) -> WorkflowDefinition:
    prep = step.preparation
    return prep.branch_definition() if step.branch_id else prep.definition()


def _step_label(step: Step) -> str:
    return f"{step.branch.code}/{step.key}" if step.branch_id else f"{step.preparation.unit.code}/{step.key}"


def step_records(step: Step) -> tuple:
    """The conditions of the audit records of ``step``: its unit's, under its label, in its own
    campaign (a later round repeats the keys and the branch codes)."""
    from congress.audit.models import AuditRecord

    return (AuditRecord.unit_id == step.preparation.unit_id, AuditRecord.entity == "step",
            AuditRecord.entity_key == _step_label(step), AuditRecord.campaign_id == step.preparation.campaign_id)


def _apply(step: Step, action: Action, new_state: State, on: date, note: str | None) -> None:
    step.state = new_state.value
    step.updated_at = utcnow()
    if action is Action.START:
        step.started_on = on
    elif action is Action.SUBMIT:
        step.submitted_on = on
        step.reason = None
    elif action is Action.APPROVE:
        step.approved_on = on
    elif action is Action.RETURN:
        step.reason = note
        step.submitted_on = None
    elif action is Action.COMPLETE:
        step.completed_on = on
        step.started_on = step.started_on or on
    elif action is Action.MARK_NOT_APPLICABLE:
        step.reason = note
    elif action is Action.REOPEN:
        step.completed_on = None
        step.approved_on = None
        step.reason = note
    if note and action not in (Action.RETURN, Action.MARK_NOT_APPLICABLE, Action.REOPEN):
        step.note = note


def _rule_input(step: Step) -> RuleInput:
    return UnitFacts(step.preparation).rule_input(step)


def _apply_rule(step: Step, step_def: StepDefinition, actor, unit_id: int) -> None:
    """Bring a step with a "done when" rule in line with the facts; the change is audited.

    A unit's completed step is reopened or re-dated only as far as the write allows (see
    congress.progress.accountability.completed_steps), and never completed after a finished step
    that depends on it.
    """
    result = AUTO_RULES[step_def.done_when](_rule_input(step))
    before = step_snapshot(step)
    state = step.state_enum
    if result.satisfied and state is not State.DONE and state is not State.NOT_APPLICABLE:
        check_not_after_dependents(step, result.on)
        step.state, step.completed_on = State.DONE.value, result.on
        step.started_on = _earliest(step.started_on, result.started, result.on)
        action = "step.auto_complete"
    elif result.satisfied and state is State.DONE and result.on is not None and step.completed_on != result.on:
        check_not_after_dependents(step, result.on)
        guard_completed_step(step, "redate", result.on)
        step.completed_on = result.on  # a held_on corrected after the step completed
        step.started_on = _earliest(step.started_on, result.started, result.on)
        action = "step.auto_update"
    elif not result.satisfied and state is State.DONE:
        guard_completed_step(step, "reopen", None)
        step.state, step.completed_on = State.IN_PROGRESS.value, None
        action = "step.auto_reopen"
    elif result.done and state is State.NOT_STARTED:
        step.state, step.started_on = State.IN_PROGRESS.value, result.started or today()
        action = "step.auto_start"
    else:
        return
    step.updated_at = utcnow()
    db.session.flush()
    old, new = changed_fields(before, step_snapshot(step))
    record(action=action, entity="step", actor=actor, entity_key=_step_label(step), unit_id=unit_id,
           step_key=step.key, old=old, new=new, campaign_id=step.preparation.campaign_id,
           reason=f"{step_def.done_when}: {result.done}/{result.total}")
    if step.branch_id is None:
        follow_child_step(step, actor)


def _earliest(*days: date | None) -> date | None:
    present = [d for d in days if d is not None]
    return min(present) if present else None


def apply_unit_rules(prep: Preparation, actor) -> None:
    definition = prep.definition()
    rule_keys = [s.key for s in definition.steps if s.done_when]
    for step in db.session.execute(db.select(Step).where(
            Step.preparation_id == prep.id, Step.branch_id.is_(None), Step.key.in_(rule_keys))).scalars():
        _apply_rule(step, definition.step(step.key), actor, prep.unit_id)


def apply_branch_rules(prep: Preparation, branch: Branch, actor) -> None:
    """After a branch changed: its own "done when" steps, then its unit's roll-up steps."""
    apply_branches_rules(prep, [branch], actor)


def apply_branches_rules(prep: Preparation, branches: Iterable[Branch], actor, chunk: int = 500) -> None:
    """After branches of one unit changed: their own "done when" steps (read a chunk at a time), then
    the unit's roll-up steps once, on the facts of all of them."""
    definition = prep.branch_definition()
    rule_keys = [s.key for s in definition.steps if s.done_when]
    ids = [b.id for b in branches]
    for start in range(0, len(ids), chunk):
        for step in db.session.execute(db.select(Step).where(
                Step.branch_id.in_(ids[start:start + chunk]), Step.key.in_(rule_keys))
                .order_by(Step.branch_id, Step.id)).scalars():
            _apply_rule(step, definition.step(step.key), actor, prep.unit_id)
    apply_unit_rules(prep, actor)


# --- deadlines and congress dates -----------------------------------------------------------

def preparation_snapshot(prep: Preparation) -> dict:
    return {"congress_on": prep.congress_on, "deadline_on": prep.deadline_on,
            "deadline_kind": prep.deadline_kind, "deadline_basis": prep.deadline_basis,
            "secretary_name": prep.secretary_name, "deputy_secretary_name": prep.deputy_secretary_name,
            "version": prep.version}


#: the longest name printed under a signature
SIGNER_NAME_LIMIT = 80


def set_signers(prep: Preparation, *, actor, version: int | None, secretary: str | None,
                deputy: str | None) -> Preparation:
    """Name who signs the unit committee's documents (blank: written by hand). Whoever issues the
    unit's documents may; a request that changes nothing records nothing."""
    if not permissions.can_issue_papers(actor, prep.unit):
        raise Forbidden("signers_forbidden")
    check_open(prep.campaign)
    check_version(prep.version, version, preparation_snapshot(prep))
    names = {}
    for field_name, value in (("secretary", secretary), ("deputy", deputy)):
        try:
            names[field_name] = clean_text(value, max_length=SIGNER_NAME_LIMIT)
        except ValueError:
            raise Unprocessable("invalid_field", {"field": field_name,
                                                  "problem": f"≤ {SIGNER_NAME_LIMIT}"}) from None
    before = preparation_snapshot(prep)
    prep.secretary_name = names["secretary"]
    prep.deputy_secretary_name = names["deputy"]
    if (prep.secretary_name, prep.deputy_secretary_name) == (before["secretary_name"],
                                                            before["deputy_secretary_name"]):
        return prep
    db.session.flush()
    old, new = changed_fields(before, preparation_snapshot(prep))
    record(action="signers.set", entity="preparation", actor=actor, entity_key=prep.unit.code,
           unit_id=prep.unit_id, old=old, new=new, campaign_id=prep.campaign_id)
    return prep


def _check_date_in_campaign(day: date, campaign: Campaign) -> None:
    if day < campaign.starts_on:
        raise Unprocessable("date_before_campaign", {"on": day, "start": campaign.starts_on})


def set_unit_deadline(prep: Preparation, *, actor, version: int | None, day: date | None,
                      kind: DeadlineKind | None = None, basis: str | None = None, confirm: bool = False,
                      reason: str | None = None) -> Preparation:
    """Give one unit its own deadline (or, with ``day`` None, go back to the campaign's).

    A deadline whose last allowed day has already passed needs ``confirm`` and a ``reason``, which
    the audit keeps (else it keeps the basis).
    """
    if not permissions.can_set_deadline(actor, prep.unit.province_code):
        raise Forbidden("deadline_forbidden")
    check_open(prep.campaign)
    check_version(prep.version, version, preparation_snapshot(prep))
    if day is not None:
        _check_date_in_campaign(day, prep.campaign)
    wanted = Deadline(day, kind or DeadlineKind.BY) if day is not None else prep.campaign.deadline
    confirmed = None
    if wanted != prep.deadline:
        confirmed = check_deadline_not_past(wanted, confirm=confirm, reason=reason)
    before = preparation_snapshot(prep)
    prep.deadline_on = day
    prep.deadline_kind = (kind or DeadlineKind.BY).value if day else None
    prep.deadline_basis = (basis or "").strip() or None if day else None
    db.session.flush()
    refresh_due_dates(prep, actor=actor)
    old, new = changed_fields(before, preparation_snapshot(prep))
    record(action="deadline.set" if day else "deadline.clear", entity="preparation", actor=actor,
           entity_key=prep.unit.code, unit_id=prep.unit_id, old=old, new=new, reason=confirmed or basis,
           campaign_id=prep.campaign_id)
    return prep


def set_congress_date(prep: Preparation, *, actor, version: int | None, day: date | None, confirm: bool = False,
                      reason: str | None = None) -> Preparation:
    """Plan (or re-plan) the unit's congress date; due dates counted from it follow.

    A date after the unit's last allowed day is refused for the unit's own users; the city plans
    one with ``confirm`` and a ``reason``, which the audit keeps (see accountability).
    """
    if not permissions.can_plan_congress(actor, prep.unit):
        raise Forbidden("congress_date_forbidden")
    check_open(prep.campaign)
    check_version(prep.version, version, preparation_snapshot(prep))
    if day is not None:
        _check_date_in_campaign(day, prep.campaign)
    confirmed = None
    if day != prep.congress_on:
        confirmed = check_congress_date(prep, day, actor=actor, confirm=confirm, reason=reason)
    before = preparation_snapshot(prep)
    prep.congress_on = day
    db.session.flush()
    refresh_due_dates(prep, actor=actor)
    old, new = changed_fields(before, preparation_snapshot(prep))
    record(action="congress_date.set", entity="preparation", actor=actor, entity_key=prep.unit.code,
           unit_id=prep.unit_id, old=old, new=new, reason=confirmed, campaign_id=prep.campaign_id)
    return prep


def campaign_snapshot(campaign: Campaign) -> dict:
    return {"deadline_on": campaign.deadline_on, "deadline_kind": campaign.deadline_kind,
            "deadline_basis": campaign.deadline_basis, "version": campaign.version}


def set_campaign_deadline(campaign: Campaign, *, actor, version: int | None, day: date,
                          kind: DeadlineKind, basis: str | None = None, confirm: bool = False,
                          reason: str | None = None) -> Campaign:
    """Change the default deadline of every unit in the campaign (one already passed needs
    ``confirm`` and a ``reason``, as a unit's own does)."""
    if not permissions.can_set_deadline(actor, campaign.province_code):
        raise Forbidden("deadline_forbidden")
    check_open(campaign)
    check_version(campaign.version, version, campaign_snapshot(campaign))
    _check_date_in_campaign(day, campaign)
    confirmed = None
    if Deadline(day, kind) != campaign.deadline:
        confirmed = check_deadline_not_past(Deadline(day, kind), confirm=confirm, reason=reason)
    before = campaign_snapshot(campaign)
    campaign.deadline_on, campaign.deadline_kind = day, kind.value
    campaign.deadline_basis = (basis or "").strip() or campaign.deadline_basis
    db.session.flush()
    preps = db.session.execute(db.select(Preparation).filter_by(campaign_id=campaign.id)).scalars().all()
    branches: dict[int, list[Branch]] = {}
    for branch in db.session.execute(db.select(Branch).where(Branch.campaign_id == campaign.id)).scalars():
        branches.setdefault(branch.unit_id, []).append(branch)
    for prep in preps:
        refresh_due_dates(prep, branches.get(prep.unit_id, []), expire=False, actor=actor)
    db.session.expire_all()
    old, new = changed_fields(before, campaign_snapshot(campaign))
    record(action="campaign.deadline.set", entity="campaign", actor=actor,
           entity_key=f"{campaign.province_code}/{campaign.term}", old=old, new=new, reason=confirmed or basis)
    return campaign


def is_finished(step: Step) -> bool:
    return step.state_enum in FINISHED

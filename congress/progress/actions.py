"""The facts the lifecycle's guards read, gathered for one unit in a few queries, and the actions
a user can take on a step: the one answer every surface gives (the unit page's buttons, the API's
``actions``, the city's queue, the import) and the operation enforces.

A page passes the steps it has already loaded; an operation lets :class:`UnitFacts` read what
the step in hand needs (its siblings, the branches' counts, the city's approvals), once each.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from functools import cached_property

import sqlalchemy as sa

from congress.clock import today
from congress.drafts.models import ApprovalException, DraftVersion
from congress.extensions import db
from congress.units.models import Branch
from workflows.loader import StepDefinition, WorkflowDefinition
from workflows.rules import (
    AUTO_RULES,
    GUARDS,
    LIFECYCLE,
    Action,
    PrerequisiteFact,
    RuleInput,
    State,
    TransitionContext,
    available_actions,
)

from .models import Preparation, Step


class UnitFacts:
    """What the guards of one unit's steps look at. Every fact is read on first use, once."""

    def __init__(self, prep: Preparation, steps: Iterable[Step] | None = None, *, on: date | None = None,
                 approved_kinds: Iterable[str] | None = None, definition: WorkflowDefinition | None = None):
        self.prep = prep
        if definition is not None:  # the unit's definition, already in the caller's hands
            self.__dict__["unit_definition"] = definition
        if approved_kinds is not None:  # the preparation's, read by the caller for many units at once
            self.__dict__["approved_kinds"] = frozenset(approved_kinds)
        self.today = on or today()
        #: steps already loaded by the caller, by scope (None: the unit's own, else a branch id)
        self._given: dict[int | None, list[Step]] = {}
        for step in steps or ():
            self._given.setdefault(step.branch_id, []).append(step)

    @cached_property
    def unit_definition(self) -> WorkflowDefinition:
        return self.prep.definition()

    @cached_property
    def branch_definition(self) -> WorkflowDefinition:
        return self.prep.branch_definition()

    def definition_of(self, step: Step) -> WorkflowDefinition:
        return self.branch_definition if step.branch_id else self.unit_definition

    def _siblings(self, branch_id: int | None) -> dict[str, Step]:
        cache = self.__dict__.setdefault("_sibling_cache", {})
        if branch_id not in cache:
            given = self._given.get(branch_id)
            if not given:
                query = db.select(Step).where(Step.preparation_id == self.prep.id)
                query = query.where(Step.branch_id.is_(None) if branch_id is None else Step.branch_id == branch_id)
                given = list(db.session.execute(query).scalars())
            cache[branch_id] = {s.key: s for s in given}
        return cache[branch_id]

    @cached_property
    def branch_counts(self) -> RuleInput:
        """The facts of the unit's children its roll-up steps count: its branches, or the
        lower-level units of the campaign's child campaign (see children_query)."""
        children = self.unit_definition.children
        if children is None:
            return RuleInput()  # the unit has no children tracked
        if children.source == "units":
            query = child_units_query(self.prep, children)
        else:
            query = (sa.select(sa.func.count(Branch.id), sa.func.count(Branch.held_on), sa.func.min(Branch.held_on),
                               sa.func.max(Branch.held_on)).where(
                Branch.campaign_id == self.prep.campaign_id, Branch.unit_id == self.prep.unit_id))
        total, held, first, last = db.session.execute(query).one()
        return RuleInput(branches_total=total, branches_held=held, first_branch_held_on=_day(first),
                         last_branch_held_on=_day(last))

    def rule_input(self, step: Step) -> RuleInput:
        if step.branch_id is not None:
            return RuleInput(branch_held_on=step.branch.held_on)
        return self.branch_counts

    @cached_property
    def approved_kinds(self) -> frozenset[str]:
        """Document kinds of which the city approved a version of this preparation's drafts."""
        return frozenset(db.session.execute(sa.select(DraftVersion.kind).where(
            DraftVersion.preparation_id == self.prep.id, DraftVersion.status == "approved").distinct()).scalars())

    @cached_property
    def excepted_kinds(self) -> frozenset[str]:
        """Document kinds the city let this preparation's congress go ahead without approving."""
        return frozenset(db.session.execute(sa.select(ApprovalException.kind).where(
            ApprovalException.preparation_id == self.prep.id)).scalars())

    @cached_property
    def gate_missing(self) -> tuple[str, ...]:
        """The documents the congress still needs the city to approve (see :func:`missing_approvals`)."""
        return missing_approvals(self.unit_definition, self._siblings(None), self.approved_kinds,
                                 self.excepted_kinds)

    def context(self, step: Step, action: Action | None = None) -> TransitionContext:
        """The facts the guards of ``action`` read (every guard's, without an action); facts no
        guard of the action reads are not gathered, so deciding a city's verdict reads no sibling."""
        definition = self.definition_of(step)
        step_def = definition.step(step.key)
        needs = guards_of(action)
        prerequisites: tuple[PrerequisiteFact, ...] = ()
        if needs & {"prerequisites_finished", "date_not_before_prerequisites"} and step_def.requires:
            siblings = self._siblings(step.branch_id)
            prerequisites = tuple(PrerequisiteFact(siblings[k].key, siblings[k].state_enum, siblings[k].completed_on)
                                  for k in step_def.requires if k in siblings)
        auto_rule = None
        if step_def.done_when and "done_when_satisfied" in needs:
            result = AUTO_RULES[step_def.done_when](self.rule_input(step))
            auto_rule = (result.satisfied, result.done, result.total)
        draft_approved = None
        if step_def.approval and step.state_enum is State.SUBMITTED and "draft_approved" in needs:
            draft_kind = definition.draft_of_approval(step.key)
            if draft_kind is not None:
                draft_approved = draft_kind in self.approved_kinds
        is_congress = step.branch_id is None and is_congress_step(definition, step.key)
        gate = ()
        if is_congress and step.state_enum is not State.DONE and "congress_gate" in needs:
            gate = self.gate_missing
        return TransitionContext(
            today=self.today, campaign_start=self.prep.campaign.starts_on, prerequisites=prerequisites,
            auto_rule=auto_rule, not_before=not_before(step, action) if action else None,
            draft_approved=draft_approved, planned_congress=self.prep.congress_on if is_congress else None,
            gate_missing=gate, skippable=step_def.skippable)

    def default_day(self, step: Step, action: Action) -> date:
        """The day an action is dated when the user gives none: today, but the planned day for the
        congress itself once that day has come."""
        planned = self.context(step, action).planned_congress
        return planned if planned is not None and planned <= self.today else self.today

    def offered(self, user, step: Step) -> list[Action]:
        """The actions ``user`` can take on ``step`` now: exactly those the operation would accept
        (dated today, with a reason where one is required)."""
        from congress.accounts import permissions

        unit = self.prep.unit
        step_def = self.definition_of(step).step(step.key)
        if not permissions.in_scope(user, unit):
            return []
        return available_actions(state=step.state_enum, needs_approval=step_def.approval,
                                 role=permissions.role_on(user, unit),
                                 context=lambda action: self.context(step, action))


def _day(value):
    return date.fromisoformat(value) if isinstance(value, str) else value


def child_units_query(prep: Preparation, children) -> sa.Select:
    """(children, held, first held on, last held on) of a unit whose children are the units of its
    campaign's child campaign in its province: a child is held once its ``held_step`` is done."""
    from congress.units.models import Unit

    held_on = sa.case((Step.state == State.DONE.value, Step.completed_on))
    return (sa.select(sa.func.count(Preparation.id), sa.func.count(held_on), sa.func.min(held_on),
                      sa.func.max(held_on))
            .select_from(Preparation)
            .join(Unit, Unit.id == Preparation.unit_id)
            .outerjoin(Step, sa.and_(Step.preparation_id == Preparation.id, Step.branch_id.is_(None),
                                     Step.key == children.held_step))
            .where(Preparation.campaign_id == (prep.campaign.child_campaign_id or -1),
                   Unit.province_code == prep.unit.province_code, Unit.id != prep.unit_id))


_ALL_GUARDS = frozenset(GUARDS)


def guards_of(action: Action | None) -> frozenset[str]:
    """The guards ``action`` runs (every guard when None)."""
    return frozenset(LIFECYCLE.actions[action.value].guards) if action is not None else _ALL_GUARDS


def is_congress_step(definition: WorkflowDefinition, key: str) -> bool:
    return definition.congress is not None and definition.congress.step == key


def missing_approvals(definition: WorkflowDefinition, unit_steps: dict[str, Step], approved: Iterable[str],
                      excepted: Iterable[str]) -> tuple[str, ...]:
    """The document kinds the congress needs approved that the city has approved neither as a
    version nor on their approval step (how an approval given outside the drafts was recorded),
    and that have no exception."""
    if definition.congress is None:
        return ()
    approved, excepted = set(approved), set(excepted)
    missing = []
    for kind in definition.congress.needs_approved:
        step = unit_steps.get(definition.drafts[kind].approved_by)
        on_step = step is not None and step.state_enum in (State.APPROVED, State.DONE)
        if kind not in approved and kind not in excepted and not on_step:
            missing.append(kind)
    return tuple(missing)


def not_before(step: Step, action: Action) -> date | None:
    """The step's own latest date an event of ``action`` cannot precede."""
    earlier = {Action.SUBMIT: [step.started_on],
               Action.APPROVE: [step.started_on, step.submitted_on],
               Action.RETURN: [step.started_on, step.submitted_on],
               Action.COMPLETE: [step.started_on, step.submitted_on, step.approved_on]}.get(action, [])
    present = [d for d in earlier if d is not None]
    return max(present) if present else None


def step_definition(step: Step) -> StepDefinition:
    prep = step.preparation
    version = prep.branch_workflow_version if step.branch_id else prep.workflow_version
    return version.definition().step(step.key)

"""The state machine of a step, and the guards that may refuse a transition.

A refusal is a :class:`Refusal`: a stable code plus parameters, so the application can say why
in the user's language ("Chưa đủ: 12/40 chi bộ đã đại hội") and tests can check the code.
"""
from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date


class State(str, enum.Enum):
    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    SUBMITTED = "submitted"  #: sent to the city, waiting for its verdict
    APPROVED = "approved"  #: the city approved; the unit completes the step
    DONE = "done"
    NOT_APPLICABLE = "not_applicable"


#: States that count as finished for prerequisites, readiness and overdue.
FINISHED = frozenset({State.DONE, State.NOT_APPLICABLE})


class Action(str, enum.Enum):
    START = "start"
    SUBMIT = "submit"
    APPROVE = "approve"
    RETURN = "return"
    COMPLETE = "complete"
    MARK_NOT_APPLICABLE = "mark_not_applicable"
    REOPEN = "reopen"


#: Actions whose note is a mandatory reason.
REASON_REQUIRED = frozenset({Action.RETURN, Action.MARK_NOT_APPLICABLE, Action.REOPEN})
#: Actions that carry a date (the day it happened), which may be back-dated.
DATED = frozenset({Action.START, Action.COMPLETE, Action.SUBMIT, Action.APPROVE, Action.RETURN})


@dataclass(frozen=True)
class Refusal(Exception):
    code: str
    params: Mapping[str, object] = field(default_factory=dict)

    def __str__(self) -> str:  # for logs and test failures; users see a translated message
        return f"{self.code} {dict(self.params)}"


def _sources(action: Action, needs_approval: bool) -> frozenset[State]:
    if action is Action.START:
        return frozenset({State.NOT_STARTED})
    if action is Action.SUBMIT:
        return frozenset({State.IN_PROGRESS}) if needs_approval else frozenset()
    if action in (Action.APPROVE, Action.RETURN):
        return frozenset({State.SUBMITTED}) if needs_approval else frozenset()
    if action is Action.COMPLETE:
        return (frozenset({State.APPROVED}) if needs_approval
                else frozenset({State.NOT_STARTED, State.IN_PROGRESS}))
    if action is Action.MARK_NOT_APPLICABLE:
        return frozenset({State.NOT_STARTED, State.IN_PROGRESS})
    if action is Action.REOPEN:
        return frozenset({State.DONE, State.NOT_APPLICABLE, State.APPROVED})
    raise AssertionError(action)


TARGET: dict[Action, State] = {
    Action.START: State.IN_PROGRESS,
    Action.SUBMIT: State.SUBMITTED,
    Action.APPROVE: State.APPROVED,
    Action.RETURN: State.IN_PROGRESS,
    Action.COMPLETE: State.DONE,
    Action.MARK_NOT_APPLICABLE: State.NOT_APPLICABLE,
    Action.REOPEN: State.IN_PROGRESS,
}


def allowed_actions(state: State, needs_approval: bool) -> list[Action]:
    """The actions the state machine allows from ``state`` (before role and guard checks)."""
    return [a for a in Action if state in _sources(a, needs_approval)]


@dataclass(frozen=True)
class PrerequisiteFact:
    key: str
    state: State
    completed_on: date | None


@dataclass(frozen=True)
class TransitionContext:
    """Everything a guard needs, gathered by the caller in a few queries."""
    today: date
    campaign_start: date
    prerequisites: tuple[PrerequisiteFact, ...] = ()
    #: result of the step's done_when rule, when it has one: (satisfied, done, total)
    auto_rule: tuple[bool, int, int] | None = None
    #: the latest date the step already carries (started, submitted, approved): a new event
    #: of the same step cannot be dated before it
    not_before: date | None = None


def check_transition(*, state: State, action: Action, needs_approval: bool, on: date | None,
                     note: str | None, context: TransitionContext) -> State:
    """Return the state ``action`` leads to, or raise :class:`Refusal` saying why not."""
    sources = _sources(action, needs_approval)
    if not sources:
        raise Refusal("approval_not_required", {"action": action.value})
    if state not in sources:
        raise Refusal("invalid_transition", {"action": action.value, "state": state.value})
    if action in REASON_REQUIRED and not (note or "").strip():
        raise Refusal("reason_required", {"action": action.value})
    if on is not None:
        if on > context.today:
            raise Refusal("date_in_future", {"on": on, "today": context.today})
        if on < context.campaign_start:
            raise Refusal("date_before_campaign", {"on": on, "start": context.campaign_start})
        if context.not_before is not None and on < context.not_before:
            raise Refusal("date_before_earlier_event", {"on": on, "earlier": context.not_before})
    if action is Action.COMPLETE:
        _check_prerequisites(on or context.today, context.prerequisites)
        if context.auto_rule is not None and not context.auto_rule[0]:
            _, done, total = context.auto_rule
            raise Refusal("rule_not_satisfied", {"done": done, "total": total})
    return TARGET[action]


def _check_prerequisites(on: date, prerequisites: tuple[PrerequisiteFact, ...]) -> None:
    missing = [p.key for p in prerequisites if p.state not in FINISHED]
    if missing:
        raise Refusal("prerequisites_incomplete", {"steps": missing})
    later = [p for p in prerequisites
             if p.state is State.DONE and p.completed_on is not None and p.completed_on > on]
    if later:
        first = max(later, key=lambda p: p.completed_on)
        raise Refusal("completed_before_prerequisite",
                      {"on": on, "step": first.key, "prerequisite_on": first.completed_on})


# --- rules that complete a step by themselves ("done when ...") ---------------------------

@dataclass(frozen=True)
class RuleInput:
    """Facts an automatic rule may look at."""
    branches_total: int = 0
    branches_held: int = 0
    first_branch_held_on: date | None = None
    last_branch_held_on: date | None = None
    branch_held_on: date | None = None  #: for a branch's own workflow


@dataclass(frozen=True)
class RuleResult:
    satisfied: bool
    done: int
    total: int
    on: date | None  #: the date the rule became satisfied
    started: date | None = None  #: the date the first fact counted toward it


def _all_branches_held(facts: RuleInput) -> RuleResult:
    satisfied = facts.branches_total > 0 and facts.branches_held >= facts.branches_total
    return RuleResult(satisfied, facts.branches_held, facts.branches_total,
                      facts.last_branch_held_on if satisfied else None, facts.first_branch_held_on)


def _branch_held(facts: RuleInput) -> RuleResult:
    held = facts.branch_held_on is not None
    return RuleResult(held, int(held), 1, facts.branch_held_on, facts.branch_held_on)


#: The registry of "done when" rules a definition may name.
AUTO_RULES: dict[str, Callable[[RuleInput], RuleResult]] = {
    "all_branches_held": _all_branches_held,
    "branch_held": _branch_held,
}
#: Which subject each rule applies to.
AUTO_RULE_SUBJECTS = {"all_branches_held": "unit", "branch_held": "branch"}

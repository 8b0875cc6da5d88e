"""The state machine of a step, and the guards that may refuse a transition.

The states, actions, roles and the guards each action runs are data (lifecycle.yaml, read by
:mod:`workflows.lifecycle`); this module implements the guards it names.

A refusal is a :class:`Refusal`: a stable code plus parameters, so the application can say why
in the user's language ("Chưa đủ: 12/40 chi bộ đã đại hội") and tests can check the code.
"""
from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date

from .lifecycle import ActionRule, Lifecycle, load_lifecycle


class State(str, enum.Enum):
    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    SUBMITTED = "submitted"  #: sent to the city, waiting for its verdict
    APPROVED = "approved"  #: the city approved; the unit completes the step
    DONE = "done"
    NOT_APPLICABLE = "not_applicable"


class Action(str, enum.Enum):
    START = "start"
    SUBMIT = "submit"
    APPROVE = "approve"
    RETURN = "return"
    COMPLETE = "complete"
    MARK_NOT_APPLICABLE = "mark_not_applicable"
    REOPEN = "reopen"


@dataclass(frozen=True)
class Refusal(Exception):
    code: str
    params: Mapping[str, object] = field(default_factory=dict)

    def __str__(self) -> str:  # for logs and test failures; users see a translated message
        return f"{self.code} {dict(self.params)}"


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
    #: for a step whose approval follows a draft: whether the city approved a version of it
    #: (None: the step follows no draft)
    draft_approved: bool | None = None
    #: for the step that is the congress itself: the planned congress date (None: not planned,
    #: or not that step), and the documents the city has not approved yet
    planned_congress: date | None = None
    gate_missing: tuple[str, ...] = ()
    #: False for a step the workflow says cannot be marked not applicable (the congress itself)
    skippable: bool = True


# --- guards: each may refuse an action, saying why ---------------------------------------------

def _reason_given(action, on, note, context) -> None:
    if not (note or "").strip():
        raise Refusal("reason_required", {"action": action.value})


def _date_not_in_future(action, on, note, context) -> None:
    if on is not None and on > context.today:
        raise Refusal("date_in_future", {"on": on, "today": context.today})


def _date_not_before_campaign(action, on, note, context) -> None:
    if on is not None and on < context.campaign_start:
        raise Refusal("date_before_campaign", {"on": on, "start": context.campaign_start})


def _date_not_before_earlier_event(action, on, note, context) -> None:
    if on is not None and context.not_before is not None and on < context.not_before:
        raise Refusal("date_before_earlier_event", {"on": on, "earlier": context.not_before})


def _prerequisites_finished(action, on, note, context) -> None:
    missing = [p.key for p in context.prerequisites if p.state not in FINISHED]
    if missing:
        raise Refusal("prerequisites_incomplete", {"steps": missing})


def _date_not_before_prerequisites(action, on, note, context) -> None:
    day = on or context.today
    later = [p for p in context.prerequisites
             if p.state is State.DONE and p.completed_on is not None and p.completed_on > day]
    if later:
        first = max(later, key=lambda p: p.completed_on)
        code = "completed_before_prerequisite" if action is Action.COMPLETE else "dated_before_prerequisite"
        raise Refusal(code, {"on": day, "step": first.key, "prerequisite_on": first.completed_on})


def _done_when_satisfied(action, on, note, context) -> None:
    if context.auto_rule is not None and not context.auto_rule[0]:
        _, done, total = context.auto_rule
        raise Refusal("rule_not_satisfied", {"done": done, "total": total})


def _on_planned_congress_date(action, on, note, context) -> None:
    """The congress is held on its planned day (undated, the planned day is meant); a congress held
    another day is first re-planned, so that every date counted from it follows."""
    planned = context.planned_congress
    if planned is None:
        return
    day = on if on is not None else (planned if planned <= context.today else context.today)
    if day != planned:
        raise Refusal("congress_not_on_planned_date", {"on": day, "planned": planned})


def _congress_gate(action, on, note, context) -> None:
    if context.gate_missing:
        raise Refusal("congress_needs_approval", {"kinds": list(context.gate_missing)})


def _draft_approved(action, on, note, context) -> None:
    if context.draft_approved is False:
        raise Refusal("approval_needs_approved_draft", {})


def _step_may_be_skipped(action, on, note, context) -> None:
    if not context.skippable:
        raise Refusal("step_not_skippable", {})


#: The guards lifecycle.yaml may name, each a function (action, on, note, context) -> None.
GUARDS: dict[str, Callable] = {
    "reason_given": _reason_given,
    "date_not_in_future": _date_not_in_future,
    "date_not_before_campaign": _date_not_before_campaign,
    "date_not_before_earlier_event": _date_not_before_earlier_event,
    "prerequisites_finished": _prerequisites_finished,
    "date_not_before_prerequisites": _date_not_before_prerequisites,
    "done_when_satisfied": _done_when_satisfied,
    "on_planned_congress_date": _on_planned_congress_date,
    "congress_gate": _congress_gate,
    "draft_approved": _draft_approved,
    "step_may_be_skipped": _step_may_be_skipped,
}

LIFECYCLE: Lifecycle = load_lifecycle(guards=frozenset(GUARDS), states=tuple(s.value for s in State),
                                      actions=tuple(a.value for a in Action))

#: States that count as finished for prerequisites, readiness and overdue.
FINISHED = frozenset(State(s) for s in LIFECYCLE.finished)
#: Actions whose note is a mandatory reason.
REASON_REQUIRED = frozenset(Action(k) for k, r in LIFECYCLE.actions.items() if r.reason)
#: Actions that carry a date (the day it happened), which may be back-dated.
DATED = frozenset(Action(k) for k, r in LIFECYCLE.actions.items() if r.dated)
#: Where each action leads.
TARGET: dict[Action, State] = {Action(k): State(r.target) for k, r in LIFECYCLE.actions.items()}


def _rule(action: Action) -> ActionRule:
    return LIFECYCLE.actions[action.value]


def _sources(action: Action, needs_approval: bool) -> frozenset[State]:
    return frozenset(State(s) for s in _rule(action).sources_for(needs_approval))


def allowed_actions(state: State, needs_approval: bool) -> list[Action]:
    """The actions the state machine allows from ``state`` (before role and guard checks)."""
    return [a for a in Action if state in _sources(a, needs_approval)]


def forward_path(current: State, target: State, needs_approval: bool,
                 prefer: Action | None = None) -> list[Action] | None:
    """The shortest run of forward actions (none that undoes a move) taking a step from ``current``
    to ``target`` (an empty run when they are the same), or None when there is none. With
    ``prefer``, a run through that action is taken when one exists (start, then complete)."""
    forward = [a for a in Action if not _rule(a).backward]
    frontier: list[tuple[State, list[Action]]] = [(current, [])]
    seen = {current}
    found = None
    while frontier and found is None:
        following = []
        for state, run in frontier:
            if state is target:
                found = run
                break
            for action in forward:
                if state in _sources(action, needs_approval) and TARGET[action] not in seen:
                    seen.add(TARGET[action])
                    following.append((TARGET[action], run + [action]))
        frontier = following
    if found and prefer is not None and prefer not in found and current in _sources(prefer, needs_approval):
        through = forward_path(TARGET[prefer], target, needs_approval)
        if through is not None:
            return [prefer, *through]
    return found


def roles_for(action: Action, needs_approval: bool) -> frozenset[str]:
    """The roles that may take ``action`` on a step (scope is checked by the application)."""
    return _rule(action).roles_for(needs_approval)


def check_transition(*, state: State, action: Action, needs_approval: bool, on: date | None,
                     note: str | None, context: TransitionContext) -> State:
    """Return the state ``action`` leads to, or raise :class:`Refusal` saying why not.

    The guards run in the order lifecycle.yaml lists them; the first to refuse says why."""
    sources = _sources(action, needs_approval)
    if not sources:
        raise Refusal("approval_not_required", {"action": action.value})
    if state not in sources:
        raise Refusal("invalid_transition", {"action": action.value, "state": state.value})
    for name in _rule(action).guards:
        GUARDS[name](action, on if action in DATED else None, note, context)
    return TARGET[action]


def available_actions(*, state: State, needs_approval: bool, role: str,
                      context: Callable[[Action], TransitionContext]) -> list[Action]:
    """The actions a user of ``role`` (in scope) can take now: those :func:`check_transition` would
    accept dated today, ``context(action)`` giving each action's facts. An action that needs a
    reason is offered as the reason will be given."""
    offered = []
    for action in allowed_actions(state, needs_approval):
        if role not in roles_for(action, needs_approval):
            continue
        try:
            check_transition(state=state, action=action, needs_approval=needs_approval, on=None,
                             note="-" if action in REASON_REQUIRED else None, context=context(action))
        except Refusal:
            continue
        offered.append(action)
    return offered


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


#: The registry of "done when" rules a definition may name. "all_children_held" counts what the
#: definition's "children" section names (its branches, or the lower-level units of a child
#: campaign); "all_branches_held" is its older name, for definitions whose children are branches.
AUTO_RULES: dict[str, Callable[[RuleInput], RuleResult]] = {
    "all_children_held": _all_branches_held,
    "all_branches_held": _all_branches_held,
    "branch_held": _branch_held,
}
#: Which subject each rule applies to.
AUTO_RULE_SUBJECTS = {"all_children_held": "unit", "all_branches_held": "unit", "branch_held": "branch"}
#: The rules that roll a unit's children up: their share held counts toward the step's weight.
ROLLUP_RULES = frozenset({"all_children_held", "all_branches_held"})

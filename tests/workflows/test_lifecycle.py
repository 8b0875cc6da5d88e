"""The lifecycle file and the workflow facts are validated: every problem one line, naming where."""
from __future__ import annotations

import copy
from datetime import date

import pytest
import yaml

from workflows.lifecycle import LIFECYCLE_FILE, LifecycleError, parse_lifecycle
from workflows.loader import DEFINITIONS_DIR, DefinitionError, parse_definition
from workflows.rules import (
    GUARDS,
    LIFECYCLE,
    Action,
    PrerequisiteFact,
    Refusal,
    State,
    TransitionContext,
    available_actions,
    check_transition,
)

RAW = yaml.safe_load(LIFECYCLE_FILE.read_text(encoding="utf-8"))
STATES = tuple(s.value for s in State)
ACTIONS = tuple(a.value for a in Action)


def parse(raw):
    return parse_lifecycle(raw, guards=frozenset(GUARDS), states=STATES, actions=ACTIONS)


def test_the_shipped_lifecycle_loads_with_words_for_every_state_and_action():
    assert parse(RAW) == LIFECYCLE
    for name in STATES + ACTIONS:
        assert LIFECYCLE.label(name, "vi") and LIFECYCLE.label(name, "en")
    assert LIFECYCLE.label("submitted", "vi") == "đã trình Thành ủy"


@pytest.mark.parametrize("change, expected", [
    (lambda r: r["actions"]["start"]["guards"].append("moon_is_full"), "action 'start': 'guards': unknown guard"),
    (lambda r: r["actions"]["start"].update({"to": "finished"}), "action 'start': 'to' must be a state"),
    (lambda r: r["actions"]["approve"]["roles"].append("mayor"), "action 'approve': 'roles': unknown role 'mayor'"),
    (lambda r: r["states"].pop("approved"), "states must be exactly"),
    (lambda r: r["actions"].pop("reopen"), "actions must be exactly"),
    (lambda r: r["actions"]["return"]["guards"].remove("reason_given"), "guard 'reason_given'"),
    (lambda r: r["states"]["done"].pop("label"), "state 'done': 'label' needs both"),
])
def test_a_broken_lifecycle_is_refused_saying_where(change, expected):
    raw = copy.deepcopy(RAW)
    change(raw)
    with pytest.raises(LifecycleError) as refused:
        parse(raw)
    assert any(expected in line and line.startswith("lifecycle.yaml: ") for line in refused.value.problems), \
        refused.value.problems


def _commune():
    return yaml.safe_load((DEFINITIONS_DIR / "commune_congress.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("change, expected", [
    (lambda r: r["drafts"]["political_report"].update({"approved_by": "plan"}),
     "'approved_by' step 'plan' is not a step the city approves"),
    (lambda r: r["drafts"]["political_report"].update({"starts": "nowhere"}), "'starts': unknown step 'nowhere'"),
    (lambda r: r["drafts"].update({"love_letter": {}}), "drafts 'love_letter': unknown document kind"),
    (lambda r: r["congress"].update({"needs_approved": ["self_review_report"]}),
     "'self_review_report' is not a draft kind with an 'approved_by' step"),
    (lambda r: [s.pop("skippable") for s in r["steps"] if s["key"] == "congress"],
     "the congress itself must be 'skippable: false'"),
    (lambda r: r["comment_rounds"].update({"completes": "nothing"}), "unknown step 'nothing'"),
])
def test_the_workflow_facts_are_validated(change, expected):
    raw = _commune()
    change(raw)
    with pytest.raises(DefinitionError) as refused:
        parse_definition(raw, "commune_congress.yaml")
    assert any(expected in line for line in refused.value.problems), refused.value.problems


def context(**facts):
    return TransitionContext(today=date(2025, 8, 5), campaign_start=date(2025, 6, 1), **facts)


def test_start_waits_for_the_prerequisites_and_their_dates():
    unfinished = (PrerequisiteFact("plan", State.IN_PROGRESS, None),)
    with pytest.raises(Refusal) as refused:
        check_transition(state=State.NOT_STARTED, action=Action.START, needs_approval=False, on=None, note=None,
                         context=context(prerequisites=unfinished))
    assert refused.value.code == "prerequisites_incomplete"
    finished = (PrerequisiteFact("plan", State.DONE, date(2025, 7, 10)),)
    with pytest.raises(Refusal) as refused:
        check_transition(state=State.NOT_STARTED, action=Action.START, needs_approval=False,
                         on=date(2025, 7, 9), note=None, context=context(prerequisites=finished))
    assert refused.value.code == "dated_before_prerequisite"
    assert check_transition(state=State.NOT_STARTED, action=Action.START, needs_approval=False,
                            on=date(2025, 7, 10), note=None,
                            context=context(prerequisites=finished)) is State.IN_PROGRESS


def test_the_congress_is_held_on_its_planned_day_and_never_skipped():
    planned = context(planned_congress=date(2025, 8, 3), skippable=False)
    with pytest.raises(Refusal) as refused:
        check_transition(state=State.IN_PROGRESS, action=Action.COMPLETE, needs_approval=False,
                         on=date(2025, 8, 5), note=None, context=planned)
    assert refused.value.code == "congress_not_on_planned_date"
    assert check_transition(state=State.IN_PROGRESS, action=Action.COMPLETE, needs_approval=False,
                            on=date(2025, 8, 3), note=None, context=planned) is State.DONE
    later = context(planned_congress=date(2025, 8, 12), skippable=False)
    offered = available_actions(state=State.IN_PROGRESS, needs_approval=False, role="unit_staff",
                                context=lambda action: later)
    assert offered == []  # neither complete (planned later) nor not applicable (the congress itself)


def test_an_approval_step_waits_for_the_approved_draft_and_only_the_city_waives_it():
    waiting = context(draft_approved=False)
    with pytest.raises(Refusal) as refused:
        check_transition(state=State.SUBMITTED, action=Action.APPROVE, needs_approval=True, on=None, note=None,
                         context=waiting)
    assert refused.value.code == "approval_needs_approved_draft"
    assert available_actions(state=State.SUBMITTED, needs_approval=True, role="city_staff",
                             context=lambda action: waiting) == [Action.RETURN]
    assert available_actions(state=State.SUBMITTED, needs_approval=True, role="city_staff",
                             context=lambda action: context(draft_approved=True)) == [Action.APPROVE, Action.RETURN]
    fresh = context()
    assert Action.MARK_NOT_APPLICABLE not in available_actions(
        state=State.IN_PROGRESS, needs_approval=True, role="unit_leader", context=lambda action: fresh)
    assert Action.MARK_NOT_APPLICABLE in available_actions(
        state=State.IN_PROGRESS, needs_approval=True, role="city_staff", context=lambda action: fresh)


@pytest.mark.parametrize("change, expected", [
    (lambda r: r.pop("approver"), "lifecycle.yaml: 'approver' must give the words of the level that approves"),
    (lambda r: r["states"]["submitted"]["label"].update({"vi": "đã trình %(boss)s"}),
     "state 'submitted': 'label' may name only %(approver)s"),
    (lambda r: r["actions"]["submit"]["label"].update({"en": "submit to %(approver)d"}),
     "action 'submit': 'label' may name only %(approver)s"),
])
def test_the_lifecycles_words_name_only_the_approver(change, expected):
    raw = copy.deepcopy(RAW)
    change(raw)
    with pytest.raises(LifecycleError) as refused:
        parse(raw)
    assert any(expected in line and "\n" not in line for line in refused.value.problems), refused.value.problems


def test_the_words_of_a_step_name_the_approver_given():
    from workflows.lifecycle import Approver

    politburo = Approver("Bộ Chính trị", "the Politburo")
    assert LIFECYCLE.label("submitted", "vi", politburo) == "đã trình Bộ Chính trị"
    assert LIFECYCLE.label("submit", "en", politburo) == "submit to the Politburo"
    assert LIFECYCLE.label("approve", "vi", politburo) == "phê duyệt"  # words without the approver
    assert LIFECYCLE.names_approver("submitted") and not LIFECYCLE.names_approver("done")

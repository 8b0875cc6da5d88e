from datetime import date

import pytest

from workflows.rules import (
    Action,
    PrerequisiteFact,
    Refusal,
    State,
    TransitionContext,
    allowed_actions,
    check_transition,
)

CTX = TransitionContext(today=date(2025, 8, 5), campaign_start=date(2025, 7, 1))


def go(state, action, approval=False, on=None, note=None, context=CTX):
    return check_transition(state=state, action=action, needs_approval=approval, on=on, note=note,
                            context=context)


def refused(**kwargs) -> Refusal:
    with pytest.raises(Refusal) as info:
        go(**kwargs)
    return info.value


def test_approval_cycle():
    assert go(State.NOT_STARTED, Action.START, True) is State.IN_PROGRESS
    assert go(State.IN_PROGRESS, Action.SUBMIT, True) is State.SUBMITTED
    assert go(State.SUBMITTED, Action.RETURN, True, note="Bổ sung số liệu") is State.IN_PROGRESS
    assert go(State.SUBMITTED, Action.APPROVE, True) is State.APPROVED
    assert go(State.APPROVED, Action.COMPLETE, True) is State.DONE


def test_approval_step_cannot_skip_the_city():
    assert refused(state=State.IN_PROGRESS, action=Action.COMPLETE, approval=True).code == "invalid_transition"
    assert refused(state=State.IN_PROGRESS, action=Action.SUBMIT, approval=False).code == "approval_not_required"


def test_reason_is_required_for_return_not_applicable_and_reopen():
    assert refused(state=State.SUBMITTED, action=Action.RETURN, approval=True, note="  ").code == "reason_required"
    assert refused(state=State.NOT_STARTED, action=Action.MARK_NOT_APPLICABLE).code == "reason_required"
    assert refused(state=State.DONE, action=Action.REOPEN).code == "reason_required"
    assert go(State.NOT_STARTED, Action.MARK_NOT_APPLICABLE, note="Không tổ chức") is State.NOT_APPLICABLE


def test_dates_may_be_back_dated_but_not_future_or_before_campaign():
    assert go(State.IN_PROGRESS, Action.COMPLETE, on=date(2025, 7, 1)) is State.DONE
    assert go(State.IN_PROGRESS, Action.COMPLETE, on=date(2025, 8, 5)) is State.DONE
    assert refused(state=State.IN_PROGRESS, action=Action.COMPLETE, on=date(2025, 8, 6)).code == "date_in_future"
    assert refused(state=State.IN_PROGRESS, action=Action.COMPLETE,
                   on=date(2025, 6, 30)).code == "date_before_campaign"


def test_prerequisites_must_be_finished_and_not_later():
    pending = TransitionContext(CTX.today, CTX.campaign_start,
                                (PrerequisiteFact("plan", State.IN_PROGRESS, None),
                                 PrerequisiteFact("pilot", State.NOT_APPLICABLE, None)))
    refusal = refused(state=State.IN_PROGRESS, action=Action.COMPLETE, context=pending)
    assert refusal.code == "prerequisites_incomplete" and refusal.params["steps"] == ["plan"]
    later = TransitionContext(CTX.today, CTX.campaign_start,
                              (PrerequisiteFact("plan", State.DONE, date(2025, 7, 20)),))
    refusal = refused(state=State.IN_PROGRESS, action=Action.COMPLETE, on=date(2025, 7, 10), context=later)
    assert refusal.code == "completed_before_prerequisite"
    assert go(State.IN_PROGRESS, Action.COMPLETE, on=date(2025, 7, 20), context=later) is State.DONE


def test_roll_up_rule_blocks_manual_completion():
    ctx = TransitionContext(CTX.today, CTX.campaign_start, (), auto_rule=(False, 12, 40))
    refusal = refused(state=State.IN_PROGRESS, action=Action.COMPLETE, context=ctx)
    assert refusal.code == "rule_not_satisfied" and refusal.params == {"done": 12, "total": 40}


def test_allowed_actions():
    assert allowed_actions(State.NOT_STARTED, False) == [Action.START, Action.COMPLETE, Action.MARK_NOT_APPLICABLE]
    assert allowed_actions(State.SUBMITTED, True) == [Action.APPROVE, Action.RETURN]
    assert allowed_actions(State.DONE, True) == [Action.REOPEN]

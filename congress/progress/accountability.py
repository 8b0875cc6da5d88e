"""What a write may do to what is already late or already done.

- A congress planned after the unit's own last allowed day: refused for the unit's users; the
  city (staff of its province, an admin) plans one only with an explicit confirmation and its
  reason, which the audit keeps (:func:`check_congress_date`).
- A deadline whose last allowed day has already passed: only with a confirmation and its reason
  (:func:`check_deadline_not_past`).
- A completed step of a unit that the "done when" rules would reopen or re-date because its
  branches changed: only as far as the caller allows (:func:`completed_steps`), and every such
  change is collected, so an import's preview can list it before anything is written. Whatever
  is allowed, a re-completion is never dated after a finished step that depends on it
  (:func:`check_not_after_dependents`).

The rules run deep inside the branch operations; the caller's allowance reaches them through a
context variable set for the duration of one call, instead of a flag threaded through every
function between.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date

from congress.accounts import permissions
from congress.clock import today
from congress.errors import Unprocessable
from congress.extensions import db
from congress.formatting import deadline_phrase
from workflows.deadlines import Deadline
from workflows.rules import State

from .models import Preparation, Step

#: the longest reason a confirmation keeps
REASON_LIMIT = 500


# --- dates planned against the deadline ------------------------------------------------------

def deadline_params(deadline: Deadline) -> dict:
    """A deadline in a refusal's parameters: its words for the message (in the language of the
    request that is refused), its day, wording and last allowed day for the API's details."""
    return {"deadline": deadline_phrase(deadline), "deadline_on": deadline.day, "deadline_kind": deadline.kind.value,
            "last_allowed_day": deadline.last_allowed_day}


def confirmed_reason(confirm: bool, reason: str | None, code: str, params: dict) -> str:
    """The reason of an explicit confirmation; refuses (``code``) without the confirmation, and
    without a reason."""
    if not confirm:
        raise Unprocessable(code, {**params, "field": "confirm"})
    text = (reason or "").strip()
    if not text:
        raise Unprocessable("confirmation_reason_required", {"field": "reason"})
    if len(text) > REASON_LIMIT:
        raise Unprocessable("invalid_field", {"field": "reason", "problem": f"≤ {REASON_LIMIT}"})
    return text


def check_congress_date(prep: Preparation, day: date | None, *, actor, confirm: bool,
                        reason: str | None) -> str | None:
    """A planned congress date after the unit's last allowed day: refused for the unit's own users
    ("trước ngày 20/8/2025" leaves 25/8 out), accepted for the city with a confirmed reason, which is
    returned for the audit. None when the date keeps the deadline."""
    deadline = prep.deadline
    if day is None or day <= deadline.last_allowed_day:
        return None
    params = {"on": day, **deadline_params(deadline)}
    if not permissions.can_set_deadline(actor, prep.unit.province_code):
        raise Unprocessable("congress_after_deadline", {**params, "field": "day"})
    return confirmed_reason(confirm, reason, "congress_after_deadline_unconfirmed", params)


def check_deadline_not_past(deadline: Deadline, *, confirm: bool, reason: str | None) -> str | None:
    """A deadline whose last allowed day is before today needs a confirmed reason (returned for
    the audit); None for a deadline still ahead."""
    now = today()
    if not deadline.is_missed(now):
        return None
    params = {**deadline_params(deadline), "today": now}
    return confirmed_reason(confirm, reason, "deadline_in_past_unconfirmed", params)


# --- completed steps and the "done when" rules ------------------------------------------------

@dataclass
class CompletedStepPolicy:
    """What the rules may do to a unit's completed step while one write runs."""
    #: reopen it (a branch added, or one's congress taken back, while every branch was held)
    reopen: bool = False
    #: move its completion date (a branch's date of congress corrected)
    redate: bool = True
    #: every such change the rules made, or were refused: {"unit", "unit_name", "step", "titles",
    #: "change" ("reopen" or "redate"), "completed_on", "new_on"}
    changes: list[dict] = field(default_factory=list)


#: what the current write allows; outside :func:`completed_steps`, the default (no reopening)
_POLICY: ContextVar[CompletedStepPolicy | None] = ContextVar("completed_step_policy", default=None)


@contextmanager
def completed_steps(policy: CompletedStepPolicy) -> Iterator[CompletedStepPolicy]:
    """Run a write under ``policy``; the policy collects what the rules changed."""
    token = _POLICY.set(policy)
    try:
        yield policy
    finally:
        _POLICY.reset(token)


def _titles(definition, *keys: str) -> dict:
    return {k: {"vi": definition.step(k).title_vi, "en": definition.step(k).title_en} for k in keys}


def _definition(step: Step):
    prep = step.preparation
    return (prep.branch_workflow_version if step.branch_id else prep.workflow_version).definition()


def guard_completed_step(step: Step, change: str, new_on: date | None) -> None:
    """Before the rules reopen (``change`` "reopen") or re-date ("redate") a unit's completed step:
    collect the change, and refuse it unless the current write allows it."""
    if step.branch_id is not None:  # a branch's own step follows its own congress, as asked
        return
    policy = _POLICY.get() or CompletedStepPolicy()
    unit = step.preparation.unit
    entry = {"unit": unit.code, "unit_name": unit.name, "step": step.key,
             "titles": _titles(_definition(step), step.key), "change": change,
             "completed_on": step.completed_on, "new_on": new_on}
    policy.changes.append(entry)
    if not (policy.reopen if change == "reopen" else policy.redate):
        raise Unprocessable(f"completed_step_{change}", entry)


def check_not_after_dependents(step: Step, on: date | None) -> None:
    """A step the rules complete on ``on`` cannot be completed after a finished step that requires
    it: that step would have been done before its prerequisite."""
    if on is None:
        return
    definition = _definition(step)
    dependents = [s.key for s in definition.steps if step.key in s.requires]
    if not dependents:
        return
    query = db.select(Step).where(Step.preparation_id == step.preparation_id, Step.key.in_(dependents),
                                  Step.state == State.DONE.value, Step.completed_on < on)
    query = query.where(Step.branch_id.is_(None) if step.branch_id is None else Step.branch_id == step.branch_id)
    earlier = db.session.execute(query.order_by(Step.completed_on)).scalars().first()
    if earlier is not None:
        raise Unprocessable("completed_after_dependent", {
            "step": step.key, "on": on, "steps": [earlier.key], "dependent_on": earlier.completed_on,
            "titles": _titles(definition, step.key, earlier.key)})

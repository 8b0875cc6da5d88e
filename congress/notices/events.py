"""Notices of the approval loop: a unit's submission tells the city, the city's verdict tells the unit.

- "submitted": the city's leaders and staff of the unit's province hear that the unit submitted a
  draft version or an approval step;
- "verdict": the unit's leader and staff hear that the city approved it, or returned it (with the
  reason).

They are made in the transaction of the operation that recorded the fact (its caller commits),
under each user's choices; an e-mail waits as "pending" and goes out with the next run of a notices
job (mail.deliver_pending), as every other notice does. The drafts' operations call
version_submitted and version_decided; congress.progress.operations.transition calls step_moved for
each step it moves. A step that follows a draft is told of once: the draft's operation marks the
document, and step_moved passes over its approval step until the transaction ends.
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from congress.accounts.models import User
from congress.clock import today, utcnow
from congress.drafts.models import ApprovalException
from congress.extensions import db
from congress.messages import approver_params
from workflows.documents import DOCUMENT_KINDS
from workflows.rules import Action

from .jobs import Audience
from .models import NOTICE_AUDIENCES, Notification

#: session.info keys: (preparation id, document kind) of the drafts moving their approval step in
#: this transaction, and (step id, step version) of the step moves already told
DRAFT_MOVES = "notices.draft_moves"
TOLD = "notices.told_moves"
#: what the city's step actions are called in a notice
STEP_VERDICTS = {Action.APPROVE: "approve", Action.RETURN: "return"}


def version_submitted(version, actor, note: str | None = None) -> None:
    """The unit submitted a draft version: tell the city (its approval step follows, untold)."""
    unit = version.unit
    _mark_draft_moves(version.preparation_id, version.kind)
    _tell(unit, User.province_code == unit.province_code, actor, "submitted",
          {**_draft_params(version), "note": note}, _queue_link(unit, f"approval-draft-{version.id}"))


def version_decided(version, actor) -> None:
    """The city approved or returned a draft version: tell the unit, with the reason or comment."""
    if version.status not in ("approved", "returned"):
        return
    unit = version.unit
    _mark_draft_moves(version.preparation_id, version.kind)
    verdict = "approve" if version.status == "approved" else "return"
    _tell(unit, User.unit_id == unit.id, actor, "verdict",
          {**_draft_params(version), "verdict": verdict, "text": version.verdict_reason},
          f"/units/{unit.code}/drafts/{version.kind}?campaign={version.preparation.campaign_id}"
          f"#version-{version.number}")


def step_moved(step, action, actor) -> None:
    """A step was moved (called by transition once the move is recorded): a unit's submission of an
    approval step tells the city, the city's approval or return tells the unit. Moves that follow a
    draft were told by the draft's operation; a move told already (the same step version) is not
    told again."""
    action = Action(action)
    if step.branch_id is not None or action not in (Action.SUBMIT, Action.APPROVE, Action.RETURN):
        return
    prep = step.preparation
    unit = prep.unit
    definition = prep.definition()
    step_def = definition.step(step.key)
    if not step_def.approval:
        return
    kind = definition.draft_of_approval(step.key)
    if kind is not None and ((prep.id, kind) in db.session.info.get(DRAFT_MOVES, ())
                             or action is Action.RETURN and _waived(prep.id, kind)):
        return
    told = db.session.info.setdefault(TOLD, set())
    if (step.id, step.version) in told:
        return
    told.add((step.id, step.version))
    params = {**_unit_params(unit), "subject": "step", "step": step.key,
              "titles": {"vi": step_def.title_vi, "en": step_def.title_en},
              "approver": approver_params(definition.approver)}
    if action is Action.SUBMIT:
        _tell(unit, User.province_code == unit.province_code, actor, "submitted",
              {**params, "note": step.note}, _queue_link(unit, f"approval-{step.id}"))
    else:
        _tell(unit, User.unit_id == unit.id, actor, "verdict",
              {**params, "verdict": STEP_VERDICTS[action], "text": step.reason if action is Action.RETURN else None},
              f"/units/{unit.code}#step-{step.key}")


def _waived(preparation_id: int, kind: str) -> bool:
    """Whether the city let the preparation's congress go ahead without approving ``kind``: the
    exception returns the approval step on its way to "not applicable", which is no verdict to tell
    of."""
    return db.session.execute(sa.select(ApprovalException.id).where(
        ApprovalException.preparation_id == preparation_id,
        ApprovalException.kind == kind).limit(1)).first() is not None


def _mark_draft_moves(preparation_id: int, kind: str) -> None:
    db.session.info.setdefault(DRAFT_MOVES, set()).add((preparation_id, kind))


@event.listens_for(Session, "after_transaction_end")
def _forget_marks(session: Session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(DRAFT_MOVES, None)
        session.info.pop(TOLD, None)


def _unit_params(unit) -> dict:
    return {"unit_code": unit.code, "unit_name": unit.name}


def _draft_params(version) -> dict:
    info = DOCUMENT_KINDS[version.kind]
    return {**_unit_params(version.unit), "subject": "draft", "kind": version.kind, "number": version.number,
            "titles": {"vi": info.title_vi, "en": info.title_en},
            "approver": approver_params(version.preparation.definition().approver)}


def _queue_link(unit, anchor: str) -> str:
    return f"/dashboard?province={unit.province_code}#{anchor}"


def _tell(unit, where, actor, kind: str, params: dict, link: str) -> list[Notification]:
    """One notification of ``kind`` to each active user of its audience selected by ``where`` but the actor."""
    audience = Audience(NOTICE_AUDIENCES[kind], where)
    made = []
    for user in audience.users:
        if user.id == getattr(actor, "id", None):
            continue
        recipient = audience.recipient(user, kind)
        made.append(Notification(
            user_id=user.id, kind=kind, unit_id=unit.id, day=today(), params=params, link=link,
            created_at=utcnow(), in_app=recipient.in_app, email_state="pending" if recipient.email else None,
            email_to=recipient.email, email_attempts=0))
    db.session.add_all(made)
    return made

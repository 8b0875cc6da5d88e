"""Writes of the notices: reading notifications, choosing channels, the e-mail address."""
from __future__ import annotations

import re

import sqlalchemy as sa

from congress.audit.operations import record
from congress.clock import utcnow
from congress.errors import NotFound, Unprocessable
from congress.extensions import db

from .messages import NOTICE_MESSAGES  # noqa: F401  (registers the messages)
from .models import NOTICE_KINDS, REMINDER_KINDS, NoticeAddress, NoticePreference, Notification

EMAIL_PATTERN = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")
EMAIL_LIMIT = 200


def finished_step_state():
    """The state of the step a reminder is about when that step is finished now (done, not
    applicable), else NULL: a correlated subquery of Notification, the one rule of a settled reminder.

    Its step is ``params.step_id``; a reminder made before step ids were kept names its unit's step
    by key."""
    from congress.progress.models import Preparation, Step
    from workflows.rules import FINISHED

    step_id = Notification.params["step_id"].as_integer()
    return (sa.select(Step.state)
            .join(Preparation, Preparation.id == Step.preparation_id)
            .where(Notification.kind.in_(REMINDER_KINDS), Step.state.in_(tuple(s.value for s in FINISHED)),
                   sa.or_(Step.id == step_id,
                          sa.and_(step_id.is_(None), Step.branch_id.is_(None),
                                  Preparation.unit_id == Notification.unit_id,
                                  Step.key == Notification.params["step"].as_string())))
            .correlate(Notification).limit(1).scalar_subquery())


def settled():
    """A reminder whose step is finished now: nothing is left to do, so it is not counted unread."""
    return finished_step_state().is_not(None)


def own_notification(user, notification_id: int) -> Notification:
    notification = db.session.get(Notification, notification_id) if 0 < notification_id < 2**31 else None
    if notification is None or notification.user_id != user.id or not notification.in_app:
        raise NotFound("notification_not_found", {"id": notification_id})
    return notification


def mark_read(user, notification_id: int) -> Notification:
    notification = own_notification(user, notification_id)
    if notification.read_at is None:
        notification.read_at = utcnow()
    return notification


def mark_all_read(user) -> int:
    outcome = db.session.execute(
        sa.update(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow()))
    return outcome.rowcount or 0


def unread_count(user) -> int:
    return db.session.execute(
        sa.select(sa.func.count(Notification.id))
        .where(Notification.user_id == user.id, Notification.in_app.is_(True), Notification.read_at.is_(None),
               sa.not_(settled()))
    ).scalar_one()


def preferences(user) -> dict[str, dict[str, bool]]:
    """Each kind with its two channels; without a stored choice both are on."""
    stored = {p.kind: p for p in db.session.execute(db.select(NoticePreference).filter_by(user_id=user.id)).scalars()}
    return {kind: {"in_app": stored[kind].in_app if kind in stored else True,
                   "email": stored[kind].email if kind in stored else True} for kind in NOTICE_KINDS}


def address(user) -> str | None:
    found = db.session.get(NoticeAddress, user.id)
    return found.email if found else None


def clean_email(value: str | None) -> str | None:
    value = (value or "").strip()
    if not value:
        return None
    if len(value) > EMAIL_LIMIT or not EMAIL_PATTERN.match(value):
        raise Unprocessable("invalid_email", {"value": value[:EMAIL_LIMIT]})
    return value


def save_settings(user, choices: dict[str, dict[str, bool]], email: str | None) -> bool:
    """Store the user's channels per kind and their address, all or nothing. Audited; True if changed."""
    unknown = set(choices) - set(NOTICE_KINDS)
    if unknown:
        raise Unprocessable("unknown_fields", {"fields": ", ".join(sorted(unknown))})
    email = clean_email(email)
    before = {"preferences": preferences(user), "email": address(user)}
    stored = {p.kind: p for p in db.session.execute(db.select(NoticePreference).filter_by(user_id=user.id)).scalars()}
    for kind in NOTICE_KINDS:
        wanted = {"in_app": True, "email": True, **choices.get(kind, {})}
        pref = stored.get(kind)
        if pref is None:
            pref = NoticePreference(user_id=user.id, kind=kind)
            db.session.add(pref)
        pref.in_app, pref.email = bool(wanted["in_app"]), bool(wanted["email"])
    current = db.session.get(NoticeAddress, user.id)
    if email is None and current is not None:
        db.session.delete(current)
    elif email is not None:
        if current is None:
            db.session.add(NoticeAddress(user_id=user.id, email=email))
        else:
            current.email = email
    db.session.flush()
    after = {"preferences": preferences(user), "email": address(user)}
    if after == before:
        return False
    record(action="notices.settings", entity="user", actor=user, entity_key=user.username,
           old=before, new=after)
    return True

"""Notifications in the API (the same as the bell: list, unread count, mark read) and a unit's
recorded readiness history with its projected finish at the recorded pace."""
from __future__ import annotations

from datetime import UTC, datetime

from flask import jsonify
from flask_login import current_user

from congress.extensions import db
from congress.idempotency import idempotent
from congress.notices import operations, texts
from congress.notices.models import Notification, ReadinessSnapshot
from congress.progress import queries

from .views import api, check_fields, json_body, login_required, query_int, readable_unit

#: notifications per page at most
LIST_LIMIT = 200


def _iso(moment: datetime | None) -> str | None:
    """With its zone: SQLite gives the stored UTC time back without it."""
    if moment is None:
        return None
    return (moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)).isoformat()


def notification_json(n: Notification, settled: bool) -> dict:
    return {"id": n.id, "kind": n.kind, "title": texts.title(n), "summary": texts.summary(n),
            "day": n.day.isoformat(), "unit_code": n.params.get("unit_code"), "link": n.link,
            "created_at": _iso(n.created_at), "read": n.read_at is not None,
            "read_at": _iso(n.read_at), "settled": settled, "email": n.email_state, "params": n.params}


@api.get("/notifications")
@login_required
def list_notifications():
    limit = query_int("limit", 50)
    before = query_int("before")
    query = (db.select(Notification, operations.settled())
             .where(Notification.user_id == current_user.id, Notification.in_app.is_(True))
             .order_by(Notification.id.desc()).limit(max(1, min(limit, LIST_LIMIT))))
    if before is not None:
        query = query.where(Notification.id < before)
    found = db.session.execute(query).all()
    return jsonify({"unread": operations.unread_count(current_user),
                    "notifications": [notification_json(n, bool(settled)) for n, settled in found]})


@api.post("/notifications/<int:notification_id>/read")
@login_required
@idempotent
def read_notification(notification_id: int):
    check_fields(json_body(), set())
    notification = operations.mark_read(current_user, notification_id)
    db.session.commit()
    settled = db.session.execute(db.select(operations.settled()).select_from(Notification)
                                 .where(Notification.id == notification.id)).scalar_one()
    return jsonify(notification_json(notification, bool(settled)))


@api.post("/notifications/read-all")
@login_required
@idempotent
def read_all_notifications():
    check_fields(json_body(), set())
    marked = operations.mark_all_read(current_user)
    db.session.commit()
    return jsonify({"marked": marked, "unread": operations.unread_count(current_user)})


@api.get("/units/<code>/readiness-history")
@login_required
def unit_readiness_history(code: str):
    unit = readable_unit(code)
    prep = queries.unit_preparation(unit)
    snapshots = list(db.session.execute(db.select(ReadinessSnapshot).filter_by(
        unit_id=unit.id, campaign_id=prep.campaign_id if prep else None).order_by(ReadinessSnapshot.day)).scalars())
    projected = queries.recorded_pace_projections([unit.id]).get(unit.id)
    return jsonify({
        "unit_code": unit.code,
        "projected_finish": projected.isoformat() if projected else None,
        "snapshots": [{"day": s.day.isoformat(), "percent": s.percent, "steps_done": s.steps_done,
                       "steps_total": s.steps_total, "overdue": s.overdue, "branches_held": s.branches_held,
                       "branches_total": s.branches_total, "risk": s.risk,
                       "projected_finish": s.projected_finish.isoformat() if s.projected_finish else None}
                      for s in snapshots]})


# --- the OpenAPI description of these routes (merged into congress/api/openapi.py) -------------

def openapi_paths() -> dict:
    from .openapi import READ_ERRORS, WRITE_ERRORS, _operation

    return {
        "/notifications": {"get": _operation(
            "listNotifications", "Your notifications, newest first",
            "The notifications shown in the app (the bell): reminders before a step falls due, overdue "
            "steps, the city's alerts of late units, the end-of-day digests; with the unread count. Titles "
            "and summaries are in the request's language; `params` holds the facts.", "NotificationList",
            "The notifications.", ("401", "422"), tags=["notifications"],
            params=("NotificationLimit", "NotificationBefore"))},
        "/notifications/{notification_id}/read": {"post": _operation(
            "readNotification", "Mark one notification as read", "Only your own; another's is not found. "
            "Marking again changes nothing.", "Notification", "The notification.", WRITE_ERRORS,
            tags=["notifications"], params=("NotificationId",), body="EmptyRequest", write=True)},
        "/notifications/read-all": {"post": _operation(
            "readAllNotifications", "Mark all your notifications as read", "Every unread one, at once.",
            "ReadAll", "How many were marked.", WRITE_ERRORS, tags=["notifications"], body="EmptyRequest",
            write=True)},
        "/units/{code}/readiness-history": {"get": _operation(
            "getReadinessHistory", "A unit's readiness as recorded every night",
            "The nightly snapshots, oldest first, and the finish projected at the pace they show (the gain "
            "per day over the last 14 days; null without two snapshots or without progress).",
            "ReadinessHistory", "The snapshots.", READ_ERRORS, tags=["readiness"], params=("UnitCode",))},
    }


def openapi_schemas() -> dict:
    from congress.notices.models import EMAIL_STATES, NOTICE_KINDS

    from .openapi import BOOLEAN, COUNT, DATE, DATETIME, INTEGER, PERCENT, STRING, UNIT_CODE, enum_of, nullable, obj
    from .openapi import ref as ref_

    return {
        "Notification": obj({
            "id": INTEGER, "kind": enum_of(NOTICE_KINDS), "title": STRING, "summary": STRING,
            "day": {**DATE, "description": "The day it speaks of: a step's last allowed day, the digest's day."},
            "unit_code": nullable(UNIT_CODE), "link": nullable(STRING), "created_at": DATETIME, "read": BOOLEAN,
            "read_at": nullable(DATETIME),
            "settled": {**BOOLEAN, "description": "A reminder whose step is finished now: nothing is left to do, "
                        "and it is not counted unread."},
            "email": nullable(enum_of(EMAIL_STATES)),
            "params": {"type": "object", "description": "The facts the words are made from."},
        }),
        "NotificationList": obj({"unread": COUNT,
                                 "notifications": {"type": "array", "items": ref_("Notification")}}),
        "ReadAll": obj({"marked": COUNT, "unread": COUNT}),
        "EmptyRequest": {"type": "object", "properties": {}, "additionalProperties": False},
        "ReadinessSnapshot": obj({
            "day": DATE, "percent": PERCENT, "steps_done": COUNT, "steps_total": COUNT, "overdue": COUNT,
            "branches_held": COUNT, "branches_total": COUNT, "risk": ref_("Risk"),
            "projected_finish": nullable(DATE),
        }),
        "ReadinessHistory": obj({"unit_code": UNIT_CODE, "projected_finish": nullable(DATE),
                                 "snapshots": {"type": "array", "items": ref_("ReadinessSnapshot")}}),
    }


def openapi_parameters() -> dict:
    from .openapi import INTEGER

    return {
        "NotificationId": {"name": "notification_id", "in": "path", "required": True, "schema": INTEGER},
        "NotificationLimit": {"name": "limit", "in": "query", "required": False,
                              "schema": {"type": "integer", "default": 50, "minimum": 1, "maximum": LIST_LIMIT},
                              "description": "Notifications per page, clamped to 1–200 (not an integer: 422)."},
        "NotificationBefore": {"name": "before", "in": "query", "required": False, "schema": INTEGER,
                               "description": "Only notifications with a smaller id (the next page)."},
    }

"""Notifications in the browser: the bell's count, the list, one notice (a digest in full), marking
read, the user's channels and e-mail address, and the calendar feed addresses."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Response, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext, ngettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from congress.errors import OperationError
from congress.extensions import db
from congress.idempotency import idempotent
from congress.notices import calendar, operations, texts
from congress.notices.models import CalendarFeed, Notification, kinds_for
from congress.units.models import Unit

from . import web

PAGE_SIZE = 50
#: a second click on "make an address" (the address is shown once, and only to the first click)
CALENDAR_SHOWN_ONCE = _l("Your first click made this calendar address, and an address is shown only once. If "
                         "you did not copy it, revoke it below and make a new one.")


@web.app_context_processor
def _notice_helpers() -> dict:
    def unread_notice_count() -> int:
        """Counted once per request, however many places on the page show it."""
        if not current_user.is_authenticated:
            return 0
        if "unread_notice_count" not in g:
            g.unread_notice_count = operations.unread_count(current_user)
        return g.unread_notice_count
    return {"unread_notice_count": unread_notice_count}


def _page_number() -> int:
    try:
        return max(1, int(request.args.get("page", "1")))
    except ValueError:
        return 1


@web.get("/notifications")
@login_required
def notifications():
    page = _page_number()
    found = list(db.session.execute(
        db.select(Notification, operations.finished_step_state())
        .where(Notification.user_id == current_user.id, Notification.in_app.is_(True))
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)).all())
    shown = found[:PAGE_SIZE]
    return render_template("notices/index.html", notifications=[n for n, _ in shown],
                           settled={n.id: state for n, state in shown if state}, page=page,
                           more=len(found) > PAGE_SIZE, **texts.helpers(n for n, _ in shown))


@web.get("/notifications/<int:notification_id>")
@login_required
def notification(notification_id: int):
    """One notice. Opening it is reading it: it is marked read here (once; the reader's own state, as
    a mail reader does), so the bell counts it no more however it was opened."""
    try:
        found = operations.mark_read(current_user, notification_id)
    except OperationError:
        abort(404)
    db.session.commit()
    state = db.session.execute(
        sa.select(operations.finished_step_state()).select_from(Notification)
        .where(Notification.id == found.id)).scalar_one_or_none()
    return render_template("notices/detail.html", n=found, settled={found.id: state} if state else {},
                           **texts.helpers([found]))


@web.post("/notifications/<int:notification_id>/read")
@login_required
@idempotent
def notification_read(notification_id: int):
    try:
        operations.mark_read(current_user, notification_id)
    except OperationError:
        abort(404)
    db.session.commit()
    return redirect(_back(url_for("web.notifications")))


@web.post("/notifications/read-all")
@login_required
@idempotent
def notifications_read_all():
    count = operations.mark_all_read(current_user)
    db.session.commit()
    flash(ngettext("%(num)s notification marked as read.", "%(num)s notifications marked as read.", count), "success")
    return redirect(url_for("web.notifications"))


def _back(default: str) -> str:
    from .auth import safe_next

    return safe_next(request.form.get("next")) or default


# --- settings: channels, address, calendars -------------------------------------------------

def _feeds() -> list[CalendarFeed]:
    return list(db.session.execute(
        db.select(CalendarFeed).where(CalendarFeed.user_id == current_user.id, CalendarFeed.revoked_at.is_(None))
        .order_by(CalendarFeed.id)).scalars())


def settings_page(*, status: int = 200, problem: str | None = None, new_url: str | None = None,
                  choices: dict | None = None, email: str | None = None):
    return render_template(
        "notices/settings.html", kinds=kinds_for(current_user.role), kind_labels=texts.KIND_LABELS,
        choices=choices or operations.preferences(current_user),
        email=operations.address(current_user) if email is None else email, problem=problem,
        feeds=_feeds(), new_url=new_url, unit=current_user.unit if current_user.unit_id else None), status


@web.get("/notifications/settings")
@login_required
def notification_settings():
    return settings_page()


@web.post("/notifications/settings")
@login_required
@idempotent
def save_notification_settings():
    choices = {kind: {"in_app": request.form.get(f"{kind}-in_app") == "on",
                      "email": request.form.get(f"{kind}-email") == "on"} for kind in kinds_for(current_user.role)}
    email = request.form.get("email", "")
    try:
        changed = operations.save_settings(current_user, choices, email)
    except OperationError as exc:
        db.session.rollback()
        from congress.messages import describe

        return settings_page(status=exc.status, problem=describe(exc.code, exc.params), choices=choices,
                             email=email)
    db.session.commit()
    flash(gettext("Your choices are saved.") if changed else gettext("Nothing changed."), "success")
    return redirect(url_for("web.notification_settings"))


def feed_url(token: str) -> str:
    return url_for("web.calendar_feed", token=token, _external=True)


@web.post("/notifications/calendars")
@login_required
@idempotent(replay_message=CALENDAR_SHOWN_ONCE)
def create_calendar():
    scope = request.form.get("scope", "user")
    if scope not in ("user", "unit"):
        abort(422)
    unit = None
    if scope == "unit":
        code = (request.form.get("unit") or "").strip()
        unit = db.session.execute(db.select(Unit).filter_by(code=code[:5])).scalar_one_or_none() if code else None
        if unit is None:
            abort(404)
    try:
        _, token = calendar.create_feed(current_user, unit)
    except OperationError:
        db.session.rollback()
        abort(403)
    db.session.commit()
    return settings_page(new_url=feed_url(token))


@web.post("/notifications/calendars/<int:feed_id>/revoke")
@login_required
@idempotent
def revoke_calendar(feed_id: int):
    feed = db.session.get(CalendarFeed, feed_id)
    if feed is None or (feed.user_id != current_user.id and current_user.role != "admin"):
        abort(404)
    calendar.revoke_feed(feed, current_user)
    db.session.commit()
    flash(gettext("The calendar address no longer works."), "success")
    return redirect(url_for("web.notification_settings"))


@web.get("/calendar/<token>.ics")
def calendar_feed(token: str):
    """The feed itself: no login, the secret address is the key."""
    feed = calendar.feed_for_token(token)
    if feed is None:
        abort(404)
    response = Response(calendar.build(feed), mimetype="text/calendar")
    response.headers["Content-Disposition"] = 'inline; filename="congress.ics"'
    response.headers["Cache-Control"] = "private, max-age=900"
    return response

"""Who is asking: a browser session (Flask-Login) or an API bearer token."""
from __future__ import annotations

from datetime import timedelta

from flask import Flask, g, request
from flask.sessions import SecureCookieSessionInterface

from congress.clock import utcnow
from congress.extensions import db, login_manager

from .models import ApiToken, User

TOKEN_PREFIX = "cgt_"


def load_user(session_id: str) -> User | None:
    """The user of a session ("<id>.<epoch>"); a deactivated account's open sessions end with it,
    and so do the sessions opened before a log-out or a password change (the epoch moved on)."""
    user_id, _, epoch = str(session_id).partition(".")
    try:
        user = db.session.get(User, int(user_id))
        epoch_number = int(epoch)
    except (TypeError, ValueError):
        return None
    if user is None or not user.active or (user.session_epoch or 0) != epoch_number:
        return None
    return user


def load_from_bearer(req) -> User | None:
    header = req.headers.get("Authorization", "")
    if not header.lower().startswith("bearer "):
        return None
    token = header[7:].strip()
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    found = db.session.execute(db.select(ApiToken).filter_by(token_hash=ApiToken.digest(token))).scalar_one_or_none()
    if found is None or found.revoked_at is not None or not found.user.active:
        return None
    now = utcnow()
    last = found.last_used_at
    if last is not None and last.tzinfo is None:
        last = last.replace(tzinfo=now.tzinfo)
    if last is None or now - last > timedelta(hours=1):
        found.last_used_at = now
        db.session.commit()
    g.token_auth = True
    return found.user


def _is_bearer(req) -> bool:
    return req.headers.get("Authorization", "").lower().startswith("bearer ")


class BearerStatelessSessions(SecureCookieSessionInterface):
    """A request carrying a bearer token is stateless: its session starts empty and is never
    sent back as a cookie, so a script that fetches a page (whose forms put a CSRF token in
    the session) is not taken for a stolen browser session on its next call."""

    def open_session(self, app, req):
        if _is_bearer(req):
            return self.session_class()
        return super().open_session(app, req)

    def save_session(self, app, session, response) -> None:
        if _is_bearer(request):
            return
        super().save_session(app, session, response)


def init_app(app: Flask) -> None:
    app.session_interface = BearerStatelessSessions()
    login_manager.user_loader(load_user)
    login_manager.request_loader(load_from_bearer)
    login_manager.login_view = "web.login"
    login_manager.session_protection = "strong"

    @login_manager.unauthorized_handler
    def _unauthorized():
        from flask import redirect, url_for

        from congress.errors import error_response, wants_json
        from congress.messages import describe

        if wants_json():
            return error_response(401, "unauthorized", describe("unauthorized"))
        return redirect(url_for("web.login", next=request.full_path))

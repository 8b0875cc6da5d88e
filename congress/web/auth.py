"""Signing in and out, the language switch, the start page and the health check."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from werkzeug.exceptions import HTTPException
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from congress.accounts import operations as account_ops
from congress.accounts import permissions
from congress.accounts.models import User, find_by_username
from congress.audit.operations import record
from congress.errors import OperationError
from congress.extensions import db, limiter
from congress.idempotency import idempotent
from congress.messages import describe

from . import web
from .common import is_city_user
from .forms import KeyedForm


class LoginForm(FlaskForm):
    username = StringField("username", validators=[DataRequired(), Length(max=80)])
    password = PasswordField("password", validators=[DataRequired(), Length(max=200)])


def safe_next(target: str | None) -> str | None:
    """Only a path on this site: never an absolute URL or a scheme-relative one, never a control
    character (CR/LF would split the Location header) nor a backslash (browsers read ``/\\host``
    as ``//host``). Anything else gives None: the caller goes to its default page."""
    if not target or len(target) > 2000:
        return None
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in target) or "\\" in target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@web.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def login():
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        user = find_by_username(form.username.data)
        try:
            account_ops.login_attempt(user, form.password.data,
                                      attempts=current_app.config["LOGIN_LOCKOUT_ATTEMPTS"],
                                      lock_minutes=current_app.config["LOGIN_LOCKOUT_MINUTES"])
        except OperationError as exc:
            db.session.commit()  # the count of wrong passwords, and a lockout, are kept
            error = describe(exc.code, exc.params)
        else:
            session.clear()  # a fresh session for the signed-in user (no fixation)
            login_user(user)
            record(action="user.login", entity="user", actor=user, entity_key=user.username)
            db.session.commit()
            return redirect(safe_next(request.args.get("next")) or url_for("web.home"))
    status = 401 if error else 200
    return render_template("auth/login.html", form=form, error=error), status


@web.post("/logout")
@login_required
def logout():
    """Logging out ends every session of the account, on every device."""
    account_ops.end_sessions(current_user._get_current_object())
    db.session.commit()
    logout_user()
    session.clear()
    return redirect(url_for("web.login"))


class PasswordForm(FlaskForm):
    current = PasswordField("current", validators=[DataRequired(), Length(max=200)])
    new = PasswordField("new", validators=[DataRequired(), Length(max=400)])
    repeated = PasswordField("repeated", validators=[DataRequired(), Length(max=400)])


@web.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = PasswordForm()
    error = None
    if form.validate_on_submit():
        user = current_user._get_current_object()
        try:
            account_ops.change_password(user, current=form.current.data, new=form.new.data,
                                        repeated=form.repeated.data)
        except OperationError as exc:
            db.session.rollback()
            error = describe(exc.code, exc.params)
        else:
            db.session.commit()
            login_user(user)  # this session goes on under the new epoch; every other one has ended
            flash(gettext("Your password is changed. Every other session of your account has been logged out."),
                  "success")
            return redirect(url_for("web.home"))
    elif form.is_submitted():
        error = gettext("Fill in all three fields.")
    status = 422 if error else 200
    return render_template("auth/password.html", form=form, error=error,
                           min_length=account_ops.MIN_PASSWORD_LENGTH), status


class TokenForm(KeyedForm):
    name = StringField("name", validators=[DataRequired(), Length(max=80)])


@web.route("/account/tokens", methods=["GET", "POST"])
@login_required
@idempotent(replay_message=_l("This token was already made by your first click: it is in the list below (the "
                              "token itself was shown only once)."))
def account_tokens():
    """One's own API tokens: listed (name, first characters, when made and last used), made
    (the token is shown once) and revoked."""
    form = TokenForm()
    new_token = None
    if form.validate_on_submit():
        _, new_token = account_ops.create_token(current_user._get_current_object(), form.name.data.strip())
        db.session.commit()
        form = TokenForm(formdata=None)
    return render_template("auth/tokens.html", form=form, new_token=new_token,
                           tokens=account_ops.tokens_of(current_user)), 200


@web.post("/account/tokens/<int:token_id>/revoke")
@login_required
@idempotent
def revoke_account_token(token_id: int):
    try:
        token = account_ops.own_token(current_user, token_id)
    except OperationError:
        abort(404)
    account_ops.revoke_token(token, actor=current_user._get_current_object())
    db.session.commit()
    flash(gettext("The token %(prefix)s… is revoked: it no longer opens the API.", prefix=token.prefix), "success")
    return redirect(url_for("web.account_tokens"))


def _admin_only() -> None:
    if not permissions.can_manage_accounts(current_user):
        abort(403)


@web.get("/admin/users")
@login_required
def admin_users():
    """The accounts, for an administrator to deactivate or reactivate."""
    _admin_only()
    from .units import ROLE_LABELS

    users = db.session.execute(db.select(User).order_by(User.username)).scalars().all()
    return render_template("auth/users.html", users=users, role_labels=ROLE_LABELS)


@web.post("/admin/users/<username>/<any(deactivate, reactivate):change>")
@login_required
@idempotent
def admin_user_active(username: str, change: str):
    _admin_only()
    user = db.session.execute(db.select(User).filter_by(username=username)).scalar_one_or_none()
    if user is None:
        abort(404)
    actor = current_user._get_current_object()
    try:
        if change == "deactivate":
            account_ops.deactivate(user, actor=actor)
        else:
            account_ops.reactivate(user, actor=actor)
    except OperationError:
        db.session.rollback()
        flash(gettext("You cannot deactivate your own account."), "error")
        return redirect(url_for("web.admin_users"))
    db.session.commit()
    flash(gettext("%(name)s is deactivated: their sessions have ended and their API tokens are revoked.",
                  name=user.username) if change == "deactivate"
          else gettext("%(name)s may sign in again (their old sessions and tokens stay ended).",
                       name=user.username), "success")
    return redirect(url_for("web.admin_users"))


@web.get("/lang/<code>")
def set_language(code: str):
    if code in ("vi", "en"):
        session["lang"] = code
    return redirect(safe_next(request.args.get("next")) or url_for("web.home"))


def language_return() -> str:
    """Where the language switch brings the reader back: this page; for a page answered to a form
    (a POST address, which a GET answers 405 and a reload posts again), the page the form was on."""
    if request.method in ("GET", "HEAD"):
        return request.full_path
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc == request.host and _answers_get(referrer.path):
        return referrer.path + (f"?{referrer.query}" if referrer.query else "")
    return request.path if _answers_get(request.path) else url_for("web.home")


def _answers_get(path: str) -> bool:
    try:
        current_app.url_map.bind(request.host).match(path, method="GET")
    except HTTPException:
        return False
    return True


web.add_app_template_global(language_return, "language_return")


@web.get("/")
@login_required
def home():
    """City users land on the dashboard, everyone else on their unit."""
    if is_city_user(current_user):
        return redirect(url_for("web.dashboard"))
    return redirect(url_for("web.unit", code=current_user.unit.code))


@web.get("/healthz")
def health():
    return {"status": "ok"}


@web.get("/favicon.ico")
def favicon():
    """Browsers ask for /favicon.ico whatever the page links: send them to the SVG icon."""
    return redirect(url_for("static", filename="favicon.svg"), 301)

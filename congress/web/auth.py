"""Signing in and out, the language switch, the start page and the health check."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from congress.accounts.models import User
from congress.audit.operations import record
from congress.extensions import db
from congress.messages import describe

from . import web
from .common import is_city_user


class LoginForm(FlaskForm):
    username = StringField("username", validators=[DataRequired(), Length(max=80)])
    password = PasswordField("password", validators=[DataRequired(), Length(max=200)])


def safe_next(target: str | None) -> str | None:
    """Only a path on this site: never an absolute URL or a scheme-relative one."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@web.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        user = db.session.execute(
            db.select(User).filter_by(username=form.username.data.strip())).scalar_one_or_none()
        if user is not None and user.active and user.check_password(form.password.data):
            login_user(user)
            record(action="user.login", entity="user", actor=user, entity_key=user.username)
            db.session.commit()
            return redirect(safe_next(request.args.get("next")) or url_for("web.home"))
        error = describe("login_failed")
    status = 401 if error else 200
    return render_template("auth/login.html", form=form, error=error), status


@web.post("/logout")
@login_required
def logout():
    logout_user()
    session.clear()
    return redirect(url_for("web.login"))


@web.get("/lang/<code>")
def set_language(code: str):
    if code in ("vi", "en"):
        session["lang"] = code
    return redirect(safe_next(request.args.get("next")) or url_for("web.home"))


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

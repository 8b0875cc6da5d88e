"""Server-rendered pages: sign-in, the readiness overview, a unit's steps."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from congress.accounts import permissions
from congress.accounts.models import User
from congress.audit.operations import record
from congress.extensions import db
from congress.messages import describe
from congress.progress import queries
from congress.units.models import Unit

web = Blueprint("web", __name__)


class LoginForm(FlaskForm):
    username = StringField("username", validators=[DataRequired(), Length(max=80)])
    password = PasswordField("password", validators=[DataRequired(), Length(max=200)])


def _safe_next(target: str | None) -> str | None:
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
            return redirect(_safe_next(request.args.get("next")) or url_for("web.home"))
        error = describe("login_failed")
    status = 401 if error else 200
    return render_template("login.html", form=form, error=error), status


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
    return redirect(_safe_next(request.args.get("next")) or url_for("web.home"))


@web.get("/")
@login_required
def home():
    if current_user.unit_id and current_user.role != "viewer" or (
            current_user.role == "viewer" and current_user.unit_id):
        return redirect(url_for("web.unit", code=current_user.unit.code))
    provinces = permissions.readable_province_codes(current_user)
    if provinces is None:
        from flask import current_app
        provinces = {current_app.config["CONGRESS_PROVINCE"]}
    overview = queries.province_overview(provinces)
    return render_template("home.html", overview=overview)


@web.get("/units/<code>")
@login_required
def unit(code: str):
    found = db.session.execute(db.select(Unit).filter_by(code=code)).scalar_one_or_none()
    if found is None:
        abort(404)
    if not permissions.can_read_unit(current_user, found):
        abort(403)
    prep = queries.unit_preparation(found)
    if prep is None:
        abort(404)
    row = queries.readiness_rows(unit_ids=[found.id])[0]
    return render_template("unit.html", unit=found, prep=prep, row=row,
                           definition=prep.workflow_version.definition(),
                           steps=queries.unit_steps(prep), branches=queries.unit_branches(found))


@web.get("/healthz")
def health():
    return {"status": "ok"}

"""The city's dashboard: headline figures, risks, the units × steps matrix, queues and charts."""
from __future__ import annotations

from flask import abort, current_app, render_template
from flask_login import current_user, login_required

from congress.accounts import permissions
from congress.progress import queries

from . import web
from .common import is_city_user


@web.get("/dashboard")
@login_required
def dashboard():
    if not is_city_user(current_user):
        abort(403)
    provinces = permissions.readable_province_codes(current_user)
    if provinces is None:
        provinces = {current_app.config["CONGRESS_PROVINCE"]}
    overview = queries.province_overview(provinces)
    return render_template("dashboard/index.html", overview=overview)

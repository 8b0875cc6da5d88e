"""A unit's pages: its steps and what to do next, its branches, its history, its downloads."""
from __future__ import annotations

from flask import render_template
from flask_login import login_required

from congress.progress import queries

from . import web
from .common import preparation_or_404, readable_unit


@web.get("/units/<code>")
@login_required
def unit(code: str):
    found = readable_unit(code)
    prep = preparation_or_404(found)
    row = queries.readiness_rows(unit_ids=[found.id])[0]
    return render_template("units/unit.html", unit=found, prep=prep, row=row,
                           definition=prep.workflow_version.definition(),
                           steps=queries.unit_steps(prep), branches=queries.unit_branches(found))

"""What every page module shares: finding what a user may see, and saying no clearly."""
from __future__ import annotations

from flask import abort
from flask_login import current_user

from congress.messages import shows_workflow
from congress.progress import queries
from congress.units import queries as unit_queries
from congress.units.models import Branch, Unit


def readable_unit(code: str) -> Unit:
    """The unit with ``code`` if the current user may read it; the 404 or 403 page otherwise."""
    return unit_queries.readable_unit(code, current_user)


def readable_branch(code: str) -> Branch:
    return unit_queries.readable_branch(code, current_user)


def preparation_or_404(unit: Unit):
    """The unit's preparation the page shows: its steps' words name its workflow's approver."""
    prep = queries.unit_preparation(unit)
    if prep is None:
        abort(404)
    shows_workflow(prep)
    return prep


def is_city_user(user) -> bool:
    return user.role == "admin" or user.role in ("city_leader", "city_staff") or (
        user.role == "viewer" and user.unit_id is None)

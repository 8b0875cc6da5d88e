"""What every page module shares: finding what a user may see, and saying no clearly."""
from __future__ import annotations

from flask import abort
from flask_login import current_user

from congress.accounts import permissions
from congress.extensions import db
from congress.progress import queries
from congress.units.models import Branch, Unit


def readable_unit(code: str) -> Unit:
    """The unit with ``code`` if the current user may read it; 404 or 403 otherwise."""
    unit = db.session.execute(db.select(Unit).filter_by(code=code)).scalar_one_or_none()
    if unit is None:
        abort(404)
    if not permissions.can_read_unit(current_user, unit):
        abort(403)
    return unit


def readable_branch(code: str) -> Branch:
    branch = db.session.execute(db.select(Branch).filter_by(code=code)).scalar_one_or_none()
    if branch is None:
        abort(404)
    if not permissions.can_read_unit(current_user, branch.unit):
        abort(403)
    return branch


def preparation_or_404(unit: Unit):
    prep = queries.unit_preparation(unit)
    if prep is None:
        abort(404)
    return prep


def is_city_user(user) -> bool:
    return user.role == "admin" or user.role in ("city_leader", "city_staff") or (
        user.role == "viewer" and user.unit_id is None)

"""Finding a unit or branch the way every route must: unknown is 404, out of scope is 403."""
from __future__ import annotations

from congress.accounts import permissions
from congress.errors import Forbidden, NotFound
from congress.extensions import db

from .models import Branch, Unit


def plausible(value: str, max_length: int) -> bool:
    """Could this be a code or key at all? Spares the database a NUL byte (PostgreSQL refuses
    it with an error) or a kilobyte of garbage; the caller answers 404 as for any unknown code."""
    return 0 < len(value) <= max_length and value.isprintable()


def readable_unit(code: str, user) -> Unit:
    if not plausible(code, 5):
        raise NotFound("unit_not_found", {"code": code[:20]})
    unit = db.session.execute(db.select(Unit).filter_by(code=code)).scalar_one_or_none()
    if unit is None:
        raise NotFound("unit_not_found", {"code": code})
    if not permissions.can_read_unit(user, unit):
        raise Forbidden()
    return unit


def readable_branch(code: str, user) -> Branch:
    if not plausible(code, 16):
        raise NotFound("branch_not_found", {"code": code[:20]})
    branch = db.session.execute(db.select(Branch).filter_by(code=code)).scalar_one_or_none()
    if branch is None:
        raise NotFound("branch_not_found", {"code": code})
    if not permissions.can_read_unit(user, branch.unit):
        raise Forbidden()
    return branch

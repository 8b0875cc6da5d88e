"""Finding a unit or branch the way every route must: unknown is 404, out of scope is 403."""
from __future__ import annotations

from sqlalchemy.orm import joinedload

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


def readable_branch(code: str, user, campaign=None) -> Branch:
    """The branch of that code in ``campaign``, else in the campaign the request shows its unit in
    (congress.progress.campaigns.unit_preparation): a later round's roster repeats the codes."""
    if not plausible(code, 16):
        raise NotFound("branch_not_found", {"code": code[:20]})
    found = list(db.session.execute(db.select(Branch).filter_by(code=code).options(joinedload(Branch.unit))
                                    .order_by(Branch.campaign_id.desc())).scalars())
    if campaign is not None:
        found = [b for b in found if b.campaign_id == campaign.id]
    elif len(found) > 1:
        from congress.progress.campaigns import unit_preparation

        prep = unit_preparation(found[0].unit)
        found = [b for b in found if prep is not None and b.campaign_id == prep.campaign_id] or found
    branch = found[0] if found else None
    if branch is None:
        raise NotFound("branch_not_found", {"code": code})
    if not permissions.can_read_unit(user, branch.unit):
        raise Forbidden()
    return branch

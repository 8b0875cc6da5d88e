"""Writes to branches: check -> change -> flush -> audit -> apply the workflow's rules.

A change that would reopen the unit's completed roll-up step ("Hoàn thành đại hội các chi bộ":
a branch added, or a branch's congress taken back, while every branch had held its congress) is
refused unless the caller confirms it (``confirm_reopen``). A refusal may come after the branch
was flushed: the caller rolls back, as for every refused operation.
"""
from __future__ import annotations

from datetime import date

from congress.accounts import permissions
from congress.audit.operations import changed_fields, record
from congress.clock import today
from congress.errors import Forbidden, Unprocessable
from congress.extensions import db
from congress.progress import campaigns
from congress.progress.accountability import CompletedStepPolicy, completed_steps
from congress.progress.models import Preparation
from congress.progress.operations import add_branch_steps, apply_branch_rules, check_version, refresh_due_dates

from .models import BRANCH_KINDS, Branch, Unit

#: Fields a PATCH may change, with their type.
BRANCH_FIELDS = {
    "name": str, "kind": str, "members": int, "secretary": str, "planned_on": date,
    "held_on": date, "delegates": int, "new_secretary": str,
}
TEXT_LIMITS = {"name": 200, "secretary": 120, "new_secretary": 120}


def branch_snapshot(branch: Branch) -> dict:
    return {field: getattr(branch, field) for field in BRANCH_FIELDS} | {"version": branch.version}


def validate_branch_changes(changes: dict, prep: Preparation | None) -> None:
    """Raise Unprocessable naming the first field that cannot be accepted."""
    for field, value in changes.items():
        if value is None:
            if field == "name":
                raise Unprocessable("field_required", {"field": field})
            continue
        if field in ("members", "delegates") and value < 0:
            raise Unprocessable("must_not_be_negative", {"field": field})
        if field == "delegates" and value > 250:
            raise Unprocessable("too_many_delegates", {"field": field, "limit": 250})
        if field == "kind" and value not in BRANCH_KINDS:
            raise Unprocessable("unknown_branch_kind", {"field": field, "value": value,
                                                         "allowed": list(BRANCH_KINDS)})
        if field == "held_on":
            if value > today():
                raise Unprocessable("date_in_future", {"field": field, "on": value, "today": today()})
        if field in ("held_on", "planned_on") and prep is not None and value < prep.campaign.starts_on:
            raise Unprocessable("date_before_campaign", {"field": field, "on": value,
                                                         "start": prep.campaign.starts_on})


def update_branch(branch: Branch, changes: dict, *, actor, version: int | None,
                  confirm_reopen: bool = False) -> Branch:
    """Apply ``changes`` (already typed and cleaned) to a branch, all or nothing."""
    if not permissions.can_edit_branches(actor, branch.unit):
        raise Forbidden("branch_forbidden")
    check_version(branch.version, version, branch_snapshot(branch))
    prep = branch_preparation(branch)
    if prep is not None:
        campaigns.check_open(prep.campaign)
    preps = [prep] if prep is not None and prep.branch_workflow_version_id is not None else []
    validate_branch_changes(changes, prep)
    before = branch_snapshot(branch)
    for field, value in changes.items():
        setattr(branch, field, value)
    after = branch_snapshot(branch)
    if after == before:
        return branch
    with completed_steps(CompletedStepPolicy(reopen=confirm_reopen)):
        db.session.flush()
        old, new = changed_fields(before, branch_snapshot(branch))
        record(action="branch.update", entity="branch", actor=actor, entity_key=branch.code,
               unit_id=branch.unit_id, campaign_id=branch.campaign_id, old=old, new=new)
        for prep in preps:
            if "planned_on" in old:
                refresh_due_dates(prep, [branch], actor=actor)
            if "held_on" in old:
                apply_branch_rules(prep, branch, actor)
    return branch


def branch_number(code: str) -> int | None:
    """The number a branch's code ends with ("11311-007": 7), None if it ends otherwise."""
    tail = code.rsplit("-", 1)[-1]
    return int(tail) if "-" in code and tail.isdigit() else None


def branch_code(unit: Unit, number: int) -> str:
    return f"{unit.code}-{number:03d}"


def _next_branch_code(unit: Unit) -> str:
    """The next number after every one the unit's branches took, in any campaign (a code names one
    organisation across rounds)."""
    codes = db.session.execute(db.select(Branch.code).filter_by(unit_id=unit.id)).scalars().all()
    numbers = [n for n in map(branch_number, codes) if n is not None]
    return branch_code(unit, max(numbers, default=0) + 1)


def add_branch(unit: Unit, fields: dict, *, actor, prep: Preparation | None = None,
               confirm_reopen: bool = False) -> Branch:
    """Add a subordinate branch to a unit in one campaign (``prep``, else the one the request
    shows: see roster_preparation), with its workflow steps; audited. Adding one not yet held to a
    unit whose branches had all held their congress reopens its completed step: only with
    ``confirm_reopen``."""
    if not permissions.can_edit_branches(actor, unit):
        raise Forbidden("branch_forbidden")
    if not fields.get("name"):
        raise Unprocessable("field_required", {"field": "name"})
    prep = roster_preparation(unit, prep)
    validate_branch_changes(fields, prep)
    taken = db.session.execute(db.select(Branch.id).filter_by(
        unit_id=unit.id, campaign_id=prep.campaign_id, name=fields["name"])).first()
    if taken is not None:
        raise Unprocessable("duplicate_branch", {"name": fields["name"]})
    branch = Branch(unit_id=unit.id, campaign_id=prep.campaign_id, code=_next_branch_code(unit),
                    kind=fields.get("kind") or "chi_bo", **{k: v for k, v in fields.items() if k != "kind"})
    with completed_steps(CompletedStepPolicy(reopen=confirm_reopen)):
        db.session.add(branch)
        db.session.flush()
        record(action="branch.add", entity="branch", actor=actor, entity_key=branch.code, unit_id=unit.id,
               campaign_id=prep.campaign_id, new=branch_snapshot(branch))
        add_branch_steps(prep, branch)
        apply_branch_rules(prep, branch, actor)
    return branch


def roster_preparation(unit: Unit, prep: Preparation | None = None) -> Preparation:
    """The preparation whose roster a new branch joins: ``prep``, else the unit's in the campaign
    the request shows, else its newest open campaign that counts branches. Refused (422) when the
    campaign counts no branches, 409 when it is closed (a closed record never changes)."""
    prep = prep or campaigns.unit_preparation(unit)
    if prep is None:
        raise Unprocessable("not_enrolled", {"code": unit.code})
    if prep.branch_workflow_version_id is None:
        counting = [p for p in campaigns.unit_preparations(unit) if p.branch_workflow_version_id is not None]
        if not counting:
            raise Unprocessable("campaign_without_branches", {"campaign": prep.campaign.name_vi})
        prep = ([p for p in counting if not p.campaign.is_closed] or counting)[-1]
    campaigns.check_open(prep.campaign)
    return prep


def branch_preparation(branch: Branch) -> Preparation | None:
    """The preparation the branch belongs to: its unit's in the branch's campaign."""
    return db.session.execute(db.select(Preparation).filter_by(
        unit_id=branch.unit_id, campaign_id=branch.campaign_id)).scalar_one_or_none()

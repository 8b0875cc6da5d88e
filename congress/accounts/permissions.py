"""Who may do what: the one place every route and operation asks.

Roles: admin (everything); city_leader (read everything in their province, approve/return);
city_staff (the same, and set deadlines); unit_leader and unit_staff (their own unit and its
branches; only the leader submits to the city); viewer (read one subtree: a province or a unit).
"""
from __future__ import annotations

from workflows.rules import Action, roles_for

from .models import CITY_ROLES, UNIT_ROLES


def _in_province(user, province_code: str) -> bool:
    return user.role == "admin" or user.province_code == province_code


def can_read_province(user, province_code: str) -> bool:
    if user.role == "admin":
        return True
    if user.role in CITY_ROLES or (user.role == "viewer" and user.unit_id is None):
        return user.province_code == province_code
    return False


def can_read_unit(user, unit) -> bool:
    if user.role == "admin":
        return True
    if user.role in CITY_ROLES:
        return user.province_code == unit.province_code
    if user.role in UNIT_ROLES:
        return user.unit_id == unit.id
    if user.role == "viewer":
        return user.unit_id == unit.id if user.unit_id else user.province_code == unit.province_code
    return False


def in_scope(user, unit) -> bool:
    """Whether the unit is within the user's reach for writing: an admin everywhere, city users in
    their province, a unit's users in their unit (which roles may take which action is the
    lifecycle's: workflows/lifecycle.yaml)."""
    if user.role == "admin":
        return True
    if user.role in CITY_ROLES:
        return _in_province(user, unit.province_code)
    return user.unit_id == unit.id


#: A province's own committee (the subject of its province-level congress) is run by the city's
#: office: its city users act on it as a unit's users act on theirs, and the level above it (the
#: Central Committee, here the administrators) approves.
UNIT_ROLE_OF_CITY = {"city_leader": "unit_leader", "city_staff": "unit_staff"}


def role_on(user, unit) -> str:
    """The role the user holds toward ``unit``: their own, but a city user's unit role on the
    province's own committee."""
    if (getattr(unit, "level", "commune") == "province" and user.role in UNIT_ROLE_OF_CITY
            and user.province_code == unit.province_code):
        return UNIT_ROLE_OF_CITY[user.role]
    return user.role


def acts_for_unit(user, unit, roles=UNIT_ROLES) -> bool:
    """Whether the user acts as one of the unit's own users (``roles``) on it: its leader or staff,
    or the city's office on the province's own committee."""
    if getattr(unit, "level", "commune") == "province":
        return role_on(user, unit) in roles and user.role in UNIT_ROLE_OF_CITY
    return user.role in roles and user.unit_id == unit.id


def can_take_action(user, unit, action: Action, approval: bool = False) -> bool:
    """Whether the user may take a step action on the unit: the lifecycle's roles for the action
    (on a step the city approves when ``approval``), within the user's scope."""
    return role_on(user, unit) in roles_for(action, approval) and in_scope(user, unit)


def can_edit_branches(user, unit) -> bool:
    return user.role == "admin" or acts_for_unit(user, unit)


def can_set_deadline(user, province_code: str) -> bool:
    return user.role == "admin" or (user.role == "city_staff" and user.province_code == province_code)


def can_plan_congress(user, unit) -> bool:
    """Setting the planned congress date: the unit's leader, city staff or an admin."""
    if acts_for_unit(user, unit, ("unit_leader",)):
        return True
    if user.role == "unit_leader":
        return False
    return can_set_deadline(user, unit.province_code)


def can_start_campaign(user, province_code: str) -> bool:
    """Starting a campaign over a province's units: an admin (national staff) anywhere, the city's
    staff in their own province."""
    return can_set_deadline(user, province_code)


def can_manage_campaign(user, campaign) -> bool:
    """Closing a campaign: an admin; the city's staff for a campaign of their province alone."""
    if user.role == "admin":
        return True
    return campaign.province_code is not None and can_set_deadline(user, campaign.province_code)


def can_manage_accounts(user) -> bool:
    return user.role == "admin"


def readable_province_codes(user) -> set[str] | None:
    """Provinces whose lists the user may read whole; None means all of them."""
    if user.role == "admin":
        return None
    if user.province_code and (user.role in CITY_ROLES or (user.role == "viewer" and not user.unit_id)):
        return {user.province_code}
    return set()


def can_issue_papers(user, unit) -> bool:
    """Issuing a document number: the unit's own leader or staff, or an admin."""
    return user.role == "admin" or acts_for_unit(user, unit)


def can_start_province_jobs(user, province_code: str) -> bool:
    """Starting a province-wide download (one kind for every unit, a ZIP made in the background,
    LibreOffice for PDF): heavy work, so the city's leaders and staff of the province, or an
    admin; a viewer reads (and downloads) the jobs others started but starts none."""
    return user.role == "admin" or (user.role in CITY_ROLES and user.province_code == province_code)


def can_manage_templates(user) -> bool:
    """Replacing a built-in document template with a Word file: admins."""
    return user.role == "admin"


def can_edit_drafts(user, unit) -> bool:
    """Uploading draft versions and running comment rounds: the unit's own leader or staff, or an admin."""
    return user.role == "admin" or acts_for_unit(user, unit)


def can_submit_drafts(user, unit) -> bool:
    """Sending a draft to the city: the unit's leader (as for a step's submission), or an admin."""
    return user.role == "admin" or acts_for_unit(user, unit, ("unit_leader",))


def can_waive_approval(user, unit) -> bool:
    """Marking a step the city must approve as not applicable (the lifecycle gives it to the city,
    never the unit's own users)."""
    return can_take_action(user, unit, Action.MARK_NOT_APPLICABLE, approval=True)


def can_review_drafts(user, unit) -> bool:
    """Commenting on, approving or returning a unit's draft, and recording an exception to the
    approval the congress needs: city leaders and staff of its province, or an admin (only an
    admin for the province's own committee, which the city's users run)."""
    if getattr(unit, "level", "commune") == "province":
        return user.role == "admin"
    return user.role == "admin" or (user.role in CITY_ROLES and user.province_code == unit.province_code)


def can_import(user, kind: str) -> bool:
    """Uploading a spreadsheet: units by admins; branches and progress by admins, city staff
    (for their province) and a unit's leader or staff (for their unit)."""
    if kind == "units":
        return user.role == "admin"
    return user.role in ("admin", "city_staff") or user.role in UNIT_ROLES


def can_import_for_unit(user, unit) -> bool:
    """Whether an imported row may change this unit's branches or steps."""
    if user.role == "admin":
        return True
    if user.role == "city_staff":
        return user.province_code == unit.province_code
    return acts_for_unit(user, unit)

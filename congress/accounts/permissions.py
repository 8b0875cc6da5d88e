"""Who may do what: the one place every route and operation asks.

Roles: admin (everything); city_leader (read everything in their province, approve/return);
city_staff (the same, and set deadlines); unit_leader and unit_staff (their own unit and its
branches; only the leader submits to the city); viewer (read one subtree: a province or a unit).
"""
from __future__ import annotations

from workflows.rules import Action

from .models import CITY_ROLES, UNIT_ROLES

#: Which roles may take each step action (scope is checked separately).
ACTION_ROLES: dict[Action, frozenset[str]] = {
    Action.START: frozenset({"admin", "unit_leader", "unit_staff"}),
    Action.COMPLETE: frozenset({"admin", "unit_leader", "unit_staff"}),
    Action.MARK_NOT_APPLICABLE: frozenset({"admin", "unit_leader", "unit_staff"}),
    Action.SUBMIT: frozenset({"admin", "unit_leader"}),
    Action.APPROVE: frozenset({"admin", "city_leader", "city_staff"}),
    Action.RETURN: frozenset({"admin", "city_leader", "city_staff"}),
    Action.REOPEN: frozenset({"admin", "city_staff", "unit_leader"}),
}


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


def can_take_action(user, unit, action: Action) -> bool:
    if user.role not in ACTION_ROLES[action]:
        return False
    if user.role == "admin":
        return True
    if user.role in CITY_ROLES:
        return _in_province(user, unit.province_code)
    return user.unit_id == unit.id


def can_edit_branches(user, unit) -> bool:
    return user.role == "admin" or (user.role in UNIT_ROLES and user.unit_id == unit.id)


def can_set_deadline(user, province_code: str) -> bool:
    return user.role == "admin" or (user.role == "city_staff" and user.province_code == province_code)


def can_plan_congress(user, unit) -> bool:
    """Setting the planned congress date: the unit's leader, city staff or an admin."""
    if user.role == "unit_leader":
        return user.unit_id == unit.id
    return can_set_deadline(user, unit.province_code)


def can_manage_accounts(user) -> bool:
    return user.role == "admin"


def readable_province_codes(user) -> set[str] | None:
    """Provinces whose lists the user may read whole; None means all of them."""
    if user.role == "admin":
        return None
    if user.province_code and (user.role in CITY_ROLES or (user.role == "viewer" and not user.unit_id)):
        return {user.province_code}
    return set()

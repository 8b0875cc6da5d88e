"""Account and token writes, each audited."""
from __future__ import annotations

import secrets

from congress.audit.operations import record
from congress.clock import utcnow
from congress.errors import Unprocessable
from congress.extensions import db
from congress.units.models import Province, Unit

from .auth import TOKEN_PREFIX
from .models import CITY_ROLES, ROLES, UNIT_ROLES, ApiToken, User

MIN_PASSWORD_LENGTH = 10


def check_password_policy(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Unprocessable("password_too_short", {"length": MIN_PASSWORD_LENGTH})


def add_user(username: str, *, role: str, password: str, display_name: str | None = None,
             unit: Unit | None = None, province: Province | None = None, actor=None) -> User:
    """Create an account; unit roles need a unit, city roles a province, a viewer one of them."""
    if role not in ROLES:
        raise Unprocessable("unknown_role", {"role": role, "allowed": list(ROLES)})
    if role in UNIT_ROLES and unit is None:
        raise Unprocessable("unit_required", {"role": role})
    if role in CITY_ROLES and province is None and unit is not None:
        province = unit.province
    if role in CITY_ROLES and province is None:
        raise Unprocessable("province_required", {"role": role})
    if role == "viewer" and unit is None and province is None:
        raise Unprocessable("scope_required", {"role": role})
    if db.session.execute(db.select(User).filter_by(username=username)).scalar_one_or_none():
        raise Unprocessable("user_exists", {"username": username})
    check_password_policy(password)
    user = User(username=username, display_name=display_name or username, role=role,
                unit_id=unit.id if unit is not None and role not in CITY_ROLES else None,
                province_code=(province.code if province is not None
                               else unit.province_code if role == "viewer" and unit is None else None),
                created_at=utcnow())
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    record(action="user.add", entity="user", actor=actor, entity_key=username,
           unit_id=user.unit_id, new={"role": role, "unit": unit.code if unit else None,
                                      "province": user.province_code})
    return user


def create_token(user: User, name: str, actor=None) -> tuple[ApiToken, str]:
    """A new bearer token; the plain token is returned once and never stored."""
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user=user, name=name, prefix=plain[:10], token_hash=ApiToken.digest(plain),
                     created_at=utcnow())
    db.session.add(token)
    db.session.flush()
    record(action="token.create", entity="token", actor=actor or user, entity_key=f"{user.username}/{token.id}",
           new={"name": name, "prefix": token.prefix})
    return token, plain


def revoke_token(token: ApiToken, actor=None) -> None:
    if token.revoked_at is not None:
        return
    token.revoked_at = utcnow()
    db.session.flush()
    record(action="token.revoke", entity="token", actor=actor, entity_key=f"{token.user.username}/{token.id}",
           old={"revoked_at": None}, new={"revoked_at": token.revoked_at})

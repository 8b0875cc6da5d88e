"""Account and token writes, each audited."""
from __future__ import annotations

import secrets
from datetime import UTC, timedelta

import sqlalchemy as sa

from congress.audit.operations import SYSTEM_ACTOR, record
from congress.clock import utcnow
from congress.errors import Unprocessable
from congress.extensions import db
from congress.units.models import Province, Unit
from workflows.deadlines import LOCAL_TZ

from .auth import TOKEN_PREFIX
from .models import CITY_ROLES, ROLES, UNIT_ROLES, ApiToken, User, check_dummy_password, find_by_username

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 200
#: passwords people here reach for first (the checks below also refuse runs and repeats)
COMMON_PASSWORDS = frozenset({
    "password123", "password1234", "matkhau123", "matkhau1234", "matkhau@123", "123456789a", "abc1234567",
    "qwertyuiop", "qwerty1234", "admin12345", "administrator", "1q2w3e4r5t", "iloveyou12", "vietnam123",
    "haiphong123", "haiphong2025", "dangbo2025", "thanhuy123", "changeme123", "welcome123",
})


def check_password_policy(password: str, username: str | None = None) -> None:
    """Long enough, not too long to hash, not the user name, not a well-known or trivial one.

    Length and a list of guessable passwords, not composition rules (NIST SP 800-63B)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Unprocessable("password_too_short", {"length": MIN_PASSWORD_LENGTH})
    if len(password) > MAX_PASSWORD_LENGTH:
        raise Unprocessable("password_too_long", {"length": MAX_PASSWORD_LENGTH})
    lowered = password.lower()
    if username and len(username) >= 3 and username.lower() in lowered:
        raise Unprocessable("password_has_username")
    squeezed = "".join(ch for ch in lowered if ch.isalnum())
    if (lowered in COMMON_PASSWORDS or squeezed in COMMON_PASSWORDS or len(set(lowered)) <= 3
            or squeezed in "01234567890123456789" or squeezed in "abcdefghijklmnopqrstuvwxyz"
            or squeezed in "98765432109876543210"):
        raise Unprocessable("password_too_common")


def change_password(user: User, *, current: str, new: str, repeated: str) -> None:
    """The account's own change: the current password, a new one twice; every other session ends."""
    if not user.check_password(current):
        raise Unprocessable("password_wrong")
    if new != repeated:
        raise Unprocessable("password_mismatch")
    if new == current:
        raise Unprocessable("password_unchanged")
    check_password_policy(new, user.username)
    user.set_password(new)
    user.password_changed_at = utcnow()
    user.end_sessions()
    db.session.flush()
    record(action="user.password", entity="user", actor=user, entity_key=user.username, unit_id=user.unit_id,
           new={"password_changed_at": user.password_changed_at})


def reset_password(user: User, password: str, *, actor) -> None:
    """An administrator sets the password; every session of the account ends."""
    check_password_policy(password, user.username)
    user.set_password(password)
    user.password_changed_at = utcnow()
    user.failed_logins = 0
    user.locked_until = None
    user.end_sessions()
    db.session.flush()
    record(action="user.password", entity="user", actor=actor, entity_key=user.username, unit_id=user.unit_id,
           new={"password_changed_at": user.password_changed_at}, reason="set by an administrator")


def unlock(user: User, *, actor) -> None:
    old = {"locked_until": user.locked_until, "failed_logins": user.failed_logins}
    user.locked_until = None
    user.failed_logins = 0
    db.session.flush()
    record(action="user.unlock", entity="user", actor=actor, entity_key=user.username, unit_id=user.unit_id,
           old=old, new={"locked_until": None, "failed_logins": 0})


def login_attempt(user: User | None, password: str, *, attempts: int, lock_minutes: int) -> User:
    """Check a sign-in. Wrong passwords are counted; the ``attempts``-th in a row locks the account
    for ``lock_minutes``. Raises Unprocessable (login_failed or login_locked); audited.

    An unknown or deactivated name costs the same password check as a known one. The count is
    kept by the database in one statement per wrong password (``failed = failed + 1``), so
    parallel attempts are each counted, and only one of them locks the account (and audits it)."""
    now = utcnow()
    if user is None or not user.active:
        check_dummy_password(password)
        raise Unprocessable("login_failed")
    locked_until = _aware(user.locked_until)
    if locked_until is not None and locked_until > now:
        raise _locked(locked_until)
    if not user.check_password(password):
        not_locked = sa.or_(User.locked_until.is_(None), User.locked_until <= now)
        count = db.session.execute(
            sa.update(User).where(User.id == user.id, not_locked)
            .values(failed_logins=sa.func.coalesce(User.failed_logins, 0) + 1)
            .returning(User.failed_logins).execution_options(synchronize_session=False)).scalar_one_or_none()
        if count is not None and count >= attempts:
            until = now + timedelta(minutes=lock_minutes)
            # only the attempt that finds the count still at the limit locks: the others find 0
            won = db.session.execute(
                sa.update(User).where(User.id == user.id, User.failed_logins >= attempts, not_locked)
                .values(locked_until=until, failed_logins=0)
                .returning(User.id).execution_options(synchronize_session=False)).scalar_one_or_none()
            if won is not None:
                record(action="user.locked", entity="user", actor=SYSTEM_ACTOR, entity_key=user.username,
                       unit_id=user.unit_id, new={"locked_until": until},
                       reason=f"{attempts} wrong passwords in a row")
        db.session.expire(user, ["failed_logins", "locked_until"])
        raise Unprocessable("login_failed")
    user.failed_logins = 0
    user.locked_until = None
    db.session.flush()
    return user


def _aware(moment):
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


def _locked(until) -> Unprocessable:
    local = until.astimezone(LOCAL_TZ)
    return Unprocessable("login_locked", {"until": f"{local:%H:%M} {local.day}/{local.month}/{local.year}"})


def end_sessions(user: User, actor=None) -> None:
    """Log out everywhere: every session of the account ends (audited)."""
    user.end_sessions()
    db.session.flush()
    record(action="user.logout", entity="user", actor=actor or user, entity_key=user.username,
           unit_id=user.unit_id, new={"session_epoch": user.session_epoch})


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
    existing = find_by_username(username)
    if existing is not None:  # user names differing only by case are one name
        raise Unprocessable("user_exists", {"username": existing.username})
    check_password_policy(password, username)
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


def deactivate(user: User, *, actor) -> None:
    """An administrator closes an account: its sessions end at once and its API tokens are
    revoked, so that reactivating it later revives neither (audited)."""
    if actor is not None and getattr(actor, "id", None) == user.id:
        from congress.errors import Forbidden

        raise Forbidden()  # an administrator cannot lock themselves out
    if not user.active:
        return
    user.active = False
    user.end_sessions()
    revoked = []
    for token in db.session.execute(db.select(ApiToken).where(ApiToken.user_id == user.id,
                                                              ApiToken.revoked_at.is_(None))).scalars():
        token.revoked_at = utcnow()
        revoked.append(token.prefix)
    db.session.flush()
    record(action="user.deactivate", entity="user", actor=actor, entity_key=user.username, unit_id=user.unit_id,
           old={"active": True}, new={"active": False, "session_epoch": user.session_epoch,
                                      "tokens_revoked": len(revoked)})


def reactivate(user: User, *, actor) -> None:
    """The account may sign in again, with a new session; its old sessions and tokens stay ended."""
    if user.active:
        return
    user.active = True
    user.failed_logins = 0
    user.locked_until = None
    db.session.flush()
    record(action="user.reactivate", entity="user", actor=actor, entity_key=user.username, unit_id=user.unit_id,
           old={"active": False}, new={"active": True})


def own_token(user: User, token_id: int) -> ApiToken:
    """One of the user's own tokens; another's (or none) is not found."""
    from congress.errors import NotFound

    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFound()
    return token


def tokens_of(user: User) -> list[ApiToken]:
    return list(db.session.execute(db.select(ApiToken).where(ApiToken.user_id == user.id)
                                   .order_by(ApiToken.id.desc())).scalars())


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
    """The token stops working at once (audited); revoking it again changes nothing."""
    if token.revoked_at is not None:
        return
    token.revoked_at = utcnow()
    db.session.flush()
    record(action="token.revoke", entity="token", actor=actor, entity_key=f"{token.user.username}/{token.id}",
           old={"revoked_at": None}, new={"revoked_at": token.revoked_at})

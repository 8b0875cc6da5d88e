"""Accounts, roles and API tokens."""
from __future__ import annotations

import hashlib
from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from congress.extensions import db

ROLES = ("admin", "city_leader", "city_staff", "unit_leader", "unit_staff", "viewer")
CITY_ROLES = ("city_leader", "city_staff")
UNIT_ROLES = ("unit_leader", "unit_staff")
#: scrypt, werkzeug's current default, with explicit parameters so the choice shows in review
PASSWORD_METHOD = "scrypt:32768:8:1"
_dummy_hash: list[str] = []


def display_names(usernames) -> dict[str, str]:
    """Each user name's display name, in one query: how a page names the people of its records
    (the audit keeps the actor's user name). A name of no account is left out; show it as it is."""
    wanted = {name for name in usernames if name}
    if not wanted:
        return {}
    return {username: display_name or username for username, display_name in db.session.execute(
        sa.select(User.username, User.display_name).where(User.username.in_(wanted)))}


def find_by_username(name: str | None) -> User | None:
    """The account signing in as ``name``: user names are told apart without regard to case
    ("TuMinh.VanPhong" is tuminh.vanphong); the exact spelling wins should two old ones differ only so."""
    name = (name or "").strip()
    if not name:
        return None
    return db.session.execute(
        sa.select(User).where(sa.func.lower(User.username) == name.lower())
        .order_by((User.username == name).desc(), User.id).limit(1)).scalar_one_or_none()


def check_dummy_password(password: str) -> None:
    """The same password check as a real account's, against a hash of no password anyone knows:
    a sign-in as an unknown (or deactivated) name takes as long as one as a known name."""
    if not _dummy_hash:
        import secrets

        _dummy_hash.append(generate_password_hash(secrets.token_hex(16), method=PASSWORD_METHOD))
    check_password_hash(_dummy_hash[0], password)


class User(UserMixin, db.Model):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(80), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(120))
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    role: Mapped[str] = mapped_column(sa.String(20))
    #: unit roles, and a viewer of one unit's subtree
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"))
    #: city roles, and a viewer of one province's subtree
    province_code: Mapped[str | None] = mapped_column(sa.ForeignKey("provinces.code"))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    #: part of every session's id: raising it ends every open session of the account
    session_epoch: Mapped[int] = mapped_column(default=0, server_default="0")
    #: wrong passwords since the last good sign-in; enough of them lock the account for a while
    failed_logins: Mapped[int] = mapped_column(default=0, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    password_changed_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    #: the campaign the user last chose to look at (pages follow it until they choose another)
    campaign_id: Mapped[int | None] = mapped_column(sa.ForeignKey("campaigns.id", ondelete="SET NULL"))

    unit = relationship("Unit", lazy="joined")

    def get_id(self) -> str:  # Flask-Login: the session names the account and its epoch
        return f"{self.id}.{self.session_epoch or 0}"

    def end_sessions(self) -> None:
        """Every session opened before this moment stops working at its next request."""
        self.session_epoch = (self.session_epoch or 0) + 1

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password, method=PASSWORD_METHOD)

    def check_password(self, password: str) -> bool:
        if not self.password_hash:
            check_dummy_password(password)
            return False
        return check_password_hash(self.password_hash, password)

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.active


class ApiToken(db.Model):
    """A bearer token for the API. Only its SHA-256 is stored; the token is shown once."""
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(80))
    #: first characters of the token, to recognise it in a list
    prefix: Mapped[str] = mapped_column(sa.String(12))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))

    user: Mapped[User] = relationship(lazy="joined")

    @staticmethod
    def digest(token: str) -> str:
        return hashlib.sha256(token.encode("utf-8")).hexdigest()

"""Notifications, per-user preferences, the ledger that keeps jobs from sending twice, nightly
readiness snapshots and calendar feed tokens."""
from __future__ import annotations

import hashlib
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from congress.accounts.models import CITY_ROLES, UNIT_ROLES
from congress.extensions import db

#: What a notification is about; users choose in-app and e-mail per kind.
#: "submitted": a unit submitted to the city (to the city); "verdict": the city approved or returned it
#: (to the unit)
NOTICE_KINDS = ("due_soon", "overdue", "city_alert", "digest", "submitted", "verdict")
#: Who receives each kind: the jobs and the approval loop send a kind to these roles only, and the
#: settings offer each role the kinds it can receive (the one place that says so)
NOTICE_AUDIENCES: dict[str, tuple[str, ...]] = {
    "due_soon": UNIT_ROLES, "overdue": UNIT_ROLES, "city_alert": CITY_ROLES,
    "digest": (*UNIT_ROLES, *CITY_ROLES), "submitted": CITY_ROLES, "verdict": UNIT_ROLES,
}
#: kinds about one step of a unit, settled when that step is finished
REMINDER_KINDS = ("due_soon", "overdue")
EMAIL_STATES = ("pending", "sent", "failed")


def audience_of(*kinds: str) -> tuple[str, ...]:
    """The roles that receive any of ``kinds``."""
    return tuple(dict.fromkeys(role for kind in kinds for role in NOTICE_AUDIENCES[kind]))


def kinds_for(role: str) -> tuple[str, ...]:
    """The kinds a user of ``role`` can receive, in the order of NOTICE_KINDS."""
    return tuple(kind for kind in NOTICE_KINDS if role in NOTICE_AUDIENCES[kind])


class Notification(db.Model):
    """One message to one user. Its words are made when it is shown (in the reader's language)
    from ``kind`` and ``params``; e-mail is sent after the commit that created it."""
    __tablename__ = "notifications"
    __table_args__ = (sa.Index("ix_notifications_user_unread", "user_id", "read_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    #: due_soon, overdue, city_alert, digest, submitted, verdict
    kind: Mapped[str] = mapped_column(sa.String(20))
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"))
    #: the local day the notification speaks of (the digest's day, the step's last allowed day)
    day: Mapped[date]
    params: Mapped[dict] = mapped_column(sa.JSON)
    #: where the reader goes from it (a path in the app)
    link: Mapped[str | None] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    #: False when the user turned in-app notices of this kind off (kept for the record)
    in_app: Mapped[bool] = mapped_column(default=True)
    read_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    #: None (no e-mail wanted or possible), pending, sent or failed
    email_state: Mapped[str | None] = mapped_column(sa.String(10), index=True)
    email_to: Mapped[str | None] = mapped_column(sa.String(200))
    emailed_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    email_attempts: Mapped[int] = mapped_column(default=0)

    unit = relationship("Unit")


class NoticeLedger(db.Model):
    """What a job has already done: one row per (job, day, recipient, subject), never two.

    The row is inserted in the same transaction as the notification it produced, so running a
    job again, or in two processes at once, produces nothing new.
    """
    __tablename__ = "notice_ledger"
    __table_args__ = (sa.UniqueConstraint("job", "day", "recipient_id", "subject", name="uq_notice_ledger_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(sa.String(40))
    day: Mapped[date]
    recipient_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    #: what it was about: "step:123:7", "unit:10891", "province:31"
    subject: Mapped[str] = mapped_column(sa.String(80))
    notification_id: Mapped[int | None] = mapped_column(sa.ForeignKey("notifications.id"))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))


class NoticePreference(db.Model):
    """A user's choice for one kind of notification; without a row both channels are on."""
    __tablename__ = "notice_preferences"
    __table_args__ = (sa.UniqueConstraint("user_id", "kind", name="uq_notice_preferences_user_kind"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(sa.String(20))
    in_app: Mapped[bool] = mapped_column(default=True)
    email: Mapped[bool] = mapped_column(default=True)


class NoticeAddress(db.Model):
    """Where a user's e-mail notifications go."""
    __tablename__ = "notice_addresses"
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(200))


class ReadinessSnapshot(db.Model):
    """A unit's readiness as recorded at the end of a day: the real trajectory, and its pace."""
    __tablename__ = "readiness_snapshots"
    __table_args__ = (sa.UniqueConstraint("campaign_id", "unit_id", "day",
                                          name="uq_readiness_snapshots_campaign_unit_day"),
                      # a province's nights, unit by unit (the dashboard's readiness over time): on
                      # PostgreSQL from the index alone
                      sa.Index("ix_readiness_snapshots_unit_day", "unit_id", "day",
                               postgresql_include=["campaign_id", "percent"]))
    id: Mapped[int] = mapped_column(primary_key=True)
    #: the campaign whose readiness it is (a unit in two campaigns has a snapshot in each)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaigns.id"))
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"))
    day: Mapped[date] = mapped_column(index=True)
    percent: Mapped[int]
    steps_done: Mapped[int]
    steps_total: Mapped[int]
    overdue: Mapped[int]
    branches_held: Mapped[int]
    branches_total: Mapped[int]
    #: done, on_track, at_risk, late
    risk: Mapped[str] = mapped_column(sa.String(10))
    projected_finish: Mapped[date | None]
    recorded_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))


class ReadinessNight(db.Model):
    """The whole of a unit's readiness at the end of a day, recorded with its snapshot: the figures,
    reasons and task counts, the step facts and the planned congress, encoded as the stored
    readiness is (congress.progress.stored). A past day's many-unit answers are read from them; a
    night recorded without them is rebuilt from the audit log. Kept apart from the snapshots, whose
    small rows the charts add up."""
    __tablename__ = "readiness_nights"
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaigns.id"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    readiness: Mapped[dict] = mapped_column(sa.JSON)
    steps: Mapped[list] = mapped_column(sa.JSON)
    congress_on: Mapped[date | None]


class CalendarFeed(db.Model):
    """A secret address of an iCalendar feed: a user's own deadlines, or a unit's.

    Only the token's SHA-256 is kept; the address is shown once. Revoking stops it at once.
    """
    __tablename__ = "calendar_feeds"
    id: Mapped[int] = mapped_column(primary_key=True)
    #: the user who made it (and whose deadlines a personal feed shows)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    #: set for a unit's feed, empty for a personal one
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"))
    prefix: Mapped[str] = mapped_column(sa.String(12))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))

    user = relationship("User")
    unit = relationship("Unit")

    @staticmethod
    def digest(token: str) -> str:
        return hashlib.sha256(token.encode("utf-8")).hexdigest()

"""iCalendar feeds of deadlines, at secret revocable addresses (/calendar/<token>.ics).

Each deadline is an all-day event on its last allowed day: a step due "trước ngày 20/8/2025" is an
event on 19/8/2025 whose description says the rule in words. A unit's feed holds its open steps
and its congress deadline; a user's feed holds their unit's, or for the city every unit's
congress deadline in their province.
"""
from __future__ import annotations

import secrets
from datetime import date, datetime, timedelta

import icalendar
import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale, gettext

from congress.accounts import permissions
from congress.accounts.models import UNIT_ROLES, User
from congress.audit.operations import record
from congress.clock import utcnow
from congress.errors import Forbidden
from congress.extensions import db
from congress.formatting import deadline_and_last_day, short_date
from congress.progress.models import OPEN, Campaign, Preparation, Step, WorkflowVersion, accountable_due
from congress.units.models import Unit
from workflows.deadlines import Deadline
from workflows.rules import FINISHED, State

from .models import CalendarFeed
from .texts import language

TOKEN_PREFIX = "cal_"
PRODID = "-//congress//Chuan bi dai hoi//VI"


# --- tokens -----------------------------------------------------------------------------------

def can_make_unit_feed(user: User, unit: Unit) -> bool:
    """A unit's feed: its own staff and leader, the city of its province, an admin."""
    if user.role in UNIT_ROLES:
        return user.unit_id == unit.id
    return user.role in ("admin", "city_leader", "city_staff") and permissions.can_read_unit(user, unit)


def create_feed(user: User, unit: Unit | None = None) -> tuple[CalendarFeed, str]:
    """A new feed address; the token is returned once and only its SHA-256 is kept. Audited."""
    if unit is not None and not can_make_unit_feed(user, unit):
        raise Forbidden("forbidden")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    feed = CalendarFeed(user_id=user.id, unit_id=unit.id if unit else None, prefix=token[:10],
                        token_hash=CalendarFeed.digest(token), created_at=utcnow())
    db.session.add(feed)
    db.session.flush()
    record(action="calendar.create", entity="calendar_feed", actor=user, entity_key=str(feed.id),
           unit_id=unit.id if unit else None, new={"scope": "unit" if unit else "user", "prefix": feed.prefix})
    return feed, token


def revoke_feed(feed: CalendarFeed, user: User) -> None:
    """Stop an address at once; only its maker (or an admin) may. Audited."""
    if feed.user_id != user.id and user.role != "admin":
        raise Forbidden("forbidden")
    if feed.revoked_at is not None:
        return
    feed.revoked_at = utcnow()
    record(action="calendar.revoke", entity="calendar_feed", actor=user, entity_key=str(feed.id),
           unit_id=feed.unit_id, old={"revoked": False}, new={"revoked": True})


def feed_for_token(token: str) -> CalendarFeed | None:
    if not token.startswith(TOKEN_PREFIX) or len(token) > 80:
        return None
    feed = db.session.execute(db.select(CalendarFeed).filter_by(token_hash=CalendarFeed.digest(token))
                              ).scalar_one_or_none()
    if feed is None or feed.revoked_at is not None or not feed.user.active:
        return None
    return feed


# --- the feed ---------------------------------------------------------------------------------

def _event(uid: str, last_day: date, summary: str, description: str, stamp: datetime,
           url: str | None = None) -> icalendar.Event:
    event = icalendar.Event()
    event.add("uid", uid)
    event.add("dtstamp", stamp)
    event.add("dtstart", last_day)
    event.add("dtend", last_day + timedelta(days=1))
    event.add("summary", summary)
    event.add("description", description)
    event.add("transp", "TRANSPARENT")
    if url:
        event.add("url", url)
    return event


def _rule(deadline: Deadline) -> str:
    """"trước ngày 20/8/2025 (ngày cuối cùng: 19/8/2025)" / "đến hết ngày 20/8/2025"."""
    if deadline.kind.value == "before":
        return deadline_and_last_day(deadline)
    return gettext("until the end of %(day)s", day=short_date(deadline.day))


def _units_for(feed: CalendarFeed) -> tuple[list[int] | None, set[str] | None]:
    """Which units a feed shows: (unit ids, or None) and (province codes, or None for every one)."""
    if feed.unit_id is not None:
        return [feed.unit_id], None
    user = feed.user
    if user.unit_id is not None:
        return [user.unit_id], None
    return None, permissions.readable_province_codes(user)


def build(feed: CalendarFeed) -> bytes:
    """The feed's iCalendar text, in three queries whatever the number of units."""
    config = current_app.config
    base = config.get("NOTICES_BASE_URL", "")
    stamp = utcnow().replace(microsecond=0)
    unit_ids, provinces = _units_for(feed)
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    with force_locale(config.get("CONGRESS_LOCALE", "vi")):
        calendar.add("x-wr-calname", feed.unit.name if feed.unit else gettext("Congress deadlines"))
        calendar.add("x-wr-timezone", "Asia/Ho_Chi_Minh")
        preps = db.select(Preparation).join(Unit, Unit.id == Preparation.unit_id).order_by(Unit.code)
        if unit_ids is not None:
            preps = preps.where(Unit.id.in_(unit_ids))
        elif provinces is not None:
            preps = preps.where(Unit.province_code.in_(provinces))
        found = list(db.session.execute(preps).unique().scalars())
        for prep in found:
            deadline = prep.deadline
            calendar.add_component(_event(
                f"congress-{prep.unit.code}-{prep.id}@congress", deadline.last_allowed_day,
                gettext("Congress deadline: %(unit)s", unit=prep.unit.name),
                gettext("%(unit)s must hold its congress %(rule)s.", unit=prep.unit.name, rule=_rule(deadline))
                + (f"\n{prep.deadline_basis or prep.campaign.deadline_basis}"
                   if (prep.deadline_basis or prep.campaign.deadline_basis) else ""),
                stamp, f"{base}/units/{prep.unit.code}" if base else None))
        if unit_ids is not None:
            _add_steps(calendar, [p.id for p in found], stamp, base)
    return calendar.to_ical()


def _add_steps(calendar: icalendar.Calendar, prep_ids: list[int], stamp: datetime, base: str) -> None:
    """Every open unit step with a due date, in one query. A step answers to its deadline as
    ``Step.due`` says: one that missed its due date before the date moved later stays on the day it
    missed, overdue, until it is done."""
    if not prep_ids:
        return
    rows = db.session.execute(
        sa.select(Step.id, Step.key, Step.state, Step.due_on, Step.due_kind, Step.missed_due_on,
                  Step.missed_due_kind, Unit.code, Unit.name, WorkflowVersion)
        .join(Preparation, Preparation.id == Step.preparation_id)
        .join(Campaign, Campaign.id == Preparation.campaign_id)
        .join(Unit, Unit.id == Preparation.unit_id)
        .join(WorkflowVersion, WorkflowVersion.id == Preparation.workflow_version_id)
        .where(Step.preparation_id.in_(prep_ids), Step.branch_id.is_(None), Campaign.status == OPEN,
               sa.or_(Step.due_on.is_not(None), Step.missed_due_on.is_not(None)),
               Step.state.not_in(tuple(s.value for s in FINISHED))))
    dated = [(due, row) for row in rows if (due := accountable_due(
        State(row.state), row.due_on, row.due_kind, row.missed_due_on, row.missed_due_kind)) is not None]
    english = language() == "en"
    for deadline, row in sorted(dated, key=lambda pair: (pair[0].last_allowed_day, pair[1].id)):
        step = row.WorkflowVersion.definition().step(row.key)
        step_title = step.title_en if english else step.title_vi
        description = gettext("The step “%(step)s” of %(unit)s must be finished %(rule)s.", step=step_title,
                              unit=row.name, rule=_rule(deadline))
        if row.due_on is not None and row.due_on != deadline.last_allowed_day:  # the missed day, kept
            description += "\n" + gettext("Its due date has since moved (%(rule)s); it stays overdue until it is "
                                          "finished.", rule=_rule(Deadline.from_last_day(row.due_on,
                                                                                         row.due_kind or "by")))
        calendar.add_component(_event(
            f"step-{row.id}@congress", deadline.last_allowed_day, f"{step_title} · {row.name}", description,
            stamp, f"{base}/units/{row.code}#step-{row.key}" if base else None))

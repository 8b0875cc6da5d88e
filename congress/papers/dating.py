"""The day a document is dated (workflows.documents: DocumentKind.dated), the one rule the
heading, the text and issuing share.

What the congress adopts and records (the resolution, the minutes) is dated the day of its
session; the report of its result that day or later; everything else the day it is issued. The
session's day is the unit's congress date (the congress step is completed on that day, see
workflows.rules "on_planned_congress_date"); until it has come, such a document can be drafted,
dated the planned day (or left in blanks), but not issued.
"""
from __future__ import annotations

from datetime import date

from congress.errors import Unprocessable
from congress.progress.models import Preparation
from workflows.documents import AFTER_SESSION, SESSION, DocumentKind


def blank_long_date(year: int) -> str:
    """A date to be written by hand: "ngày …… tháng …… năm 2025"."""
    return f"ngày …… tháng …… năm {year}"


def term_year(prep: Preparation | None) -> int | None:
    """The first year of the campaign's term ("2025 - 2030": 2025), for a date left in blanks."""
    if prep is None:
        return None
    digits = prep.campaign.term[:4]
    return int(digits) if digits.isdigit() else None


def session_day(prep: Preparation | None) -> date | None:
    """The first day of the unit's congress, as planned (and held on)."""
    return prep.congress_on if prep is not None else None


def held(prep: Preparation | None, now: date) -> bool:
    day = session_day(prep)
    return day is not None and day <= now


def draft_day(info: DocumentKind, prep: Preparation | None, now: date) -> date | None:
    """The date a draft shows; None prints blanks ("ngày …… tháng …… năm 2025")."""
    if info.dated == SESSION:
        return session_day(prep)
    if info.dated == AFTER_SESSION:
        return now if held(prep, now) else None
    return now


def issue_day(info: DocumentKind, prep: Preparation, on: date | None, now: date) -> date:
    """The date a document is issued with, or a refusal a person understands."""
    if info.dated not in (SESSION, AFTER_SESSION):
        return on or now
    day = session_day(prep)
    if day is None:
        raise Unprocessable("congress_not_planned")
    if day > now:
        raise Unprocessable("congress_not_held", {"planned": day})
    if info.dated == SESSION:
        if on is not None and on != day:
            raise Unprocessable("paper_not_session_day", {"on": on, "session": day})
        return day
    chosen = on or now
    if chosen < day:
        raise Unprocessable("paper_dated_before_congress", {"on": chosen, "session": day})
    if chosen > now:
        raise Unprocessable("date_in_future", {"on": chosen, "today": now})
    return chosen


def why_not_yet(info: DocumentKind, prep: Preparation | None, now: date) -> tuple[str, dict] | None:
    """Why the document cannot be issued today (the page says it instead of offering the button)."""
    if info.dated not in (SESSION, AFTER_SESSION):
        return None
    day = session_day(prep)
    if day is None:
        return "issued_once_congress_planned", {}
    if day > now:
        return "issued_from_congress_day", {"planned": day}
    return None

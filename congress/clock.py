"""The one place that says what day and what time it is (local to Asia/Ho_Chi_Minh).

With a fixed reference day (``CONGRESS_TODAY``, as in the demo and the tests) the whole
application lives on that day: the date is the reference day and the time of day is the real one,
so a record made "now" reads, say, 5/8/2025 at the real hour, and scheduled work keeps its daily
rhythm. Every time stamp the application writes comes from here, never from ``datetime.now``.
"""
from __future__ import annotations

from datetime import UTC, date, datetime

from flask import current_app, has_app_context

from workflows.deadlines import LOCAL_TZ, local_today


def fixed_day() -> date | None:
    """The reference day the configuration sets, or None when the real date applies."""
    if has_app_context():
        return current_app.config.get("CONGRESS_TODAY") or None
    return None


def today() -> date:
    """Today in Vietnam, or the fixed reference day."""
    return fixed_day() or local_today()


def local_now() -> datetime:
    """Now in Vietnam, as an aware datetime: on the fixed reference day, at the real time of day."""
    real = datetime.now(UTC).astimezone(LOCAL_TZ)
    fixed = fixed_day()
    if fixed:
        return real.replace(year=fixed.year, month=fixed.month, day=fixed.day)
    return real


def utcnow() -> datetime:
    """Now in UTC, on the same clock as ``local_now`` (the reference day's local time, in UTC)."""
    return local_now().astimezone(UTC)

"""The one place that says what day it is (local date in Asia/Ho_Chi_Minh)."""
from __future__ import annotations

from datetime import UTC, date, datetime

from flask import current_app, has_app_context

from workflows.deadlines import LOCAL_TZ, local_today


def today() -> date:
    """Today in Vietnam, or the fixed reference date the configuration sets (demo, tests)."""
    if has_app_context():
        fixed = current_app.config.get("CONGRESS_TODAY")
        if fixed:
            return fixed
    return local_today()


def utcnow() -> datetime:
    return datetime.now(UTC)


def local_now() -> datetime:
    """Now in Vietnam, as an aware datetime. With a fixed reference date (demo, tests) the date is
    that day and the time of day is the real one, so scheduled work keeps its daily rhythm."""
    real = datetime.now(UTC).astimezone(LOCAL_TZ)
    if has_app_context():
        fixed = current_app.config.get("CONGRESS_TODAY")
        if fixed:
            return real.replace(year=fixed.year, month=fixed.month, day=fixed.day)
    return real

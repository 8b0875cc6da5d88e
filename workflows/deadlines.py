"""Dates, deadlines and working days.

Every date in the engine is a local date in Asia/Ho_Chi_Minh. A deadline is a day plus its
wording: "trước ngày D" (before D, the last allowed day is D-1) or "chậm nhất ngày D" (by D,
D itself is allowed). A deadline passes at local midnight after its last allowed day.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cached_property, lru_cache
from zoneinfo import ZoneInfo

import holidays

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def local_today(now: datetime | None = None) -> date:
    """The current date in Vietnam (UTC+7), whatever the server's own time zone."""
    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return now.astimezone(LOCAL_TZ).date()


class DeadlineKind(str, enum.Enum):
    BEFORE = "before"  #: "trước ngày D": the last allowed day is D-1
    BY = "by"  #: "chậm nhất ngày D" / "đến ngày D": D is allowed


@dataclass(frozen=True)
class Deadline:
    day: date
    kind: DeadlineKind = DeadlineKind.BY

    @classmethod
    def from_last_day(cls, last_day: date, kind: DeadlineKind | str) -> Deadline:
        kind = DeadlineKind(kind)
        return cls(last_day + timedelta(days=1) if kind is DeadlineKind.BEFORE else last_day, kind)

    @cached_property  # a deadline never changes; this is asked for every step of every unit
    def last_allowed_day(self) -> date:
        return self.day - timedelta(days=1) if self.kind is DeadlineKind.BEFORE else self.day

    def is_missed(self, today: date) -> bool:
        """True from local midnight after the last allowed day."""
        return today > self.last_allowed_day

    def days_left(self, today: date) -> int:
        """Days from today to the last allowed day: 0 on that day, negative once missed."""
        return (self.last_allowed_day - today).days

    def as_dict(self) -> dict:
        return {
            "date": self.day.isoformat(),
            "kind": self.kind.value,
            "last_allowed_day": self.last_allowed_day.isoformat(),
        }


class WorkingCalendar:
    """Working days in Vietnam: Monday to Friday, less the public holidays.

    Holidays come from the maintained ``holidays`` package (including substituted days off,
    such as 1/9/2025 next to National Day); ``extra_days_off`` adds days a government decision
    declares after the package was released.
    """

    def __init__(self, extra_days_off: frozenset[date] = frozenset()):
        self.extra_days_off = frozenset(extra_days_off)

    @staticmethod
    @lru_cache(maxsize=64)
    def _holidays_of(year: int) -> frozenset[date]:
        return frozenset(holidays.country_holidays("VN", years=year).keys())

    def is_holiday(self, day: date) -> bool:
        return day in self._holidays_of(day.year) or day in self.extra_days_off

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < 5 and not self.is_holiday(day)

    def add_working_days(self, start: date, count: int) -> date:
        """The ``count``-th working day after ``start`` (before it when negative).

        ``count == 0`` returns ``start`` itself, even on a day off.
        """
        step = 1 if count >= 0 else -1
        remaining = abs(count)
        day = start
        while remaining:
            day += timedelta(days=step)
            if self.is_working_day(day):
                remaining -= 1
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in (start, end]; negative when end is before start."""
        if end < start:
            return -self.working_days_between(end, start)
        return sum(1 for n in range(1, (end - start).days + 1)
                   if self.is_working_day(start + timedelta(days=n)))


DEFAULT_CALENDAR = WorkingCalendar()

"""Time series for the dashboard's charts, from counts the database grouped by day."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True)
class DayPoint:
    day: date
    #: net change that day (completions less reopenings)
    change: int
    #: running total at the end of the day
    total: int


@dataclass(frozen=True)
class WeekPoint:
    #: Monday and Sunday of the week
    first: date
    last: date
    count: int
    #: running total at the end of the week
    total: int


def cumulative_by_day(changes: Iterable[tuple[date, int]], start: date, end: date) -> list[DayPoint]:
    """Every day from ``start`` to ``end`` with its change and running total.

    Changes dated before ``start`` are carried into the first day's total, and changes dated after
    ``end`` (possible only when "today" is a fixed reference date, as in the demo) into the last
    day's, so the series always ends at the true total.
    """
    by_day = dict(changes)
    running = sum(n for d, n in by_day.items() if d < start)
    later = sum(n for d, n in by_day.items() if d > end)
    points = []
    day = start
    while day <= end:
        change = by_day.get(day, 0) + (later if day == end else 0)
        running += change
        points.append(DayPoint(day, change, running))
        day += timedelta(days=1)
    return points


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def cumulative_by_week(counts: Iterable[tuple[date, int]], start: date, end: date) -> list[WeekPoint]:
    """Monday-to-Sunday weeks covering ``start`` to ``end``, with their counts and running totals."""
    counts = list(counts)
    running = sum(n for d, n in counts if d < week_start(start))
    weeks = []
    first = week_start(start)
    while first <= end:
        last = first + timedelta(days=6)
        count = sum(n for d, n in counts if first <= d <= last)
        running += count
        weeks.append(WeekPoint(first, last, count, running))
        first += timedelta(days=7)
    return weeks


@dataclass(frozen=True)
class LevelPoint:
    day: date
    #: the recorded level that day (a percentage), carried from the last recorded day
    value: int
    #: False for a day without its own snapshot (the value is carried forward)
    recorded: bool


def recorded_levels(levels: Iterable[tuple[date, int]], start: date, end: date) -> list[LevelPoint]:
    """Every day from ``start`` to ``end`` with the level recorded that night (the nightly
    readiness snapshots), a missing night carrying the previous value; empty without snapshots."""
    by_day = dict(levels)
    if not by_day:
        return []
    earlier = [d for d in by_day if d < start]
    value = by_day[max(earlier)] if earlier else 0
    points = []
    day = start
    while day <= end:
        recorded = day in by_day
        if recorded:
            value = by_day[day]
        points.append(LevelPoint(day, value, recorded))
        day += timedelta(days=1)
    return points

"""Charts drawn on the server as inline SVG: nothing to download, readable without script.

A chart here is geometry with its words already in the user's language; the macro in
templates/dashboard/_chart.html draws it with a <title>, a <desc> and a table of its data.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import gettext

from congress.dashboard.series import DayPoint, LevelPoint, WeekPoint
from congress.formatting import day_month, deadline_phrase, number
from workflows.deadlines import Deadline

WIDTH, HEIGHT = 480, 280
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 46, 34
#: at most this many labels on the horizontal axis, so they never overlap
MAX_X_LABELS = 9
#: a label's width per character, and the least gap between two labels, in the chart's units (at the
#: largest font the charts are drawn in, 15px on a phone)
LABEL_CHAR_WIDTH, LABEL_GAP = 8.5, 10


@dataclass(frozen=True)
class Tick:
    at: float
    label: str


@dataclass(frozen=True)
class Marker:
    """A vertical line across the plot (the deadline, today) with its label above the plot."""
    x: float
    label: str
    kind: str
    #: which line of the space above the plot holds the label (0 = top)
    row: int = 0


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    kind: str
    title: str


@dataclass(frozen=True)
class Series:
    """One more line on a chart, drawn in its own style (``kind``) and named in the legend."""
    kind: str
    points: str


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    description: str
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]
    #: the horizontal line of the whole (tasks assigned, branches in all)
    target: Tick | None = None
    line: str = ""
    area: str = ""
    rects: tuple[Rect, ...] = ()
    markers: tuple[Marker, ...] = ()
    legend: tuple[tuple[str, str], ...] = ()
    series: tuple[Series, ...] = ()
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = WIDTH - RIGHT
    top: int = TOP
    bottom: int = HEIGHT - BOTTOM


class DayScale:
    """Days from ``first`` to ``last`` (both shown) across the width of the plot."""

    def __init__(self, first: date, last: date):
        self.first = first
        self.last = last
        self.days = max(1, (last - first).days + 1)

    def x(self, day: date, at: float = 0.5) -> float:
        """Where ``day`` is: ``at`` 0 is its start, 0.5 its middle, 1 its end."""
        return round(LEFT + ((day - self.first).days + at) / self.days * (WIDTH - LEFT - RIGHT), 1)

    def mondays(self) -> list[date]:
        day = self.first + timedelta(days=(7 - self.first.weekday()) % 7)
        found = []
        while day <= self.last:
            found.append(day)
            day += timedelta(days=7)
        return found


def y_of(value: float, maximum: float) -> float:
    return round(HEIGHT - BOTTOM - value / maximum * (HEIGHT - TOP - BOTTOM), 1)


def nice_ticks(maximum: int, count: int = 4) -> list[int]:
    """0 and round steps (1, 2 or 5 × 10ⁿ) up to ``maximum``."""
    if maximum <= 0:
        return [0]
    raw = maximum / count
    magnitude = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    step = next(int(m * magnitude) for m in (1, 2, 5, 10) if m * magnitude >= raw)
    return list(range(0, maximum + 1, step))


def _thin(days: list[date]) -> list[date]:
    every = math.ceil(len(days) / MAX_X_LABELS) or 1
    return days[::every]


def _day_ticks(scale: DayScale) -> tuple[Tick, ...]:
    return _fitting([Tick(scale.x(d), day_month(d)) for d in _thin(scale.mondays())])


def _fitting(ticks: list[Tick]) -> tuple[Tick, ...]:
    """Evenly spaced labels, as many as fit side by side ("11 Aug" is longer than "11/8")."""
    if len(ticks) < 2:
        return tuple(ticks)
    room = ticks[1].at - ticks[0].at
    widest = max(len(t.label) for t in ticks) * LABEL_CHAR_WIDTH + LABEL_GAP
    return tuple(ticks[::math.ceil(widest / room) if room > 0 else 1])


def _y_ticks(maximum: int, whole: int) -> tuple[Tick, ...]:
    """Round values, leaving out one too close to the line of the whole (its label is there)."""
    gap = 0.08 * maximum
    return tuple(Tick(y_of(v, maximum), number(v)) for v in nice_ticks(maximum)
                 if v == 0 or abs(whole - v) > gap)


def _markers(scale: DayScale, deadline: Deadline, today: date) -> tuple[Marker, ...]:
    markers = [Marker(scale.x(deadline.last_allowed_day, 1.0),
                      gettext("Deadline: %(deadline)s", deadline=deadline_phrase(deadline)), "deadline", 0)]
    if scale.first <= today <= scale.last:
        markers.append(Marker(scale.x(today), gettext("Today, %(day)s", day=day_month(today)), "today", 1))
    return tuple(markers)


def progress_chart(points: list[DayPoint], *, assigned: int, deadline: Deadline, today: date,
                   last: date) -> Chart:
    """Unit steps finished, cumulative by day, against the number of tasks assigned."""
    scale = DayScale(points[0].day, max(last, points[-1].day))
    maximum = max([assigned, 1] + [p.total for p in points])
    start_total = points[0].total - points[0].change
    coords = [(scale.x(points[0].day, 0.0), y_of(start_total, maximum))]
    coords += [(scale.x(p.day), y_of(p.total, maximum)) for p in points]
    line = " ".join(f"{x},{y}" for x, y in coords)
    area = f"{line} {coords[-1][0]},{y_of(0, maximum)} {coords[0][0]},{y_of(0, maximum)}"
    final = points[-1]
    share = round(100 * final.total / assigned) if assigned else 0
    return Chart(
        key="progress-chart",
        title=gettext("Tasks completed over time"),
        description=gettext(
            "Tasks completed across the province, cumulative by day from %(first)s to %(last)s: "
            "%(done)s of %(assigned)s tasks assigned (%(share)s%%). Deadline: %(deadline)s.",
            first=day_month(points[0].day), last=day_month(final.day), done=number(final.total),
            assigned=number(assigned), share=share, deadline=deadline_phrase(deadline)),
        x_ticks=_day_ticks(scale),
        y_ticks=_y_ticks(maximum, assigned),
        target=Tick(y_of(assigned, maximum), gettext("%(count)s tasks assigned", count=number(assigned))),
        line=line, area=area, markers=_markers(scale, deadline, today),
        legend=(("line", gettext("tasks completed (cumulative)")),))


def branches_chart(weeks: list[WeekPoint], *, total: int, deadline: Deadline, today: date) -> Chart:
    """Branch congresses held, by week: what was held before the week and during it."""
    scale = DayScale(weeks[0].first, weeks[-1].last)
    maximum = max([total, 1] + [w.total for w in weeks])
    band = (WIDTH - LEFT - RIGHT) / len(weeks)
    width = round(band * 0.7, 1)
    rects = []
    for week in weeks:
        if week.first > today:
            continue
        x = round(scale.x(week.first, 0.0) + (band - width) / 2, 1)
        before = week.total - week.count
        span = gettext("%(first)s–%(last)s", first=day_month(week.first), last=day_month(week.last))
        title = gettext("Week %(week)s: %(count)s held in the week, %(total)s in all",
                        week=span, count=number(week.count), total=number(week.total))
        if before:
            rects.append(Rect(x, y_of(before, maximum), width,
                              round(y_of(0, maximum) - y_of(before, maximum), 1), "before", title))
        if week.count:
            rects.append(Rect(x, y_of(week.total, maximum), width,
                              round(y_of(before, maximum) - y_of(week.total, maximum), 1), "week", title))
    shown = [w for w in weeks if w.first <= today] or weeks[:1]
    held = shown[-1].total
    return Chart(
        key="branches-chart",
        title=gettext("Branch congresses held, by week"),
        description=gettext(
            "Branch congresses held in the province by week, cumulative: %(held)s of %(total)s "
            "branches (%(share)s%%) by %(day)s. Deadline: %(deadline)s.",
            held=number(held), total=number(total), share=round(100 * held / total) if total else 0,
            day=day_month(min(today, weeks[-1].last)), deadline=deadline_phrase(deadline)),
        x_ticks=_fitting([Tick(scale.x(w.first, 3.5), day_month(w.first)) for w in _thin_weeks(weeks)]),
        y_ticks=_y_ticks(maximum, total),
        target=Tick(y_of(total, maximum), gettext("%(count)s branches", count=number(total))),
        rects=tuple(rects), markers=_markers(scale, deadline, today),
        legend=(("before", gettext("held before the week")), ("week", gettext("held in the week"))))


def _thin_weeks(weeks: list[WeekPoint]) -> list[WeekPoint]:
    every = math.ceil(len(weeks) / MAX_X_LABELS) or 1
    return weeks[::every]


@dataclass(frozen=True)
class ReadinessDay:
    """One day of the readiness chart's data table."""
    day: date
    #: tasks done as a share of those assigned, from the history of changes
    derived: int
    #: the average readiness recorded that night; None before the first night recorded
    recorded: int | None
    #: False when the night was not recorded and the previous value is carried
    recorded_that_night: bool


def readiness_days(points: list[DayPoint], levels: list[LevelPoint], assigned: int) -> list[ReadinessDay]:
    """The two measures side by side, day by day (``levels`` may start later than ``points``, or be empty)."""
    by_day = {p.day: p for p in levels}
    found = []
    for point in points:
        level = by_day.get(point.day)
        found.append(ReadinessDay(point.day, round(100 * point.total / assigned) if assigned else 0,
                                  level.value if level else None, bool(level and level.recorded)))
    return found


def readiness_chart(days: list[ReadinessDay], *, deadline: Deadline, today: date, last: date) -> Chart:
    """Readiness over time, in per cent: the average recorded every night where it was, beside the
    share of tasks done reconstructed from the history of changes (all there is before the first
    night recorded, or without the nightly job)."""
    scale = DayScale(days[0].day, max(last, days[-1].day))
    derived = " ".join(f"{scale.x(d.day)},{y_of(d.derived, 100)}" for d in days)
    recorded_days = [d for d in days if d.recorded is not None]
    recorded = " ".join(f"{scale.x(d.day)},{y_of(d.recorded, 100)}" for d in recorded_days)
    final = days[-1]
    # the legend says why the two differ: readiness weighs the steps, the tasks count them alike
    derived_words = gettext("tasks done, share of those assigned (from the history of changes): every step "
                            "counts as one task, large or small, over all the units together")
    if recorded_days:
        description = gettext(
            "Average readiness of the province's units as recorded every night from %(first)s: %(recorded)s%% "
            "on %(last)s. Tasks done as a share of those assigned, from the history of changes: %(derived)s%%. "
            "Deadline: %(deadline)s.", first=day_month(recorded_days[0].day), recorded=final.recorded,
            last=day_month(final.day), derived=final.derived, deadline=deadline_phrase(deadline))
    else:
        description = gettext(
            "No night's readiness has been recorded yet; the line is reconstructed from the history of "
            "changes: tasks done as a share of those assigned, %(derived)s%% on %(last)s. Deadline: %(deadline)s.",
            derived=final.derived, last=day_month(final.day), deadline=deadline_phrase(deadline))
    series = [Series("derived", derived)]
    legend = [("derived", derived_words)]
    if recorded_days:
        series.append(Series("recorded", recorded))
        legend.insert(0, ("recorded", gettext(
            "average readiness recorded each night: each step counts by its share of the work (the political "
            "report weighs more than a small step), and the units' readiness is averaged")))
    return Chart(
        key="readiness-chart",
        title=gettext("Readiness over time"),
        description=description,
        x_ticks=_day_ticks(scale),
        y_ticks=tuple(Tick(y_of(v, 100), f"{v}%") for v in (0, 25, 50, 75)),
        target=Tick(y_of(100, 100), gettext("%(percent)s%% ready", percent=100)),
        series=tuple(series), markers=_markers(scale, deadline, today), legend=tuple(legend))

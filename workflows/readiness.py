"""Readiness: how far a unit is, whether it will make its deadline, and the city's figures.

Pure functions over plain facts, so the same numbers come out of a page, the API, a report and
a benchmark. Overdue is always derived here from the due date and today, never stored.
"""
from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from .deadlines import Deadline
from .rules import FINISHED, State


class Risk(str, enum.Enum):
    DONE = "done"
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    LATE = "late"


RISK_ORDER = (Risk.LATE, Risk.AT_RISK, Risk.ON_TRACK, Risk.DONE)
#: Without any completed step, a unit this close to its deadline is at risk.
NO_PROGRESS_WARNING_DAYS = 30


@dataclass(frozen=True)
class StepFacts:
    key: str
    weight: int
    state: State
    due: Deadline | None
    completed_on: date | None = None
    #: share (0..1) already achieved by a step with a roll-up rule, e.g. branches held / total
    partial: float | None = None


@dataclass(frozen=True)
class Reason:
    """Why a unit has its risk level: a code and its parameters, put into words by the app."""
    code: str
    params: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class UnitReadiness:
    percent: int
    steps_done: int
    steps_total: int
    steps_not_applicable: int
    branches_held: int
    branches_total: int
    overdue: tuple[str, ...]
    deadline: Deadline
    days_left: int
    projected_finish: date | None
    finished_on: date | None
    risk: Risk
    reasons: tuple[Reason, ...]


def is_overdue(state: State, due: Deadline | None, today: date) -> bool:
    """A step is overdue when its last allowed day has passed and it is not finished."""
    return due is not None and state not in FINISHED and due.is_missed(today)


#: "Due soon": the last allowed day falls within this many days, today included (7: today and the
#: six days after it).
DUE_SOON_DAYS = 7


def is_due_soon(state: State, due: Deadline | None, today: date, days: int = DUE_SOON_DAYS) -> bool:
    """A step not finished whose last allowed day is within the next ``days`` days, today included."""
    return (due is not None and state not in FINISHED
            and today <= due.last_allowed_day <= today + timedelta(days=days - 1))


def unit_readiness(steps: Sequence[StepFacts], *, branches_held: int, branches_total: int,
                   deadline: Deadline, started_on: date, today: date,
                   congress_on: date | None = None) -> UnitReadiness:
    # one pass over the steps (this runs for every unit of the country on a national overview)
    not_applicable, done = State.NOT_APPLICABLE, State.DONE
    applicable = total_weight = steps_done = 0
    done_weight = 0.0
    overdue_keys = []
    for s in steps:
        state = s.state
        if state is not_applicable:
            continue
        applicable += 1
        total_weight += s.weight
        if state is done:  # a done step is never overdue
            done_weight += s.weight
            steps_done += 1
            continue
        if s.partial:
            done_weight += s.weight * max(0.0, min(1.0, s.partial))
        if is_overdue(state, s.due, today):
            overdue_keys.append(s.key)
    finished = steps_done == applicable
    percent = 100 if finished else min(99, math.floor(100 * done_weight / total_weight)) if total_weight else 0
    overdue = tuple(overdue_keys)
    days_left = deadline.days_left(today)

    finished_on = None
    projected = None
    if finished:
        finished_on = max((s.completed_on for s in steps if s.state is not not_applicable and s.completed_on),
                          default=None)
        projected = finished_on
    elif done_weight > 0:
        elapsed = max(1, (today - started_on).days)
        pace = done_weight / elapsed
        projected = today + timedelta(days=math.ceil((total_weight - done_weight) / pace))

    reasons: list[Reason] = []
    if finished:
        risk = Risk.DONE
        reasons.append(Reason("finished", {"on": finished_on}))
    elif overdue or deadline.is_missed(today):
        risk = Risk.LATE
        if deadline.is_missed(today):
            reasons.append(Reason("deadline_missed", {"deadline": deadline, "days": -days_left}))
        if overdue:
            reasons.append(Reason("steps_overdue", {"count": len(overdue), "steps": overdue}))
    elif projected is not None and projected > deadline.last_allowed_day:
        risk = Risk.AT_RISK
        reasons.append(Reason("projected_after_deadline", {"projected": projected, "deadline": deadline}))
    elif projected is None and days_left <= NO_PROGRESS_WARNING_DAYS:
        risk = Risk.AT_RISK
        reasons.append(Reason("no_progress", {"days_left": days_left}))
    else:
        risk = Risk.ON_TRACK
        reasons.append(Reason("on_track", {"projected": projected, "days_left": days_left}))
    if congress_on is not None and congress_on > deadline.last_allowed_day and risk is not Risk.DONE:
        # planned after the deadline (only the city may, with a reason): by its own plan the unit
        # misses the deadline, so it is never on track
        if risk is Risk.ON_TRACK:
            risk, reasons = Risk.AT_RISK, [r for r in reasons if r.code != "on_track"]
        reasons.insert(0, Reason("congress_after_deadline", {"congress_on": congress_on, "deadline": deadline}))
    if branches_total and branches_held < branches_total and risk is not Risk.DONE:
        reasons.append(Reason("branches_pending", {"held": branches_held, "total": branches_total}))

    return UnitReadiness(
        percent=percent, steps_done=steps_done, steps_total=applicable,
        steps_not_applicable=len(steps) - applicable, branches_held=branches_held,
        branches_total=branches_total, overdue=overdue, deadline=deadline, days_left=days_left,
        projected_finish=projected, finished_on=finished_on, risk=risk, reasons=tuple(reasons))


def whole_percentages(counts: Sequence[int]) -> list[int]:
    """Whole percentages of ``counts`` that add up to exactly 100 (largest remainder method).

    Ties in the remainder go to the larger count, then to the earlier position, so the result
    is deterministic. All zeros give all zeros.
    """
    total = sum(counts)
    if total <= 0:
        return [0] * len(counts)
    exact = [100 * c / total for c in counts]
    floors = [math.floor(x) for x in exact]
    short = 100 - sum(floors)
    order = sorted(range(len(counts)), key=lambda i: (-(exact[i] - floors[i]), -counts[i], i))
    for i in order[:short]:
        floors[i] += 1
    return floors


@dataclass(frozen=True)
class TaskSummary:
    """The city's report shape: "N assigned; X done (p%), Y in progress (q%), Z overdue (r%)"."""
    assigned: int
    done: int
    in_progress: int
    overdue: int
    done_percent: int
    in_progress_percent: int
    overdue_percent: int
    #: of those "in progress" as the city counts them (not done, not overdue), the ones not started
    not_started: int = 0

    @property
    def started(self) -> int:
        """Of those "in progress", the ones started (begun, submitted, approved)."""
        return self.in_progress - self.not_started


def task_summary(steps: Iterable[tuple[State, Deadline | None]], today: date) -> TaskSummary:
    """Count tasks (steps) as the city does; not-applicable steps are not assigned. "In progress"
    is every task neither done nor overdue, the ones not started among them (``not_started``)."""
    done = in_progress = overdue = not_started = 0
    for state, due in steps:
        if state is State.NOT_APPLICABLE:
            continue
        if state is State.DONE:
            done += 1
        elif is_overdue(state, due, today):
            overdue += 1
        else:
            in_progress += 1
            not_started += state is State.NOT_STARTED
    return task_counts(done, in_progress, overdue, not_started)


def combined_tasks(summaries: Iterable[TaskSummary]) -> TaskSummary:
    """The tasks of several units (each counted by task_summary) as one summary."""
    done = in_progress = overdue = not_started = 0
    for t in summaries:
        done, in_progress, overdue, not_started = (done + t.done, in_progress + t.in_progress,
                                                   overdue + t.overdue, not_started + t.not_started)
    return task_counts(done, in_progress, overdue, not_started)


def task_counts(done: int, in_progress: int, overdue: int, not_started: int) -> TaskSummary:
    """The summary of these counts, with their shares in whole percentages."""
    p, q, r = whole_percentages([done, in_progress, overdue])
    return TaskSummary(done + in_progress + overdue, done, in_progress, overdue, p, q, r, not_started)


@dataclass(frozen=True)
class ProvinceReadiness:
    units: int
    by_risk: Mapping[Risk, int]
    risk_percentages: Mapping[Risk, int]
    percent: int
    branches_held: int
    branches_total: int
    tasks: TaskSummary


def province_readiness(units: Sequence[UnitReadiness], tasks: TaskSummary) -> ProvinceReadiness:
    by_risk = {risk: 0 for risk in RISK_ORDER}
    for unit in units:
        by_risk[unit.risk] += 1
    shares = whole_percentages([by_risk[r] for r in RISK_ORDER])
    percent = round(sum(u.percent for u in units) / len(units)) if units else 0
    return ProvinceReadiness(
        units=len(units), by_risk=by_risk, risk_percentages=dict(zip(RISK_ORDER, shares, strict=True)),
        percent=percent, branches_held=sum(u.branches_held for u in units),
        branches_total=sum(u.branches_total for u in units), tasks=tasks)


#: the recorded pace is measured over at most this many days
PACE_WINDOW_DAYS = 14


def projected_finish_from_history(history: Sequence[tuple[date, int]], window_days: int = PACE_WINDOW_DAYS
                                  ) -> date | None:
    """When a unit will reach 100% at the pace its nightly snapshots show.

    ``history`` is (day, percent) as recorded. The pace is the gain per day between the first
    and the last snapshot of the window ending at the last one; None when there are fewer than
    two snapshots in it or no gain. A unit already at 100% finished on the first day it was.
    """
    points = sorted(history)
    if not points:
        return None
    for day, percent in points:
        if percent >= 100:
            return day
    last_day, last_percent = points[-1]
    window = [(d, p) for d, p in points if (last_day - d).days <= window_days]
    first_day, first_percent = window[0]
    days = (last_day - first_day).days
    if days <= 0 or last_percent <= first_percent:
        return None
    pace = (last_percent - first_percent) / days
    return last_day + timedelta(days=math.ceil((100 - last_percent) / pace))

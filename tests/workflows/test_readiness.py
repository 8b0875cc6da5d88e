from datetime import date
from itertools import product

import pytest

from workflows.deadlines import Deadline, DeadlineKind
from workflows.readiness import Risk, StepFacts, province_readiness, task_summary, unit_readiness, whole_percentages
from workflows.rules import State

TODAY = date(2025, 8, 5)
START = date(2025, 7, 1)
DEADLINE = Deadline(date(2025, 8, 31), DeadlineKind.BEFORE)


def facts(*items):
    return [StepFacts(key, weight, state, Deadline(due) if due else None, completed)
            for key, weight, state, due, completed in items]


def test_city_report_shape_from_hai_phong():
    assert whole_percentages([4678, 1331, 75]) == [77, 22, 1]


@pytest.mark.parametrize("counts", [[1, 1, 1], [2, 2, 2], [1, 1, 1, 1, 1, 1, 1], [0, 0, 7], [1, 0, 0],
                                    [33, 33, 34], [1, 2, 3, 4, 5, 6], [999, 1, 0], [0, 0, 0]])
def test_percentages_add_up_to_100(counts):
    shares = whole_percentages(counts)
    assert sum(shares) == (100 if sum(counts) else 0)
    assert all(s >= 0 for s in shares)


def test_percentages_exhaustively_on_small_counts():
    for counts in product(range(8), repeat=3):
        if sum(counts):
            shares = whole_percentages(list(counts))
            assert sum(shares) == 100
            for c, s in zip(counts, shares, strict=True):
                assert abs(s - 100 * c / sum(counts)) < 1


def test_thirds_are_deterministic():
    assert whole_percentages([1, 1, 1]) == [34, 33, 33]


def test_done_unit():
    steps = facts(("a", 5, State.DONE, date(2025, 7, 10), date(2025, 7, 9)),
                  ("b", 5, State.NOT_APPLICABLE, date(2025, 7, 10), None),
                  ("c", 5, State.DONE, date(2025, 7, 30), date(2025, 7, 28)))
    r = unit_readiness(steps, branches_held=30, branches_total=30, deadline=DEADLINE, started_on=START, today=TODAY)
    assert r.risk is Risk.DONE and r.percent == 100 and r.finished_on == date(2025, 7, 28)
    assert (r.steps_done, r.steps_total, r.steps_not_applicable) == (2, 2, 1)


def test_overdue_step_makes_a_unit_late_with_reason():
    steps = facts(("plan", 5, State.DONE, date(2025, 7, 10), date(2025, 7, 9)),
                  ("drafts", 10, State.IN_PROGRESS, date(2025, 8, 4), None))
    r = unit_readiness(steps, branches_held=10, branches_total=40, deadline=DEADLINE, started_on=START, today=TODAY)
    assert r.risk is Risk.LATE and r.overdue == ("drafts",)
    assert [x.code for x in r.reasons] == ["steps_overdue", "branches_pending"]


def test_due_today_is_not_overdue_and_before_d_is():
    by = facts(("a", 1, State.IN_PROGRESS, date(2025, 8, 5), None))
    assert unit_readiness(by, branches_held=0, branches_total=0, deadline=DEADLINE, started_on=START,
                          today=TODAY).overdue == ()
    before = [StepFacts("a", 1, State.IN_PROGRESS, Deadline(date(2025, 8, 5), DeadlineKind.BEFORE))]
    assert unit_readiness(before, branches_held=0, branches_total=0, deadline=DEADLINE, started_on=START,
                          today=TODAY).overdue == ("a",)


def test_pace_projects_the_finish_and_flags_risk():
    # 35 days since 1/7, 40 of 100 weight done: 8/7 a day, 60 left -> 53 more days -> 27/9, after 30/8
    steps = facts(("a", 40, State.DONE, date(2025, 8, 30), date(2025, 7, 20)),
                  ("b", 60, State.IN_PROGRESS, date(2025, 8, 30), None))
    r = unit_readiness(steps, branches_held=0, branches_total=0, deadline=DEADLINE, started_on=START, today=TODAY)
    assert r.projected_finish == date(2025, 9, 27)
    assert r.risk is Risk.AT_RISK and r.reasons[0].code == "projected_after_deadline"
    fast = facts(("a", 70, State.DONE, date(2025, 8, 30), date(2025, 7, 20)),
                 ("b", 30, State.IN_PROGRESS, date(2025, 8, 30), None))
    r = unit_readiness(fast, branches_held=0, branches_total=0, deadline=DEADLINE, started_on=START, today=TODAY)
    assert r.risk is Risk.ON_TRACK and r.projected_finish <= DEADLINE.last_allowed_day
    assert r.percent == 70 and r.days_left == 25


def test_roll_up_partial_progress_counts():
    steps = [StepFacts("branches", 20, State.IN_PROGRESS, Deadline(date(2025, 8, 20)), partial=0.5),
             StepFacts("other", 20, State.NOT_STARTED, Deadline(date(2025, 8, 20)))]
    r = unit_readiness(steps, branches_held=20, branches_total=40, deadline=DEADLINE, started_on=START, today=TODAY)
    assert r.percent == 25


def test_no_progress_close_to_deadline_is_at_risk():
    steps = facts(("a", 1, State.NOT_STARTED, date(2025, 8, 30), None))
    r = unit_readiness(steps, branches_held=0, branches_total=0, deadline=DEADLINE, started_on=START, today=TODAY)
    assert r.risk is Risk.AT_RISK and r.reasons[0].code == "no_progress"
    assert r.projected_finish is None


def test_missed_deadline_is_late_even_without_overdue_steps():
    steps = facts(("a", 1, State.IN_PROGRESS, None, None))
    r = unit_readiness(steps, branches_held=0, branches_total=0, deadline=Deadline(date(2025, 8, 1)),
                       started_on=START, today=TODAY)
    assert r.risk is Risk.LATE and r.reasons[0].code == "deadline_missed"


def test_task_summary_and_province_rollup():
    due_past, due_later = Deadline(date(2025, 8, 1)), Deadline(date(2025, 8, 30))
    rows = [(State.DONE, due_past), (State.IN_PROGRESS, due_past), (State.NOT_STARTED, due_later),
            (State.SUBMITTED, due_later), (State.NOT_APPLICABLE, due_past), (State.APPROVED, due_past)]
    t = task_summary(rows, TODAY)
    assert (t.assigned, t.done, t.in_progress, t.overdue) == (5, 1, 2, 2)
    assert t.done_percent + t.in_progress_percent + t.overdue_percent == 100
    units = [unit_readiness(facts(("a", 1, State.DONE, None, date(2025, 7, 2))), branches_held=1,
                            branches_total=1, deadline=DEADLINE, started_on=START, today=TODAY)] * 3
    p = province_readiness(units, t)
    assert p.by_risk[Risk.DONE] == 3 and sum(p.risk_percentages.values()) == 100
    assert p.branches_held == 3

from datetime import UTC, date, datetime

import pytest

from workflows.deadlines import Deadline, DeadlineKind, WorkingCalendar, local_today
from workflows.loader import DueRule

CAL = WorkingCalendar()


def test_before_d_last_allowed_day_is_the_day_before():
    deadline = Deadline(date(2025, 8, 20), DeadlineKind.BEFORE)
    assert deadline.last_allowed_day == date(2025, 8, 19)
    assert not deadline.is_missed(date(2025, 8, 19))
    assert deadline.is_missed(date(2025, 8, 20))
    assert deadline.days_left(date(2025, 8, 19)) == 0
    assert deadline.days_left(date(2025, 8, 21)) == -2


def test_by_d_includes_d():
    deadline = Deadline(date(2025, 8, 20), DeadlineKind.BY)
    assert deadline.last_allowed_day == date(2025, 8, 20)
    assert not deadline.is_missed(date(2025, 8, 20))
    assert deadline.is_missed(date(2025, 8, 21))


@pytest.mark.parametrize("kind", list(DeadlineKind))
def test_from_last_day_round_trips(kind):
    deadline = Deadline(date(2025, 8, 31), kind)
    assert Deadline.from_last_day(deadline.last_allowed_day, kind) == deadline


def test_local_today_is_vietnam_date():
    # 17:30 UTC on 19/8 is already 00:30 on 20/8 in Hà Nội: a "before 20/8" deadline has passed
    now = datetime(2025, 8, 19, 17, 30, tzinfo=UTC)
    assert local_today(now) == date(2025, 8, 20)
    assert Deadline(date(2025, 8, 20), DeadlineKind.BEFORE).is_missed(local_today(now))
    assert local_today(datetime(2025, 8, 19, 16, 59, tzinfo=UTC)) == date(2025, 8, 19)


def test_national_day_2025_is_two_days_off():
    assert CAL.is_holiday(date(2025, 9, 2))
    assert CAL.is_holiday(date(2025, 9, 1))  # the day next to National Day in 2025
    assert not CAL.is_working_day(date(2025, 9, 1))
    assert CAL.is_working_day(date(2025, 9, 3))


def test_working_day_offset_across_national_day():
    # Friday 29/8/2025 + 1 working day: Sat, Sun, Mon 1/9 and Tue 2/9 are off -> Wed 3/9
    assert CAL.add_working_days(date(2025, 8, 29), 1) == date(2025, 9, 3)
    # 7 working days after a congress on Thursday 28/8/2025 (report to the city)
    assert CAL.add_working_days(date(2025, 8, 28), 7) == date(2025, 9, 10)
    # backwards over the same holiday
    assert CAL.add_working_days(date(2025, 9, 3), -1) == date(2025, 8, 29)
    assert CAL.working_days_between(date(2025, 8, 29), date(2025, 9, 3)) == 1


def test_working_days_skip_weekends_and_lunar_new_year():
    assert CAL.add_working_days(date(2025, 7, 4), 1) == date(2025, 7, 7)  # Friday -> Monday
    # Tết 2025: 27/1 - 31/1 off; Friday 24/1 + 1 working day -> Monday 3/2
    assert CAL.add_working_days(date(2025, 1, 24), 1) == date(2025, 2, 3)
    assert CAL.add_working_days(date(2025, 8, 9), 0) == date(2025, 8, 9)  # a Saturday stays


def test_extra_days_off_are_respected():
    cal = WorkingCalendar(extra_days_off=frozenset({date(2025, 8, 4)}))
    assert cal.add_working_days(date(2025, 8, 1), 1) == date(2025, 8, 5)


def test_due_rule_offsets_and_fallbacks():
    congress = Deadline(date(2025, 9, 4))
    anchors = {"deadline": Deadline(date(2025, 9, 10), DeadlineKind.BEFORE), "congress": congress}
    assert DueRule(anchor="congress", offset=-1, days="working").resolve(anchors).day == date(2025, 9, 3)
    # Thursday 4/9 - 2 working days: Wed 3/9, then Tue 2/9 and Mon 1/9 are off -> Fri 29/8
    assert DueRule(anchor="congress", offset=-2, days="working").resolve(anchors).day == date(2025, 8, 29)
    assert DueRule(anchor="congress", offset=-3, days="working").resolve(anchors).day == date(2025, 8, 28)
    assert DueRule(anchor="congress", offset=-3).resolve(anchors).day == date(2025, 9, 1)
    # no congress date yet: count from the deadline's last allowed day (9/9)
    no_congress = {**anchors, "congress": None}
    assert DueRule(anchor="congress", offset=-2).resolve(no_congress).day == date(2025, 9, 7)
    # offset 0 from a "before" deadline keeps its wording
    assert DueRule(anchor="deadline").resolve(anchors) == anchors["deadline"]
    fixed = Deadline(date(2025, 7, 15), DeadlineKind.BEFORE)
    assert DueRule(fixed=fixed).resolve({}) == fixed
    assert DueRule(anchor="congress").resolve({"congress": None, "deadline": None}) is None

"""Counts in their own words: real plurals in English, no "0 bước đến hạn", a deadline's last day
said once when its wording already says it, and which deadline a count of days counts to."""
from __future__ import annotations

from flask_babel import force_locale

from congress.messages import describe, describe_reason
from congress.notices import texts
from congress.notices.models import Notification
from workflows.readiness import Reason


def notice(kind: str, **params) -> Notification:
    return Notification(kind=kind, params={"unit_name": "Phường Tứ Minh", **params})


def test_english_counts_are_singular_or_plural(app):
    with force_locale("en"):
        assert describe_reason(Reason("deadline_missed", {"deadline": "20/8/2025", "days": 1})) == \
            "The deadline (20/8/2025) passed 1 day ago."
        assert "2 days ago" in describe_reason(Reason("deadline_missed", {"deadline": "20/8/2025", "days": 2}))
        assert describe("import_has_errors", {"count": 1}).startswith("1 row has errors")
        assert describe("import_has_errors", {"count": 3}).startswith("3 rows have errors")
        assert texts.title(notice("due_soon", step="plan", days_left=1)) == "Due in 1 day: plan (Phường Tứ Minh)"
        assert "(s)" not in texts.title(notice("city_alert", days_late=4))


def test_a_projected_date_says_which_deadline_its_days_count_to(app):
    with force_locale("vi"):
        text = describe_reason(Reason("on_track", {"projected": "12/8/2025", "days_left": 25}))
    assert text.endswith("còn 25 ngày đến thời hạn.")


def test_a_digest_with_nothing_due_says_so_in_words(app):
    with force_locale("vi"):
        line = texts._unit_digest_line(0, 0, "12/8/2025", 2)
    assert "0 bước" not in line and "0 thay đổi" not in line
    assert line == "Hôm nay không có thay đổi; không có bước nào đến hạn đến ngày 12/8/2025; 2 bước quá hạn."


def test_the_last_allowed_day_is_said_once(app):
    with force_locale("vi"):
        by = texts.summary(notice("due_soon", step="plan", last_day="2025-08-12", due_kind="by", days_left=7))
        before = texts.summary(notice("due_soon", step="plan", last_day="2025-08-19", due_kind="before",
                                      days_left=14))
    assert by == "Bước “plan” phải hoàn thành chậm nhất ngày 12/8/2025."
    assert before == "Bước “plan” phải hoàn thành trước ngày 20/8/2025 (ngày cuối cùng: 19/8/2025)."


def test_a_reminder_of_an_approved_step_says_what_is_left(app):
    with force_locale("vi"):
        approved = texts.summary(notice("due_soon", step="plan", last_day="2025-08-12", due_kind="by",
                                        days_left=7, state="approved"))
        open_step = texts.summary(notice("overdue", step="plan", last_day="2025-08-01", due_kind="by",
                                         state="in_progress"))
    assert approved.endswith("Đã duyệt — còn bấm “Hoàn thành”.")
    assert "Hoàn thành”" not in open_step


def test_reminders_carry_the_state_of_their_step(app):
    from congress.clock import utcnow
    from congress.extensions import db
    from congress.notices import jobs
    from congress.notices.models import Notification as Stored

    jobs.send_reminders(utcnow())
    states = {n.params.get("state") for n in db.session.execute(
        db.select(Stored).where(Stored.kind.in_(("due_soon", "overdue")))).scalars()}
    assert states and None not in states

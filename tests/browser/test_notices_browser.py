"""The bell and the end-of-day digest in a real browser.

The day's jobs run first with the clock set to the demo's day (5 August 2025): reminders and the
city's alerts in the morning, the digests at half past five. Unit staff and city leadership then
sign in, see the bell's unread count, open the list and a digest (which reads it), and mark all as read.
"""
from __future__ import annotations

import re
from datetime import datetime

import pytest

from congress.accounts.models import User
from congress.extensions import db
from congress.notices import jobs
from congress.notices.models import Notification
from tests.browser.conftest import NARROW, WIDE, login, no_horizontal_overflow, screenshot
from workflows.deadlines import LOCAL_TZ

DIGEST_TITLE = "Tổng hợp cuối ngày 5/8/2025"
DIGEST_HEADINGS_UNIT = ("Thay đổi trong ngày", "Đến hạn đến ngày 6/8/2025", "Vướng mắc và lý do")
DIGEST_HEADINGS_CITY = ("Đơn vị có thay đổi trong ngày", "Đến hạn đến ngày 6/8/2025", "Vướng mắc và lý do")


@pytest.fixture
def day_run(app):
    """The demo day's reminders, city alerts and digests, as the scheduler would run them."""
    morning = datetime(2025, 8, 5, 8, 0, tzinfo=LOCAL_TZ)
    evening = datetime(2025, 8, 5, 17, 30, tzinfo=LOCAL_TZ)
    results = [jobs.send_reminders(morning), jobs.send_city_alerts(morning), jobs.send_digests(evening)]
    db.session.commit()
    assert all(r.skipped is None for r in results) and sum(r.created for r in results) > 0
    return results


def unread_of(username: str) -> int:
    db.session.expire_all()
    user = db.session.execute(db.select(User).filter_by(username=username)).scalar_one()
    return db.session.execute(db.select(db.func.count(Notification.id)).where(
        Notification.user_id == user.id, Notification.in_app.is_(True), Notification.read_at.is_(None))).scalar_one()


def bell_count(page) -> int:
    bell = page.locator("#bell-count")
    return int(bell.inner_text()) if bell.count() else 0


def open_digest(page, title: str) -> int:
    """Open the digest from the list; the bell's count before."""
    page.locator("#bell").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("heading", level=1, name="Thông báo").is_visible()
    before = bell_count(page)
    page.locator("ol.notices").get_by_role("link", name=title).first.click()
    page.wait_for_load_state("networkidle")
    return before


def check_sections(page, headings, level: int = 2) -> None:
    for heading in headings:
        assert page.get_by_role("heading", level=level, name=heading).first.is_visible(), heading
    for section in page.locator("section[aria-labelledby^='digest-']").all():
        # every section says something: its list, or "Không có"
        assert section.locator("li").count() or "Không có" in section.inner_text()


def opening_read_it(page, username: str, before: int) -> None:
    """Opening a notice reads it: the bell counts one fewer, and there is nothing left to mark."""
    assert bell_count(page) == before - 1 == unread_of(username)
    assert page.get_by_role("button", name="Đánh dấu đã đọc").count() == 0


def mark_all_read(page, username: str) -> None:
    page.locator("#bell").click()
    page.wait_for_load_state("networkidle")
    unread = bell_count(page)
    assert unread > 0 and page.locator("li.notice.is-unread").count() == unread
    page.get_by_role("button", name="Đánh dấu tất cả là đã đọc").click()
    page.wait_for_load_state("networkidle")
    assert page.locator("#bell-count").count() == 0 and unread_of(username) == 0
    assert page.locator("li.notice.is-unread").count() == 0
    assert page.locator(".flash").inner_text() == f"Đã đánh dấu đã đọc {unread} thông báo."
    assert page.get_by_role("button", name="Đánh dấu tất cả là đã đọc").count() == 0


def test_unit_staff_read_the_bell_and_the_days_digest(new_page, day_run):
    page = new_page(WIDE)
    login(page, "tuminh.vanphong")
    unread = unread_of("tuminh.vanphong")
    assert unread >= 2 and bell_count(page) == unread
    before = open_digest(page, DIGEST_TITLE)
    assert page.get_by_role("heading", level=1, name=DIGEST_TITLE).is_visible()
    # a part per campaign of the unit, under the campaign's name
    assert page.locator("section.digest-campaign h2").count() >= 1
    check_sections(page, DIGEST_HEADINGS_UNIT, level=3)
    # the unit's own overdue steps are listed with how late they are, or the section says there are none
    blocked = page.locator("section[aria-labelledby='digest-blocked']").inner_text()
    assert "quá hạn" in blocked or "Không có" in blocked
    screenshot(page, "notices-digest-unit")
    opening_read_it(page, "tuminh.vanphong", before)
    page.locator("#bell").click()
    page.wait_for_load_state("networkidle")
    screenshot(page, "notices-list-unit")
    mark_all_read(page, "tuminh.vanphong")

    # another unit's staff have their own digest, unread
    other = new_page(NARROW)
    login(other, "hongbang.vanphong")
    assert bell_count(other) == unread_of("hongbang.vanphong") > 0
    assert no_horizontal_overflow(other)
    open_digest(other, DIGEST_TITLE)
    check_sections(other, DIGEST_HEADINGS_UNIT, level=3)
    assert no_horizontal_overflow(other)
    screenshot(other, "notices-digest-unit")
    other.locator("#bell").click()
    other.wait_for_load_state("networkidle")
    assert no_horizontal_overflow(other)
    screenshot(other, "notices-list-unit")


def test_city_leadership_read_the_province_digest(new_page, day_run):
    narrow = new_page(NARROW)
    login(narrow, "thanhuy.lanhdao")
    unread = unread_of("thanhuy.lanhdao")
    assert unread >= 1 and bell_count(narrow) == unread and narrow.locator("#bell").is_visible()
    assert no_horizontal_overflow(narrow)
    screenshot(narrow, "notices-bell-city", full_page=False)

    page = new_page(WIDE)
    login(page, "thanhuy.lanhdao")
    assert bell_count(page) == unread
    before = open_digest(page, DIGEST_TITLE)
    check_sections(page, DIGEST_HEADINGS_CITY)
    # the units with changes today link to their pages, with how many changes
    changed = page.locator("section[aria-labelledby='digest-changed'] li")
    assert changed.count() >= 1 and re.search(r"\d+ thay đổi$", changed.first.inner_text())
    assert "Đơn vị chậm tiến độ:" in page.locator("section[aria-labelledby='digest-blocked']").inner_text()
    screenshot(page, "notices-digest-city")
    opening_read_it(page, "thanhuy.lanhdao", before)
    mark_all_read(page, "thanhuy.lanhdao")
    screenshot(page, "notices-list-city")
    # the narrow page, reloaded, has no count left either
    narrow.reload()
    assert bell_count(narrow) == 0

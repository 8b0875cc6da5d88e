"""Notifications as a user meets them (issue 16): opening one reads it; a reminder of a step that is
finished since says so and no longer counts unread; each role is offered only the kinds it can
receive; the calendar address is shown whole with a copy button; people are named by their display
names; the favicon answers; a user name signs in whatever its case."""
from __future__ import annotations

import re
from datetime import datetime

import pytest
import sqlalchemy as sa

from congress.accounts.models import User
from congress.extensions import db
from congress.notices import jobs
from congress.notices.models import Notification
from congress.progress.models import Step
from tests.browser.conftest import NARROW, WIDE, login, no_horizontal_overflow, screenshot
from workflows.deadlines import LOCAL_TZ

MORNING = datetime(2025, 8, 5, 8, 0, tzinfo=LOCAL_TZ)
EVENING = datetime(2025, 8, 5, 17, 30, tzinfo=LOCAL_TZ)


@pytest.fixture
def day_run(app):
    results = [jobs.send_reminders(MORNING), jobs.send_city_alerts(MORNING), jobs.send_digests(EVENING)]
    db.session.commit()
    assert sum(r.created for r in results) > 0


def user(username: str) -> User:
    return db.session.execute(db.select(User).filter_by(username=username)).scalar_one()


def unread_in_db(username: str) -> set[int]:
    db.session.expire_all()
    return set(db.session.execute(db.select(Notification.id).where(
        Notification.user_id == user(username).id, Notification.read_at.is_(None))).scalars())


def bell(page) -> int:
    count = page.locator("#bell-count")
    return int(count.inner_text()) if count.count() else 0


def to_english(page) -> None:
    page.get_by_role("link", name="English").click()
    page.wait_for_load_state("networkidle")


@pytest.mark.parametrize("width", [WIDE, NARROW])
def test_opening_a_notice_reads_it(new_page, day_run, width):
    page = new_page(width)
    login(page, "tuminh.vanphong")
    before = bell(page)
    assert before >= 2
    page.locator("#bell").click()
    page.wait_for_load_state("networkidle")
    first = page.locator("li.notice.is-unread").first
    notice_id = int(first.get_attribute("id").removeprefix("notice-"))
    first.locator(".notice-head a").click()
    page.wait_for_load_state("networkidle")
    # the page that shows it has read it: the bell counts one fewer, the database agrees
    assert bell(page) == before - 1
    assert notice_id not in unread_in_db("tuminh.vanphong")
    assert page.get_by_role("button", name=re.compile("Đánh dấu đã đọc|Mark as read")).count() == 0
    assert no_horizontal_overflow(page)
    screenshot(page, "issue16-notice-opened")
    # opened again: still read, nothing else changes
    page.reload()
    assert bell(page) == before - 1
    page.locator("#bell").click()
    page.wait_for_load_state("networkidle")
    assert page.locator(f"#notice-{notice_id}.is-unread").count() == 0
    to_english(page)
    page.goto(f"/notifications/{notice_id}")
    screenshot(page, "issue16-notice-opened-en")


@pytest.mark.parametrize("width", [WIDE, NARROW])
def test_a_reminder_of_a_step_done_since_says_so_and_is_settled(new_page, day_run, width):
    staff = user("tuminh.vanphong")
    reminders = list(db.session.execute(db.select(Notification).where(
        Notification.user_id == staff.id, Notification.kind.in_(("due_soon", "overdue")))).scalars())
    assert reminders, "the demo day reminds Tứ Minh's staff of steps"
    reminder = reminders[0]
    # the step is finished since the reminder was made (by whatever way: the rule reads the step)
    db.session.execute(sa.update(Step).where(Step.id == reminder.params["step_id"]).values(state="done"))
    db.session.commit()
    page = new_page(width)
    login(page, "tuminh.vanphong")
    unread = unread_in_db("tuminh.vanphong")
    settled_ids = {n.id for n in reminders if n.params["step_id"] == reminder.params["step_id"]}
    assert bell(page) == len(unread - settled_ids)
    page.locator("#bell").click()
    page.wait_for_load_state("networkidle")
    item = page.locator(f"#notice-{reminder.id}")
    assert "is-unread" not in item.get_attribute("class") and "is-settled" in item.get_attribute("class")
    assert "“hoàn thành”" in item.locator(".settled").inner_text()
    assert item.get_by_role("button").count() == 0  # nothing to mark: it is settled
    assert no_horizontal_overflow(page)
    item.scroll_into_view_if_needed()
    screenshot(page, "issue16-notices-settled")
    to_english(page)
    item = page.locator(f"#notice-{reminder.id}")
    assert item.locator(".settled").inner_text() == "✓ Settled: this step is now “done”, nothing is left to do."
    screenshot(page, "issue16-notices-settled-en")
    item.locator(".notice-head a").click()
    page.wait_for_load_state("networkidle")
    assert page.locator(".settled").inner_text().startswith("✓ Settled")


CITY_ONLY = ("Đơn vị chậm tiến độ (thành phố)", "Đơn vị trình hồ sơ lên Thành ủy (thành phố)")
UNIT_ONLY = ("Nhắc việc trước hạn", "Một bước đã quá hạn", "Thành ủy phê duyệt hoặc trả lại hồ sơ đơn vị trình")


@pytest.mark.parametrize("width", [WIDE, NARROW])
def test_each_role_is_offered_only_the_kinds_it_receives(new_page, width):
    page = new_page(width)
    login(page, "tuminh.vanphong")
    page.goto("/notifications/settings")
    rows = page.locator("tbody th[scope=row]").all_inner_texts()
    assert not set(CITY_ONLY) & set(rows) and set(UNIT_ONLY) <= set(rows), rows
    assert no_horizontal_overflow(page)
    screenshot(page, "issue16-settings-unit")
    # saving keeps the kinds not offered as they were: on
    page.get_by_role("button", name="Lưu").click()
    page.wait_for_load_state("networkidle")
    city = new_page(width)
    login(city, "thanhuy.vanphong")
    city.goto("/notifications/settings")
    rows = city.locator("tbody th[scope=row]").all_inner_texts()
    assert set(CITY_ONLY) <= set(rows) and not set(UNIT_ONLY) & set(rows), rows
    screenshot(city, "issue16-settings-city")
    to_english(city)
    assert "Reminders before a step falls due" not in city.locator("tbody").inner_text()
    screenshot(city, "issue16-settings-city-en")


@pytest.mark.parametrize("width", [WIDE, NARROW])
def test_the_calendar_address_is_shown_whole_with_a_copy_button(new_page, width):
    page = new_page(width)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    login(page, "tuminh.vanphong")
    page.goto("/notifications/settings")
    page.get_by_role("button", name="Tạo địa chỉ cho các hạn của tôi").click()
    page.wait_for_load_state("networkidle")
    address = page.locator("#new-calendar-url")
    url = address.inner_text().strip()
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/calendar/[\w-]+\.ics", url), url
    # whole: nothing of it is cut off (it wraps inside its box), and the page does not scroll sideways
    assert address.evaluate("e => e.scrollWidth <= e.clientWidth + 1")
    assert no_horizontal_overflow(page)
    copy = page.get_by_role("button", name="Sao chép địa chỉ")
    if not copy.count():
        copy = page.get_by_role("button", name="Copy the address")  # before the lead merges the words
    assert copy.is_visible()
    copy.click()
    assert page.evaluate("navigator.clipboard.readText()") == url
    screenshot(page, "issue16-calendar-address")
    page.get_by_role("link", name="English").click()
    page.wait_for_load_state("networkidle")
    page.get_by_role("button", name="New address for my deadlines").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("button", name="Copy the address").is_visible()
    assert no_horizontal_overflow(page)
    screenshot(page, "issue16-calendar-address-en")


def test_people_are_named_by_their_display_names(app, new_page):
    from tests.test_web_units import act, signed_in

    staff = user("tuminh.vanphong")
    assert staff.display_name != staff.username
    client = signed_in(app, "tuminh.vanphong")
    assert act(client, "10891", "archive", "mark_not_applicable", note="Không cần lưu riêng").status_code == 302
    jobs.send_digests(EVENING)
    db.session.commit()
    for width in (WIDE, NARROW):
        page = new_page(width)
        login(page, "tuminh.vanphong")
        page.goto("/units/10891/history")
        first = page.locator(".history .entry").first.locator(".meta").inner_text()
        assert first.endswith(f" · {staff.display_name}") and "tuminh.vanphong" not in first, first
        assert "tuminh.vanphong" not in page.locator("main").inner_text()
        screenshot(page, "issue16-history", full_page=False)
        # the day's digest names the people of its changes the same way
        digest = db.session.execute(db.select(Notification).where(
            Notification.user_id == staff.id, Notification.kind == "digest")).scalars().one()
        assert "tuminh.vanphong" in {c["actor"] for part in digest.params["campaigns"] for c in part["changes"]}
        page.goto(f"/notifications/{digest.id}")
        changes = page.locator("section[aria-labelledby='digest-changed']").inner_text()
        assert staff.display_name in changes and "tuminh.vanphong" not in changes, changes
        assert no_horizontal_overflow(page)
        screenshot(page, "issue16-digest-names")
        to_english(page)
        assert staff.display_name in page.locator("section[aria-labelledby='digest-changed']").inner_text()
        screenshot(page, "issue16-digest-names-en")


def test_the_favicon_answers(new_page):
    page = new_page(WIDE)
    missing = []
    page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
    page.goto("/login")
    page.wait_for_load_state("networkidle")
    icon = page.locator("link[rel=icon]").get_attribute("href")
    answer = page.request.get(icon)
    assert answer.status == 200 and answer.headers["content-type"].startswith("image/svg+xml")
    assert b"<svg" in answer.body()
    ico = page.request.get("/favicon.ico")
    assert ico.status == 200 and ico.headers["content-type"].startswith("image/svg+xml")
    assert not missing, missing


@pytest.mark.parametrize("spelling", ["TuMinh.VanPhong", "  TUMINH.VANPHONG "])
def test_a_user_name_signs_in_whatever_its_case(new_page, spelling):
    page = new_page(NARROW)
    login(page, spelling)
    assert page.url.endswith("/units/10891")
    assert page.locator(".who").inner_text() == user("tuminh.vanphong").display_name

"""The branch page at a phone's width: one short row a branch (code, name, date, state), its form
opened on request. Tứ Minh, the demo's largest unit (105 branches), was some 34,000 px tall."""
from __future__ import annotations

import os
import re

import pytest

from congress.extensions import db
from congress.units.models import Branch, Unit
from tests.browser.conftest import NARROW, WIDE, login, no_horizontal_overflow

SHOTS = os.environ.get("SHOTS_16")  # a folder for screenshots to look at, when set


def largest_unit(pending: bool = False) -> tuple[str, int]:
    """The unit with the most branches (with ``pending``: of those with a branch not yet held)."""
    query = (db.select(Unit.code, db.func.count(Branch.id)).join(Branch, Branch.unit_id == Unit.id)
             .group_by(Unit.code).order_by(db.func.count(Branch.id).desc(), Unit.code).limit(1))
    if pending:
        query = query.having(db.func.count(Branch.id) > db.func.count(Branch.held_on))
    code, count = db.session.execute(query).one()
    return code, count


def first_pending(code: str) -> Branch:
    return db.session.execute(db.select(Branch).join(Unit).where(Unit.code == code, Branch.held_on.is_(None))
                              .order_by(Branch.code)).scalars().first()


def page_height(page) -> int:
    return page.evaluate("document.documentElement.scrollHeight")


def shot(page, name: str, around=None) -> None:
    """A full page, or the part of it around a locator."""
    if not SHOTS:
        return
    if around is None:
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)
        return
    top = page.evaluate("e => e.getBoundingClientRect().top + window.scrollY", around.element_handle())
    page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True,
                    clip={"x": 0, "y": max(0, top - 200), "width": page.viewport_size["width"], "height": 800})


@pytest.mark.parametrize("user", ["staff", "thanhuy.vanphong"])
def test_branch_page_at_360_is_one_short_row_a_branch(new_page, make_user, user):
    code, count = largest_unit()
    assert count >= 100
    if user == "staff":
        user = "largest.vanphong"
        make_user(user, "unit_staff", unit=code)
    page = new_page(NARROW)
    login(page, user)
    page.goto(f"/units/{code}/branches")
    rows = page.locator("tbody tr[id^=branch-]")
    assert rows.count() == count
    height = page_height(page)
    shot(page, f"branches-360-{'staff' if 'largest' in user else 'city'}")
    # the old layout: one block of eight labelled lines a branch, about 330 px each (34,000 px)
    assert height < 90 * count, height
    assert no_horizontal_overflow(page)
    # each row shows the branch's code, its name, a date or its absence, and its steps
    first = rows.first
    branch = db.session.execute(db.select(Branch).join(Unit).where(Unit.code == code)
                                .order_by(Branch.code)).scalars().first()
    text = first.inner_text()
    assert branch.name in text
    assert branch.code in text
    assert re.search(r"\d+/\d+", text)  # the steps finished, "2/5"
    assert first.bounding_box()["height"] < 70
    heights = sorted(rows.nth(i).bounding_box()["height"] for i in range(0, count, 7))
    assert heights[len(heights) // 2] < 70, heights


def _largest_at_360(new_page, make_user, query: str):
    """The unit with the most branches, its first branch not yet held, and its branch page at 360 px
    as its staff see it."""
    code, count = largest_unit(pending=True)
    assert count >= 100
    make_user("largest.vanphong", "unit_staff", unit=code)
    pending = first_pending(code)
    page = new_page(NARROW)
    login(page, "largest.vanphong")
    page.goto(f"/units/{code}/branches{query}")
    return code, pending, page


def test_branch_edited_at_360(new_page, make_user):
    code, pending, page = _largest_at_360(new_page, make_user, "")
    row = page.locator(f"#branch-{pending.code}")
    held = row.get_by_label(re.compile("Ngày đã đại hội"))
    assert not held.is_visible()  # the form is closed until asked for
    row.locator("summary", has_text="Sửa").click()
    assert held.is_visible()
    held.fill("28/7/2025")
    row.get_by_label(re.compile("Đại biểu")).fill("31")
    row.get_by_label(re.compile("Bí thư mới")).fill("Nguyễn Thị Hoa")
    shot(page, "branches-360-editing", around=row)
    assert no_horizontal_overflow(page)
    page.get_by_role("button", name="Lưu tất cả thay đổi").click()
    page.wait_for_load_state("networkidle")
    db.session.expire_all()
    saved = db.session.get(Branch, pending.id)
    assert saved.held_on.isoformat() == "2025-07-28"
    assert saved.delegates == 31 and saved.new_secretary == "Nguyễn Thị Hoa"
    # the saved branch's short row says it was held, and when
    assert "28/7/2025" in page.locator(f"#branch-{pending.code}").inner_text()


def test_a_refused_row_opens_at_360(new_page, make_user):
    """A row the save refused opens by itself, its error and fields in sight."""
    code, pending, page = _largest_at_360(new_page, make_user, "?show=pending")
    row = page.locator(f"#branch-{pending.code}")
    row.locator("summary", has_text="Sửa").click()
    row.get_by_label(re.compile("Ngày đã đại hội")).fill("31/2/2025")
    page.get_by_role("button", name="Lưu tất cả thay đổi").click()
    page.wait_for_load_state("networkidle")
    row = page.locator(f"#branch-{pending.code}.row-error")
    assert row.count() == 1
    field = row.get_by_label(re.compile("Ngày đã đại hội"))
    assert field.is_visible() and field.input_value() == "31/2/2025"
    assert row.locator(".field-error").is_visible()
    shot(page, "branches-360-refused", around=row)


def test_wide_page_keeps_its_table(new_page, make_user):
    """At 1366 px the fields stay in their columns, with no toggle to press."""
    code, _count = largest_unit()
    make_user("largest.vanphong", "unit_staff", unit=code)
    page = new_page(WIDE)
    login(page, "largest.vanphong")
    page.goto(f"/units/{code}/branches")
    row = page.locator("tbody tr[id^=branch-]").first
    assert row.get_by_label(re.compile("Ngày đã đại hội")).is_visible()
    assert not row.locator("summary").is_visible()

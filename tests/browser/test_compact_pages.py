"""Pages that fit a phone and read at a glance: the dashboard's document stages and the transfers
page at 360 px, symbols drawn as SVG (fonts lack "⧗"), the branch page's search and filters."""
from __future__ import annotations

import re

import pytest

from tests.browser.conftest import ARTIFACTS, NARROW, WIDE, login, no_horizontal_overflow, screenshot

TU_MINH = "10891"


def signed_in(new_page, width, user, lang="vi"):
    page = new_page(width)
    login(page, user)
    if lang != "vi":
        page.goto(f"/lang/{lang}")
    return page


def widest_overflow(page) -> list[str]:
    """The elements that stick out of the page on the right, for the failure's message."""
    return page.evaluate("""() => [...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1
                     && !e.closest('.table-wrap, .dash-matrix-wrap'))
        .slice(0, 5).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))""")


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_dashboard_document_stages_fit_360(new_page, lang):
    page = signed_in(new_page, NARROW, "thanhuy.vanphong", lang)
    page.goto("/dashboard")
    stages = page.locator("#document-stages")
    stages.scroll_into_view_if_needed()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    top = page.evaluate("document.getElementById('document-stages').getBoundingClientRect().top + window.scrollY")
    page.screenshot(path=str(ARTIFACTS / f"dashboard-stages-{lang}-{NARROW}.png"), full_page=True,
                    clip={"x": 0, "y": top, "width": NARROW, "height": 640})
    assert no_horizontal_overflow(page), widest_overflow(page)
    # every column of the table is inside the screen: nothing cut, nothing to scroll sideways
    table = stages.locator("table")
    box, wrap = table.bounding_box(), stages.bounding_box()
    assert box["x"] + box["width"] <= wrap["x"] + wrap["width"] + 1, (box, wrap)
    last = stages.locator("tbody tr").first.locator("td").last
    cell = last.bounding_box()
    assert cell["x"] + cell["width"] <= NARROW, cell


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_transfers_fit_360(new_page, lang):
    """With a recent import of a long file name in its list (the list is what widened it)."""
    page = signed_in(new_page, NARROW, "tuminh.vanphong", lang)
    template = page.request.get("/transfers/templates/branches.csv").body()
    page.goto("/transfers")
    page.set_input_files("#import-file", files=[{
        "name": "DanhSachChiBo_PhuongTuMinh_CapNhat_T8_2025.csv",
        "mimeType": "text/csv", "buffer": template}])
    page.locator("form.stack button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    page.goto("/transfers")
    assert page.locator("#recent-title").count() == 1
    screenshot(page, f"transfers-{lang}")
    assert no_horizontal_overflow(page), widest_overflow(page)


def test_submitted_symbols_are_drawn(new_page):
    """The "submitted" stage and state show an SVG icon of real size, not a font glyph that may be
    missing (Debian's fonts draw "⧗" as an empty box)."""
    page = new_page(WIDE)
    login(page, "thanhuy.vanphong")
    page.goto("/dashboard")
    html = page.content()
    assert "⧗" not in html and "⇪" not in html
    icon = page.locator("#document-stages .draft-status-submitted svg.icon").first
    box = icon.bounding_box()
    assert box and box["width"] >= 8 and box["height"] >= 8, box
    cell = page.locator("#matrix td.c-submitted svg.icon").first
    assert cell.bounding_box()["width"] >= 8
    page.goto("/units/11311")
    assert "⇪" not in page.content()
    assert page.locator(".state-submitted svg.icon").first.bounding_box()["width"] >= 8


def page_height(page) -> int:
    return page.evaluate("document.documentElement.scrollHeight")


@pytest.mark.parametrize("user", ["tuminh.vanphong", "thanhuy.vanphong"])
def test_branch_page_is_compact(new_page, user):
    """Tứ Minh has 105 branches: the page used to be some 34,000 px tall at 1366 px."""
    page = signed_in(new_page, WIDE, user)
    page.goto(f"/units/{TU_MINH}/branches")
    assert page.locator("tbody tr[id^=branch-]").count() == 105
    screenshot(page, f"branches-{user.split('.')[1]}", full_page=False)
    assert page_height(page) < 6000, page_height(page)


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_branch_search_and_filters(new_page, lang):
    page = signed_in(new_page, WIDE, "tuminh.vanphong", lang)
    page.goto(f"/units/{TU_MINH}/branches")
    rows = page.locator("tbody tr[id^=branch-]")
    first = rows.first.locator("th.branch-name").inner_text().split("\n")[0].strip()
    # typing filters at once, with or without diacritics
    page.locator("#branch-q").fill(first)
    visible = page.locator("tbody tr[id^=branch-]:visible")
    assert visible.count() >= 1
    assert all(first in visible.nth(i).inner_text() for i in range(visible.count()))
    assert visible.count() < 105
    # "Đang hiện 1/105 chi bộ", "1 of 105 branches shown": the first number is how many are shown
    assert re.search(r"\d+", page.locator("#branch-count").inner_text()).group(0) == str(visible.count())
    screenshot(page, f"branches-search-{lang}", full_page=False)
    page.locator("#branch-q").fill("")
    assert page.locator("tbody tr[id^=branch-]:visible").count() == 105
    # without the script: the same search through the query string
    page.goto(f"/units/{TU_MINH}/branches?q=" + first.replace(" ", "+"))
    assert 1 <= rows.count() < 105
    # the filters the page's statuses name
    for show in ("held", "pending", "unplanned"):
        page.goto(f"/units/{TU_MINH}/branches?show={show}")
        link = page.locator(f".filters a[data-show={show}]")
        assert link.get_attribute("aria-current") == "true"
        assert re.search(r"\((\d+)\)", link.inner_text()).group(1) == str(rows.count())


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_branch_page_fits_360(new_page, lang):
    page = signed_in(new_page, NARROW, "tuminh.vanphong", lang)
    page.goto(f"/units/{TU_MINH}/branches")
    screenshot(page, f"branches-{lang}", full_page=False)
    assert no_horizontal_overflow(page), widest_overflow(page)

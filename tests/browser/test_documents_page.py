"""The documents page as a unit's clerk meets it: who signs, and what cannot be issued yet."""
from __future__ import annotations

import re

from tests.browser.conftest import NARROW, WIDE, login, no_horizontal_overflow, screenshot

TU_MINH = "10891"  # congress planned on 12/8/2025; the demo's today is 5/8/2025


def test_the_clerk_names_the_signers_and_sees_why_the_resolution_waits(new_page):
    page = new_page(WIDE)
    login(page, "tuminh.vanphong")
    page.goto(f"/units/{TU_MINH}/documents")
    resolution = page.locator("#doc-congress_resolution")
    assert "Ban hành từ ngày Đại hội (dự kiến ngày 12/8/2025)" in resolution.inner_text()
    assert resolution.get_by_role("button").count() == 0
    page.locator("#signers summary").click()
    page.get_by_label(re.compile("^Bí thư")).fill("Nguyễn Văn An")
    page.get_by_label(re.compile("^Phó Bí thư")).fill("Trần Thị Bình")
    page.get_by_role("button", name="Lưu họ tên").click()
    page.wait_for_load_state("networkidle")
    assert "Đã lưu" in page.content()
    assert "Nguyễn Văn An, Trần Thị Bình" in page.locator("#signers summary").inner_text()
    screenshot(page, "documents")
    narrow = new_page(NARROW)
    login(narrow, "tuminh.vanphong")
    narrow.goto(f"/units/{TU_MINH}/documents")
    assert no_horizontal_overflow(narrow)
    screenshot(narrow, "documents")

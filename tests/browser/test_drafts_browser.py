"""Drafts in the browser: a unit uploads two drafts and compares them, its leader submits one, the
city approves it and the unit sees the verdict."""
from __future__ import annotations

import re

import pytest

from tests.browser.conftest import NARROW, WIDE, login, no_horizontal_overflow, screenshot
from tests.test_drafts import REPORT_1, REPORT_2

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@pytest.fixture
def files(app, tmp_path):
    app.config["FILES_FOLDER"] = str(tmp_path / "files")


def upload(page, content: bytes, name: str) -> None:
    page.get_by_label(re.compile("Tệp")).set_input_files({"name": name, "mimeType": DOCX, "buffer": content})
    page.get_by_role("button", name="Tải lên", exact=True).click()
    page.wait_for_load_state("networkidle")


def test_upload_two_drafts_and_compare_them(new_page, files):
    page = new_page(WIDE)
    login(page, "tuminh.vanphong")
    page.goto("/units/10891")
    page.get_by_role("link", name="Dự thảo văn kiện").click()
    assert page.get_by_role("heading", name="Tải lên dự thảo mới").is_visible()
    page.get_by_label("Văn bản").select_option("political_report")
    upload(page, REPORT_1, "Báo cáo chính trị lần 1.docx")
    assert re.search(r"/units/10891/drafts/political_report$", page.url)
    assert "Đã tải lên: Báo cáo chính trị, dự thảo lần 1." in page.content()
    upload(page, REPORT_2, "Báo cáo chính trị lần 2.docx")
    assert page.get_by_role("heading", name=re.compile("Dự thảo lần 2")).is_visible()
    page.get_by_role("button", name="So sánh").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("heading", name="Dự thảo lần 1 và dự thảo lần 2").is_visible()
    changed = page.locator("tr.diff-changed")
    assert changed.count() == 1
    assert changed.locator("del").inner_text() == "7" and changed.locator("ins").inner_text() == "8"
    assert page.locator("tr.diff-added").inner_text().strip().endswith("Chuyển đổi số là khâu đột phá.")
    assert page.locator("tr.diff-removed .diff-left").inner_text().strip().endswith("Đoạn sẽ bị xóa ở dự thảo lần 2.")
    screenshot(page, "drafts-compare")
    narrow = new_page(NARROW)
    login(narrow, "tuminh.vanphong")
    narrow.goto(page.url)
    assert no_horizontal_overflow(narrow)
    screenshot(narrow, "drafts-compare")


def test_leader_submits_and_city_staff_approve(new_page, files):
    staff = new_page(WIDE)
    login(staff, "tuminh.vanphong")
    staff.goto("/units/10891/drafts")
    staff.get_by_label("Văn bản").select_option("political_report")
    upload(staff, REPORT_1, "BCCT.docx")

    leader = new_page(WIDE)
    login(leader, "tuminh.bithu")
    leader.goto("/units/10891/drafts/political_report")
    leader.get_by_role("button", name="Trình Thành ủy").click()
    leader.wait_for_load_state("networkidle")
    assert "Đã trình Thành ủy dự thảo lần 1." in leader.content()

    city = new_page(WIDE)
    login(city, "thanhuy.vanphong")
    city.goto("/units/10891/drafts/political_report")
    city.get_by_label("Ý kiến hoặc lý do").fill("Đồng ý với dự thảo")
    city.get_by_role("button", name="Phê duyệt").click()
    city.wait_for_load_state("networkidle")
    assert "Đã phê duyệt dự thảo lần 1." in city.content()
    screenshot(city, "drafts-approved")
    city.goto("/dashboard")
    stages = city.locator("#document-stages")
    assert "Phường Tứ Minh" in stages.inner_text() and "Thành ủy đã phê duyệt" in stages.inner_text()

    staff.goto("/units/10891")
    verdicts = staff.locator(".draft-verdicts")
    assert "đã phê duyệt ngày 5/8/2025" in verdicts.inner_text()

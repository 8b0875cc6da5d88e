"""Drafts in the browser: a unit uploads two drafts and compares them, its leader submits one, the
city approves it and the unit sees the verdict.

Phường Tứ Minh's political report already has the demo's drafts 1-3 (draft 3 approved on 17/7/2025):
the drafts uploaded here come after them."""
from __future__ import annotations

import re

import pytest

from congress.drafts.models import DraftVersion
from congress.extensions import db
from tests.browser.conftest import NARROW, WIDE, login, no_horizontal_overflow, screenshot
from tests.test_drafts import REPORT_1, REPORT_2, step, unit

TU_MINH = "10891"

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@pytest.fixture
def files(app, tmp_path):
    app.config["FILES_FOLDER"] = str(tmp_path / "files")


def newest_report() -> int:
    """The number of Tứ Minh's newest political report draft (0 without one)."""
    db.session.expire_all()
    return db.session.execute(db.select(db.func.coalesce(db.func.max(DraftVersion.number), 0)).where(
        DraftVersion.unit_id == unit(TU_MINH).id, DraftVersion.kind == "political_report")).scalar_one()


@pytest.fixture
def report_being_redrafted(app):
    """Tứ Minh's documents_approval step back to "in progress": its report is being redrafted."""
    found = step(TU_MINH, "documents_approval")
    found.state, found.submitted_on, found.approved_on, found.completed_on = "in_progress", None, None, None
    found.version += 1
    db.session.commit()


def state_of(key: str) -> str:
    db.session.expire_all()
    return step(TU_MINH, key).state


def report_stage(page) -> str:
    """The stage of Tứ Minh's political report in the table of the city's dashboard."""
    page.goto("/dashboard")
    stages = page.locator("#document-stages")
    column = stages.locator("thead th").all_inner_texts().index("Báo cáo chính trị")
    row = stages.locator("tbody tr", has=page.get_by_role("link", name="Phường Tứ Minh", exact=True))
    return row.locator("th, td").nth(column).inner_text()


def upload(page, content: bytes, name: str) -> None:
    page.get_by_label(re.compile("Tệp")).set_input_files({"name": name, "mimeType": DOCX, "buffer": content})
    page.get_by_role("button", name="Tải lên", exact=True).click()
    page.wait_for_load_state("networkidle")


def test_upload_two_drafts_and_compare_them(new_page, files):
    first = newest_report() + 1
    second = first + 1
    page = new_page(WIDE)
    login(page, "tuminh.vanphong")
    page.goto("/units/10891")
    page.get_by_role("link", name="Dự thảo văn kiện").click()
    assert page.get_by_role("heading", name="Tải lên dự thảo mới").is_visible()
    page.get_by_label("Văn bản").select_option("political_report")
    upload(page, REPORT_1, "Báo cáo chính trị lần 1.docx")
    assert re.search(r"/units/10891/drafts/political_report(\?campaign=\d+)?$", page.url)
    assert f"Đã tải lên: Báo cáo chính trị, dự thảo lần {first}." in page.content()
    upload(page, REPORT_2, "Báo cáo chính trị lần 2.docx")
    assert f"Đã tải lên: Báo cáo chính trị, dự thảo lần {second}." in page.content()
    assert page.get_by_role("heading", name=re.compile(f"Dự thảo lần {second}")).is_visible()
    # the comparison offers the two newest drafts
    assert page.get_by_label("So sánh dự thảo").input_value() == str(first)
    assert page.get_by_label("với dự thảo").input_value() == str(second)
    page.get_by_role("button", name="So sánh").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("heading", name=f"Dự thảo lần {first} và dự thảo lần {second}").is_visible()
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


def test_leader_submits_and_city_staff_approve(new_page, files, report_being_redrafted):
    number = newest_report() + 1
    staff = new_page(WIDE)
    login(staff, "tuminh.vanphong")
    staff.goto("/units/10891/drafts")
    staff.get_by_label("Văn bản").select_option("political_report")
    upload(staff, REPORT_1, "BCCT.docx")

    leader = new_page(WIDE)
    login(leader, "tuminh.bithu")
    leader.goto("/units/10891/drafts/political_report")
    leader.locator(f"#version-{number}").get_by_role("button", name="Trình Thành ủy").click()
    leader.wait_for_load_state("networkidle")
    assert f"Đã trình Thành ủy dự thảo lần {number}." in leader.content()
    assert state_of("documents_approval") == "submitted"  # the submission moves the approval step

    city = new_page(WIDE)
    login(city, "thanhuy.vanphong")
    assert "chờ Thành ủy cho ý kiến" in report_stage(city)
    city.goto("/units/10891/drafts/political_report")
    version = city.locator(f"#version-{number}")
    version.get_by_label("Ý kiến hoặc lý do").fill("Đồng ý với dự thảo")
    version.get_by_role("button", name="Phê duyệt").click()
    city.wait_for_load_state("networkidle")
    assert f"Đã phê duyệt dự thảo lần {number}." in city.content()
    assert state_of("documents_approval") == "approved"  # and the verdict approves it
    screenshot(city, "drafts-approved")
    assert "Thành ủy đã phê duyệt" in report_stage(city)

    staff.goto("/units/10891")
    verdicts = staff.locator(".draft-verdicts")
    assert "đã phê duyệt ngày 5/8/2025" in verdicts.inner_text()

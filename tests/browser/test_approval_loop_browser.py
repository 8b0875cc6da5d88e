"""The approval loop in the browser: the unit's leader uploads and submits the political report; the
city's staff find it in the dashboard's queue, open the document and return it with a reason; the
leader reads the reason in a notification, uploads draft 2 of the loop and submits it; the city
approves it; the unit reads the approval, its documents_approval step is approved and the earlier
return's reason is still on the page of the report."""
from __future__ import annotations

import re

import pytest

from congress.drafts.models import DraftVersion
from congress.extensions import db
from congress.notices.models import Notification
from tests.browser.conftest import ARTIFACTS, WIDE, login
from tests.test_drafts import REPORT_1, REPORT_2, step, unit

TU_MINH = "10891"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
REASON = "Đề nghị làm rõ khâu đột phá về chuyển đổi số và bổ sung số liệu kinh tế – xã hội."
REPORT_PAGE = f"/units/{TU_MINH}/drafts/political_report"


@pytest.fixture
def files(app, tmp_path):
    app.config["FILES_FOLDER"] = str(tmp_path / "files")


@pytest.fixture
def report_being_drafted(app):
    """Phường Tứ Minh's documents_approval step back to "in progress", its report being redrafted."""
    found = step(TU_MINH, "documents_approval")
    found.state, found.submitted_on, found.approved_on, found.completed_on = "in_progress", None, None, None
    found.version += 1
    db.session.commit()
    return found


def shot(locator, name: str) -> None:
    """Save a screenshot of one part of the page under test-artifacts/screenshots/NAME-1366.png."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    locator.scroll_into_view_if_needed()
    locator.screenshot(path=str(ARTIFACTS / f"{name}-{WIDE}.png"))


def state_of(key: str) -> str:
    db.session.expire_all()
    return step(TU_MINH, key).state


def newest_report() -> DraftVersion:
    db.session.expire_all()
    return db.session.execute(db.select(DraftVersion).filter_by(unit_id=unit(TU_MINH).id, kind="political_report")
                              .order_by(DraftVersion.number.desc()).limit(1)).scalar_one()


def upload_and_submit(page, content: bytes, name: str) -> DraftVersion:
    page.goto(REPORT_PAGE)
    page.get_by_label(re.compile("Tệp")).set_input_files({"name": name, "mimeType": DOCX, "buffer": content})
    page.get_by_role("button", name="Tải lên", exact=True).click()
    page.wait_for_load_state("networkidle")
    version = newest_report()
    page.locator(f"#version-{version.number}").get_by_role("button", name="Trình Thành ủy").click()
    page.wait_for_load_state("networkidle")
    assert f"Đã trình Thành ủy dự thảo lần {version.number}." in page.content()
    return version


def queue_item(page, version: DraftVersion):
    page.goto("/dashboard")
    item = page.locator(f"#approval-draft-{version.id}")
    assert item.is_visible()
    return item


def test_the_whole_approval_loop(new_page, files, report_being_drafted):
    leader = new_page(WIDE)
    login(leader, "tuminh.bithu")
    first = upload_and_submit(leader, REPORT_1, "Báo cáo chính trị - Tứ Minh.docx")
    assert state_of("documents_approval") == "submitted"

    city = new_page(WIDE)
    login(city, "thanhuy.vanphong")
    item = queue_item(city, first)
    title = f"Báo cáo chính trị, dự thảo lần {first.number}"
    assert title in item.inner_text() and "Phường Tứ Minh" in item.inner_text()
    assert "Trình Ban Thường vụ Thành ủy cho ý kiến dự thảo văn kiện" in item.inner_text()
    shot(city.locator("#approvals"), "approval-queue")
    with city.expect_download() as download:
        item.get_by_role("link", name=re.compile("^Tải về")).click()
    assert download.value.suggested_filename.endswith(".docx")
    item.get_by_role("link", name=title, exact=True).click()
    city.wait_for_load_state("networkidle")
    # the queue's link names the draft's campaign
    assert re.search(rf"{REPORT_PAGE}\?campaign={first.preparation.campaign_id}#version-{first.number}$", city.url)
    assert city.get_by_role("heading", name=re.compile(f"Dự thảo lần {first.number}")).is_visible()

    item = queue_item(city, first)
    item.locator("summary", has_text="Trả lại đơn vị…").click()
    item.get_by_label("Lý do (đơn vị sẽ đọc)").fill(REASON)
    item.get_by_role("button", name=re.compile("^Trả lại")).click()
    city.wait_for_load_state("networkidle")
    assert f"Đã trả lại “{title}” cho Phường Tứ Minh." in city.content()
    assert state_of("documents_approval") == "in_progress"

    leader.goto(f"/units/{TU_MINH}")
    assert leader.locator("#bell-count").inner_text() == "1"
    leader.locator("#bell").click()
    leader.wait_for_load_state("networkidle")
    notice = leader.locator("ol.notices li").first
    assert f"Thành ủy đã trả lại: {title} (Phường Tứ Minh)" in notice.inner_text()
    assert f"Lý do: {REASON}" in notice.inner_text()
    shot(leader.locator("main"), "approval-notice-returned")

    second = upload_and_submit(leader, REPORT_2, "Báo cáo chính trị - Tứ Minh (bổ sung).docx")
    item = queue_item(city, second)
    assert f"Đã trả lại lần trước: {REASON}" in item.inner_text()
    assert item.get_by_role("link", name=f"So sánh với dự thảo lần {first.number}").is_visible()
    shot(city.locator("#approvals"), "approval-queue-resubmitted")
    shot(item, "approval-queue-item")
    item.get_by_role("button", name=re.compile("^Phê duyệt")).click()
    city.wait_for_load_state("networkidle")
    assert f"Đã phê duyệt “Báo cáo chính trị, dự thảo lần {second.number}” của Phường Tứ Minh." in city.content()
    assert city.locator(f"#approval-draft-{second.id}").count() == 0

    leader.goto("/notifications")
    newest = leader.locator("ol.notices li").first
    assert f"Thành ủy đã phê duyệt: Báo cáo chính trị, dự thảo lần {second.number} (Phường Tứ Minh)" in (
        newest.inner_text())
    shot(leader.locator("main"), "approval-notices")
    assert state_of("documents_approval") == "approved"
    leader.goto(f"/units/{TU_MINH}")
    assert "đã phê duyệt" in leader.locator("#step-documents_approval").inner_text()
    leader.goto(REPORT_PAGE)
    returns = leader.locator("#returns")
    shot(returns, "approval-returns")
    assert f"Dự thảo lần {first.number}" in returns.inner_text() and REASON in returns.inner_text()
    assert REASON in leader.locator(f"#version-{first.number}").inner_text()
    told = db.session.execute(db.select(Notification.kind, db.func.count()).group_by(Notification.kind)).all()
    assert dict(told) == {"submitted": 4, "verdict": 4}, "two submissions to two city users, two verdicts to two"

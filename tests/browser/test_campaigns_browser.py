"""Starting a campaign in the browser: the city's staff start Hải Phòng's province congress, see
its readiness roll up from the communes' campaign, switch between campaigns and download the
province committee's documents."""
from __future__ import annotations

import sqlalchemy as sa

from congress.extensions import db
from congress.progress.models import Campaign, Preparation, Step
from tests.browser.conftest import NARROW, WIDE, login, no_horizontal_overflow, screenshot
from workflows.rules import State


def _held_communes() -> int:
    return db.session.execute(sa.select(sa.func.count(Step.id)).join(Preparation).join(Campaign).where(
        Campaign.unit_workflow == "commune_congress", Step.branch_id.is_(None), Step.key == "congress",
        Step.state == State.DONE.value)).scalar_one()


def test_city_staff_start_the_province_congress_and_see_it_roll_up_the_communes(new_page):
    held = _held_communes()
    page = new_page(WIDE)
    login(page, "thanhuy.vanphong")
    page.get_by_role("link", name="Tất cả đợt đại hội").click()
    page.get_by_role("link", name="Bắt đầu đợt đại hội").click()
    page.get_by_label("Tên (tiếng Việt)").fill("Đại hội đại biểu Đảng bộ thành phố Hải Phòng, nhiệm kỳ 2025–2030")
    page.get_by_label("Nhiệm kỳ").fill("2025–2030")
    page.get_by_label("Quy trình").select_option("province_congress")
    commune = db.session.execute(db.select(Campaign).filter_by(unit_workflow="commune_congress")).scalar_one()
    page.get_by_label("Tổng hợp từ đợt đại hội").select_option(str(commune.id))
    page.get_by_label("Ngày bắt đầu").fill("15/7/2025")
    page.locator("#deadline_on").fill("31/10/2025")
    page.get_by_role("button", name="Xem trước").click()
    page.wait_for_load_state("networkidle")
    preview = page.locator("#preview")
    assert "1 đơn vị" in preview.inner_text() and "15 bước" in preview.inner_text()
    assert db.session.execute(sa.select(sa.func.count(Campaign.id))).scalar_one() == 1  # nothing written yet
    screenshot(page, "campaign-preview")
    page.get_by_role("button", name="Bắt đầu đợt đại hội này").click()
    page.wait_for_load_state("networkidle")
    assert page.url.endswith("/dashboard")
    body = page.locator("main").inner_text()
    assert "Đại hội đại biểu Đảng bộ thành phố Hải Phòng" in body and "Thành phố Hải Phòng" in body
    screenshot(page, "campaign-province-dashboard")

    page.goto("/units/31")
    step = page.locator("#step-commune_congresses")
    assert f"{held}/114" in step.inner_text().replace(" ", "") or f"{held} / 114" in step.inner_text()
    screenshot(page, "campaign-province-unit")

    # the switcher brings back the communes' campaign, and the account remembers it
    page.locator("#campaign-switch").select_option(str(commune.id))
    page.locator("form.campaign-switch button").click()
    page.wait_for_load_state("networkidle")
    page.goto("/dashboard")
    assert "Đại hội Đảng bộ cấp xã" in page.locator("h1").inner_text()

    # the province committee's documents, from its own document set
    page.goto("/campaigns")
    province = db.session.execute(db.select(Campaign).filter_by(unit_workflow="province_congress")).scalar_one()
    page.goto(f"/units/31/documents?campaign={province.id}")
    with page.expect_download() as download:
        page.locator('a[href*="/units/31/papers/congress_plan.docx"]').first.click()
    assert download.value.suggested_filename.endswith(".docx")


def test_the_campaign_pages_fit_a_phone(new_page):
    page = new_page(NARROW)
    login(page, "thanhuy.vanphong")
    for path in ("/campaigns", "/campaigns/new", "/dashboard"):
        page.goto(path)
        assert no_horizontal_overflow(page), path
        screenshot(page, "campaign-" + path.strip("/").replace("/", "-"))

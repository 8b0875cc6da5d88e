"""The main flows in a real browser: unit staff update, the city sees and decides.

Each test signs in through the login page, clicks through the pages as a person would, and
checks the result both on the page and in the database.
"""
from __future__ import annotations

import re

from congress.drafts.models import DraftVersion
from congress.extensions import db
from congress.progress.models import Preparation, Step
from congress.units.models import Branch, Unit
from tests.browser.conftest import NARROW, WIDE, login, no_horizontal_overflow, screenshot

HONG_BANG = "11311"
NAM_DONG = "10837"
HA_NAM = "10843"
VINH_THINH = "11836"


def unit_step(code: str, key: str) -> Step:
    db.session.expire_all()
    return db.session.execute(
        db.select(Step).join(Preparation).join(Unit, Unit.id == Preparation.unit_id)
        .where(Unit.code == code, Step.key == key, Step.branch_id.is_(None))).scalar_one()


def matrix_cell(page, code: str, key: str):
    return page.locator(f'tr[data-code="{code}"] td:has(a[href="/units/{code}#step-{key}"])')


def test_unit_staff_complete_a_step_and_the_city_dashboard_shows_it(new_page):
    city = new_page(WIDE)
    login(city, "thanhuy.vanphong")
    assert city.url.endswith("/dashboard")
    cell = matrix_cell(city, HONG_BANG, "personnel_plan")
    assert "c-approved" in cell.get_attribute("class")
    percent_before = int(city.locator(f'tr[data-code="{HONG_BANG}"]').get_attribute("data-percent"))

    staff = new_page(WIDE)
    login(staff, "hongbang.vanphong")
    assert staff.url.endswith(f"/units/{HONG_BANG}")
    card = staff.locator("#step-personnel_plan")
    card.locator("details.action-complete summary").click()
    form = card.locator("details.action-complete form")
    form.get_by_label(re.compile("Ngày hoàn thành")).fill("4/8/2025")
    form.get_by_label(re.compile("Ghi chú")).fill("Đã hoàn thiện hồ sơ nhân sự theo ý kiến Ban Thường vụ")
    form.get_by_role("button", name="Hoàn thành").click()
    staff.wait_for_load_state("networkidle")
    text = card.inner_text()
    assert "Đã hoàn thành bước" in text and "4/8/2025" in text and "theo ý kiến Ban Thường vụ" in text
    assert unit_step(HONG_BANG, "personnel_plan").state == "done"
    screenshot(staff, "unit-after-complete")

    city.reload()
    cell = matrix_cell(city, HONG_BANG, "personnel_plan")
    assert "c-done" in cell.get_attribute("class")
    assert cell.locator("a").get_attribute("title").lower() == "hoàn thành"
    assert int(city.locator(f'tr[data-code="{HONG_BANG}"]').get_attribute("data-percent")) > percent_before
    # the unit's history names who did it
    staff.get_by_role("link", name="Lịch sử thay đổi").click()
    assert "Văn phòng Đảng ủy phường Hồng Bàng" in staff.content()


def submitted_draft(code: str, kind: str) -> DraftVersion:
    db.session.expire_all()
    return db.session.execute(
        db.select(DraftVersion).join(Unit, Unit.id == DraftVersion.unit_id)
        .where(Unit.code == code, DraftVersion.kind == kind, DraftVersion.status == "submitted")).scalar_one()


def test_city_staff_approve_one_submission_and_return_another(new_page):
    page = new_page(WIDE)
    login(page, "thanhuy.vanphong")
    documents = unit_step(NAM_DONG, "documents_approval")
    personnel = unit_step(HA_NAM, "personnel_plan")
    assert documents.state == personnel.state == "submitted"
    report = submitted_draft(NAM_DONG, "political_report")
    submission = submitted_draft(HA_NAM, "personnel_submission")
    queue = page.locator("#approvals")
    waiting = int(re.search(r"\((\d+)\)", queue.locator("h2").inner_text())[1])
    # a step submitted with its draft is in the queue once, as the draft, naming the step it moves
    for step, draft in ((documents, report), (personnel, submission)):
        assert page.locator(f"#approval-{step.id}").count() == 0
        assert page.locator(f"#approval-draft-{draft.id}").count() == 1

    item = page.locator(f"#approval-draft-{report.id}")
    assert "Trình Ban Thường vụ Thành ủy cho ý kiến dự thảo văn kiện" in item.inner_text()
    item.get_by_label("Ý kiến (không bắt buộc)").fill("Đồng ý với dự thảo.")
    item.get_by_role("button", name=re.compile("^Phê duyệt")).click()
    page.wait_for_load_state("networkidle")
    assert f"Đã phê duyệt “Báo cáo chính trị, dự thảo lần {report.number}” của Phường Nam Đồng." in page.content()
    assert page.locator(f"#approval-draft-{report.id}").count() == 0
    step = unit_step(NAM_DONG, "documents_approval")
    assert step.state == "approved" and step.approved_on.isoformat() == "2025-08-05"  # the demo's day
    assert db.session.get(DraftVersion, report.id).status == "approved"

    item = page.locator(f"#approval-draft-{submission.id}")
    item.locator("summary").click()
    item.get_by_role("button", name=re.compile("^Trả lại")).click()  # no reason: refused, nothing changes
    assert unit_step(HA_NAM, "personnel_plan").state == "submitted"
    assert db.session.get(DraftVersion, submission.id).status == "submitted"
    item = page.locator(f"#approval-draft-{submission.id}")
    if not item.locator("details").evaluate("d => d.open"):
        item.locator("summary").click()
    item.get_by_label(re.compile("Lý do")).fill("Phương án nhân sự chưa bảo đảm tỷ lệ cán bộ trẻ, đề nghị bổ sung.")
    item.get_by_role("button", name=re.compile("^Trả lại")).click()
    page.wait_for_load_state("networkidle")
    step = unit_step(HA_NAM, "personnel_plan")
    assert step.state == "in_progress" and "cán bộ trẻ" in step.reason
    assert db.session.get(DraftVersion, submission.id).status == "returned"
    assert page.locator(f"#approval-draft-{submission.id}").count() == 0
    assert f"({waiting - 2})" in page.locator("#approvals h2").inner_text()
    screenshot(page, "dashboard-after-decisions", full_page=False)

    # the unit reads the reason on its page
    page.goto(f"/units/{HA_NAM}#step-personnel_plan")
    assert "chưa bảo đảm tỷ lệ cán bộ trẻ" in page.locator("#step-personnel_plan").inner_text()


def test_enter_ten_branch_congresses_in_one_go(new_page, make_user):
    make_user("vinhthinh.vanphong", "unit_staff", unit=VINH_THINH)
    unit = db.session.execute(db.select(Unit).filter_by(code=VINH_THINH)).scalar_one()
    pending = db.session.execute(db.select(Branch).filter_by(unit_id=unit.id, held_on=None)
                                 .order_by(Branch.code)).scalars().all()
    assert len(pending) >= 10
    held_before = db.session.execute(db.select(db.func.count()).select_from(Branch)
                                     .where(Branch.unit_id == unit.id, Branch.held_on.is_not(None))).scalar()

    page = new_page(WIDE)
    login(page, "vinhthinh.vanphong")
    page.get_by_role("link", name="Chi bộ").first.click()
    page.get_by_role("link", name=re.compile(r"^chưa đại hội \(")).click()
    chosen = []
    for n, branch in enumerate(pending[:10]):
        row = page.locator(f"#branch-{branch.code}")
        row.get_by_label(re.compile("Ngày đã đại hội")).fill(f"{n + 20}/7/2025")
        row.get_by_label(re.compile("Đại biểu")).fill(str(20 + n))
        row.get_by_label(re.compile("Bí thư mới")).fill(f"Nguyễn Văn Thành {n + 1}")
        chosen.append(branch.code)
    page.get_by_role("button", name="Lưu tất cả thay đổi").click()
    page.wait_for_load_state("networkidle")
    total = db.session.execute(db.select(db.func.count()).select_from(Branch)
                               .where(Branch.unit_id == unit.id)).scalar()
    assert page.locator("p.headline").inner_text().startswith(f"{held_before + 10}/{total} chi bộ")
    db.session.expire_all()
    saved = {b.code: b for b in db.session.execute(db.select(Branch).where(Branch.code.in_(chosen))).scalars()}
    for n, code in enumerate(chosen):
        assert saved[code].held_on.isoformat() == f"2025-07-{n + 20}"
        assert saved[code].delegates == 20 + n
        assert saved[code].new_secretary == f"Nguyễn Văn Thành {n + 1}"
    screenshot(page, "branches-after-bulk", full_page=False)


def test_a_bad_row_in_the_table_saves_nothing(new_page, make_user):
    make_user("vinhthinh.vanphong", "unit_staff", unit=VINH_THINH)
    unit = db.session.execute(db.select(Unit).filter_by(code=VINH_THINH)).scalar_one()
    first, second = db.session.execute(db.select(Branch).filter_by(unit_id=unit.id, held_on=None)
                                       .order_by(Branch.code).limit(2)).scalars().all()
    page = new_page(NARROW)
    login(page, "vinhthinh.vanphong")
    page.goto(f"/units/{VINH_THINH}/branches?show=pending")
    for b in (first, second):  # at 360 px a row's fields open on demand
        page.locator(f"#branch-{b.code} summary").click()
    page.locator(f"#branch-{first.code}").get_by_label(re.compile("Ngày đã đại hội")).fill("28/7/2025")
    page.locator(f"#branch-{second.code}").get_by_label(re.compile("Ngày đã đại hội")).fill("31/2/2025")
    page.get_by_role("button", name="Lưu tất cả thay đổi").click()
    page.wait_for_load_state("networkidle")
    assert page.locator(f"#branch-{second.code}.row-error").count() == 1
    # what was typed is still there to correct
    held = page.locator(f"#branch-{first.code}").get_by_label(re.compile("Ngày đã đại hội"))
    assert held.input_value() == "28/7/2025"
    db.session.expire_all()
    assert db.session.get(Branch, first.id).held_on is None
    screenshot(page, "branches-error")
    assert no_horizontal_overflow(page)

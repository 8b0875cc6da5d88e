"""Importing a spreadsheet in the browser: upload, the page follows the reading by itself (a
static script, no inline code), the preview, confirming."""
import re

from tests.browser.conftest import WIDE, login, screenshot
from tests.browser.test_flows import unit_step


def test_upload_preview_and_confirm(new_page, tmp_path):
    sheet = tmp_path / "chi-bo.csv"
    sheet.write_text("Mã đơn vị;Tên chi bộ;Bí thư;Số đảng viên\n"
                     "10891;Chi bộ Tổ dân phố số 99;Nguyễn Thị Nhập;27\n"
                     "10891;Chi bộ <i>nghiêng</i>;;ba mươi\n", encoding="utf-8-sig")
    page = new_page(WIDE)
    problems = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    login(page, "tuminh.vanphong")
    page.goto("/units/10891/branches")
    page.get_by_role("link", name="Nhập từ Excel / CSV").click()
    page.get_by_label("Nội dung của tệp").select_option("branches")
    page.get_by_label("Tệp", exact=True).set_input_files(str(sheet))
    page.get_by_role("button", name="Tải lên và xem trước").click()
    assert re.search(r"/transfers/[0-9a-f]{32}$", page.url)
    page.get_by_role("table").wait_for()
    assert page.get_by_text("Chi bộ <i>nghiêng</i>").count() >= 1  # shown as text, not markup
    assert page.locator("table i").count() == 0
    assert "không phải là số nguyên" in page.content()
    screenshot(page, "import-preview")
    assert page.get_by_role("button", name="Xác nhận nhập").count() == 0  # a row has an error
    page.get_by_role("button", name="Hủy lượt nhập").click()
    assert "Đã hủy lượt nhập" in page.content()

    sheet.write_text("Mã đơn vị;Tên chi bộ;Bí thư;Số đảng viên\n10891;Chi bộ Tổ dân phố số 99;Nguyễn Thị Nhập;27\n",
                     encoding="utf-8-sig")
    page.get_by_label("Tệp", exact=True).set_input_files(str(sheet))
    page.get_by_role("button", name="Tải lên và xem trước").click()
    page.get_by_role("table").wait_for()
    # Tứ Minh's branches have all held their congress: a new branch reopens that completed step, which the
    # preview names and the confirmation must accept explicitly
    assert unit_step("10891", "branch_congresses").state == "done"
    named = page.locator("#completed-changes").inner_text()
    assert "Dòng 2" in named and "“Hoàn thành đại hội các chi bộ, đảng bộ trực thuộc” của Phường Tứ Minh" in named
    accept = page.get_by_label("Mở lại bước đã hoàn thành hoặc đổi ngày hoàn thành như bản xem trước nêu")
    assert not accept.is_checked()
    preview_url = page.url
    page.get_by_role("button", name="Xác nhận nhập").click()  # not accepted: the browser keeps the form
    page.wait_for_load_state("networkidle")
    assert page.url == preview_url and unit_step("10891", "branch_congresses").state == "done"
    screenshot(page, "import-preview-completed-step")
    accept.check()
    page.get_by_role("button", name="Xác nhận nhập").click()
    # applied in the background: the page follows it and shows the result when it is done
    page.get_by_text("Lượt nhập này đã được áp dụng.").wait_for(timeout=60_000)
    page_text = page.locator("main").inner_text()
    assert unit_step("10891", "branch_congresses").state == "in_progress"  # reopened, as accepted
    page.goto("/units/10891/branches")
    assert "Chi bộ Tổ dân phố số 99" in page.content()
    assert not [p for p in problems if "Content Security Policy" in p], problems
    # the branch is new, although its row warned that it reopens a completed step
    assert "Đã nhập: 1 mới, 0 cập nhật, 0 không đổi." in page_text

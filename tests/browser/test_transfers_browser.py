"""Importing a spreadsheet in the browser: upload, the page follows the reading by itself (a
static script, no inline code), the preview, confirming."""
import re

from tests.browser.conftest import WIDE, login, screenshot


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
    page.get_by_role("button", name="Xác nhận nhập").click()
    assert "Đã nhập: 1 mới, 0 cập nhật, 0 không đổi." in page.content()
    page.goto("/units/10891/branches")
    assert "Chi bộ Tổ dân phố số 99" in page.content()
    assert not [p for p in problems if "Content Security Policy" in p], problems

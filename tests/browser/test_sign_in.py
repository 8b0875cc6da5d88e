"""Signing in, the language switch, and no way into another unit."""
import re

from tests.browser.conftest import NARROW, WIDE, login, no_horizontal_overflow, screenshot


def test_login_page_and_wrong_password(new_page):
    page = new_page(NARROW)
    page.goto("/")
    assert "/login" in page.url
    assert page.locator("html").get_attribute("lang") == "vi"
    screenshot(page, "login")
    assert no_horizontal_overflow(page)
    login(page, "thanhuy.vanphong", "sai-mat-khau")
    assert page.get_by_role("alert").inner_text() == "Sai tên đăng nhập hoặc mật khẩu."


def test_switch_language_and_back(new_page):
    page = new_page(WIDE)
    login(page, "thanhuy.lanhdao")
    assert "nhiệm vụ được giao" in page.content()
    page.get_by_role("link", name="English").click()
    assert page.locator("html").get_attribute("lang") == "en"
    assert "tasks assigned" in page.content()
    page.get_by_role("link", name="Tiếng Việt").click()
    assert "nhiệm vụ được giao" in page.content()


def test_unit_staff_cannot_open_another_unit(new_page):
    page = new_page(WIDE)
    login(page, "tuminh.vanphong")
    assert re.search(r"/units/10891$", page.url)
    for path in ("/units/11311", "/units/11311/branches", "/units/11311/documents"):
        response = page.goto(path)
        assert response.status == 403, path
        assert "Bạn không được xem hoặc thay đổi nội dung này." in page.content()
    screenshot(page, "forbidden")
    # and the own unit's edit page still works
    assert page.goto("/units/10891/branches").status == 200
    assert page.get_by_role("button", name="Lưu tất cả thay đổi").count() == 1

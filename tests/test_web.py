"""The pages that exist so far: sign-in, the readiness overview, a unit's steps."""
import re

import pytest

from tests.conftest import DEMO_PASSWORD


def login(client, username, password=DEMO_PASSWORD, follow=False):
    page = client.get("/login")
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token},
                       follow_redirects=follow)


@pytest.fixture
def city_client(base_app, make_user):
    make_user("thanhuy.vanphong", "city_staff", province="31")
    client = base_app.test_client()
    assert login(client, "thanhuy.vanphong").status_code == 302
    return client


def test_pages_need_login(base_app):
    client = base_app.test_client()
    response = client.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_wrong_password_is_refused_with_a_message(base_app, make_user):
    make_user("thanhuy.vanphong", "city_staff", province="31")
    response = login(base_app.test_client(), "thanhuy.vanphong", "wrong-password")
    assert response.status_code == 401
    assert "Sai tên đăng nhập hoặc mật khẩu" in response.get_data(as_text=True)


def test_login_without_csrf_token_is_refused(base_app, make_user):
    make_user("thanhuy.vanphong", "city_staff", province="31")
    response = base_app.test_client().post("/login", data={"username": "thanhuy.vanphong",
                                                           "password": DEMO_PASSWORD})
    assert response.status_code in (400, 401)
    assert "/login" not in response.headers.get("Location", "")


def test_city_overview_in_vietnamese(city_client):
    html = city_client.get("/dashboard").get_data(as_text=True)
    assert "Đại hội Đảng bộ cấp xã, nhiệm kỳ 2025–2030" in html
    assert "nhiệm vụ được giao" in html
    assert "Phường Tứ Minh" in html and "Đặc khu Bạch Long Vĩ" in html
    assert "trước ngày 31/8/2025" in html


def test_language_switch(city_client):
    city_client.get("/lang/en")
    html = city_client.get("/dashboard").get_data(as_text=True)
    assert "tasks assigned" in html and 'lang="en"' in html


def test_unit_staff_see_their_unit_not_others(base_app, make_user):
    make_user("tuminh.vanphong", "unit_staff", unit="10891")
    client = base_app.test_client()
    response = login(client, "tuminh.vanphong")
    assert client.get("/").headers["Location"].endswith("/units/10891")
    html = client.get("/units/10891").get_data(as_text=True)
    assert "Ban hành kế hoạch tổ chức đại hội" in html
    other = client.get("/units/11311")
    assert other.status_code == 403 and "Bạn không được" in other.get_data(as_text=True)
    assert response.status_code == 302


def test_unknown_unit_page_is_a_clear_404(city_client):
    response = city_client.get("/units/99999")
    assert response.status_code == 404 and "Không có đơn vị nào mang mã" in response.get_data(as_text=True)


def test_logout(city_client):
    page = city_client.get("/dashboard").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert city_client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert city_client.get("/").status_code == 302

"""The main pages at an office PC's width and a phone's: saved for people to look at, and
checked for what a screenshot alone would not say (no sideways scrolling, Vietnamese text)."""
import pytest

from tests.browser.conftest import NARROW, WIDE, login, no_horizontal_overflow, screenshot

#: (who, page, screenshot name, words the page shows in Vietnamese, and in English)
PAGES = [
    ("thanhuy.vanphong", "/dashboard", "dashboard", "nhiệm vụ được giao", "tasks assigned"),
    ("thanhuy.vanphong", "/provinces/31/papers", "province-documents", "Báo cáo tiến độ", "Progress report"),
    ("hongbang.vanphong", "/units/11311", "unit", "Phường Hồng Bàng", "Phường Hồng Bàng"),
    ("hongbang.vanphong", "/units/11311/branches", "branches", "chi bộ đã tổ chức đại hội", "branches have held"),
    ("hongbang.vanphong", "/units/11311/history", "history", "Lịch sử thay đổi", "History"),
    ("hongbang.vanphong", "/units/11311/documents", "documents", "Kế hoạch tổ chức đại hội", "congress"),
    ("hongbang.vanphong", "/units/11311/drafts", "drafts", "Dự thảo văn kiện", "Comment rounds"),
    ("hongbang.vanphong", "/notifications", "notifications", "Thông báo", "Notifications"),
    ("hongbang.vanphong", "/transfers", "transfers", "Nhập từ Excel", "Import from Excel"),
]


@pytest.mark.parametrize("language", ["vi", "en"])
@pytest.mark.parametrize("width", [WIDE, NARROW])
def test_main_pages(new_page, width, language):
    signed_in_as = None
    page = new_page(width)
    refused = []  # what the Content-Security-Policy blocked, as the browser reports it
    page.on("console", lambda message: refused.append(message.text)
            if "Content Security Policy" in message.text else None)
    for username, path, name, words_vi, words_en in PAGES:
        if username != signed_in_as:
            page.context.clear_cookies()
            login(page, username)
            if language == "en":
                page.goto("/lang/en?next=/")
            signed_in_as = username
        response = page.goto(path)
        assert response.status == 200, path
        assert (words_vi if language == "vi" else words_en) in page.inner_text("body"), path
        screenshot(page, name if language == "vi" else f"{name}-en")
        assert no_horizontal_overflow(page), f"{path} scrolls sideways at {width}px"
    assert refused == []

"""The comment-round page: a long notable comment shows its beginning and opens on request (the
macro ui.long_text, as notes and reasons elsewhere); a short one is shown whole."""
from __future__ import annotations

import re

from tests.test_drafts import REPORT_1
from tests.test_drafts_web import PAGES, next_number, post_upload
from tests.test_web_units import csrf_token, signed_in

LONG = ("Đề nghị bổ sung giải pháp đột phá về chuyển đổi số trong công tác quản lý đô thị, "
        "gắn với cải cách thủ tục hành chính và nâng cao chất lượng phục vụ người dân; ") * 6
SHORT = "Quan tâm việc làm cho thanh niên"


def open_round_with_comments(app):
    staff = signed_in(app, "tuminh.vanphong")
    number = next_number()
    post_upload(staff, REPORT_1)
    opened = staff.post(f"{PAGES}/political_report/{number}/rounds", data={
        "csrf_token": csrf_token(staff, f"{PAGES}/political_report"), "audiences": ["members", "residents"],
        "starts_on": "20/7/2025", "ends_on": "30/7/2025"})
    assert opened.status_code == 302
    round_url = opened.headers["Location"]
    token = csrf_token(staff, round_url)
    for audience, text in (("members", LONG), ("residents", SHORT)):
        saved = staff.post(f"{round_url}/comments", data={"csrf_token": token, "mode": "one",
                                                          "audience": audience, "count": "1", "text": text})
        assert saved.status_code == 302
    return staff, round_url


def test_a_long_comment_is_collapsed_a_short_one_is_not(app, files):
    staff, round_url = open_round_with_comments(app)
    html = staff.get(round_url).get_data(as_text=True)
    items = re.findall(r"<li><strong>[^<]*</strong>(?: \(\d+\))?: (.*?)</li>", html, re.S)
    long_item = next(i for i in items if "chuyển đổi số" in i)
    short_item = next(i for i in items if SHORT in i)
    # the long one: its beginning, a "Xem thêm" to open it, and the whole text inside
    assert long_item.startswith('<details class="long-text">'), long_item[:200]
    assert "Xem thêm" in long_item and "Thu gọn" in long_item
    excerpt = re.search(r'<span class="excerpt">(.*?)</span>', long_item, re.S).group(1)
    assert excerpt.endswith("…") and len(excerpt) < len(LONG.strip())
    assert LONG.strip() in long_item.replace("\n", " ")
    # the short one: as it was written, nothing to open
    assert short_item == SHORT

"""A shared office computer: after one person signs out, Back must not bring their unit's pages
(or JSON answers) back from the browser. Pages and JSON answers are sent with
``Cache-Control: no-store``: Chromium keeps such a page neither in its back/forward cache nor in its
HTTP cache, so Back asks the server again, and the server sends the signed-out browser to the
sign-in page (or answers 401 for JSON).

The test runs twice: in Playwright's Chromium, which starts with the back/forward cache turned off
(Back then goes through the HTTP cache), and in a Chromium with the back/forward cache on, as
everyday browsers have it. Without no-store the second run fails: Back shows the previous user's
branches page from memory. (The first would still pass, because the answers also carry
``Vary: Cookie`` and signing out changes the cookie; the header assertions catch it there.)"""
from __future__ import annotations

import re

import pytest

from tests.browser.conftest import CHROMIUM_ARGS, WIDE, chromium_path, login

UNIT = "/units/10891"
BRANCHES = "/units/10891/branches"
API = "/api/v1/units/10891"
#: text only a signed-in member of Phường Tứ Minh sees: on every page the unit's name and the signed-in
#: account's name (in the header); on the branches page a branch's name and its secretary; in the JSON
#: answer (non-ASCII is escaped there) a branch code and a field name
PAGE_TEXT = ("Phường Tứ Minh", "Văn phòng Đảng ủy phường Tứ Minh")
BRANCH_TEXT = ("Chi bộ Cơ quan Đảng ủy", "Hoàng Hồng Oanh")
JSON_TEXT = ('"10891-001"', '"secretary"')
SIGN_IN = re.compile(r"/login(\?|$)")


@pytest.fixture(scope="module")
def everyday_browser(browser):
    """A second Chromium with the back/forward cache left on (Playwright turns it off by default)."""
    launched = browser.browser_type.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS,
                                           ignore_default_args=["--disable-back-forward-cache"])
    yield launched
    launched.close()


@pytest.fixture(params=["http-cache", "back-forward-cache"])
def page(request, browser, live_server):
    chosen = browser if request.param == "http-cache" else request.getfixturevalue("everyday_browser")
    context = chosen.new_context(viewport={"width": WIDE, "height": 900}, locale="vi-VN",
                                 base_url=live_server.url)
    context.set_default_timeout(15000)
    yield context.new_page()
    context.close()


def path_of(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


def assert_signed_out_view(page, where: str) -> None:
    """The browser shows the sign-in page (a fresh answer from the server), none of the private text."""
    content = page.content()
    for text in PAGE_TEXT + BRANCH_TEXT + JSON_TEXT:
        assert text not in content, f"{where}: {text!r} still shown at {page.url}"
    assert SIGN_IN.search(page.url), f"{where}: not on the sign-in page but at {page.url}"
    assert page.get_by_label(re.compile("Mật khẩu|Password")).count() == 1, where


def assert_json_refused(page, where: str) -> None:
    content = page.content()
    for text in PAGE_TEXT + BRANCH_TEXT + JSON_TEXT:
        assert text not in content, f"{where}: {text!r} still shown at {page.url}"
    assert path_of(page.url) == API, where
    assert '"unauthorized"' in content, f"{where}: the JSON answer is not a fresh 401 at {page.url}"


def test_back_after_sign_out_shows_no_private_page(page):
    answers: dict[str, list] = {}
    page.on("response", lambda response: answers.setdefault(path_of(response.url), []).append(response))

    # signed in: the unit's page, its JSON answer, its branches page
    login(page, "tuminh.vanphong")
    assert path_of(page.url) == UNIT
    for text in PAGE_TEXT:
        assert text in page.content(), text
    api = page.goto(API)
    assert api.status == 200
    for text in JSON_TEXT:
        assert text in page.content(), text
    branches = page.goto(BRANCHES)
    assert branches.status == 200
    for text in PAGE_TEXT + BRANCH_TEXT:
        assert text in page.content(), text

    # every private answer told the browser not to keep it
    for path in (UNIT, API, BRANCHES):
        assert answers.get(path), path
        for response in answers[path]:
            assert "no-store" in (response.headers.get("cache-control") or ""), (path, response.headers)

    # sign out with the page's own button (the form in base.html)
    page.locator("form[action$='/logout']").get_by_role("button", name=re.compile("Đăng xuất|Log out")).click()
    page.wait_for_load_state("networkidle")
    assert_signed_out_view(page, "after sign-out")

    # Back once: the branches page is asked for again and sends the browser to sign in
    requests_before = len(answers.get(BRANCHES, []))
    page.go_back(wait_until="commit")
    page.wait_for_load_state("networkidle")
    assert_signed_out_view(page, "Back once")
    assert len(answers.get(BRANCHES, [])) > requests_before, "Back showed the branches page without asking the server"
    page.reload()
    assert_signed_out_view(page, "Back once, then reload")

    # Back twice: the JSON answer is asked for again and refused
    page.go_back(wait_until="commit")
    page.wait_for_load_state("networkidle")
    assert_json_refused(page, "Back twice")
    page.reload()
    assert_json_refused(page, "Back twice, then reload")

    # Back a third time: the unit's page, again only the sign-in page
    page.go_back(wait_until="commit")
    page.wait_for_load_state("networkidle")
    assert_signed_out_view(page, "Back three times")
    page.reload()
    assert_signed_out_view(page, "Back three times, then reload")

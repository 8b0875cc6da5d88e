"""Browser tests: Playwright driving Debian's Chromium against the app served on localhost.

Without Chromium (or Playwright) these tests are skipped locally; under CI=true they fail.
Screenshots go to test-artifacts/screenshots/.
"""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import DEMO_PASSWORD, IN_CI
from tests.serving import LiveServer

ARTIFACTS = Path(__file__).resolve().parent.parent.parent / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
WIDE, NARROW = 1366, 360


def chromium_path() -> str | None:
    for candidate in (os.environ.get("CHROMIUM_PATH"), "/usr/bin/chromium", shutil.which("chromium"),
                      shutil.which("chromium-browser")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def _unavailable(reason: str):
    if IN_CI:
        pytest.fail(f"browser tests cannot run under CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed")
    path = chromium_path()
    if path is None:
        _unavailable("Chromium is not installed (apt-get install chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def live_server(app):
    """The Hải Phòng demo served on a free localhost port (its own database copy)."""
    with LiveServer(app) as server:
        yield server


@pytest.fixture
def new_page(browser, live_server):
    """Factory: a fresh browser context (own cookies) at a given width."""
    contexts = []

    def factory(width: int = WIDE, height: int = 900):
        context = browser.new_context(viewport={"width": width, "height": height}, locale="vi-VN",
                                      base_url=live_server.url)
        context.set_default_timeout(15000)
        contexts.append(context)
        return context.new_page()

    yield factory
    for context in contexts:
        context.close()


def login(page, username: str, password: str = DEMO_PASSWORD) -> None:
    page.goto("/login")
    page.get_by_label(re.compile("Tên đăng nhập|User name")).fill(username)
    page.get_by_label(re.compile("Mật khẩu|Password")).fill(password)
    page.get_by_role("button", name=re.compile("Đăng nhập|Log in")).click()
    page.wait_for_load_state("networkidle")


def screenshot(page, name: str, full_page: bool = True) -> Path:
    """Save a screenshot under test-artifacts/screenshots/NAME-WIDTH.png."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    width = page.viewport_size["width"]
    path = ARTIFACTS / f"{name}-{width}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def no_horizontal_overflow(page) -> bool:
    """The page itself does not scroll sideways (tables may scroll inside their own box)."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")

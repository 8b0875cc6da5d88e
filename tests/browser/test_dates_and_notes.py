"""Dates, the language switch after a refused form, and long notes, in both languages.

Every date is typed day/month/year (the Vietnamese way, also in English) and shown pre-filled so; a
refused date is named by the field's label. The language switch on a page answered to a POST
goes back to the form's page (not to the POST address: 405). A note's textarea counts the
characters left, and a long note shown on a page opens on request."""
from __future__ import annotations

import re

import pytest

from congress.drafts.models import CommentRound, DraftVersion
from congress.extensions import db
from tests.browser.conftest import NARROW, WIDE, login, no_horizontal_overflow, screenshot
from tests.test_drafts import unit

TU_MINH = "10891"
KIND_PAGE = f"/units/{TU_MINH}/drafts/political_report"
AS_OF = {"vi": "Tính đến ngày", "en": "As of"}
ENDS_ON = {"vi": "Ngày kết thúc", "en": "Ends on"}
OPEN_THE_ROUND = {"vi": "Mở đợt lấy ý kiến", "en": "Open the round"}
LONG_NOTE = ("Đề nghị bổ sung số liệu kết nạp đảng viên mới của các chi bộ khu dân cư. " * 25).strip()


def in_language(page, language: str, path: str) -> None:
    page.goto(f"/lang/{language}?next={path}")
    assert page.locator("html").get_attribute("lang") == language


def draft_without_open_round() -> DraftVersion:
    """Tứ Minh's newest political report draft on which a comment round may be opened."""
    db.session.expire_all()
    versions = db.session.execute(db.select(DraftVersion).where(
        DraftVersion.unit_id == unit(TU_MINH).id, DraftVersion.kind == "political_report")
        .order_by(DraftVersion.number.desc())).scalars()
    return next(v for v in versions if not any(r.state == "open" for r in v.rounds))


@pytest.mark.parametrize("language", ["vi", "en"])
def test_the_progress_report_downloads_with_the_day_it_shows(new_page, language):
    page = new_page(WIDE)
    login(page, "thanhuy.vanphong")
    in_language(page, language, "/provinces/31/papers")
    field = page.get_by_label(AS_OF[language], exact=True)
    assert field.input_value() == "5/8/2025"  # the reference day, as the field takes it
    with page.expect_download() as table:
        page.get_by_role("button", name=re.compile(r"\.xlsx")).click()
    assert "05-08-2025.xlsx" in table.value.suggested_filename
    with page.expect_download() as report:
        page.get_by_role("button", name=re.compile(r"\.docx")).click()
    assert report.value.suggested_filename.endswith(".docx")
    for width in (WIDE, NARROW):
        page.set_viewport_size({"width": width, "height": 900})
        screenshot(page, f"papers-as-of-{language}")

    field.fill("31/2/2025")
    page.get_by_role("button", name=re.compile(r"\.docx")).click()
    page.wait_for_load_state()
    problem = page.locator("#problem").inner_text()
    assert f"{AS_OF[language]}: “31/2/2025”" in problem, problem
    assert "as_of" not in page.locator("main").inner_text()
    assert page.locator("#as_of-error").is_visible()
    assert page.get_by_label(AS_OF[language], exact=True).input_value() == "31/2/2025"
    page.get_by_label(AS_OF[language], exact=True).fill("6/8/2025")
    page.get_by_role("button", name=re.compile(r"\.xlsx")).click()
    page.wait_for_load_state()
    assert page.locator("#problem").inner_text().count(f"{AS_OF[language]}:") == 1
    for width in (WIDE, NARROW):
        page.set_viewport_size({"width": width, "height": 900})
        assert no_horizontal_overflow(page)
        screenshot(page, f"papers-as-of-refused-{language}")


@pytest.mark.parametrize("language", ["vi", "en"])
def test_a_comment_round_takes_its_days_as_day_month_year(new_page, language):
    number = draft_without_open_round().number
    page = new_page(WIDE)
    login(page, "tuminh.vanphong")
    in_language(page, language, KIND_PAGE)
    page.locator(f"#round-{number} > summary").click()
    starts, ends = page.locator(f"#starts-{number}"), page.locator(f"#ends-{number}")
    assert starts.get_attribute("type") == "text" and starts.input_value() == "5/8/2025"
    ends.fill("32/8/2025")
    page.get_by_role("button", name=OPEN_THE_ROUND[language]).nth(0).click()
    page.wait_for_load_state()
    assert f"{ENDS_ON[language]}: “32/8/2025”" in page.locator("#problem").inner_text()
    assert page.locator(f"#round-{number}").get_attribute("open") is not None  # the form shown open again
    assert page.locator(f"#ends-{number}").input_value() == "32/8/2025"
    for width in (WIDE, NARROW):
        page.set_viewport_size({"width": width, "height": 900})
        screenshot(page, f"round-dates-refused-{language}", full_page=False)

    page.locator(f"#ends-{number}").fill("20/8/2025")
    page.locator(f"#round-{number}").get_by_role("button", name=OPEN_THE_ROUND[language]).click()
    page.wait_for_load_state()
    assert re.search(rf"/units/{TU_MINH}/drafts/rounds/[0-9]+$", page.url), page.url
    db.session.expire_all()
    opened = db.session.execute(db.select(CommentRound).order_by(CommentRound.id.desc())).scalars().first()
    assert (opened.starts_on.isoformat(), opened.ends_on.isoformat()) == ("2025-08-05", "2025-08-20")


def test_the_language_switch_after_a_refused_form_shows_the_form_page(new_page):
    number = draft_without_open_round().number
    page = new_page(WIDE)
    login(page, "tuminh.vanphong")
    in_language(page, "vi", KIND_PAGE)
    page.locator(f"#round-{number} > summary").click()
    page.locator(f"#ends-{number}").fill("hôm qua")
    page.locator(f"#round-{number}").get_by_role("button", name=OPEN_THE_ROUND["vi"]).click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/{number}/rounds")  # the refusal is the answer to the POST
    with page.expect_navigation() as switched:
        page.get_by_role("link", name="English", exact=True).click()
    assert switched.value.status == 200
    assert page.url.endswith(KIND_PAGE)
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("heading", name="Upload a new draft").is_visible()
    page.reload()  # F5 reads the page again: nothing is posted
    assert page.url.endswith(KIND_PAGE) and page.locator("#problem").count() == 0


@pytest.mark.parametrize("language, words", [("vi", "còn 1.996 ký tự"), ("en", "1,996 characters left")])
def test_a_note_counts_the_characters_left_and_a_long_one_opens_on_request(new_page, language, words):
    version = draft_without_open_round()
    version.note = LONG_NOTE
    db.session.commit()
    page = new_page(WIDE)
    login(page, "tuminh.vanphong")
    in_language(page, language, KIND_PAGE)
    note = page.locator("#upload-note")
    counter = page.locator("#upload-note-chars-left")
    assert counter.inner_text() == ("còn 2.000 ký tự" if language == "vi" else "2,000 characters left")
    note.press_sequentially("Ghi ")
    assert counter.inner_text() == words
    assert counter.get_attribute("id") in note.get_attribute("aria-describedby")

    shown = page.locator(f"#version-{version.number} .long-text")
    assert shown.count() == 1
    full = shown.locator(".full")
    assert not full.is_visible() and len(shown.locator(".excerpt").inner_text()) < 300
    for width in (WIDE, NARROW):
        page.set_viewport_size({"width": width, "height": 900})
        assert no_horizontal_overflow(page)
        screenshot(page, f"drafts-notes-{language}")
    shown.locator("summary").click()
    assert full.is_visible() and full.inner_text() == LONG_NOTE
    assert shown.locator(".less").inner_text() == ("Thu gọn" if language == "vi" else "Show less")
    screenshot(page, f"drafts-notes-open-{language}")

    # every note of the unit's steps counts too (their limit is the one the form checks)
    page.goto(f"/units/{TU_MINH}")
    areas = page.locator("textarea")
    assert areas.count() > 0
    for index in range(areas.count()):
        area = areas.nth(index)
        assert area.get_attribute("maxlength"), area.get_attribute("id")
        assert page.locator(f"#{area.get_attribute('id')}-chars-left").count() == 1

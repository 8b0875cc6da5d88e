"""Symbols used as icons are inline SVG (templates/_macros.html's icon()), never the font glyphs
"⚠ ◷ ✎ ↩", which Debian's fonts (and others) draw differently or not at all."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import get_template_attribute, render_template_string

from congress.drafts.models import CommentRound, DraftVersion
from congress.extensions import db
from congress.units.models import Unit
from tests.test_transfers import BRANCH_HEADINGS, csv_bytes, token_of, upload
from tests.test_transfers import signed_in as signed_with_token
from tests.test_web_units import csrf_token, preparation, signed_in

GLYPHS = "⚠◷✎↩"
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
#: every template is checked (none is left out)
NOT_YET: set[str] = set()
TU_MINH = "10891"


def glyphs_in(html: str) -> list[str]:
    """Each glyph found, with some text around it (for the failure's message)."""
    return [html[max(0, m.start() - 60):m.end() + 20] for m in re.finditer(f"[{GLYPHS}]", html)]


def body(response) -> str:
    assert response.status_code in (200, 409, 422), response.status_code
    return response.get_data(as_text=True)


def test_templates_write_no_glyph_icon():
    found = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        if path.relative_to(TEMPLATES).parts[0] in NOT_YET:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if any(g in line for g in GLYPHS):
                found.append(f"{path.relative_to(TEMPLATES)}:{number}: {line.strip()[:100]}")
    assert found == []


def test_the_macros_draw_svg(app):
    with app.test_request_context("/"):
        state_badge = get_template_attribute("_macros.html", "state_badge")
        risk_badge = get_template_attribute("_macros.html", "risk_badge")
        problem_box = get_template_attribute("_macros.html", "problem_box")
        draft_badge = get_template_attribute("drafts/_status.html", "badge")
        overdue = str(state_badge("in_progress", overdue=True))
        late = str(risk_badge("late"))
        problem = str(problem_box(type("P", (), {"message": "Sai", "anchor": None})()))
        drafts = str(draft_badge("draft", {"draft": "bản thảo"}))
        drafts += str(draft_badge("returned", {"returned": "trả lại"}))
        icons = render_template_string('{% import "_macros.html" as ui %}{{ ui.icon("clock") }}{{ ui.OVERDUE_ICON }}')
    for html, name in ((overdue, "warning"), (late, "warning"), (problem, "warning"), (drafts, "pencil"),
                       (drafts, "return"), (icons, "clock"), (icons, "warning")):
        assert glyphs_in(html) == [], html
        assert re.search(rf'<svg class="icon icon-{name}" aria-hidden="true" focusable="false"', html), (name, html)


def test_pages_draw_their_icons_as_svg(app, files):
    city = signed_in(app, "thanhuy.vanphong")
    seen: set[str] = set()
    pages = [f"/units/{code}" for code in db.session.execute(db.select(Unit.code).order_by(Unit.code)).scalars()]
    pages += [f"/units/{code}/branches" for code in (TU_MINH, "11836", "10573", "11311")]
    drafts = db.session.execute(db.select(Unit.code, DraftVersion.kind).join(Unit, Unit.id == DraftVersion.unit_id)
                                .distinct()).all()
    pages += sorted({f"/units/{code}/drafts" for code, _kind in drafts})
    pages += sorted({f"/units/{code}/drafts/{kind}" for code, kind in drafts})
    rounds = db.session.execute(db.select(Unit.code, CommentRound.id).join(Unit, Unit.id == CommentRound.unit_id)).all()
    pages += [f"/units/{code}/drafts/rounds/{number}" for code, number in rounds]
    for path in pages:
        html = body(city.get(path))
        assert glyphs_in(html) == [], path
        seen.update(re.findall(r'<svg class="icon icon-([a-z-]+)"', html))
    # the pages' states were there to draw: late and due-soon steps, drafts written and returned
    assert {"warning", "clock", "pencil", "return"} <= seen, seen


def test_an_open_round_draws_a_clock(app, files):
    from tests.test_drafts import REPORT_1
    from tests.test_drafts_web import PAGES, next_number, post_upload

    staff = signed_in(app, "tuminh.vanphong")
    number = next_number()
    post_upload(staff, REPORT_1)
    opened = staff.post(f"{PAGES}/political_report/{number}/rounds", data={
        "csrf_token": csrf_token(staff, f"{PAGES}/political_report"), "audiences": ["members"],
        "starts_on": "20/7/2025", "ends_on": "30/7/2025"})
    assert opened.status_code == 302, body(opened)
    html = body(staff.get(opened.headers["Location"]))
    assert glyphs_in(html) == [] and 'icon-clock' in html


def test_refusals_and_conflicts_draw_a_warning(app):
    leader = signed_in(app, "tuminh.bithu")
    prep = preparation(TU_MINH)
    token = csrf_token(leader)
    # a refused form: the problem box at the top of the page
    refused = leader.post(f"/units/{TU_MINH}/congress-date", data={
        "congress-csrf_token": token, "congress-version": str(prep.version), "congress-day": "31/2/2025"})
    html = body(refused)
    assert refused.status_code == 422 and 'id="problem"' in html
    assert glyphs_in(html) == [] and "icon-warning" in html
    # a stale form: the conflict page
    data = {"congress-csrf_token": token, "congress-version": str(prep.version), "congress-day": "14/8/2025"}
    assert leader.post(f"/units/{TU_MINH}/congress-date", data=data).status_code == 302
    data["congress-day"] = "16/8/2025"
    conflict = leader.post(f"/units/{TU_MINH}/congress-date", data=data)
    html = body(conflict)
    assert conflict.status_code == 409 and glyphs_in(html) == [] and "icon-warning" in html
    # the notification settings refused
    page = body(leader.get("/notifications/settings"))
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    bad = leader.post("/notifications/settings", data={"csrf_token": token, "email": "not an address"})
    html = body(bad)
    assert bad.status_code == 422 and glyphs_in(html) == [] and "icon-warning" in html


@pytest.fixture
def inline_app(make_app):
    app = make_app("demo", TRANSFERS_JOBS_INLINE=True)
    with app.app_context():
        yield app


def test_the_import_preview_warns_with_an_svg(inline_app):
    """An import that reopens the unit's completed step says so under a warning sign."""
    client = signed_with_token(inline_app, "tuminh.vanphong")
    content = csv_bytes([BRANCH_HEADINGS,
                         [TU_MINH, "", "Chi bộ Trường Mới", "chi bộ", "Phạm Thị C", "9", "15/08/2025", "", "", ""]])
    token = token_of(upload(client, "branches", "moi.csv", content))
    html = body(client.get(f"/transfers/{token}"))
    assert "reopens or re-dates" in html or "mở lại" in html
    assert glyphs_in(html) == [] and "icon-warning" in html

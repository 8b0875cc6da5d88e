"""A real double click in Chromium: on a step's button and on "Ban hành, cấp số".

The browser sends the form twice (the second submission replaces the first navigation, while the
server still carries the first out). Each form carries its one-time request key, so the second
request waits for the first and gets its answer: the step moves once, the document takes one
number, one audit record each, and the page says what was done, never "someone else changed it".
The server is slowed a little so that the second click always arrives while the first is at work.
"""
from __future__ import annotations

import re
import time

import pytest

from congress.audit.models import AuditRecord
from congress.extensions import db
from congress.papers.models import PaperIssue
from congress.progress.models import Preparation, Step
from congress.units.models import Unit
from tests.browser.conftest import WIDE, login, screenshot

TU_MINH = "10891"
CONGRESS = "Tổ chức đại hội (phiên trù bị và phiên chính thức)"
#: a person's double click: each press held a moment, so the first click's form is on its way
#: before the second (without it Chromium folds both submissions into one before sending)
HUMAN = {"delay": 80, "no_wait_after": True}


def slowed(monkeypatch, module, name: str, seconds: float = 0.5) -> None:
    original = getattr(module, name)

    def slow(*args, **kwargs):
        time.sleep(seconds)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, slow)


def posts_to(page, path: str) -> list[str]:
    """The POST requests the page sends to ``path``, as they go out."""
    sent: list[str] = []
    page.on("request", lambda request: sent.append(request.url)
            if request.method == "POST" and request.url.split("?", 1)[0].endswith(path) else None)
    return sent


def unit_step(key: str) -> Step:
    db.session.expire_all()
    return db.session.execute(
        db.select(Step).join(Preparation).join(Unit, Unit.id == Preparation.unit_id)
        .where(Unit.code == TU_MINH, Step.key == key, Step.branch_id.is_(None))).scalar_one()


def records(**where) -> list[AuditRecord]:
    db.session.expire_all()
    return list(db.session.execute(db.select(AuditRecord).filter_by(**where)).scalars())


@pytest.fixture
def slow_steps(monkeypatch):
    from congress.progress import operations

    slowed(monkeypatch, operations, "transition")


@pytest.fixture
def slow_issues(monkeypatch):
    from congress.papers import operations

    slowed(monkeypatch, operations, "issue_document")


def test_a_double_click_on_a_step_button_starts_it_once(new_page, slow_steps):
    page = new_page(WIDE)
    login(page, "tuminh.vanphong")
    page.goto(f"/units/{TU_MINH}")
    version = unit_step("congress").version
    card = page.locator("#step-congress")
    card.locator("details.action-start summary").click()
    sent = posts_to(page, f"/units/{TU_MINH}/steps/congress/start")
    card.locator("details.action-start form").get_by_role("button", name="Bắt đầu").dblclick(**HUMAN)
    page.wait_for_url(re.compile(rf"/units/{TU_MINH}(#step-congress)?$"))
    page.wait_for_load_state("networkidle")
    assert len(sent) == 2, sent  # the browser did send the form twice
    step = unit_step("congress")
    assert (step.state, step.version) == ("in_progress", version + 1)
    assert len(records(action="step.start", entity_key=f"{TU_MINH}/congress")) == 1
    text = page.content()
    assert f"Đã bắt đầu bước “{CONGRESS}”." in text
    assert "Người khác đã thay đổi" not in text
    screenshot(page, "double-click-step")


def test_a_double_click_on_issue_takes_one_number(new_page, slow_issues):
    page = new_page(WIDE)
    login(page, "tuminh.vanphong")
    page.goto(f"/units/{TU_MINH}/documents")
    action = f"/units/{TU_MINH}/papers/congress_plan/issue"
    sent = posts_to(page, action)
    # the form names the campaign whose document it issues (?campaign=)
    page.locator(f'form[action^="{action}"]').get_by_role("button", name="Ban hành, cấp số").dblclick(**HUMAN)
    page.wait_for_url(re.compile(rf"/units/{TU_MINH}/documents(\?campaign=\d+)?$"))
    page.wait_for_load_state("networkidle")
    assert len(sent) == 2, sent
    unit = db.session.execute(db.select(Unit).filter_by(code=TU_MINH)).scalar_one()
    db.session.expire_all()
    issues = db.session.execute(db.select(PaperIssue).filter_by(unit_id=unit.id, kind="congress_plan")).scalars().all()
    assert [[n.symbol for n in issue.numbers] for issue in issues] == [["01-KH/ĐU"]]
    assert len(records(action="paper.issue", entity_key=f"{TU_MINH}/congress_plan")) == 1
    text = page.content()
    assert "Đã ban hành: 01-KH/ĐU." in text and "02-KH/ĐU" not in text
    screenshot(page, "double-click-issue")

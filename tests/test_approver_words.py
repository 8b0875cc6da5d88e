"""The words of a step's life name the level above the unit, as its workflow says ("approver"): the
commune's steps go to the city's party committee (Thành ủy), the city's own congress to the
Politburo, the Fatherland Front's commune congress to the city's Front committee. The unit page,
the API and the spreadsheets say the words of the step's own workflow."""
from __future__ import annotations

import html
import re
from datetime import date

import pytest

from congress.extensions import db
from congress.progress import campaigns
from congress.progress.models import Campaign, Preparation, Step
from congress.units.models import Unit
from tests.test_campaigns import _admin, front_spec, province_spec
from tests.test_web_units import signed_in, text
from workflows.loader import load_all
from workflows.rules import LIFECYCLE, State


class Words:
    """The words a workflow's definition gives its approver."""

    def __init__(self, vi: str, en: str):
        self.vi, self.en = vi, en


PROVINCE_WORDS = Words("Bộ Chính trị", "the Politburo")
FRONT_WORDS = Words("Ủy ban MTTQ thành phố", "the city's Front committee")


def _prep(campaign: Campaign, code: str) -> Preparation:
    unit = db.session.execute(db.select(Unit).filter_by(code=code)).scalar_one()
    return db.session.execute(db.select(Preparation).filter_by(campaign_id=campaign.id, unit_id=unit.id)).scalar_one()


def _steps(prep: Preparation) -> dict[str, Step]:
    return {s.key: s for s in db.session.execute(
        db.select(Step).filter_by(preparation_id=prep.id, branch_id=None)).scalars()}


def _done(steps: dict[str, Step], *keys: str) -> None:
    for key in keys:
        steps[key].state, steps[key].started_on, steps[key].completed_on = (
            State.DONE.value, date(2025, 8, 1), date(2025, 8, 2))


def _submitted_and_one_to_submit(prep: Preparation, submitted: str, to_submit: str, finished: tuple[str, ...]):
    """One approval step waiting for its verdict, another ready to be submitted today."""
    steps = _steps(prep)
    _done(steps, *finished)
    steps[submitted].state, steps[submitted].submitted_on = State.SUBMITTED.value, date(2025, 8, 4)
    steps[to_submit].state, steps[to_submit].started_on = State.IN_PROGRESS.value, date(2025, 8, 3)
    db.session.commit()


def _badges(html: str) -> list[str]:
    return [re.sub(r"\s+", " ", label).strip() for label in re.findall(r'<span class="label">([^<]*)', html)]


def _buttons(html: str) -> list[str]:
    return [b.strip() for b in re.findall(r'<button type="submit">([^<]*)</button>', html)]


@pytest.fixture
def province(app):
    campaign = campaigns.start(province_spec(), _admin())
    db.session.commit()
    # the documents wait for the Politburo's opinion; the personnel plan is ready to go
    _submitted_and_one_to_submit(_prep(campaign, "31"), "documents_approval", "personnel_plan",
                                 ("plan", "subcommittees"))
    return campaign


@pytest.fixture
def front(app):
    campaign = campaigns.start(front_spec(), _admin())
    db.session.commit()
    return campaign


def test_each_shipped_unit_workflow_names_who_approves_its_steps():
    shipped = load_all()
    for key, words in (("commune_congress", Words("Thành ủy", "the city")), ("province_congress", PROVINCE_WORDS),
                       ("front_commune_congress", FRONT_WORDS)):
        approver = shipped[key].approver
        assert (approver.vi, approver.en) == (words.vi, words.en), key
    province = shipped["province_congress"].approver
    assert LIFECYCLE.label("submitted", "vi", province) == "đã trình Bộ Chính trị"
    assert LIFECYCLE.label("submit", "en", province) == "submit to the Politburo"
    # without a workflow at hand: the city's words
    assert LIFECYCLE.label("submitted", "vi") == "đã trình Thành ủy"


def test_the_province_page_names_the_politburo_for_its_submitted_step_and_its_button(app, province):
    client = signed_in(app, "admin")
    page = text(client.get(f"/units/31?campaign={province.id}"))
    assert f"đã trình {PROVINCE_WORDS.vi}" in _badges(page)
    assert f"Trình {PROVINCE_WORDS.vi}" in _buttons(page)
    assert f"Trình {PROVINCE_WORDS.vi} phê duyệt" in page  # the note on each approval step
    assert "Thành ủy" not in page
    english = text(client.get(f"/units/31?campaign={province.id}&lang=en"))
    assert f"submitted to {PROVINCE_WORDS.en}" in _badges(english)
    assert f"Submit to {PROVINCE_WORDS.en}" in _buttons(english)
    assert "the city" not in english.replace("the city's", "")


def test_the_fronts_page_names_the_citys_front_committee(app, front):
    prep = _prep(front, "11311")
    steps = _steps(prep)
    _done(steps, "plan", "subcommittees", "consultation")
    steps["personnel_plan"].state, steps["personnel_plan"].started_on = State.IN_PROGRESS.value, date(2025, 8, 3)
    db.session.commit()
    client = signed_in(app, "admin")
    page = text(client.get(f"/units/11311?campaign={front.id}"))
    assert f"Trình {FRONT_WORDS.vi}" in _buttons(page)
    assert "Trình Thành ủy" not in page
    steps = _steps(prep)
    steps["personnel_plan"].state, steps["personnel_plan"].submitted_on = State.SUBMITTED.value, date(2025, 8, 4)
    db.session.commit()
    page = text(client.get(f"/units/11311?campaign={front.id}"))
    assert f"đã trình {FRONT_WORDS.vi}" in _badges(page)
    assert "đã trình Thành ủy" not in page


def test_the_commune_page_still_says_the_city(app):
    party = db.session.execute(db.select(Campaign).filter_by(unit_workflow="commune_congress")).scalar_one()
    steps = _steps(_prep(party, "11311"))
    steps["personnel_plan"].state, steps["personnel_plan"].submitted_on = State.SUBMITTED.value, date(2025, 8, 4)
    db.session.commit()
    page = text(signed_in(app, "admin").get(f"/units/11311?campaign={party.id}"))
    assert "đã trình Thành ủy" in _badges(page)
    assert "Trình Thành ủy phê duyệt" in page


def test_the_api_labels_a_province_step_with_the_politburo(province, api_as):
    body = api_as("admin").get(f"/api/v1/units/31?campaign={province.id}").get_json()
    steps = {s["key"]: s for s in body["steps"]}
    assert steps["documents_approval"]["state_label"] == f"đã trình {PROVINCE_WORDS.vi}"
    labels = {a["action"]: a["label"] for a in steps["personnel_plan"]["actions"]}
    assert labels["submit"] == f"trình {PROVINCE_WORDS.vi}"
    english = api_as("admin").get(f"/api/v1/units/31?campaign={province.id}",
                                  headers={"Accept-Language": "en"}).get_json()
    label = {s["key"]: s for s in english["steps"]}["documents_approval"]["state_label"]
    assert label == f"submitted to {PROVINCE_WORDS.en}"


def test_the_import_reads_the_state_words_of_every_shipped_workflow(app):
    from congress.transfers.importing import state_of

    for words in (PROVINCE_WORDS, FRONT_WORDS):
        assert state_of(f"đã trình {words.vi}") is State.SUBMITTED, words.vi
        assert state_of(f"submitted to {words.en}") is State.SUBMITTED, words.en
    for definition in load_all().values():
        if definition.subject != "unit":
            continue
        for language in ("vi", "en"):
            words = LIFECYCLE.label("submitted", language, definition.approver)
            assert state_of(words) is State.SUBMITTED, words
    assert state_of("đã trình Thành ủy") is State.SUBMITTED
    assert state_of("đang thực hiện") is State.IN_PROGRESS


def test_the_citys_notice_of_a_province_submission_names_the_politburo(province):
    from congress.accounts.models import User
    from congress.notices.models import Notification
    from congress.notices.texts import title
    from congress.progress.operations import transition
    from workflows.rules import Action

    step = _steps(_prep(province, "31"))["personnel_plan"]
    transition(step, action=Action.SUBMIT, actor=_admin(), version=step.version, on=date(2025, 8, 5))
    db.session.commit()
    leader = db.session.execute(db.select(User).filter_by(username="thanhuy.lanhdao")).scalar_one()
    [notice] = db.session.execute(db.select(Notification).filter_by(user_id=leader.id, kind="submitted")).scalars()
    assert title(notice).startswith(f"Thành phố Hải Phòng đã trình {PROVINCE_WORDS.vi}: ")


def test_a_label_bound_to_a_workflow_names_its_approver_and_keeps_its_interface(app):
    from congress.messages import ACTION_BUTTONS, ACTION_LABELS, STATE_LABELS, LifecycleLabel
    from workflows.rules import Action

    province = load_all()["province_congress"]
    label = STATE_LABELS[State.SUBMITTED]
    assert str(label) == "đã trình Thành ủy"  # no request, no workflow at hand: the city's words
    bound = label.bind(province)
    assert isinstance(bound, LifecycleLabel) and str(bound) == "đã trình Bộ Chính trị"
    assert bound == "đã trình Bộ Chính trị" and bound != label
    assert bound.__html__() == "đã trình Bộ Chính trị" and bound % {} == "đã trình Bộ Chính trị"
    assert str(ACTION_LABELS[Action.SUBMIT].bind(province.approver)) == "trình Bộ Chính trị"
    assert str(ACTION_BUTTONS[Action.SUBMIT].bind(province)) == "Trình Bộ Chính trị"
    assert str(STATE_LABELS[State.DONE].bind(province)) == "hoàn thành"
    with app.app_context(), app.test_request_context("/?lang=en"):  # a request of its own, in English
        assert str(bound) == "submitted to the Politburo" and str(label) == "submitted to the city"


def test_the_dashboard_of_the_province_campaign_names_the_politburo(app, province):
    """No step at hand: the campaign the request shows decides."""
    client = signed_in(app, "admin")
    page = text(client.get(f"/dashboard?province=31&campaign={province.id}"))
    assert f"Chờ {PROVINCE_WORDS.vi} cho ý kiến (" in page and "Chờ Thành ủy" not in page
    assert "Bộ Chính trị, Ban Bí thư" in page  # the queue's hint names the body in full
    party = db.session.execute(db.select(Campaign).filter_by(unit_workflow="commune_congress")).scalar_one()
    assert "Chờ Thành ủy cho ý kiến (" in text(client.get(f"/dashboard?province=31&campaign={party.id}"))


def test_the_fronts_drafts_name_the_citys_front_committee(app, front, files):
    """A Front draft sent up waits for the city's Front committee, in its stage and its history,
    and only the unit's leader may send it there; the party's drafts still wait for the city."""
    from congress.accounts.models import User
    from congress.drafts import operations
    from tests.test_drafts import REPORT_1

    prep = _prep(front, "11311")
    unit = prep.unit
    writer = db.session.execute(db.select(User).filter_by(username="hongbang.vanphong")).scalar_one()
    leader = db.session.execute(db.select(User).filter_by(username="hongbang.bithu")).scalar_one()
    version = operations.upload_version(unit, "front_personnel_submission", filename="to-trinh.docx",
                                        content=REPORT_1, note=None, actor=writer, prep=prep)
    operations.submit_version(version, actor=leader, note="Kính trình")
    db.session.commit()
    client = signed_in(app, "hongbang.vanphong")
    page = text(client.get(f"/units/11311/drafts/front_personnel_submission?campaign={front.id}"))
    assert f"chờ {FRONT_WORDS.vi} cho ý kiến" in page
    assert f"Trình {FRONT_WORDS.vi}" in page
    assert "Thành ủy" not in page
    english = html.unescape(text(client.get(
        f"/units/11311/drafts/front_personnel_submission?campaign={front.id}&lang=en")))
    assert f"waiting for {FRONT_WORDS.en}" in english
    assert english.count("waiting for the city") == english.count(f"waiting for {FRONT_WORDS.en}")

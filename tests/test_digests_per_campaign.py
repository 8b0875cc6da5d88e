"""A unit in several open campaigns (the commune's party congress and the Fatherland Front's) gets
one end-of-day digest per recipient, with a section for each open campaign, headed by the
campaign's name, whose figures and lists are that campaign's; a closed campaign adds nothing; a
second run of the day sends nothing more; the job reads a few more queries per campaign, never
per unit."""
from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from congress.extensions import db
from congress.notices import jobs
from congress.notices.models import NoticeLedger, Notification
from congress.notices.texts import email_text, summary
from congress.progress import campaigns
from congress.progress.models import Campaign, Preparation, Step
from congress.units.models import Unit
from tests.test_campaigns import _admin, _commune_campaign, front_spec
from tests.test_notices import at, notices_of, user
from tests.test_queries import count_queries
from tests.test_web_units import signed_in, text
from workflows.rules import FINISHED

HONG_BANG = "11311"
DAY = date(2025, 8, 5)


def _prep(campaign: Campaign, code: str = HONG_BANG) -> Preparation:
    unit = db.session.execute(db.select(Unit).filter_by(code=code)).scalar_one()
    return db.session.execute(db.select(Preparation).filter_by(campaign_id=campaign.id, unit_id=unit.id)).scalar_one()


def _overdue_keys(prep: Preparation) -> set[str]:
    """The unit's own steps of one preparation left unfinished past their last allowed day."""
    steps = db.session.execute(db.select(Step).filter_by(preparation_id=prep.id, branch_id=None)).scalars()
    return {s.key for s in steps if s.state_enum not in FINISHED and s.due is not None
            and s.due.last_allowed_day < DAY}


@pytest.fixture
def front(app):
    """The Front's campaign beside the party's, with one of Hồng Bàng's Front steps late since 1/8
    and another due the next working day."""
    campaign = campaigns.start(front_spec(), _admin())
    db.session.commit()
    steps = {s.key: s for s in db.session.execute(db.select(Step).filter_by(
        preparation_id=_prep(campaign).id, branch_id=None)).scalars()}
    steps["plan"].due_on, steps["plan"].due_kind = date(2025, 8, 1), "by"
    steps["subcommittees"].due_on, steps["subcommittees"].due_kind = date(2025, 8, 6), "by"
    db.session.commit()
    return campaign


def _digest(username: str = "hongbang.vanphong") -> Notification:
    [found] = notices_of(username, "digest")
    return found


def _sections(notification: Notification) -> dict[int, dict]:
    return {s["campaign_id"]: s for s in notification.params["campaigns"]}


def test_a_unit_in_two_open_campaigns_gets_one_digest_with_a_section_for_each(app, front):
    party = _commune_campaign()
    jobs.send_digests(at("2025-08-05", 17, 5))
    digest = _digest()
    assert digest.params["unit_code"] == HONG_BANG
    sections = _sections(digest)
    assert list(sections) == [party.id, front.id]  # the campaign started first, first
    assert sections[party.id]["name"] == {"vi": party.name_vi, "en": party.name_en}
    assert sections[front.id]["name"]["vi"] == front.name_vi
    # each section's overdue steps are its own campaign's, titled by its own workflow
    for campaign in (party, front):
        prep = _prep(campaign)
        overdue = sections[campaign.id]["overdue"]
        assert {s["step"] for s in overdue} == _overdue_keys(prep), campaign.name_vi
        definition = prep.workflow_version.definition()
        assert all(s["titles"]["vi"] == definition.step(s["step"]).title_vi for s in overdue)
    assert [(s["step"], s["last_day"]) for s in sections[front.id]["overdue"]] == [("plan", "2025-08-01")]
    assert [s["step"] for s in sections[front.id]["due"]] == ["subcommittees"]
    assert sections[front.id]["percent"] == 0 and sections[party.id]["percent"] > 0
    # the page and the e-mail name both campaigns, each above its own lists
    html = text(signed_in(app, "hongbang.vanphong").get(f"/notifications/{digest.id}"))
    html = html[html.index("<h1"):]  # the digest, not the campaign switcher above it
    assert html.index(f">{party.name_vi}</h2>") < html.index(f">{front.name_vi}</h2>")
    assert html.count("Vướng mắc và lý do") == 2
    subject, body = email_text(digest, "https://daihoi.example.vn")
    assert party.name_vi in body and front.name_vi in body
    assert body.index(front.name_vi) < body.index("Xây dựng kế hoạch tổ chức đại hội, trình Ban Thường vụ Đảng ủy")
    # the headline counts every campaign's overdue steps
    overdue = sum(len(s["overdue"]) for s in sections.values())
    assert f"{overdue} bước quá hạn" in summary(digest)


def test_the_digest_reads_the_campaign_each_change_was_made_in(app, front):
    from congress.progress.operations import transition
    from workflows.rules import Action

    step = db.session.execute(db.select(Step).filter_by(preparation_id=_prep(front).id, branch_id=None,
                                                        key="plan")).scalar_one()
    transition(step, action=Action.START, actor=user("hongbang.bithu"), version=step.version, on=DAY)
    db.session.commit()
    jobs.send_digests(at("2025-08-05", 17, 5))
    sections = _sections(_digest())
    front_changes = [c for c in sections[front.id]["changes"] if c["action"] == "step.start"]
    assert [c["step"] for c in front_changes] == ["plan"]
    party_changes = sections[_commune_campaign().id]["changes"]
    assert not [c for c in party_changes if c["action"] == "step.start" and c["actor"] == "hongbang.bithu"]


def test_a_closed_campaign_adds_nothing_to_the_digest(app, front):
    campaigns.close_campaign(front, actor=_admin(), version=front.version)
    db.session.commit()
    jobs.send_digests(at("2025-08-05", 17, 5))
    assert list(_sections(_digest())) == [_commune_campaign().id]


def test_running_the_job_twice_sends_one_digest_per_recipient(app, front):
    first = jobs.send_digests(at("2025-08-05", 17, 5))
    assert first.created > 0
    assert jobs.send_digests(at("2025-08-05", 18)).created == 0
    staff = user("hongbang.vanphong")
    assert len(notices_of("hongbang.vanphong", "digest")) == 1
    assert db.session.execute(sa.select(sa.func.count(NoticeLedger.id)).where(
        NoticeLedger.job == "digest", NoticeLedger.recipient_id == staff.id)).scalar_one() == 1
    # every unit's staff: one digest each, never one per campaign
    per_user = db.session.execute(sa.select(Notification.user_id, sa.func.count(Notification.id))
                                  .where(Notification.kind == "digest").group_by(Notification.user_id)).all()
    assert per_user and all(count == 1 for _, count in per_user)


def test_the_job_reads_a_few_more_queries_per_campaign_never_per_unit(app):
    days = iter(("2025-08-05", "2025-08-06", "2025-08-07", "2025-08-08", "2025-08-11", "2025-08-12"))

    def statements() -> int:
        """The queries of a day's digests, after a day's run (each recipient has one digest a day)."""
        jobs.send_digests(at(next(days), 17, 5))
        with count_queries() as found:
            jobs.send_digests(at(next(days), 17, 5))
        return len(found)

    party = statements()
    two = campaigns.start(front_spec(province_codes=[], unit_codes=[HONG_BANG, "11506"]), _admin())
    db.session.commit()
    with_two = statements()  # the Front's campaign beside the party's, over two units
    campaigns.close_campaign(two, actor=_admin(), version=two.version)
    campaigns.start(front_spec(term="2031–2036"), _admin())
    db.session.commit()
    with_all = statements()  # instead, one over all of the province's 114
    assert with_all == with_two <= party + 8, (party, with_two, with_all)
    assert len(_sections(notices_of("hongbang.vanphong", "digest")[-1])) == 2


def test_a_digest_made_before_its_parts_still_reads(app):
    """A digest kept from before digests had a part per campaign: its lists read as one part."""
    jobs.send_digests(at("2025-08-05", 17, 5))
    digest = _digest()
    [part] = digest.params["campaigns"]
    old = {key: value for key, value in digest.params.items() if key != "campaigns"}
    digest.params = {**old, **{key: value for key, value in part.items()
                               if key not in ("campaign_id", "name", "approver")}}
    db.session.commit()
    html = text(signed_in(app, "hongbang.vanphong").get(f"/notifications/{digest.id}"))
    assert 'id="digest-blocked"' in html and "digest-campaign" not in html
    assert f"{len(part['overdue'])} bước quá hạn" in summary(db.session.get(Notification, digest.id))

"""A unit's branches belong to one campaign: a later round over the same unit starts from a copy of
the roster without its congress facts, each campaign's readiness, pages, imports and past days
read its own branches, and a province's past day reads its communes' campaign as it was."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from congress.audit.models import AuditRecord
from congress.clock import today
from congress.errors import Conflict
from congress.extensions import db
from congress.progress import campaigns, history
from congress.progress.models import Preparation, Step
from congress.progress.queries import readiness_rows, unit_readiness_row
from congress.transfers.models import ImportBatch
from congress.units.models import Branch, Unit
from congress.units.operations import add_branch, update_branch
from tests.test_campaigns import _admin, _commune_campaign, province_spec
from tests.test_web import login
from workflows.rules import State

UNIT = "11311"


def next_round(**changes) -> campaigns.CampaignSpec:
    """The commune party congress of the next term over one unit."""
    spec = campaigns.CampaignSpec(
        name_vi="Đại hội Đảng bộ xã, nhiệm kỳ 2030–2035", name_en="Commune party congress, term 2030–2035",
        term="2030–2035", unit_workflow="commune_congress", starts_on=today() - timedelta(days=1),
        deadline_on=today() + timedelta(days=120), deadline_kind="by", unit_codes=[UNIT])
    for name, value in changes.items():
        setattr(spec, name, value)
    return spec


def _unit() -> Unit:
    return db.session.execute(db.select(Unit).filter_by(code=UNIT)).scalar_one()


def _roster(campaign_id: int) -> list[Branch]:
    return list(db.session.execute(db.select(Branch).filter_by(campaign_id=campaign_id, unit_id=_unit().id)
                                   .order_by(Branch.code)).scalars())


def test_a_later_round_starts_from_a_copy_of_the_roster_without_its_congress_facts(app):
    old = _commune_campaign()
    before = [(b.code, b.name, b.kind, b.members, b.new_secretary or b.secretary, b.held_on) for b in _roster(old.id)]
    assert before and any(held for *_, held in before)  # the demo: some of the unit's branches held theirs
    plan = campaigns.plan(next_round(), _admin())
    branch_steps = len(plan.branch_version.definition().steps)
    assert plan.branch_steps == len(before) * branch_steps
    new = campaigns.start(next_round(), _admin())
    db.session.commit()
    copied = _roster(new.id)
    assert [(b.code, b.name, b.kind, b.members, b.secretary) for b in copied] == [row[:5] for row in before]
    assert all(b.held_on is None and b.planned_on is None and b.delegates is None and b.new_secretary is None
               for b in copied)
    # the earlier campaign's roster is as it was
    assert [(b.code, b.held_on) for b in _roster(old.id)] == [(row[0], row[5]) for row in before]
    prep = campaigns.unit_preparation(_unit(), new)
    assert db.session.execute(sa.select(sa.func.count(Step.id)).where(
        Step.preparation_id == prep.id, Step.branch_id.is_not(None))).scalar_one() == len(before) * branch_steps
    row = unit_readiness_row(prep)
    assert (row.readiness.branches_held, row.readiness.branches_total) == (0, len(before))
    # the copies are audited, in the new campaign
    assert db.session.execute(sa.select(sa.func.count(AuditRecord.id)).where(
        AuditRecord.action == "branch.add", AuditRecord.campaign_id == new.id)).scalar_one() == len(before)


def test_a_branch_congress_held_in_one_round_leaves_the_other_round_as_it_was(app):
    old = _commune_campaign()
    new = campaigns.start(next_round(), _admin())
    db.session.commit()
    old_row = unit_readiness_row(campaigns.unit_preparation(_unit(), old))
    waiting = _roster(new.id)[0]
    update_branch(waiting, {"held_on": today(), "delegates": 30}, actor=_admin(), version=waiting.version)
    db.session.commit()
    new_row = unit_readiness_row(campaigns.unit_preparation(_unit(), new))
    assert new_row.readiness.branches_held == 1
    again = unit_readiness_row(campaigns.unit_preparation(_unit(), old))
    assert (again.readiness.branches_held, again.readiness.percent) == (
        old_row.readiness.branches_held, old_row.readiness.percent)
    [twin] = [b for b in _roster(old.id) if b.code == waiting.code]
    assert twin.delegates != 30 or twin.held_on != today()
    # the branch's own congress step moved in its own campaign only
    step = db.session.execute(db.select(Step).filter_by(branch_id=waiting.id, key="congress")).scalar_one()
    assert step.preparation.campaign_id == new.id and step.state == State.DONE.value


def test_a_new_branch_joins_the_campaign_shown_and_a_closed_campaigns_roster_is_read_only(app):
    old = _commune_campaign()
    new = campaigns.start(next_round(), _admin())
    db.session.commit()
    count = len(_roster(old.id))
    added = add_branch(_unit(), {"name": "Chi bộ khu dân cư mới"}, actor=_admin(),
                       prep=campaigns.unit_preparation(_unit(), new))
    db.session.commit()
    assert added.campaign_id == new.id and len(_roster(old.id)) == count
    assert added.code not in {b.code for b in _roster(old.id)}  # a code names one organisation
    campaigns.close_campaign(old, actor=_admin(), version=old.version)
    db.session.commit()
    branch = _roster(old.id)[0]
    with pytest.raises(Conflict) as refused:
        update_branch(branch, {"members": 99}, actor=_admin(), version=branch.version)
    assert refused.value.code == "campaign_closed"


def test_the_branches_page_shows_the_roster_of_the_campaign_chosen(app, make_user):
    old = _commune_campaign()
    new = campaigns.start(next_round(), _admin())
    db.session.commit()
    held_before = sum(1 for b in _roster(old.id) if b.held_on)
    make_user("roster.viewer", "city_staff", province="31")
    client = app.test_client()
    login(client, "roster.viewer")
    page = client.get(f"/units/{UNIT}/branches?campaign={new.id}").get_data(as_text=True)
    assert "đã đại hội (0)" in page
    page = client.get(f"/units/{UNIT}/branches?campaign={old.id}").get_data(as_text=True)
    assert f"đã đại hội ({held_before})" in page
    # the API's unit reads the chosen campaign's branches too
    body = client.get(f"/api/v1/units/{UNIT}?campaign={new.id}").get_json()
    assert body["branches"] and not any(b["held"] for b in body["branches"])


def test_a_past_day_of_one_round_is_not_moved_by_writes_in_the_other(app):
    old = _commune_campaign()
    yesterday = today() - timedelta(days=1)
    prep = campaigns.unit_preparation(_unit(), old)
    before = unit_readiness_row(prep, as_of=yesterday)
    new = campaigns.start(next_round(), _admin())
    db.session.commit()
    for branch in _roster(new.id)[:3]:
        update_branch(branch, {"held_on": today()}, actor=_admin(), version=branch.version)
    db.session.commit()
    again = unit_readiness_row(campaigns.unit_preparation(_unit(), old), as_of=yesterday)
    assert (again.readiness.branches_held, again.readiness.branches_total, again.readiness.percent) == (
        before.readiness.branches_held, before.readiness.branches_total, before.readiness.percent)
    # the new round did not exist yesterday
    with pytest.raises(LookupError):
        unit_readiness_row(campaigns.unit_preparation(_unit(), new), as_of=yesterday)


def test_a_branch_import_applies_to_the_campaign_it_was_uploaded_for(app):
    from congress.transfers import importing

    old = _commune_campaign()
    new = campaigns.start(next_round(), _admin())
    db.session.commit()
    target = _roster(new.id)[0]
    twin_before = next(b for b in _roster(old.id) if b.code == target.code).members
    wanted = (target.members or 0) + 7
    content = ("Mã đơn vị,Mã chi bộ,Tên chi bộ,Số đảng viên\n"
               f"{UNIT},{target.code},{target.name},{wanted}\n").encode()
    batch_id = importing.start_import("branches", "chi-bo.csv", content, _admin(), new).id
    db.session.commit()
    importing.run(app, batch_id)
    db.session.expire_all()
    batch = db.session.get(ImportBatch, batch_id)
    assert batch.campaign_id == new.id
    assert batch.state == "previewed", (batch.error, batch.error_params)
    assert batch.counts["updated"] == 1, batch.counts
    importing.apply_batch(batch, _admin())
    db.session.commit()
    assert db.session.get(Branch, target.id).members == wanted
    assert next(b for b in _roster(old.id) if b.code == target.code).members == twin_before


def test_a_province_past_day_counts_the_communes_held_as_they_were_then(app):
    from congress.progress.operations import transition
    from tests.test_campaigns import _ready_to_hold
    from workflows.rules import Action

    commune = _commune_campaign()
    province = campaigns.start(province_spec(), _admin())
    db.session.commit()
    [before] = readiness_rows({"31"}, round_=campaigns.round_of(province))
    held = before.readiness.branches_held
    waiting = db.session.execute(db.select(Preparation).join(Step).where(
        Preparation.campaign_id == commune.id, Step.branch_id.is_(None), Step.key == "congress",
        Step.state != State.DONE.value).order_by(Preparation.id)).scalars().first()
    congress = _ready_to_hold(waiting)
    db.session.commit()
    transition(congress, action=Action.COMPLETE, actor=_admin(), version=congress.version)
    db.session.commit()
    [now] = readiness_rows({"31"}, round_=campaigns.round_of(province))
    assert now.readiness.branches_held == held + 1
    yesterday = today() - timedelta(days=1)
    # the communes' own past day, rebuilt from their records, says how many had held theirs by then
    held_then = sum(1 for r in readiness_rows({"31"}, as_of=yesterday, round_=campaigns.round_of(commune))
                    for f in r.steps if f.key == "congress" and f.state is State.DONE)
    assert held_then < held + 1
    assert history.past_child_counts(commune.id, "congress", {"31"}, yesterday) == {
        "31": (before.readiness.branches_total, held_then)}
    # the province's campaign as if started the day before: its yesterday reads the communes then
    db.session.execute(sa.update(AuditRecord).where(AuditRecord.campaign_id == province.id)
                       .values(at=AuditRecord.at - timedelta(days=2)))
    db.session.commit()
    [then] = readiness_rows({"31"}, as_of=yesterday, round_=campaigns.round_of(province))
    assert (then.readiness.branches_held, then.readiness.branches_total) == (
        held_then, before.readiness.branches_total)


def test_the_migration_gives_each_branch_and_record_its_units_campaign_both_ways(app):
    from flask_migrate import downgrade, upgrade

    commune = _commune_campaign().id
    branches = db.session.execute(sa.select(sa.func.count(Branch.id))).scalar_one()
    assert branches and db.session.execute(sa.select(sa.func.count(Branch.id)).where(
        Branch.campaign_id == commune)).scalar_one() == branches
    db.session.commit()
    db.session.remove()
    downgrade(revision="0019_paper_campaigns")
    with db.engine.connect() as conn:
        assert "campaign_id" not in {c["name"] for c in sa.inspect(conn).get_columns("branches")}
        assert conn.execute(sa.text("SELECT count(*) FROM branches")).scalar_one() == branches
    upgrade()
    assert db.session.execute(sa.select(sa.func.count(Branch.id)).where(
        Branch.campaign_id == commune)).scalar_one() == branches
    unnamed = db.session.execute(sa.select(sa.func.count(AuditRecord.id)).where(
        AuditRecord.entity.in_(("step", "branch", "preparation")), AuditRecord.unit_id.is_not(None),
        AuditRecord.campaign_id.is_(None))).scalar_one()
    assert unnamed == 0

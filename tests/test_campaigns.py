"""Campaigns as data: starting one (preview, bad input, scope), a province campaign rolling up its
communes' campaign, two campaigns on one unit, closing one, and the pages and API per campaign."""
from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from congress.accounts.models import User
from congress.errors import Conflict, Forbidden, Unprocessable
from congress.extensions import db
from congress.progress import campaigns
from congress.progress.models import Campaign, Preparation, Step
from congress.progress.queries import readiness_rows
from congress.units.models import Unit
from tests.test_queries import count_queries
from tests.test_web import login
from workflows.rules import Action, State

HAI_PHONG_UNITS = 114


def _admin() -> User:
    return db.session.execute(db.select(User).filter_by(role="admin")).scalars().first()


def _commune_campaign() -> Campaign:
    return db.session.execute(db.select(Campaign).filter_by(unit_workflow="commune_congress")).scalar_one()


def province_spec(**changes) -> campaigns.CampaignSpec:
    spec = campaigns.CampaignSpec(
        name_vi="Đại hội đại biểu Đảng bộ thành phố Hải Phòng, nhiệm kỳ 2025–2030",
        name_en="Hải Phòng city party congress, term 2025–2030", term="2025–2030",
        unit_workflow="province_congress", starts_on=date(2025, 7, 15), deadline_on=date(2025, 10, 31),
        deadline_basis="Chỉ thị số 45-CT/TW ngày 14/4/2025", province_codes=["31"],
        child_campaign_id=_commune_campaign().id)
    for name, value in changes.items():
        setattr(spec, name, value)
    return spec


def front_spec(**changes) -> campaigns.CampaignSpec:
    spec = campaigns.CampaignSpec(
        name_vi="Đại hội đại biểu Mặt trận Tổ quốc Việt Nam cấp xã",
        name_en="Commune-level Fatherland Front congresses",
        term="2026–2031", unit_workflow="front_commune_congress", starts_on=date(2025, 8, 1),
        deadline_on=date(2025, 11, 30), deadline_kind="by", province_codes=["31"])
    for name, value in changes.items():
        setattr(spec, name, value)
    return spec


def _counts() -> tuple[int, int, int, int]:
    return tuple(db.session.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
                 for table in (Campaign, Preparation, Step, Unit))


def _city_staff(make_user) -> User:
    return make_user("thanhuy.campaigns", "city_staff", province="31")


# --- preview and bad input ------------------------------------------------------------------

def test_the_preview_counts_units_and_steps_and_flags_days_off_and_writes_nothing(app):
    before = _counts()
    # 30/11/2025 is a Sunday; a unit's own deadline on National Day (2/9/2025)
    found = campaigns.plan(front_spec(unit_deadlines={"11311": date(2025, 9, 2)}), _admin())
    assert found.unit_count == HAI_PHONG_UNITS
    assert found.steps_per_unit == 11 and found.step_count == 11 * HAI_PHONG_UNITS
    assert found.branch_steps == 0  # the Front tracks no subordinate organisations
    assert [(w.day, w.why, w.what) for w in found.warnings] == [
        (date(2025, 11, 30), "weekend", "deadline"), (date(2025, 9, 2), "holiday", "11311")]
    db.session.rollback()
    assert _counts() == before


def test_the_province_preview_adds_the_province_committee_as_its_one_unit(app):
    found = campaigns.plan(province_spec(), _admin())
    assert found.units == [] and found.new_units == [
        {"code": "31", "name": "Thành phố Hải Phòng", "kind": "thanh_pho", "province_code": "31"}]
    assert found.unit_count == 1 and found.child_campaign.id == _commune_campaign().id


@pytest.mark.parametrize("changes, code, field", [
    ({"unit_workflow": "no_such_workflow"}, "workflow_not_found", "unit_workflow"),
    ({"unit_workflow": "branch_congress"}, "workflow_not_found", "unit_workflow"),
    ({"deadline_on": date(2025, 7, 31)}, "deadline_before_start", "deadline_on"),
    ({"deadline_on": date(2025, 8, 1), "deadline_kind": "before"}, "deadline_before_start", "deadline_on"),
    ({"starts_on": None}, "field_required", "starts_on"),
    ({"name_vi": "  "}, "field_required", "name_vi"),
    ({"term": "x" * 21}, "text_too_long", "term"),
    ({"province_codes": ["99"]}, "province_not_found", "province_codes"),
    ({"province_codes": [], "unit_codes": ["11311", "99999"]}, "unit_not_found", "unit_codes"),
    ({"unit_deadlines": {"01001": date(2025, 9, 1)}}, "unit_not_in_campaign", "unit_deadlines"),
])
def test_bad_input_is_refused_naming_the_field_and_writes_nothing(app, changes, code, field):
    before = _counts()
    with pytest.raises(Unprocessable) as refused:
        campaigns.start(front_spec(**changes), _admin())
    assert (refused.value.code, refused.value.params["field"]) == (code, field)
    db.session.rollback()
    assert _counts() == before


def test_a_province_campaign_needs_a_child_campaign_of_the_level_it_reads(app):
    with pytest.raises(Unprocessable) as refused:
        campaigns.plan(province_spec(child_campaign_id=None), _admin())
    assert refused.value.code == "child_campaign_required"
    province = campaigns.start(province_spec(), _admin())
    with pytest.raises(Unprocessable) as refused:  # a province campaign is not a commune one
        campaigns.plan(province_spec(term="2030–2035", child_campaign_id=province.id), _admin())
    assert refused.value.code == "child_campaign_level"


def test_a_round_already_running_in_the_province_is_refused(app):
    campaigns.start(front_spec(), _admin())
    db.session.commit()
    with pytest.raises(Unprocessable) as refused:  # a second click, or the same round again
        campaigns.start(front_spec(), _admin())
    assert refused.value.code == "campaign_exists"


def test_city_staff_start_campaigns_only_over_their_own_province(app, make_user):
    from congress.seeding.seed import seed_reference

    staff = _city_staff(make_user)
    seed_reference(["01"])
    db.session.commit()
    before = _counts()
    with pytest.raises(Forbidden) as refused:
        campaigns.plan(front_spec(province_codes=["01"]), staff)
    assert refused.value.code == "campaign_outside_scope"
    hanoi = db.session.execute(db.select(Unit.code).filter_by(province_code="01").limit(1)).scalar_one()
    with pytest.raises(Forbidden) as refused:  # one unit outside the province is enough
        campaigns.plan(front_spec(province_codes=[], unit_codes=["11311", hanoi]), staff)
    assert hanoi in refused.value.params["codes"]
    db.session.rollback()
    assert _counts() == before
    assert campaigns.plan(front_spec(), staff).unit_count == HAI_PHONG_UNITS


def test_a_list_of_units_covers_exactly_those_and_gives_their_own_deadlines(app):
    campaign = campaigns.start(front_spec(province_codes=[], unit_codes=["11311", "11506"],
                                          unit_deadlines={"11311": date(2025, 10, 15)}), _admin())
    db.session.commit()
    preps = {p.unit.code: p for p in db.session.execute(
        db.select(Preparation).filter_by(campaign_id=campaign.id)).scalars()}
    assert set(preps) == {"11311", "11506"}
    assert preps["11311"].deadline.last_allowed_day == date(2025, 10, 15)
    assert preps["11506"].deadline == campaign.deadline
    assert campaign.province_code == "31"


# --- starting: all or nothing, audited ----------------------------------------------------------

def test_starting_creates_every_preparation_and_step_pinned_to_its_versions_and_audits(app):
    from congress.audit.models import AuditRecord

    campaign = campaigns.start(front_spec(), _admin())
    db.session.commit()
    assert (campaign.organisation, campaign.level, campaign.status) == ("fatherland_front", "commune", "open")
    assert campaign.branch_workflow is None and campaign.branch_workflow_version_id is None
    preps = db.session.execute(db.select(Preparation).filter_by(campaign_id=campaign.id)).scalars().all()
    assert len(preps) == HAI_PHONG_UNITS
    assert {p.workflow_version_id for p in preps} == {campaign.unit_workflow_version_id}
    steps = db.session.execute(sa.select(sa.func.count(Step.id)).join(Preparation).where(
        Preparation.campaign_id == campaign.id)).scalar_one()
    assert steps == 11 * HAI_PHONG_UNITS
    started = db.session.execute(db.select(AuditRecord).filter_by(action="campaign.start")).scalar_one()
    assert started.new["units"] == HAI_PHONG_UNITS and started.new["workflow"].startswith("front_commune_congress r")


def test_a_failure_while_starting_leaves_nothing_behind(app, monkeypatch):
    from congress.progress import operations

    before = _counts()

    def broken(*args, **kwargs):
        raise Unprocessable("invalid_field", {"field": "x", "problem": "test"})

    monkeypatch.setattr(operations, "enrol_units", broken)
    with pytest.raises(Unprocessable):
        campaigns.start(province_spec(), _admin())
    db.session.rollback()
    assert _counts() == before


# --- the province's congress rolls up its communes' campaign -------------------------------------

def _held(campaign_id: int) -> int:
    return db.session.execute(sa.select(sa.func.count(Step.id)).join(Preparation).where(
        Preparation.campaign_id == campaign_id, Step.branch_id.is_(None), Step.key == "congress",
        Step.state == State.DONE.value)).scalar_one()


def test_the_province_campaign_reads_its_readiness_from_the_communes_campaign(app):
    commune = _commune_campaign()
    held = _held(commune.id)
    assert 0 < held < HAI_PHONG_UNITS  # the demo: some communes have held their congress
    province = campaigns.start(province_spec(), _admin())
    db.session.commit()
    [row] = readiness_rows({"31"}, round_=campaigns.round_of(province))
    assert row.unit.code == "31" and row.unit.level == "province"
    assert (row.readiness.branches_held, row.readiness.branches_total) == (held, HAI_PHONG_UNITS)
    roll_up = next(f for f in row.steps if f.key == "commune_congresses")
    assert roll_up.state is State.IN_PROGRESS and roll_up.partial == pytest.approx(held / HAI_PHONG_UNITS)
    # the commune round is unchanged by it
    assert len(readiness_rows({"31"}, round_=campaigns.round_of(commune))) == HAI_PHONG_UNITS


def _ready_to_hold(prep: Preparation) -> Step:
    """Every step before the congress finished (as the drafts and approvals would have left them),
    the congress planned for today: the one write left is holding it."""
    from congress.clock import today

    definition = prep.workflow_version.definition()
    before = [s.key for s in definition.steps if s.phase != "after" and s.key != "congress"]
    db.session.execute(sa.update(Step).where(Step.preparation_id == prep.id, Step.branch_id.is_(None),
                                             Step.key.in_(before))
                       .values(state=State.DONE.value, completed_on=today()))
    db.session.execute(sa.update(Step).where(Step.preparation_id == prep.id, Step.branch_id.is_(None),
                                             Step.key == "congress")
                       .values(state=State.IN_PROGRESS.value, completed_on=None))
    prep.congress_on = today()
    db.session.flush()
    db.session.expire_all()
    return db.session.execute(db.select(Step).filter_by(preparation_id=prep.id, branch_id=None,
                                                        key="congress")).scalar_one()


def test_the_last_commune_holding_its_congress_completes_the_province_roll_up(app):
    from congress.progress.accountability import CompletedStepPolicy, completed_steps
    from congress.progress.operations import transition

    commune = _commune_campaign()
    preps = db.session.execute(db.select(Preparation).filter_by(campaign_id=commune.id)
                               .order_by(Preparation.id)).scalars().all()
    last = preps[-1]
    db.session.execute(sa.update(Step).where(
        Step.preparation_id.in_([p.id for p in preps[:-1]]), Step.branch_id.is_(None), Step.key == "congress")
        .values(state=State.DONE.value, completed_on=date(2025, 8, 1)))
    congress = _ready_to_hold(last)
    province = campaigns.start(province_spec(), _admin())
    db.session.commit()
    roll_up = db.session.execute(db.select(Step).join(Preparation).where(
        Preparation.campaign_id == province.id, Step.key == "commune_congresses")).scalar_one()
    assert roll_up.state == State.IN_PROGRESS.value

    transition(congress, action=Action.COMPLETE, actor=_admin(), version=congress.version)
    db.session.commit()
    db.session.refresh(roll_up)
    assert roll_up.state == State.DONE.value and roll_up.completed_on == congress.completed_on

    # taking the commune's congress back reopens the province's completed step, only when confirmed
    congress = db.session.get(Step, congress.id)
    with pytest.raises(Unprocessable) as refused:
        transition(congress, action=Action.REOPEN, actor=_admin(), version=congress.version, note="sai ngày")
    assert refused.value.code == "completed_step_reopen"
    db.session.rollback()
    congress = db.session.get(Step, congress.id)
    with completed_steps(CompletedStepPolicy(reopen=True)):
        transition(congress, action=Action.REOPEN, actor=_admin(), version=congress.version, note="sai ngày")
    db.session.commit()
    db.session.refresh(roll_up)
    assert roll_up.state == State.IN_PROGRESS.value


def test_city_staff_run_the_province_committee_and_an_administrator_approves(app, make_user):
    from congress.accounts import permissions

    staff = _city_staff(make_user)
    campaigns.start(province_spec(), _admin())
    db.session.commit()
    city = db.session.execute(db.select(Unit).filter_by(code="31")).scalar_one()
    assert permissions.can_take_action(staff, city, Action.START)
    assert not permissions.can_take_action(staff, city, Action.APPROVE, approval=True)
    assert permissions.can_take_action(_admin(), city, Action.APPROVE, approval=True)
    assert permissions.can_edit_drafts(staff, city) and not permissions.can_review_drafts(staff, city)
    commune = db.session.execute(db.select(Unit).filter_by(code="11311")).scalar_one()
    assert not permissions.can_take_action(staff, commune, Action.START)  # a commune's own users do


# --- two campaigns on one unit ------------------------------------------------------------------

def test_a_unit_in_two_campaigns_has_one_preparation_in_each(app):
    front = campaigns.start(front_spec(), _admin())
    db.session.commit()
    unit = db.session.execute(db.select(Unit).filter_by(code="11311")).scalar_one()
    party = campaigns.unit_preparation(unit, _commune_campaign())
    theirs = campaigns.unit_preparation(unit, front)
    assert party.campaign_id != theirs.campaign_id
    assert {s.key for s in campaigns.unit_preparation(unit, front).workflow_version.definition().steps} >= {
        "consultation"}
    # the open campaign started last is the default, until the commune round is chosen
    assert campaigns.unit_preparation(unit).campaign_id == front.id
    party_rows = readiness_rows({"31"}, round_=campaigns.round_of(_commune_campaign()))
    front_rows = readiness_rows({"31"}, round_=campaigns.round_of(front))
    assert len(party_rows) == len(front_rows) == HAI_PHONG_UNITS
    assert {r.preparation.campaign_id for r in front_rows} == {front.id}
    assert all(r.readiness.percent == 0 for r in front_rows)


def test_a_branch_change_reaches_only_the_campaigns_that_count_branches(app):
    from congress.units.models import Branch
    from congress.units.operations import update_branch

    campaigns.start(front_spec(), _admin())
    db.session.commit()
    branch = db.session.execute(db.select(Branch).join(Unit).where(
        Unit.code == "11311", Branch.held_on.is_(None))).scalars().first()
    assert branch is not None
    update_branch(branch, {"planned_on": date(2025, 8, 1)}, actor=_admin(), version=branch.version)
    db.session.commit()


def test_each_page_and_the_api_follow_the_campaign_chosen_and_the_choice_is_remembered(app, make_user):
    staff = _city_staff(make_user)
    front = campaigns.start(front_spec(), _admin())
    db.session.commit()
    client = app.test_client()
    login(client, staff.username)
    page = client.get("/dashboard").get_data(as_text=True)
    assert "Mặt trận Tổ quốc" in page  # the newest open campaign is shown first
    commune = _commune_campaign()
    page = client.get(f"/dashboard?campaign={commune.id}").get_data(as_text=True)
    assert "Đại hội Đảng bộ cấp xã" in page
    answer = client.get("/campaigns/choose", query_string={"campaign": str(commune.id),
                                                           "next": f"/dashboard?campaign={front.id}"})
    assert answer.status_code == 302 and "campaign=" not in answer.headers["Location"]
    assert db.session.get(User, staff.id).campaign_id == commune.id
    page = client.get("/units/11311").get_data(as_text=True)
    assert "Hoàn thành đại hội các chi bộ" in page  # the party workflow's step
    page = client.get(f"/units/11311?campaign={front.id}").get_data(as_text=True)
    assert "hiệp thương" in page.lower()
    assert client.get("/dashboard?campaign=999999").status_code == 404
    assert client.get("/dashboard?campaign=abc").status_code == 404


def test_a_campaign_outside_the_users_reach_is_not_found(app, make_user):
    from congress.seeding.seed import seed_reference

    seed_reference(["01"])
    hanoi = campaigns.start(front_spec(province_codes=["01"], name_vi="MTTQ Hà Nội"), _admin())
    db.session.commit()
    staff = _city_staff(make_user)
    assert hanoi.id not in {c.id for c in campaigns.campaigns_for(staff)}
    client = app.test_client()
    login(client, staff.username)
    assert client.get(f"/dashboard?campaign={hanoi.id}").status_code == 404


# --- closing ----------------------------------------------------------------------------------

def test_a_closed_campaign_stays_readable_and_refuses_every_write(app, make_user):
    from congress.progress.operations import set_congress_date, transition
    from congress.units.models import Branch
    from congress.units.operations import update_branch

    commune = _commune_campaign()
    campaigns.close_campaign(commune, actor=_admin(), version=commune.version)
    db.session.commit()
    assert commune.is_closed and commune.closed_at is not None
    campaigns.close_campaign(commune, actor=_admin(), version=commune.version)  # a repeat: nothing more
    unit = db.session.execute(db.select(Unit).filter_by(code="11311")).scalar_one()
    prep = campaigns.unit_preparation(unit, commune)
    step = db.session.execute(db.select(Step).filter_by(preparation_id=prep.id, branch_id=None)
                              .where(Step.state == State.NOT_STARTED.value)).scalars().first()
    with pytest.raises(Conflict) as refused:
        transition(step, action=Action.START, actor=_admin(), version=step.version)
    assert refused.value.code == "campaign_closed"
    with pytest.raises(Conflict):
        set_congress_date(prep, actor=_admin(), version=prep.version, day=date(2025, 8, 20))
    branch = db.session.execute(db.select(Branch).filter_by(unit_id=unit.id)).scalars().first()
    with pytest.raises(Conflict):
        update_branch(branch, {"members": 12}, actor=_admin(), version=branch.version)
    from congress.drafts.operations import upload_version
    from tests.test_drafts import make_docx

    with pytest.raises(Conflict) as refused:  # its drafts too
        upload_version(unit, "political_report", filename="bao-cao.docx", content=make_docx("Báo cáo"), note=None,
                       actor=_admin())
    assert refused.value.code == "campaign_closed"
    db.session.rollback()
    client = app.test_client()
    staff = _city_staff(make_user)
    login(client, staff.username)
    page = client.get("/dashboard")
    assert page.status_code == 200
    assert "banner-closed" in page.get_data(as_text=True)
    assert client.get("/units/11311").status_code == 200
    assert client.get("/api/v1/units/11311").status_code in (200, 401)


def test_only_an_administrator_or_the_provinces_staff_close_a_campaign(app, make_user):
    leader = make_user("thanhuy.leader", "city_leader", province="31")
    commune = _commune_campaign()
    with pytest.raises(Forbidden):
        campaigns.close_campaign(commune, actor=leader, version=commune.version)
    staff = _city_staff(make_user)
    campaigns.close_campaign(commune, actor=staff, version=commune.version)
    assert commune.is_closed


# --- query counts per campaign ------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/dashboard", "/units/11311", "/units/11311/branches", "/campaigns"])
def test_list_pages_issue_as_many_queries_whichever_campaign_is_shown(app, make_user, path):
    staff = _city_staff(make_user)
    front = campaigns.start(front_spec(), _admin())
    db.session.commit()
    client = app.test_client()
    login(client, staff.username)
    counts = {}
    for campaign in (_commune_campaign(), front):
        url = f"{path}?campaign={campaign.id}"
        assert client.get(url).status_code == 200
        with count_queries() as statements:
            assert client.get(url).status_code == 200
        counts[campaign.id] = len(statements)
    # the Front's workflow has no branches: never more queries than the party's
    assert counts[front.id] <= counts[_commune_campaign().id], counts


# --- the API ------------------------------------------------------------------------------------

def test_the_api_previews_starts_and_lists_campaigns_and_reads_readiness_per_campaign(app, api_as):
    city = api_as("city_staff", province="31")
    body = {"name": "Đại hội đại biểu Mặt trận Tổ quốc Việt Nam cấp xã", "term": "2026–2031",
            "unit_workflow": "front_commune_congress", "provinces": ["31"], "starts_on": "2025-08-01",
            "deadline": {"date": "2025-11-30", "kind": "by"}}
    before = _counts()
    preview = city.post("/api/v1/campaigns", json=body)
    assert preview.status_code == 200, preview.get_json()
    assert preview.get_json()["units"] == HAI_PHONG_UNITS and preview.get_json()["days_off"][0]["why"] == "weekend"
    assert _counts() == before
    bad = city.post("/api/v1/campaigns", json={**body, "unit_workflow": "nope", "confirm": True})
    assert bad.status_code == 422 and bad.get_json()["error"] == "workflow_not_found"
    early = city.post("/api/v1/campaigns", json={**body, "deadline": {"date": "2025-07-01"}, "confirm": True})
    assert early.status_code == 422 and early.get_json()["error"] == "deadline_before_start"
    outside = city.post("/api/v1/campaigns", json={**body, "provinces": [], "units": ["00004"], "confirm": True})
    assert outside.status_code in (403, 422), outside.get_json()
    assert _counts() == before
    started = city.post("/api/v1/campaigns", json={**body, "confirm": True})
    assert started.status_code == 201
    front = started.get_json()
    assert (front["organisation"], front["level"], front["status"]) == ("fatherland_front", "commune", "open")
    listed = city.get("/api/v1/campaigns").get_json()["campaigns"]
    assert [c["id"] for c in listed][:1] == [front["id"]]
    party = next(c for c in listed if c["unit_workflow"] == "commune_congress")
    readiness = city.get(f"/api/v1/readiness?campaign={front['id']}").get_json()
    assert readiness["campaign"]["id"] == front["id"] and len(readiness["units"]) == HAI_PHONG_UNITS
    assert all(u["readiness"]["percent"] == 0 for u in readiness["units"])
    readiness = city.get(f"/api/v1/readiness?campaign={party['id']}").get_json()
    assert readiness["campaign"]["id"] == party["id"]
    assert city.get("/api/v1/readiness?campaign=424242").status_code == 404
    closed = city.post(f"/api/v1/campaigns/{party['id']}/close", json={"version": party["version"]})
    assert closed.status_code == 200 and closed.get_json()["status"] == "closed"


# --- the page -----------------------------------------------------------------------------------

def _form_keys(client, path: str) -> dict:
    import re

    page = client.get(path).get_data(as_text=True)
    return {name: re.search(rf'name="{name}" type="hidden" value="([^"]+)"', page).group(1)
            for name in ("csrf_token", "request_key")}


def test_the_page_previews_then_starts_and_names_the_field_of_a_refusal(app, make_user):
    staff = _city_staff(make_user)
    client = app.test_client()
    login(client, staff.username)
    page = client.get("/campaigns/new").get_data(as_text=True)
    assert "province_congress" in page and "front_commune_congress" in page
    commune = _commune_campaign()
    form = {"name_vi": "Đại hội đại biểu Đảng bộ thành phố Hải Phòng", "term": "2025–2030",
            "unit_workflow": "province_congress", "provinces": "31", "child_campaign": str(commune.id),
            "starts_on": "15/7/2025", "deadline_on": "31/10/2025", "deadline_kind": "before", "confirm": "0"}
    before = _counts()
    preview = client.post("/campaigns/new", data={**form, **_form_keys(client, "/campaigns/new")})
    assert preview.status_code == 200
    html = preview.get_data(as_text=True)
    assert 'id="preview"' in html and "1 đơn vị" in html and "15 bước" in html
    assert _counts() == before

    early = client.post("/campaigns/new", data={**form, "deadline_on": "1/7/2025",
                                                **_form_keys(client, "/campaigns/new")})
    assert early.status_code == 422
    assert 'id="deadline_on-error"' in early.get_data(as_text=True)
    not_a_day = client.post("/campaigns/new", data={**form, "starts_on": "32/7/2025",
                                                    **_form_keys(client, "/campaigns/new")})
    assert not_a_day.status_code == 422 and 'id="starts_on-error"' in not_a_day.get_data(as_text=True)
    assert _counts() == before

    keys = _form_keys(client, "/campaigns/new")
    started = client.post("/campaigns/new", data={**form, "confirm": "1", **keys})
    assert started.status_code == 302
    again = client.post("/campaigns/new", data={**form, "confirm": "1", **keys})  # a double click
    assert again.status_code == 302
    assert db.session.execute(sa.select(sa.func.count(Campaign.id)).filter_by(
        unit_workflow="province_congress")).scalar_one() == 1
    province = db.session.execute(db.select(Campaign).filter_by(unit_workflow="province_congress")).scalar_one()
    assert db.session.get(User, staff.id).campaign_id == province.id  # the new campaign is shown
    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert "Đại hội đại biểu Đảng bộ thành phố Hải Phòng" in dashboard and "Thành phố Hải Phòng" in dashboard


def test_the_page_is_the_city_staffs_and_the_list_offers_closing_to_them(app, make_user):
    leader = make_user("thanhuy.leader", "city_leader", province="31")
    client = app.test_client()
    login(client, leader.username)
    assert client.get("/campaigns/new").status_code == 403
    assert "/close" not in client.get("/campaigns").get_data(as_text=True)
    staff = _city_staff(make_user)
    client = app.test_client()
    login(client, staff.username)
    assert "/close" in client.get("/campaigns").get_data(as_text=True)


# --- notices and nightly records follow the open campaigns ----------------------------------------

def test_a_closed_campaign_reminds_nobody_and_records_no_more_nights(app):
    from congress.notices import jobs
    from congress.notices.models import ReadinessSnapshot
    from tests.test_notices import at

    commune = _commune_campaign()
    campaigns.close_campaign(commune, actor=_admin(), version=commune.version)
    db.session.commit()
    assert jobs.send_reminders(at("2025-08-05")).created == 0
    before = db.session.execute(sa.select(sa.func.count(ReadinessSnapshot.id))).scalar_one()
    jobs.record_readiness(at("2025-08-05", 23, 30))
    assert db.session.execute(sa.select(sa.func.count(ReadinessSnapshot.id))).scalar_one() == before


def test_each_open_campaign_records_its_own_nightly_snapshot(app):
    from congress.notices import jobs
    from congress.notices.models import ReadinessSnapshot
    from tests.test_notices import at

    front = campaigns.start(front_spec(), _admin())
    db.session.commit()
    jobs.record_readiness(at("2025-08-05", 23, 30))
    day = jobs.snapshot_day(at("2025-08-05", 23, 30))
    by_campaign = dict(db.session.execute(
        sa.select(ReadinessSnapshot.campaign_id, sa.func.count(ReadinessSnapshot.id))
        .where(ReadinessSnapshot.day == day).group_by(ReadinessSnapshot.campaign_id)).all())
    assert by_campaign == {_commune_campaign().id: HAI_PHONG_UNITS, front.id: HAI_PHONG_UNITS}


def test_the_documents_page_and_api_list_the_campaigns_document_set(app, api_as):
    front = campaigns.start(front_spec(), _admin())
    db.session.commit()
    c = app.test_client()
    login(c, "thanhuy.vanphong")
    r = c.get(f"/units/11311/documents?campaign={front.id}")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "front_report" in html
    assert "papers/congress_plan" not in html  # the party's set is not the Front's
    r = c.get("/units/11311/documents")
    html = r.get_data(as_text=True)
    assert "front_report" in html  # newest open campaign is the default
    assert c.get("/units/11311/papers/front_report.docx?campaign=999999").status_code == 404
    api = api_as("city_staff", province="31")
    body = api.get(f"/api/v1/units/11311/papers?campaign={front.id}").get_json()
    assert [k["kind"] for k in body["kinds"]][:1] == ["front_congress_plan"], body

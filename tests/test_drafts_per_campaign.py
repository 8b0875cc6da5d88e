"""Drafts belong to one preparation: a unit in two campaigns whose workflows draft the same kind
keeps two sets of drafts, numbered apart; an approval in one campaign satisfies only its own
steps; the pages and the API show and write the drafts of the campaign asked for, and a closed
campaign's drafts stay as they were while the open one's are written."""
from __future__ import annotations

from datetime import date

import pytest

from congress.drafts import operations
from congress.drafts.models import ApprovalException, CommentRound, DraftVersion
from congress.errors import Conflict, NotFound, Unprocessable
from congress.extensions import db
from congress.progress import campaigns
from congress.progress import operations as progress_ops
from congress.progress.actions import UnitFacts
from congress.progress.models import Campaign, Preparation, Step
from congress.units.models import Unit
from tests.steps import finish_prerequisites
from tests.test_drafts import PDF, REPORT_1, REPORT_2, TU_MINH
from tests.test_drafts_api import multipart
from tests.test_web_units import signed_in
from workflows.rules import Action

KIND = "political_report"


@pytest.fixture
def files(tmp_path):
    from flask import current_app

    current_app.config["FILES_FOLDER"] = str(tmp_path / "files")
    return tmp_path / "files"


def unit(code: str = TU_MINH) -> Unit:
    return db.session.execute(db.select(Unit).filter_by(code=code)).scalar_one()


@pytest.fixture
def two(base_app, make_user, files):
    """Phường Tứ Minh in the commune party congress of 2025–2030 (A) and in a second commune party
    congress (B, term 2030–2035) whose workflow drafts the same kinds; with its own users and the
    city's."""
    admin = make_user("admin.twice", "admin")

    class Two:
        staff = make_user("tm.staff", "unit_staff", unit=TU_MINH)
        leader = make_user("tm.leader", "unit_leader", unit=TU_MINH)
        city = make_user("city.staff", "city_staff", province="31")
        a = db.session.execute(db.select(Campaign).filter_by(unit_workflow="commune_congress")).scalar_one()
        b = campaigns.start(campaigns.CampaignSpec(
            name_vi="Đại hội Đảng bộ cấp xã, nhiệm kỳ 2030–2035", name_en="Commune party congresses, 2030–2035",
            term="2030–2035", unit_workflow="commune_congress", starts_on=date(2025, 8, 1),
            deadline_on=date(2025, 12, 31), unit_codes=[TU_MINH]), admin)
    db.session.commit()
    Two.admin = admin
    Two.prep_a = campaigns.unit_preparation(unit(), Two.a)
    Two.prep_b = campaigns.unit_preparation(unit(), Two.b)
    assert Two.prep_a.id != Two.prep_b.id
    assert KIND in Two.prep_a.workflow_version.definition().drafts
    assert KIND in Two.prep_b.workflow_version.definition().drafts
    return Two


def step_of(prep: Preparation, key: str) -> Step:
    return db.session.execute(db.select(Step).where(
        Step.preparation_id == prep.id, Step.branch_id.is_(None), Step.key == key)).scalar_one()


def finish_before(prep: Preparation, key: str, on: date = date(2025, 8, 2)) -> None:
    """Mark done every step of the preparation that ``key`` depends on, directly or not."""
    finish_prerequisites(prep, key, on)


def upload(two, prep: Preparation, content: bytes = REPORT_1, kind: str = KIND) -> DraftVersion:
    version = operations.upload_version(unit(), kind, filename="du-thao.docx", content=content, note=None,
                                        actor=two.staff, prep=prep)
    db.session.commit()
    return version


# --- numbering ---------------------------------------------------------------------------------------

def test_each_campaign_numbers_its_drafts_from_one(two):
    for prep in (two.prep_a, two.prep_b):
        finish_before(prep, "political_report")
    first_a = upload(two, two.prep_a)
    second_a = upload(two, two.prep_a, REPORT_2)
    # the first upload starts the drafting step of its own preparation only
    assert step_of(two.prep_a, "political_report").state == "in_progress"
    assert step_of(two.prep_b, "political_report").state == "not_started"
    first_b = upload(two, two.prep_b)  # the same file as A's first: a draft of another campaign
    assert (first_a.number, second_a.number, first_b.number) == (1, 2, 1)
    assert not first_b.repeated
    assert (first_a.preparation_id, first_b.preparation_id) == (two.prep_a.id, two.prep_b.id)
    assert step_of(two.prep_b, "political_report").state == "in_progress"
    second_b = upload(two, two.prep_b, REPORT_2)
    assert second_b.number == 2
    kept = db.session.execute(db.select(DraftVersion.preparation_id, DraftVersion.number).where(
        DraftVersion.unit_id == unit().id, DraftVersion.kind == KIND).order_by(DraftVersion.id)).all()
    assert [tuple(row) for row in kept] == [(two.prep_a.id, 1), (two.prep_a.id, 2), (two.prep_b.id, 1),
                                            (two.prep_b.id, 2)]


def test_a_preparation_of_another_unit_is_refused(two):
    other = campaigns.unit_preparation(unit("11311"), two.a)
    with pytest.raises(NotFound):
        operations.upload_version(unit(), KIND, filename="a.docx", content=REPORT_1, note=None, actor=two.staff,
                                  prep=other)
    db.session.rollback()


def test_a_submission_in_one_campaign_leaves_the_other_free_to_submit(two):
    submitted = upload(two, two.prep_a)
    operations.submit_version(submitted, actor=two.leader)
    db.session.commit()
    other = upload(two, two.prep_b)
    operations.submit_version(other, actor=two.leader)  # not "draft 1 is already waiting": that is A's
    db.session.commit()
    assert (submitted.status, other.status) == ("submitted", "submitted")


# --- the guard on the approval step ------------------------------------------------------------------

def test_an_approval_in_one_campaign_does_not_satisfy_the_other_campaigns_guard(two, api_as):
    for prep in (two.prep_a, two.prep_b):
        finish_before(prep, "documents_approval")
    staff = api_as("unit_staff", unit=TU_MINH, username="tm.staff")
    leader = api_as("unit_leader", unit=TU_MINH, username="tm.leader")
    city = api_as("city_staff", province="31", username="city.staff")
    base = f"/api/v1/units/{TU_MINH}/drafts/{KIND}/versions"
    query = f"?campaign={two.a.id}"
    assert staff.post(base + query, **multipart(REPORT_1, "a.docx")).status_code == 201
    assert leader.post(f"{base}/1/submit{query}", json={}).status_code == 200
    assert city.post(f"{base}/1/reviews{query}", json={"verdict": "approve"}).status_code == 200
    assert step_of(two.prep_a, "documents_approval").state == "approved"
    assert step_of(two.prep_b, "documents_approval").state == "not_started"

    # B's approval step, sent to the city without a draft of B's own
    approval = step_of(two.prep_b, "documents_approval")
    progress_ops.transition(approval, action=Action.START, actor=two.leader, version=approval.version)
    progress_ops.transition(approval, action=Action.SUBMIT, actor=two.leader, version=approval.version)
    db.session.commit()
    approval = step_of(two.prep_b, "documents_approval")
    assert Action.APPROVE not in UnitFacts(two.prep_b).offered(two.city, approval)
    with pytest.raises(Unprocessable) as refused:
        progress_ops.transition(approval, action=Action.APPROVE, actor=two.city, version=approval.version)
    assert refused.value.code == "approval_needs_approved_draft"
    db.session.rollback()
    assert UnitFacts(two.prep_a).approved_kinds == {KIND}
    assert UnitFacts(two.prep_b).approved_kinds == frozenset()
    # B's congress still needs B's political report; A's is approved
    assert KIND in UnitFacts(two.prep_b).gate_missing and KIND not in UnitFacts(two.prep_a).gate_missing


def test_the_dashboard_queue_decides_a_draft_in_its_own_campaign(two, base_app):
    finish_before(two.prep_b, "documents_approval")
    version = upload(two, two.prep_b)
    operations.submit_version(version, actor=two.leader)
    db.session.commit()
    client = signed_in(base_app, "city.staff")
    queue = client.get(f"/dashboard?campaign={two.b.id}").get_data(as_text=True)
    item = queue.split(f'id="approval-draft-{version.id}"')[1].split("</li>")[0]
    assert f"campaign={two.b.id}" in item
    queue = client.get(f"/dashboard?campaign={two.a.id}").get_data(as_text=True)
    assert f'id="approval-draft-{version.id}"' not in queue


def test_an_exception_covers_the_congress_of_its_own_campaign(two):
    operations.record_exception(unit(), KIND, reason="Thành ủy cho phép", actor=two.city, prep=two.prep_a)
    db.session.commit()
    assert KIND not in UnitFacts(two.prep_a).gate_missing
    assert KIND in UnitFacts(two.prep_b).gate_missing
    # the other campaign may record its own
    found = operations.record_exception(unit(), KIND, reason="Lý do khác", actor=two.city, prep=two.prep_b)
    db.session.commit()
    assert found.preparation_id == two.prep_b.id
    with pytest.raises(Conflict):
        operations.record_exception(unit(), KIND, reason="lần nữa", actor=two.city, prep=two.prep_b)
    db.session.rollback()
    kept = db.session.execute(db.select(ApprovalException.preparation_id).order_by(ApprovalException.id)).all()
    assert [row[0] for row in kept] == [two.prep_a.id, two.prep_b.id]


def test_a_comment_round_belongs_to_its_drafts_preparation(two):
    version = upload(two, two.prep_b)
    found = operations.open_round(version, audiences=["members"], starts_on=date(2025, 8, 5),
                                  ends_on=date(2025, 8, 10), actor=two.staff)
    db.session.commit()
    assert db.session.get(CommentRound, found.id).preparation_id == two.prep_b.id


def test_every_draft_write_is_audited_in_its_campaign(two):
    """Upload, submit, verdict, comment round (open, comments, close) and an exception in campaign
    B: each audit record names B, so B's history is B's own."""
    from congress.audit.models import AuditRecord
    from congress.drafts.operations import CommentEntry

    since = db.session.execute(db.select(db.func.max(AuditRecord.id))).scalar() or 0
    version = upload(two, two.prep_b)
    found = operations.open_round(version, audiences=["members"], starts_on=date(2025, 8, 5),
                                  ends_on=date(2025, 8, 10), actor=two.staff)
    operations.add_comments(found, [CommentEntry("members", 3, "Bổ sung giải pháp")], actor=two.staff)
    operations.close_round(found, actor=two.staff)
    finish_before(two.prep_b, "documents_approval")
    operations.submit_version(version, actor=two.leader, note="Kính trình")
    operations.review_version(version, verdict="return", text="Cần bổ sung", actor=two.city)
    operations.record_exception(unit(), "personnel_submission", reason="Đã thống nhất", actor=two.city,
                                prep=two.prep_b)
    db.session.commit()
    records = db.session.execute(db.select(AuditRecord).where(
        AuditRecord.id > since, AuditRecord.entity.in_(("draft", "round")))).scalars().all()
    assert {r.action for r in records} >= {"draft.upload", "round.open", "round.comment", "round.close",
                                           "draft.submit", "draft.return", "draft.exception"}
    assert {r.campaign_id for r in records} == {two.b.id}, [(r.action, r.campaign_id) for r in records]


def test_the_history_page_shows_the_campaign_asked_for(two, base_app):
    """A unit's history in one campaign holds that campaign's records (and the unit's own), not
    another campaign's."""
    upload(two, two.prep_b, content=REPORT_2)
    client = signed_in(base_app, "tm.staff")
    in_b = client.get(f"/units/{TU_MINH}/history?campaign={two.b.id}").get_data(as_text=True)
    in_a = client.get(f"/units/{TU_MINH}/history?campaign={two.a.id}").get_data(as_text=True)
    assert "du-thao.docx" in in_b
    assert "du-thao.docx" not in in_a


# --- the pages and the API -----------------------------------------------------------------------------

def test_the_drafts_pages_show_only_the_campaign_asked_for(two, base_app, api_as):
    staff = api_as("unit_staff", unit=TU_MINH, username="tm.staff")
    api = f"/api/v1/units/{TU_MINH}/drafts/{KIND}/versions"
    assert staff.post(f"{api}?campaign={two.a.id}", **multipart(REPORT_1, "du-thao.docx")).status_code == 201
    made = staff.post(f"{api}?campaign={two.b.id}", **multipart(PDF, "ban-cua-khoa-sau.pdf"))
    assert made.status_code == 201 and made.json["number"] == 1
    client = signed_in(base_app, "tm.staff")
    base = f"/units/{TU_MINH}/drafts"
    a_page = client.get(f"{base}/{KIND}?campaign={two.a.id}").get_data(as_text=True)
    b_page = client.get(f"{base}/{KIND}?campaign={two.b.id}").get_data(as_text=True)
    assert "du-thao.docx" in a_page and "ban-cua-khoa-sau.pdf" not in a_page
    assert "ban-cua-khoa-sau.pdf" in b_page and "du-thao.docx" not in b_page
    # the links between the drafts pages keep the campaign they were opened with
    assert f"campaign={two.a.id}" in a_page and f"campaign={two.b.id}" not in a_page
    index = client.get(f"{base}?campaign={two.a.id}").get_data(as_text=True)
    assert f'href="{base}/{KIND}?campaign={two.a.id}"' in index
    # the file of A's draft 1 is A's docx, B's draft 1 is B's PDF
    a_file = client.get(f"{base}/{KIND}/1/file?campaign={two.a.id}")
    b_file = client.get(f"{base}/{KIND}/1/file?campaign={two.b.id}")
    assert a_file.status_code == b_file.status_code == 200
    assert a_file.data == REPORT_1 and b_file.data == PDF
    a_file.close()
    b_file.close()
    # a campaign the unit is not in shows none of its drafts
    other = campaigns.start(campaigns.CampaignSpec(
        name_vi="Đại hội MTTQ cấp xã", name_en="Front congresses", term="2026–2031",
        unit_workflow="front_commune_congress", starts_on=date(2025, 8, 1), deadline_on=date(2025, 12, 31),
        unit_codes=["11311"]), two.admin)
    db.session.commit()
    city = signed_in(base_app, "city.staff")
    assert city.get(f"{base}?campaign={other.id}").status_code == 404


def test_the_api_lists_and_writes_the_drafts_of_the_campaign_asked_for(two, api_as):
    staff = api_as("unit_staff", unit=TU_MINH, username="tm.staff")
    base = f"/api/v1/units/{TU_MINH}/drafts"
    assert staff.post(f"{base}/{KIND}/versions?campaign={two.a.id}",
                      **multipart(REPORT_1, "du-thao.docx")).status_code == 201
    made = staff.post(f"{base}/{KIND}/versions?campaign={two.b.id}", **multipart(REPORT_2, "b.docx"))
    assert made.status_code == 201 and made.json["number"] == 1
    assert f"campaign={two.b.id}" in made.json["file"]
    listed_a = staff.get(f"{base}?campaign={two.a.id}").json
    listed_b = staff.get(f"{base}?campaign={two.b.id}").json
    names = {c["kind"]: [v["original_name"] for v in c["versions"]] for c in listed_a["kinds"]}
    assert names[KIND] == ["du-thao.docx"]
    names = {c["kind"]: [v["original_name"] for v in c["versions"]] for c in listed_b["kinds"]}
    assert names[KIND] == ["b.docx"]
    assert staff.get(f"{base}/{KIND}/versions/1?campaign={two.b.id}").json["original_name"] == "b.docx"
    assert staff.get(f"{base}/{KIND}/versions/2?campaign={two.b.id}").status_code == 404


def test_a_closed_campaigns_drafts_are_refused_while_the_open_ones_are_written(two, api_as):
    staff = api_as("unit_staff", unit=TU_MINH, username="tm.staff")
    leader = api_as("unit_leader", unit=TU_MINH, username="tm.leader")
    base = f"/api/v1/units/{TU_MINH}/drafts"
    assert staff.post(f"{base}/{KIND}/versions?campaign={two.a.id}",
                      **multipart(REPORT_1, "a1.docx")).status_code == 201
    opened = staff.post(f"{base}/{KIND}/versions/1/rounds?campaign={two.a.id}",
                        json={"audiences": ["members"], "starts_on": "2025-08-05", "ends_on": "2025-08-10"})
    assert opened.status_code == 201
    campaigns.close_campaign(two.a, actor=two.admin, version=two.a.version)
    db.session.commit()
    refused = staff.post(f"{base}/{KIND}/versions?campaign={two.a.id}", **multipart(REPORT_2, "a2.docx"))
    assert refused.status_code == 409 and refused.json["error"] == "campaign_closed"
    refused = leader.post(f"{base}/{KIND}/versions/1/submit?campaign={two.a.id}", json={})
    assert refused.status_code == 409 and refused.json["error"] == "campaign_closed"
    refused = staff.post(f"{base}/rounds/{opened.json['id']}/close?campaign={two.a.id}", json={})
    assert refused.status_code == 409 and refused.json["error"] == "campaign_closed"
    # the open campaign's drafts of the same kind are written
    made = staff.post(f"{base}/{KIND}/versions?campaign={two.b.id}", **multipart(REPORT_2, "b.docx"))
    assert made.status_code == 201 and made.json["number"] == 1
    assert leader.post(f"{base}/{KIND}/versions/1/submit?campaign={two.b.id}", json={}).status_code == 200
    kept = db.session.execute(db.select(DraftVersion.original_name, DraftVersion.status).where(
        DraftVersion.unit_id == unit().id).order_by(DraftVersion.id)).all()
    assert [tuple(row) for row in kept] == [("a1.docx", "draft"), ("b.docx", "submitted")]
    with pytest.raises(Conflict) as closed:
        operations.upload_version(unit(), KIND, filename="x.docx", content=REPORT_2, note=None, actor=two.staff,
                                  prep=two.prep_a)
    assert closed.value.code == "campaign_closed"
    db.session.rollback()


def test_the_dashboard_shows_the_drafts_of_the_campaign_shown(two, base_app):
    upload(two, two.prep_b)
    client = signed_in(base_app, "city.staff")
    stages = client.get(f"/dashboard?campaign={two.a.id}").get_data(as_text=True).split('id="document-stages"')[1]
    assert "Tứ Minh" not in stages.split("</section>")[0]
    stages = client.get(f"/dashboard?campaign={two.b.id}").get_data(as_text=True).split('id="document-stages"')[1]
    stages = stages.split("</section>")[0]
    assert "Tứ Minh" in stages and f"campaign={two.b.id}" in stages


def test_a_stale_request_in_one_campaign_is_not_taken_for_its_senders_change_in_another(two, api_as):
    """Tứ Minh in two campaigns of the same workflow. In campaign B the staff started and finished
    the plan; then, once the staff had finished campaign A's plan too, the leader reopened A's.
    The leader's reopening of B's plan, sent with the version they saw before the staff finished
    it, is a conflict with the staff's change, not a repeat of the leader's own reopening in A."""
    def post(client, campaign, action: str, version: int):
        return client.post(f"{path}?campaign={campaign.id}", json={"action": action, "version": version})

    staff = api_as("unit_staff", unit=TU_MINH, username="tm.staff")
    leader = api_as("unit_leader", unit=TU_MINH, username="tm.leader")
    path = f"/api/v1/units/{TU_MINH}/steps/plan/transitions"
    in_b = step_of(two.prep_b, "plan").version
    assert staff.post(f"{path}?campaign={two.b.id}", json={"action": "start", "version": in_b}).status_code == 200
    seen = in_b + 1
    assert staff.post(f"{path}?campaign={two.b.id}", json={"action": "complete", "version": seen}).status_code == 200
    in_a = step_of(two.prep_a, "plan").version
    assert post(staff, two.a, "start", in_a).status_code == 200
    assert post(staff, two.a, "complete", in_a + 1).status_code == 200
    in_a += 2
    answer = leader.post(f"{path}?campaign={two.a.id}", json={"action": "reopen", "version": in_a, "note": "Xem lại"})
    assert answer.status_code == 200, answer.get_json()
    response = leader.post(f"{path}?campaign={two.b.id}", json={"action": "reopen", "version": seen, "note": "Xem lại"})
    assert response.status_code == 409, response.get_json()

"""The approval loop: every submission (draft versions and approval steps) reaches the city's queue
with a link to its document and is decided there; the unit hears of the city's verdict and the
city of the unit's submission, once, in the app and by e-mail; the reasons of earlier returns stay
visible after a resubmission."""
from __future__ import annotations

import re

import pytest

from congress.accounts.models import User
from congress.drafts import operations
from congress.drafts.models import DraftVersion
from congress.extensions import db
from congress.notices import events, mail
from congress.notices.models import NoticeAddress, NoticePreference, Notification
from congress.progress import operations as progress_ops
from congress.progress.models import Step
from congress.units.models import Unit
from tests.conftest import TODAY
from tests.test_drafts import PDF, REPORT_1, REPORT_2, make_docx, step
from tests.test_notices import header, smtp_server, wait_for  # noqa: F401  (smtp_server is a fixture)
from tests.test_queries import count_queries
from tests.test_web_dashboard import csrf, decide, page, signed_in
from workflows.rules import Action

HONG_BANG = "11311"
TU_MINH = "10891"
CITY = ("thanhuy.lanhdao", "thanhuy.vanphong")
HONG_BANG_USERS = ("hongbang.bithu", "hongbang.vanphong")
REASON = "Cần nêu rõ khâu đột phá và giải pháp then chốt"


@pytest.fixture
def city(app, files):
    return signed_in(app, "thanhuy.vanphong")


@pytest.fixture
def told_by_transition(monkeypatch):
    """transition telling of the steps it moves (events.step_moved, which is safe to call twice for
    one move), as the step operations do."""
    from congress.web import dashboard

    original = progress_ops.transition

    def transition(step, *, action, actor, **kwargs):
        moved = original(step, action=action, actor=actor, **kwargs)
        events.step_moved(moved, action, actor)
        return moved

    monkeypatch.setattr(progress_ops, "transition", transition)
    monkeypatch.setattr(dashboard, "transition", transition)


def user(username: str) -> User:
    return db.session.execute(db.select(User).filter_by(username=username)).scalar_one()


def unit(code: str) -> Unit:
    return db.session.execute(db.select(Unit).filter_by(code=code)).scalar_one()


def notices_of(username: str, kind: str | None = None) -> list[Notification]:
    query = db.select(Notification).filter_by(user_id=user(username).id).order_by(Notification.id)
    if kind:
        query = query.filter_by(kind=kind)
    return list(db.session.execute(query).scalars())


def submitted(code: str = HONG_BANG, content: bytes = REPORT_1, kind: str = "political_report",
              note: str | None = "Kính trình Thường trực Thành ủy") -> DraftVersion:
    """The unit's staff upload a draft and its leader submits it."""
    staff, leader = (user("hongbang.vanphong"), user("hongbang.bithu")) if code == HONG_BANG else (
        user("tuminh.vanphong"), user("tuminh.bithu"))
    version = operations.upload_version(unit(code), kind, filename="du-thao.docx", content=content, note=None,
                                        actor=staff)
    operations.submit_version(version, actor=leader, note=note)
    db.session.commit()
    return version


def pending(code: str = HONG_BANG, kind: str = "political_report") -> DraftVersion:
    """The version the demo left waiting for the city (Hồng Bàng's political report, draft 3)."""
    return db.session.execute(db.select(DraftVersion).filter_by(unit_id=unit(code).id, kind=kind,
                                                                 status="submitted")).scalar_one()


def returned_pending(reason: str = REASON) -> DraftVersion:
    version = pending()
    operations.review_version(version, verdict="return", text=reason, actor=user("thanhuy.vanphong"))
    db.session.commit()
    return version


def submitted_outside_the_drafts(code: str = TU_MINH, key: str = "personnel_plan") -> Step:
    """A step sent to the city without a draft (as before the drafts existed): Tứ Minh's personnel
    plan, whose draft 1 the city approved, back to "submitted"."""
    found = step(code, key)
    found.state, found.completed_on, found.approved_on, found.submitted_on = "submitted", None, None, TODAY
    found.version += 1
    db.session.commit()
    return found


def item_of(html: str, anchor: str) -> str:
    return html.split(f'id="{anchor}"')[1].split("</li>")[0]


def decide_draft(client, draft: DraftVersion, action: str, token: str, version: int | None = None, **fields):
    prefix = f"d{draft.id}-{action}"
    data = {"action": action, f"{prefix}-csrf_token": token,
            f"{prefix}-version": draft.version if version is None else version}
    data.update({f"{prefix}-{k}": v for k, v in fields.items()})
    return client.post(f"/dashboard/approvals/drafts/{draft.id}", data=data)


def make_staff(code: str) -> User:
    from congress.accounts.operations import add_user

    found = add_user(f"staff-{code}", role="unit_staff", password="daihoi-2025-staff", unit=unit(code))
    db.session.commit()
    return found


def submitted_steps() -> list[Step]:
    return list(db.session.execute(db.select(Step).where(
        Step.branch_id.is_(None), Step.state == "submitted").order_by(Step.id)).scalars())


# --- 1 and 4: every submission in the queue, each with its document -----------------------------

def test_draft_submissions_reach_the_queue_once_with_their_document(city, files):
    queued = len(submitted_steps())  # in the demo every submitted step came with its draft
    report, approval = pending(), step(HONG_BANG, "documents_approval")
    assert approval.state == "submitted"
    review = submitted(TU_MINH, PDF, kind="self_review_report", note=None)  # a kind with no approval step
    html = page(city)
    assert f"Chờ Thành ủy cho ý kiến ({queued + 1})" in html
    assert f'id="approval-{approval.id}"' not in html, "the step and its draft are one submission"
    item = item_of(html, f"approval-draft-{report.id}")
    campaign = report.preparation.campaign_id  # each link names the campaign of the draft
    assert (f'href="/units/{HONG_BANG}/drafts/political_report?campaign={campaign}#version-{report.number}">'
            f"Báo cáo chính trị, dự thảo lần {report.number}</a>") in item
    assert (f'href="/units/{HONG_BANG}/drafts/political_report/{report.number}/file?campaign={campaign}" '
            'download>Tải về') in item
    assert (f'href="/units/{HONG_BANG}/drafts/political_report/compare?campaign={campaign}&amp;'
            f'from={report.number - 1}&amp;to={report.number}">So sánh với dự thảo lần {report.number - 1}') in item
    assert "Trình Ban Thường vụ Thành ủy cho ý kiến dự thảo văn kiện" in item and "Phường Hồng Bàng" in item
    assert f'action="/dashboard/approvals/drafts/{report.id}"' in item and "Phê duyệt" in item
    item = item_of(html, f"approval-draft-{review.id}")
    assert "Báo cáo kiểm điểm" in item and f"/units/{TU_MINH}/drafts/self_review_report/3/file" in item
    assert "Trình Ban Thường vụ" not in item


def test_a_step_submitted_outside_the_drafts_links_to_its_document(city, files):
    approval = submitted_outside_the_drafts()
    item = item_of(page(city), f"approval-{approval.id}")
    campaign = approval.preparation.campaign_id
    assert f'href="/units/{TU_MINH}/drafts/personnel_submission?campaign={campaign}#version-1">' in item
    assert "Tờ trình phương án nhân sự, dự thảo lần 1" in item and "(Thành ủy đã phê duyệt)" in item
    assert f"/units/{TU_MINH}/drafts/personnel_submission/1/file" in item
    assert f'name="s{approval.id}-approve-version" type="hidden" value="{approval.version}"' in item
    # with no draft at all: the page where its drafts will be
    bare = db.session.execute(db.select(Unit).where(Unit.province_code == "31", ~Unit.id.in_(
        db.select(DraftVersion.unit_id).where(DraftVersion.kind == "personnel_submission")))
        .order_by(Unit.code).limit(1)).scalar_one()
    other = submitted_outside_the_drafts(bare.code)
    item = item_of(page(city), f"approval-{other.id}")
    assert (f'href="/units/{bare.code}/drafts/personnel_submission?campaign={campaign}">'
            'Tờ trình phương án nhân sự') in item
    assert "chưa có dự thảo nào được tải lên" in item


def test_the_queue_reads_the_same_queries_with_more_drafts(city, files):
    city.get("/dashboard")
    with count_queries() as statements:
        assert city.get("/dashboard").status_code == 200
    before = len(statements)
    submitted(TU_MINH, PDF, kind="self_review_report")
    submitted_outside_the_drafts()
    returned_pending()
    submitted(HONG_BANG, REPORT_2)
    with count_queries() as statements:
        html = city.get("/dashboard").get_data(as_text=True)
    assert "Đã trả lại lần trước" in html
    assert len(statements) == before <= 12, statements


def test_the_queue_returns_and_approves_the_draft_and_its_step_follows(app, city, files):
    report = pending()
    token = csrf(page(city))
    refused = decide_draft(city, report, "return", token, note="  ")
    assert refused.status_code == 422 and "Hãy nêu lý do trả lại" in refused.get_data(as_text=True)
    assert '<details class="dash-return" open>' in item_of(refused.get_data(as_text=True),
                                                           f"approval-draft-{report.id}")
    returned = decide_draft(city, report, "return", token, note=REASON)
    assert returned.status_code == 302 and returned.headers["Location"].endswith("/dashboard#approvals")
    db.session.expire_all()
    assert report.status == "returned" and report.verdict_reason == REASON
    approval = step(HONG_BANG, "documents_approval")
    assert approval.state == "in_progress" and approval.reason == REASON
    html = page(city)
    assert f"Đã trả lại “Báo cáo chính trị, dự thảo lần {report.number}” cho Phường Hồng Bàng." in html
    assert f'id="approval-draft-{report.id}"' not in html
    again = decide_draft(city, report, "approve", token)
    assert again.status_code == 409 and "chưa được thay đổi" in again.get_data(as_text=True)
    second = submitted(HONG_BANG, REPORT_2)
    stale = decide_draft(city, second, "approve", csrf(page(city)), version=second.version - 1)
    assert stale.status_code == 409
    db.session.expire_all()
    assert second.status == "submitted"
    leader = signed_in(app, "hongbang.bithu")
    own = csrf(leader.get("/login").get_data(as_text=True))
    assert decide_draft(leader, second, "approve", own).status_code == 403
    approved = decide_draft(city, second, "approve", csrf(page(city)), note="Đồng ý")
    assert approved.status_code == 302
    db.session.expire_all()
    assert second.status == "approved" and second.verdict_reason == "Đồng ý"
    assert step(HONG_BANG, "documents_approval").state == "approved"


# --- 2: the unit hears of the verdict, the city of the submission -----------------------------------

def test_a_verdict_tells_the_unit_and_a_submission_the_city_once(app, city, files, told_by_transition):
    report = pending()
    assert decide_draft(city, report, "return", csrf(page(city)), note=REASON).status_code == 302
    for name in HONG_BANG_USERS:
        found = notices_of(name)
        assert [(n.kind, n.params["subject"], n.params["verdict"], n.params["text"]) for n in found] == [
            ("verdict", "draft", "return", REASON)], name
        assert found[0].link == (f"/units/{HONG_BANG}/drafts/political_report?campaign="
                                 f"{report.preparation.campaign_id}#version-{report.number}")
    for name in (*CITY, "xem.thanhpho", "tuminh.vanphong", "admin"):
        assert notices_of(name) == [], name
    leader = signed_in(app, "hongbang.bithu")
    html = leader.get("/notifications").get_data(as_text=True)
    assert f"Thành ủy đã trả lại: Báo cáo chính trị, dự thảo lần {report.number} (Phường Hồng Bàng)" in html
    assert f"Lý do: {REASON}" in html
    second = submitted(HONG_BANG, REPORT_2)
    for name in CITY:
        found = notices_of(name)
        assert [(n.kind, n.params["subject"], n.params["number"], n.params["note"]) for n in found] == [
            ("submitted", "draft", second.number, "Kính trình Thường trực Thành ủy")], name
        assert found[0].link == f"/dashboard?province=31#approval-draft-{second.id}"
    html = signed_in(app, "thanhuy.lanhdao").get("/notifications").get_data(as_text=True)
    assert f"Phường Hồng Bàng đã trình Thành ủy: Báo cáo chính trị, dự thảo lần {second.number}" in html
    assert decide_draft(city, second, "approve", csrf(page(city)), note="Đồng ý").status_code == 302
    approved = notices_of("hongbang.vanphong")[-1]
    assert (approved.kind, approved.params["verdict"], approved.params["number"]) == ("verdict", "approve",
                                                                                      second.number)
    html = leader.get(f"/notifications/{notices_of('hongbang.bithu')[-1].id}").get_data(as_text=True)
    assert (f"Thành ủy đã phê duyệt “Báo cáo chính trị, dự thảo lần {second.number}” ngày 5/8/2025. "
            "Ý kiến: Đồng ý") in html
    assert len(notices_of("hongbang.bithu")) == 2, "the approval step that followed told nobody again"
    assert notices_of("thanhuy.vanphong", "verdict") == []


def test_an_approval_step_moved_directly_tells_once(app, city, files, told_by_transition):
    approval = submitted_outside_the_drafts()
    assert decide(city, approval, "return", csrf(page(city)), note=REASON).status_code == 302
    for name in ("tuminh.bithu", "tuminh.vanphong"):
        found = notices_of(name)
        assert [(n.kind, n.params["subject"], n.params["verdict"], n.params["text"]) for n in found] == [
            ("verdict", "step", "return", REASON)], name
        assert found[0].link == f"/units/{TU_MINH}#step-personnel_plan"
    db.session.expire_all()
    approval, leader = step(TU_MINH, "personnel_plan"), user("tuminh.bithu")
    moved = progress_ops.transition(approval, action=Action.SUBMIT, actor=leader, version=approval.version,
                                    note="Trình lại")
    events.step_moved(moved, Action.SUBMIT, leader)  # told already: nothing more
    db.session.commit()
    for name in CITY:
        found = notices_of(name, "submitted")
        assert [(n.params["subject"], n.params["step"], n.params["note"]) for n in found] == [
            ("step", "personnel_plan", "Trình lại")], name
    html = signed_in(app, "thanhuy.lanhdao").get("/notifications").get_data(as_text=True)
    assert "Phường Tứ Minh đã trình Thành ủy: Trình phương án nhân sự cấp ủy nhiệm kỳ 2025–2030" in html
    assert decide(city, step(TU_MINH, "personnel_plan"), "approve", csrf(page(city))).status_code == 302
    assert [n.params["verdict"] for n in notices_of("tuminh.vanphong")] == ["return", "approve"]
    # a step the city does not approve tells nobody
    congress = step(TU_MINH, "resolution")
    events.step_moved(congress, Action.START, leader)
    events.step_moved(congress, Action.SUBMIT, leader)
    assert not [o for o in db.session.new if isinstance(o, Notification)]


def test_an_exception_to_the_approval_is_no_verdict(app, files, told_by_transition):
    bare = db.session.execute(db.select(Unit).where(Unit.province_code == "31", ~Unit.id.in_(
        db.select(DraftVersion.unit_id).where(DraftVersion.kind == "personnel_submission")))
        .order_by(Unit.code).limit(1)).scalar_one()
    submitted_outside_the_drafts(bare.code)
    staff = make_staff(bare.code)
    operations.record_exception(bare, "personnel_submission", reason="Thành ủy chỉ định",
                                actor=user("thanhuy.vanphong"))
    db.session.commit()
    assert step(bare.code, "personnel_plan").state == "not_applicable"
    assert notices_of(staff.username) == []


def test_each_user_chooses_the_channels_of_these_notices(app, files, smtp_server):  # noqa: F811
    from congress.notices.operations import save_settings

    controller, inbox = smtp_server
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=controller.port, SMTP_TLS="none",
                      SMTP_SENDER="daihoi@haiphong.example.vn")
    db.session.add(NoticeAddress(user_id=user("hongbang.bithu").id, email="bithu@hongbang.example.vn"))
    save_settings(user("hongbang.vanphong"), {"verdict": {"in_app": False, "email": False}}, "vp@hongbang.example.vn")
    db.session.commit()
    report = returned_pending()
    leader, staff = notices_of("hongbang.bithu")[0], notices_of("hongbang.vanphong")[0]
    assert (leader.in_app, leader.email_state) == (True, "pending")
    assert (staff.in_app, staff.email_state) == (False, None)
    assert inbox.messages == [], "e-mail goes with the notices jobs, after the commit"
    assert mail.deliver_pending() == 1  # what every notices job does once it has committed
    wait_for(lambda: len(inbox.messages) == 1)
    message = inbox.messages[0]
    assert message["To"] == "bithu@hongbang.example.vn"
    assert header(message["Subject"]) == (f"Thành ủy đã trả lại: Báo cáo chính trị, dự thảo lần {report.number} "
                                          "(Phường Hồng Bàng)")
    body = message.get_payload(decode=True).decode("utf-8")
    campaign = report.preparation.campaign_id
    link = f"/units/{HONG_BANG}/drafts/political_report?campaign={campaign}#version-{report.number}"
    assert f"Lý do: {REASON}" in body and link in body
    db.session.expire_all()
    assert notices_of("hongbang.bithu")[0].email_state == "sent"
    client = signed_in(app, "hongbang.vanphong")
    html = client.get("/notifications").get_data(as_text=True)
    assert "Thành ủy đã trả lại" not in html, "turned off in the app"
    settings = client.get("/notifications/settings").get_data(as_text=True)
    assert "Thành ủy phê duyệt hoặc trả lại hồ sơ đơn vị trình" in settings
    # the city's kind of notice is not offered to the unit's staff: they never receive it
    assert "Đơn vị trình hồ sơ lên Thành ủy (thành phố)" not in settings and 'name="submitted-email"' not in settings
    assert 'name="verdict-in_app" id="verdict-in_app" ' in settings
    assert 'name="verdict-in_app" id="verdict-in_app" checked' not in settings
    pref = db.session.execute(db.select(NoticePreference).filter_by(user_id=user("hongbang.vanphong").id,
                                                                    kind="verdict")).scalar_one()
    assert (pref.in_app, pref.email) == (False, False)


def test_notices_read_in_english(app, files):
    report = returned_pending()
    client = signed_in(app, "hongbang.bithu")
    client.get("/lang/en")
    html = client.get("/notifications").get_data(as_text=True)
    assert f"The city returned: Political report, draft {report.number} (Phường Hồng Bàng)" in html
    assert f"Reason: {REASON}" in html
    second = submitted(HONG_BANG, REPORT_2)
    client = signed_in(app, "thanhuy.vanphong")
    client.get("/lang/en")
    html = client.get("/notifications").get_data(as_text=True)
    assert f"Phường Hồng Bàng submitted to the city: Political report, draft {second.number}" in html


# --- 3: earlier returns stay visible -------------------------------------------------------------------

def test_a_resubmission_of_the_same_version_keeps_the_reason(app, city, files):
    report = returned_pending()
    operations.submit_version(report, actor=user("hongbang.bithu"), note="Đã bổ sung")
    db.session.commit()
    assert report.verdict_reason is None
    item = item_of(page(city), f"approval-draft-{report.id}")
    assert f"Đã trả lại lần trước: {REASON} (5/8/2025)" in item and "“Đã bổ sung”" in item
    html = signed_in(app, "hongbang.vanphong").get(f"/units/{HONG_BANG}/drafts/political_report").get_data(
        as_text=True)
    returns = re.search(r'<section class="panel draft-returns".*?</section>', html, re.S).group(0)
    assert f"trả lại ngày 5/8/2025 · Văn phòng Thành ủy Hải Phòng: {REASON}" in returns
    version = html.split(f'id="version-{report.number}"')[1].split("</article>")[0]
    assert f"<strong>Thành ủy trả lại ngày 5/8/2025:</strong> {REASON}" in version
    operations.review_version(report, verdict="approve", text=None, actor=user("thanhuy.lanhdao"))
    db.session.commit()
    unit_page = signed_in(app, "hongbang.vanphong").get(f"/units/{HONG_BANG}").get_data(as_text=True)
    assert "đã phê duyệt ngày 5/8/2025" in unit_page and f"Đã trả lại lần trước: {REASON} (5/8/2025)" in unit_page


def test_a_new_version_after_a_return_shows_the_return(app, city, files):
    first = returned_pending()
    second = submitted(HONG_BANG, make_docx("BÁO CÁO CHÍNH TRỊ", "Chuyển đổi số là khâu đột phá."))
    item = item_of(page(city), f"approval-draft-{second.id}")
    assert f"Đã trả lại lần trước: {REASON} (5/8/2025)" in item
    html = signed_in(app, "hongbang.vanphong").get(f"/units/{HONG_BANG}/drafts/political_report").get_data(
        as_text=True)
    assert f'<a href="#version-{first.number}">Dự thảo lần {first.number}</a> · trả lại ngày 5/8/2025' in html


def test_a_step_returned_directly_shows_its_reason_when_submitted_again(city, files):
    approval = submitted_outside_the_drafts()
    assert decide(city, approval, "return", csrf(page(city)), note=REASON).status_code == 302
    db.session.expire_all()
    approval = step(TU_MINH, "personnel_plan")
    progress_ops.transition(approval, action=Action.SUBMIT, actor=user("tuminh.bithu"), version=approval.version)
    db.session.commit()
    assert step(TU_MINH, "personnel_plan").reason is None
    item = item_of(page(city), f"approval-{approval.id}")
    assert f"Đã trả lại lần trước: {REASON} (5/8/2025)" in item


def test_a_return_in_one_campaign_is_not_shown_in_another(app, city, files, make_user):
    """Tứ Minh in a second campaign of the same workflow: its personnel plan, submitted there, was
    never returned there; the city's return of the first campaign's plan is not its "last time"."""
    from datetime import date

    from congress.progress import campaigns
    from congress.progress.models import Campaign

    approval = submitted_outside_the_drafts()  # in the demo's campaign, before the second begins
    first_campaign = approval.preparation.campaign_id
    assert decide(city, approval, "return", csrf(page(city)), note=REASON).status_code == 302
    admin = make_user("admin.twice", "admin")
    second = campaigns.start(campaigns.CampaignSpec(
        name_vi="Đại hội Đảng bộ cấp xã, nhiệm kỳ 2030–2035", name_en="Commune party congresses, 2030–2035",
        term="2030–2035", unit_workflow="commune_congress", starts_on=date(2025, 8, 1),
        deadline_on=date(2025, 12, 31), unit_codes=[TU_MINH]), admin)
    db.session.commit()

    def plan_in(campaign_id: int) -> Step:
        prep = campaigns.unit_preparation(unit(TU_MINH), db.session.get(Campaign, campaign_id))
        return db.session.execute(db.select(Step).where(
            Step.preparation_id == prep.id, Step.branch_id.is_(None), Step.key == "personnel_plan")).scalar_one()

    db.session.expire_all()
    other = plan_in(second.id)
    other.state, other.submitted_on = "submitted", TODAY
    other.version += 1
    db.session.commit()
    html = city.get(f"/dashboard?campaign={second.id}").get_data(as_text=True)
    assert "lần trước" not in item_of(html, f"approval-{other.id}")
    # the first campaign's own resubmission still shows it
    approval = plan_in(first_campaign)
    assert approval.state == "in_progress" and approval.reason == REASON
    progress_ops.transition(approval, action=Action.SUBMIT, actor=user("tuminh.bithu"), version=approval.version)
    db.session.commit()
    html = city.get(f"/dashboard?campaign={first_campaign}").get_data(as_text=True)
    assert f"Đã trả lại lần trước: {REASON} (5/8/2025)" in item_of(html, f"approval-{approval.id}")

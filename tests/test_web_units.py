"""A unit's pages in the browser's place: steps and their actions, dates, branches, history, documents."""
from __future__ import annotations

import re
import unicodedata
from datetime import date

import pytest
import sqlalchemy as sa

from congress.audit.models import AuditRecord
from congress.extensions import db
from congress.progress.models import Preparation, Step
from congress.units.models import Branch, Unit
from tests.steps import plan_congress
from tests.test_queries import count_queries
from tests.test_web import login

TU_MINH, HONG_BANG, VINH_AM = "10891", "11311", "11887"
PAGES = ("/units/{}", "/units/{}/branches", "/units/{}/history", "/units/{}/documents")


# --- helpers --------------------------------------------------------------------------------

def signed_in(app, username):
    client = app.test_client()
    assert login(client, username).status_code == 302, username
    return client


def csrf_token(client, path="/units/10891/documents"):
    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def unit_of(code) -> Unit:
    return db.session.execute(db.select(Unit).filter_by(code=code)).scalar_one()


def preparation(code) -> Preparation:
    return db.session.execute(db.select(Preparation).filter_by(unit_id=unit_of(code).id)).scalar_one()


def step(code, key) -> Step:
    db.session.expire_all()
    return db.session.execute(db.select(Step).filter_by(
        preparation_id=preparation(code).id, branch_id=None, key=key)).scalar_one()


def audit_count(code) -> int:
    return db.session.execute(sa.select(sa.func.count(AuditRecord.id))
                              .where(AuditRecord.unit_id == unit_of(code).id)).scalar_one()


def last_audit(code) -> AuditRecord:
    return db.session.execute(db.select(AuditRecord).where(AuditRecord.unit_id == unit_of(code).id)
                              .order_by(AuditRecord.id.desc()).limit(1)).scalar_one()


def act(client, code, key, action, token=None, version=None, **fields):
    """Post a step action the way the unit page's form does (prefixed "<key>-<action>-...")."""
    token = token or csrf_token(client)
    current = step(code, key).version if version is None else version
    data = {f"{key}-{action}-csrf_token": token, f"{key}-{action}-version": str(current)}
    data.update({f"{key}-{action}-{name}": value for name, value in fields.items()})
    return client.post(f"/units/{code}/steps/{key}/{action}", data=data)


def text(response) -> str:
    return response.get_data(as_text=True)


def post_forms(html: str) -> list[str]:
    """The actions of the page's POST forms, less the log-out button every page has."""
    return [a for a in re.findall(r'<form method="post" action="([^"]+)"', html) if a != "/logout"]


# --- the unit page --------------------------------------------------------------------------

def test_unit_page_shows_the_state_at_a_glance(app):
    client = signed_in(app, "tuminh.vanphong")
    html = text(client.get("/units/10891"))
    assert "Tổng quan" in html and "Tiến độ chuẩn bị" in html
    assert "trước ngày 31/8/2025" in html and "còn 25 ngày" in html  # last day 30/8, today 5/8
    assert "12/8/2025" in html and "còn 7 ngày nữa" in html  # planned congress date
    assert "105/105" in html and "chi bộ đã tổ chức đại hội" in html
    assert "Quá hạn (0)" in html and "Không có bước nào quá hạn." in html
    # the next 7 days are 5/8 to 11/8: the congress itself, on 12/8, is the 8th day
    assert "Đến hạn trong 7 ngày tới (0)" in html
    assert "Đã xong (12/17)" in html
    for phase in ("Chuẩn bị", "Văn kiện", "Nhân sự và đại biểu", "Sau đại hội"):
        assert f">{phase}</h2>" in html
    assert 'id="step-congress"' in html and "Ban hành kế hoạch tổ chức đại hội" in html
    assert "Hoàn thành dự thảo lần 2" in html  # a step's note
    assert unicodedata.is_normalized("NFC", html)


def test_late_steps_and_risk_reasons_are_named(app):
    client = signed_in(app, "hongbang.vanphong")
    html = text(client.get("/units/11311"))
    assert "trước ngày 20/8/2025" in html and "Căn cứ: Thành ủy Hải Phòng" in html
    assert "Quá hạn (1)" in html and "#step-branch_congresses" in html
    assert "chậm tiến độ" in html and "1 bước quá hạn" in html
    assert "46/47" in html


def test_unit_staff_see_only_the_actions_their_role_allows(app):
    html = text(signed_in(app, "tuminh.vanphong").get("/units/10891"))
    actions = post_forms(html)
    assert "/units/10891/steps/congress/start" in actions
    # the congress is held on its planned day, 12/8: not offered on 5/8
    assert "/units/10891/steps/congress/complete" not in actions
    # the next steps wait for the congress: nothing to complete before it is held
    assert "/units/10891/steps/resolution/complete" not in actions
    assert "/units/10891/steps/resolution/start" not in actions
    assert "/units/10891/steps/archive/mark_not_applicable" in actions
    assert not any(a.endswith("/reopen") for a in actions)  # staff do not reopen
    assert "/units/10891/deadline" not in actions and "/units/10891/congress-date" not in actions
    leader = text(signed_in(app, "tuminh.bithu").get("/units/10891"))
    assert "/units/10891/steps/plan/reopen" in post_forms(leader)
    assert "/units/10891/congress-date" in post_forms(leader)
    assert "/units/10891/deadline" not in post_forms(leader)


# --- every action through its form -----------------------------------------------------------

def test_start_then_complete_with_date_and_note(app):
    client = signed_in(app, "tuminh.vanphong")
    before = audit_count(TU_MINH)
    response = act(client, TU_MINH, "congress", "start", on="2025-08-04")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/units/10891#step-congress")
    s = step(TU_MINH, "congress")
    assert s.state == "in_progress" and s.started_on == date(2025, 8, 4)
    assert last_audit(TU_MINH).action == "step.start"
    page = client.get("/units/10891")
    assert "Đã bắt đầu bước “Tổ chức đại hội (phiên trù bị và phiên chính thức)”." in text(page)

    refused = act(client, TU_MINH, "congress", "complete", on="5/8/2025", note="Đại hội thành công tốt đẹp")
    assert refused.status_code == 422 and "12/8/2025" in text(refused)  # planned for 12/8
    assert step(TU_MINH, "congress").state == "in_progress"
    plan_congress(TU_MINH, date(2025, 8, 5))
    before = audit_count(TU_MINH) - 1
    response = act(client, TU_MINH, "congress", "complete", on="5/8/2025", note="Đại hội thành công tốt đẹp")
    assert response.status_code == 302
    s = step(TU_MINH, "congress")
    assert (s.state, s.completed_on, s.note) == ("done", date(2025, 8, 5), "Đại hội thành công tốt đẹp")
    record = last_audit(TU_MINH)
    assert record.action == "step.complete" and record.actor == "tuminh.vanphong"
    assert record.new["completed_on"] == "2025-08-05"
    assert audit_count(TU_MINH) == before + 2


def test_complete_without_a_date_means_today(app):
    client = signed_in(app, "tuminh.vanphong")
    plan_congress(TU_MINH, date(2025, 8, 5))
    assert act(client, TU_MINH, "congress", "complete", on="").status_code == 302
    assert step(TU_MINH, "congress").completed_on == date(2025, 8, 5)


def test_the_congress_undated_is_held_on_its_planned_day(app):
    plan_congress(TU_MINH, date(2025, 8, 3))
    client = signed_in(app, "tuminh.vanphong")
    page = text(client.get("/units/10891"))
    assert re.search(r'name="congress-complete-on"[^>]*value="3/8/2025"', page)
    assert act(client, TU_MINH, "congress", "complete", on="").status_code == 302
    assert step(TU_MINH, "congress").completed_on == date(2025, 8, 3)


def test_mark_not_applicable_needs_a_reason(app):
    client = signed_in(app, "tuminh.vanphong")
    version = step(TU_MINH, "archive").version
    before = audit_count(TU_MINH)
    refused = act(client, TU_MINH, "archive", "mark_not_applicable", note="  ")
    assert refused.status_code == 422
    assert "Cần nêu lý do" in text(refused) and "đánh dấu không áp dụng" in text(refused)
    assert 'id="archive-mark_not_applicable-note-error"' in text(refused)  # beside the reason field
    assert step(TU_MINH, "archive").version == version and audit_count(TU_MINH) == before
    done = act(client, TU_MINH, "archive", "mark_not_applicable", note="Lưu trữ chung với hồ sơ của Thành ủy")
    assert done.status_code == 302
    s = step(TU_MINH, "archive")
    assert s.state == "not_applicable" and s.reason == "Lưu trữ chung với hồ sơ của Thành ủy"
    record = last_audit(TU_MINH)
    assert record.action == "step.mark_not_applicable" and record.reason == s.reason


def test_leader_reopens_and_submits_city_approves_unit_completes(app):
    leader = signed_in(app, "tuminh.bithu")
    reopened = act(leader, TU_MINH, "documents_approval", "reopen", note="Bổ sung ý kiến của Ban Thường vụ")
    assert reopened.status_code == 302
    s = step(TU_MINH, "documents_approval")
    assert s.state == "in_progress" and s.reason == "Bổ sung ý kiến của Ban Thường vụ"
    assert last_audit(TU_MINH).action == "step.reopen"

    assert act(leader, TU_MINH, "documents_approval", "submit", on="2025-08-05").status_code == 302
    assert step(TU_MINH, "documents_approval").state == "submitted"
    assert last_audit(TU_MINH).action == "step.submit"

    city = signed_in(app, "thanhuy.vanphong")
    page = text(city.get("/units/10891"))
    assert "/units/10891/steps/documents_approval/approve" in post_forms(page)
    assert "/units/10891/steps/documents_approval/return" in post_forms(page)
    assert act(city, TU_MINH, "documents_approval", "approve", on="2025-08-05").status_code == 302
    s = step(TU_MINH, "documents_approval")
    assert s.state == "approved" and s.approved_on == date(2025, 8, 5)
    assert (last_audit(TU_MINH).action, last_audit(TU_MINH).actor) == ("step.approve", "thanhuy.vanphong")

    staff = signed_in(app, "tuminh.vanphong")
    assert act(staff, TU_MINH, "documents_approval", "complete", on="2025-08-05").status_code == 302
    assert step(TU_MINH, "documents_approval").state == "done"
    assert last_audit(TU_MINH).action == "step.complete"


def test_city_returns_a_submission_with_a_reason(app):
    city = signed_in(app, "thanhuy.vanphong")
    response = act(city, HONG_BANG, "documents_approval", "return", note="Báo cáo chính trị cần ngắn gọn hơn")
    assert response.status_code == 302
    s = step(HONG_BANG, "documents_approval")
    assert s.state == "in_progress" and s.reason == "Báo cáo chính trị cần ngắn gọn hơn"
    record = last_audit(HONG_BANG)
    assert record.action == "step.return" and record.reason == s.reason
    unit_page = text(signed_in(app, "hongbang.vanphong").get("/units/11311"))
    assert "Lý do:</strong> Báo cáo chính trị cần ngắn gọn hơn" in unit_page


def test_a_refused_transition_is_explained_on_the_page(app):
    client = signed_in(app, "tuminh.vanphong")
    response = act(client, TU_MINH, "resolution", "complete", on="2025-08-05")
    assert response.status_code == 422
    html = text(response)
    assert "Cần hoàn thành trước các bước" in html and "Tổ chức đại hội (phiên trù bị" in html
    assert 'role="alert"' in html and "Traceback" not in html
    assert step(TU_MINH, "resolution").state == "not_started"
    response = act(client, TU_MINH, "congress", "start", on="2025-08-09")
    assert response.status_code == 422 and "Traceback" not in text(response)
    assert 'class="action action-start" open' in text(response)  # the refused form stays open
    assert step(TU_MINH, "congress").state == "not_started"


# --- protections ------------------------------------------------------------------------------

def test_post_without_csrf_token_is_refused(app):
    client = signed_in(app, "tuminh.vanphong")
    version = step(TU_MINH, "congress").version
    before = audit_count(TU_MINH)
    response = client.post("/units/10891/steps/congress/start",
                           data={"congress-start-version": str(version), "congress-start-on": "2025-08-05"})
    assert response.status_code == 400
    assert "Mã bảo mật của biểu mẫu" in text(response)
    assert step(TU_MINH, "congress").state == "not_started" and audit_count(TU_MINH) == before


def test_stale_version_shows_the_new_state_and_changes_nothing(app):
    client = signed_in(app, "tuminh.vanphong")
    old_version = step(TU_MINH, "congress").version
    assert act(client, TU_MINH, "congress", "start", on="2025-08-04").status_code == 302
    before = audit_count(TU_MINH)
    response = act(client, TU_MINH, "congress", "complete", version=old_version, on="2025-08-05")
    assert response.status_code == 409
    html = text(response)
    assert "Người khác đã thay đổi bước này trong khi bạn đang sửa: đây là trạng thái mới" in html
    assert "đang thực hiện" in html and "4/8/2025" in html  # the new state and its start date
    assert 'href="/units/10891#step-congress"' in html
    s = step(TU_MINH, "congress")
    assert s.state == "in_progress" and s.completed_on is None and audit_count(TU_MINH) == before


@pytest.mark.parametrize("day, message", [
    ("2025-08-06", "là ngày trong tương lai"),
    ("2025-06-30", "sớm hơn ngày bắt đầu đợt đại hội"),
    ("2025-02-30", "không phải là một ngày"),
    ("hôm qua", "không phải là một ngày"),
])
def test_a_bad_date_is_refused_in_vietnamese(app, day, message):
    client = signed_in(app, "tuminh.vanphong")
    version = step(TU_MINH, "congress").version
    before = audit_count(TU_MINH)
    response = act(client, TU_MINH, "congress", "start", on=day)
    assert response.status_code == 422
    assert message in text(response)
    s = step(TU_MINH, "congress")
    assert (s.state, s.version) == ("not_started", version) and audit_count(TU_MINH) == before


# --- the unit's dates ---------------------------------------------------------------------------

def test_city_staff_set_the_units_own_deadline(app):
    city = signed_in(app, "thanhuy.vanphong")
    assert "/units/10891/deadline" in post_forms(text(city.get("/units/10891")))
    prep = preparation(TU_MINH)
    response = city.post("/units/10891/deadline", data={
        "deadline-csrf_token": csrf_token(city), "deadline-version": str(prep.version),
        "deadline-day": "2025-08-20", "deadline-kind": "before",
        "deadline-basis": "Kết luận của Ban Thường vụ Thành ủy"})
    assert response.status_code == 302 and response.headers["Location"].endswith("#dates")
    db.session.expire_all()
    prep = preparation(TU_MINH)
    assert (prep.deadline_on, prep.deadline_kind) == (date(2025, 8, 20), "before")
    assert last_audit(TU_MINH).action == "deadline.set"
    assert "trước ngày 20/8/2025" in text(city.get("/units/10891"))


def test_deadline_before_the_campaign_is_refused(app):
    city = signed_in(app, "thanhuy.vanphong")
    prep = preparation(TU_MINH)
    response = city.post("/units/10891/deadline", data={
        "deadline-csrf_token": csrf_token(city), "deadline-version": str(prep.version),
        "deadline-day": "2025-06-01", "deadline-kind": "by"})
    assert response.status_code == 422 and "sớm hơn ngày bắt đầu đợt đại hội" in text(response)
    db.session.expire_all()
    assert preparation(TU_MINH).deadline_on is None


def test_unit_leader_plans_the_congress_date(app):
    leader = signed_in(app, "tuminh.bithu")
    prep = preparation(TU_MINH)
    response = leader.post("/units/10891/congress-date", data={
        "congress-csrf_token": csrf_token(leader), "congress-version": str(prep.version),
        "congress-day": "14/8/2025"})
    assert response.status_code == 302
    db.session.expire_all()
    assert preparation(TU_MINH).congress_on == date(2025, 8, 14)
    assert step(TU_MINH, "congress").due_on == date(2025, 8, 14)  # due dates follow
    assert last_audit(TU_MINH).action == "congress_date.set"


def test_stale_congress_date_gets_the_conflict_page(app):
    leader = signed_in(app, "tuminh.bithu")
    old = preparation(TU_MINH).version
    token = csrf_token(leader)
    data = {"congress-csrf_token": token, "congress-version": str(old), "congress-day": "2025-08-14"}
    assert leader.post("/units/10891/congress-date", data=data).status_code == 302
    data["congress-day"] = "2025-08-16"
    response = leader.post("/units/10891/congress-date", data=data)
    assert response.status_code == 409 and "Người khác đã thay đổi thời hạn hoặc ngày đại hội" in text(response)
    db.session.expire_all()
    assert preparation(TU_MINH).congress_on == date(2025, 8, 14)


# --- branches -------------------------------------------------------------------------------

def branch_rows(code, only_pending=False):
    query = db.select(Branch).filter_by(unit_id=unit_of(code).id).order_by(Branch.code)
    if only_pending:
        query = query.where(Branch.held_on.is_(None))
    return list(db.session.execute(query).scalars())


def bulk_data(token, branches, values):
    """The bulk form as the page posts it: every row, with what it showed and what was typed."""
    data = {"csrf_token": token}
    for i, b in enumerate(branches):
        entered = values.get(b.code, {})
        data.update({
            f"rows-{i}-code": b.code, f"rows-{i}-version": str(b.version),
            f"rows-{i}-seen_held_on": b.held_on.isoformat() if b.held_on else "",
            f"rows-{i}-seen_delegates": "" if b.delegates is None else str(b.delegates),
            f"rows-{i}-seen_new_secretary": b.new_secretary or "",
            f"rows-{i}-held_on": entered.get("held_on", b.held_on.isoformat() if b.held_on else ""),
            f"rows-{i}-delegates": entered.get("delegates", "" if b.delegates is None else str(b.delegates)),
            f"rows-{i}-new_secretary": entered.get("new_secretary", b.new_secretary or ""),
        })
    return data


@pytest.fixture
def vinh_am(app, make_user):
    """Xã Vĩnh Am: 58 branches, 27 of them yet to hold their congress, and its office's account."""
    make_user("vinham.vanphong", "unit_staff", unit=VINH_AM)
    return signed_in(app, "vinham.vanphong")


def test_branches_page_lists_every_branch_with_its_steps(app):
    client = signed_in(app, "tuminh.vanphong")
    html = text(client.get("/units/10891/branches"))
    assert html.count('<tr id="branch-10891-') == 105
    assert "Chi bộ Cơ quan Đảng ủy" in html and "Hoàng Hồng Oanh" in html and "19/7/2025" in html
    assert "105/105 chi bộ đã tổ chức đại hội" in html
    assert 'name="rows-0-held_on"' in html and "Lưu tất cả thay đổi" in html
    assert "/units/10891/branches/new" in post_forms(html)


def test_ten_branch_congresses_in_one_post(app, vinh_am):
    pending = branch_rows(VINH_AM, only_pending=True)
    page = text(vinh_am.get("/units/11887/branches?show=pending"))
    assert page.count('<tr id="branch-11887-') == len(pending) == 27
    chosen = pending[:10]
    values = {b.code: {"held_on": f"2025-08-0{1 + i % 4}", "delegates": str(10 + i),
                       "new_secretary": f"Nguyễn Văn Thư {i}"} for i, b in enumerate(chosen)}
    before = audit_count(VINH_AM)
    response = vinh_am.post("/units/11887/branches?show=pending",
                            data=bulk_data(csrf_token(vinh_am, "/units/11887/branches"), pending, values))
    assert response.status_code == 302 and "show=pending" in response.headers["Location"]
    db.session.expire_all()
    for i, b in enumerate(chosen):
        fresh = db.session.get(Branch, b.id)
        assert (fresh.held_on, fresh.delegates, fresh.new_secretary) == (
            date(2025, 8, 1 + i % 4), 10 + i, f"Nguyễn Văn Thư {i}")
    untouched = db.session.get(Branch, pending[10].id)
    assert untouched.held_on is None and untouched.version == pending[10].version
    updates = db.session.execute(sa.select(sa.func.count(AuditRecord.id)).where(
        AuditRecord.unit_id == unit_of(VINH_AM).id, AuditRecord.action == "branch.update",
        AuditRecord.id > 0)).scalar_one()
    assert updates >= 10 and audit_count(VINH_AM) > before + 10  # updates, and their steps completing
    assert "Đã lưu 10 chi bộ." in text(vinh_am.get("/units/11887/branches"))


def test_bulk_save_with_one_bad_row_saves_nothing(app, vinh_am):
    pending = branch_rows(VINH_AM, only_pending=True)[:5]
    values = {b.code: {"held_on": "2025-08-02", "delegates": "12"} for b in pending}
    values[pending[2].code] = {"held_on": "2025-08-09", "delegates": "12"}  # in the future
    values[pending[4].code] = {"held_on": "2025-08-02", "delegates": "mười"}  # not a number
    before = audit_count(VINH_AM)
    response = vinh_am.post("/units/11887/branches",
                            data=bulk_data(csrf_token(vinh_am, "/units/11887/branches"), pending, values))
    assert response.status_code == 422
    html = text(response)
    assert "Chưa lưu dòng nào: có 2 dòng cần sửa" in html
    row = html[html.index(f'id="branch-{pending[2].code}"'):]
    row = row[:row.index("</tr>")]
    assert "là ngày trong tương lai" in row and 'value="2025-08-09"' in row  # the input is kept
    row = html[html.index(f'id="branch-{pending[4].code}"'):]
    assert "không phải là số nguyên" in row[:row.index("</tr>")]
    db.session.expire_all()
    assert all(db.session.get(Branch, b.id).held_on is None for b in pending)
    assert audit_count(VINH_AM) == before


def test_bulk_row_changed_by_someone_else_saves_nothing(app, vinh_am):
    pending = branch_rows(VINH_AM, only_pending=True)[:3]
    stale = bulk_data(csrf_token(vinh_am, "/units/11887/branches"), pending,
                      {b.code: {"delegates": "9"} for b in pending})
    first = bulk_data(csrf_token(vinh_am, "/units/11887/branches"), pending[:1],
                      {pending[0].code: {"delegates": "20"}})
    assert vinh_am.post("/units/11887/branches", data=first).status_code == 302
    response = vinh_am.post("/units/11887/branches", data=stale)
    assert response.status_code == 422 and "Người khác đã thay đổi chi bộ này" in text(response)
    db.session.expire_all()
    assert [db.session.get(Branch, b.id).delegates for b in pending] == [20, None, None]


def test_bulk_save_that_reopens_the_completed_step_needs_its_box(app):
    """Taking back a branch's congress in Tứ Minh, whose branches have all held theirs, reopens the
    unit's completed step: the table is shown again with the refusal and the box that confirms it."""
    client = signed_in(app, "tuminh.vanphong")
    branches = branch_rows(TU_MINH)[:3]
    values = {branches[0].code: {"held_on": ""}, branches[1].code: {"delegates": "31"}}
    data = bulk_data(csrf_token(client, "/units/10891/branches"), branches, values)
    before = audit_count(TU_MINH)
    refused = client.post("/units/10891/branches", data=data)
    assert refused.status_code == 422
    html = text(refused)
    row = html[html.index(f'id="branch-{branches[0].code}"'):]
    assert f"mở lại bước “{ROLL_UP}”" in row[:row.index("</tr>")]
    table = html[html.index('id="branch-table"'):html.index('id="add-branch"')]
    assert REOPEN_BOX in table and f"Mở lại bước “{ROLL_UP}” đã hoàn thành" in table
    assert f'{REOPEN_BOX} checked' not in table
    db.session.expire_all()
    assert [db.session.get(Branch, b.id).version for b in branches] == [b.version for b in branches]
    assert audit_count(TU_MINH) == before and step(TU_MINH, "branch_congresses").state == "done"
    # ticked and sent again: saved, the step reopened
    response = client.post("/units/10891/branches", data={**data, "confirm_reopen": "1"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Branch, branches[0].id).held_on is None
    assert db.session.get(Branch, branches[1].id).delegates == 31
    assert step(TU_MINH, "branch_congresses").state == "in_progress"


def test_a_ticked_reopen_box_stays_ticked_when_another_row_is_refused(app):
    client = signed_in(app, "tuminh.vanphong")
    branches = branch_rows(TU_MINH)[:2]
    values = {branches[0].code: {"held_on": ""}, branches[1].code: {"held_on": "2025-08-09"}}  # in the future
    data = bulk_data(csrf_token(client, "/units/10891/branches"), branches, values)
    refused = client.post("/units/10891/branches", data={**data, "confirm_reopen": "1"})
    assert refused.status_code == 422
    html = text(refused)
    assert "là ngày trong tương lai" in html and f'{REOPEN_BOX} checked' in html
    db.session.expire_all()
    assert db.session.get(Branch, branches[0].id).held_on is not None
    assert step(TU_MINH, "branch_congresses").state == "done"


def test_unchanged_rows_are_not_written(app, vinh_am):
    branches = branch_rows(VINH_AM)
    before = audit_count(VINH_AM)
    response = vinh_am.post("/units/11887/branches",
                            data=bulk_data(csrf_token(vinh_am, "/units/11887/branches"), branches, {}))
    assert response.status_code == 302 and audit_count(VINH_AM) == before
    assert "Không có gì để lưu" in text(vinh_am.get("/units/11887/branches"))


ROLL_UP = "Hoàn thành đại hội các chi bộ, đảng bộ trực thuộc"  # Tứ Minh's completed step (every branch held)
REOPEN_BOX = 'name="confirm_reopen" value="1"'


def test_add_a_branch(app):
    client = signed_in(app, "tuminh.vanphong")
    data = {"new-csrf_token": csrf_token(client), "new-name": "Chi bộ Doanh nghiệp Tứ Minh Xanh",
            "new-kind": "chi_bo", "new-secretary": "Phạm Thị Hoa", "new-members": "17",
            "new-planned_on": "2025-08-10"}
    # every branch of Tứ Minh has held its congress: a new one reopens the completed step, only when confirmed
    before = audit_count(TU_MINH)
    refused = client.post("/units/10891/branches/new", data=data)
    assert refused.status_code == 422
    html = text(refused)
    assert f"mở lại bước “{ROLL_UP}” của Phường Tứ Minh, đã hoàn thành ngày" in html
    box = html[html.index('id="add-branch"'):]
    assert REOPEN_BOX in box and f"Mở lại bước “{ROLL_UP}” đã hoàn thành" in box
    assert 'value="Chi bộ Doanh nghiệp Tứ Minh Xanh"' in box  # the input is kept
    assert REOPEN_BOX not in html[:html.index('id="add-branch"')]  # the bulk table's save needs none
    assert len(branch_rows(TU_MINH)) == 105 and audit_count(TU_MINH) == before
    assert step(TU_MINH, "branch_congresses").state == "done"
    response = client.post("/units/10891/branches/new", data={**data, "confirm_reopen": "1"})
    assert response.status_code == 302 and "#branch-10891-106" in response.headers["Location"]
    assert step(TU_MINH, "branch_congresses").state == "in_progress"
    added = db.session.execute(db.select(Branch).filter_by(code="10891-106")).scalar_one()
    assert (added.name, added.members, added.planned_on) == ("Chi bộ Doanh nghiệp Tứ Minh Xanh", 17, date(2025, 8, 10))
    assert last_audit(TU_MINH).action in ("branch.add", "step.auto_reopen")
    html = text(client.get("/units/10891/branches"))
    assert "Chi bộ Doanh nghiệp Tứ Minh Xanh" in html and "105/106" in html


def test_add_a_branch_twice_is_refused(app):
    client = signed_in(app, "tuminh.vanphong")
    response = client.post("/units/10891/branches/new", data={
        "new-csrf_token": csrf_token(client), "new-name": "Chi bộ Cơ quan Đảng ủy", "new-kind": "chi_bo"})
    assert response.status_code == 422 and "Đơn vị đã có chi bộ tên" in text(response)
    assert len(branch_rows(TU_MINH)) == 105


def test_branches_page_queries_do_not_grow_with_branches(app):
    client = signed_in(app, "admin")
    client.get("/units/11668/branches")  # warm the workflow definitions
    counts = {}
    for code in ("11668", "10891"):  # 26 and 105 branches
        with count_queries() as statements:
            assert client.get(f"/units/{code}/branches").status_code == 200
        counts[code] = len(statements)
    assert counts["11668"] == counts["10891"], counts
    assert counts["10891"] <= 10, counts


# --- history and documents ----------------------------------------------------------------------

def test_history_newest_first_in_words(app):
    client = signed_in(app, "tuminh.vanphong")
    act(client, TU_MINH, "archive", "mark_not_applicable", note="Không cần lưu riêng")
    html = text(client.get("/units/10891/history"))
    first = html.split('<li class="entry">')[1]
    assert "Đánh dấu không áp dụng" in first and "Lưu trữ hồ sơ đại hội" in first
    # the person by their display name, not their user name
    assert "· Văn phòng Đảng ủy phường Tứ Minh</p>" in first and "tuminh.vanphong" not in first
    assert "chưa bắt đầu" in first and "không áp dụng" in first and "Không cần lưu riêng" in first
    assert re.search(r"\d{2}:\d{2} \d{1,2}/\d{1,2}/20\d{2}</time>", first)  # local time, Vietnamese date
    assert "Trang 1/" in html and "?page=2" in html
    older = text(client.get("/units/10891/history?page=2"))
    assert "Trang 2/" in older and "Tự động hoàn thành" in text(client.get("/units/10891/history?page=3")) + older


def test_documents_page_lists_the_set_with_its_downloads(app):
    client = signed_in(app, "xem.tuminh")
    response = client.get("/units/10891/documents")
    html = text(response)
    assert response.status_code == 200
    assert "Kế hoạch tổ chức đại hội" in html and "Báo cáo chính trị" in html and "Tờ trình phương án nhân sự" in html
    assert ">TTr</abbr>" in html and ">QĐ</abbr>" in html
    # each download names the campaign whose document set the page lists
    campaign_id = preparation(TU_MINH).campaign_id
    assert re.search(r'href="/units/10891/papers/political_report\.docx\?campaign=\d+"', html)
    assert "đơn vị tự soạn (chưa có mẫu)" in html  # a kind without a built-in template says so
    assert "Ban hành, cấp số" not in html  # a viewer issues nothing
    for href in {h.replace("&amp;", "&") for h in re.findall(r'href="(/[^"#]*)', html) if not h.startswith("/static/")}:
        path = href.split("?", 1)[0]
        if path.endswith((".pdf", ".zip")) or "format=pdf" in href:
            continue  # conversions are covered by the documents tests
        response = client.get(href)
        assert response.status_code in (200, 302), href
        if path.endswith(".docx"):
            assert response.data[:2] == b"PK", href
    assert f"campaign={campaign_id}" in html
    assert client.get("/units/10891/papers").headers["Location"].endswith("/units/10891/documents")


# --- who may do what ----------------------------------------------------------------------------

def write_requests(code):
    return [f"/units/{code}/steps/congress/start", f"/units/{code}/steps/plan/reopen",
            f"/units/{code}/deadline", f"/units/{code}/congress-date", f"/units/{code}/branches",
            f"/units/{code}/branches/new"]


def test_staff_of_another_unit_get_403_everywhere(app):
    client = signed_in(app, "hongbang.vanphong")
    token = csrf_token(client, "/units/11311/documents")
    for path in PAGES:
        response = client.get(path.format(TU_MINH))
        assert response.status_code == 403 and "Bạn không được xem" in text(response), path
    before = audit_count(TU_MINH)
    for path in write_requests(TU_MINH):
        assert client.post(path, data={"csrf_token": token}).status_code == 403, path
    assert audit_count(TU_MINH) == before


def test_viewer_sees_no_forms_and_every_post_is_refused(app):
    client = signed_in(app, "xem.tuminh")
    for path in PAGES:
        response = client.get(path.format(TU_MINH))
        assert response.status_code == 200, path
        assert post_forms(text(response)) == [], path
    html = text(client.get("/units/10891/branches"))
    # nothing to fill in but the search (a GET form that changes nothing)
    main = re.sub(r'<form method="get".*?</form>', "", html.split("<main", 1)[1], flags=re.S)
    assert "Bạn chỉ có quyền xem danh sách này" in html and "<input" not in main
    token = csrf_token(client)
    before = audit_count(TU_MINH)
    for path in write_requests(TU_MINH):
        assert client.post(path, data={"csrf_token": token}).status_code == 403, path
    assert audit_count(TU_MINH) == before


def test_unit_staff_cannot_set_the_deadline_nor_the_congress_date(app):
    client = signed_in(app, "tuminh.vanphong")
    token = csrf_token(client)
    version = str(preparation(TU_MINH).version)
    assert client.post("/units/10891/deadline", data={"deadline-csrf_token": token, "deadline-version": version,
                                                      "deadline-day": "2025-08-20"}).status_code == 403
    assert client.post("/units/10891/congress-date", data={"congress-csrf_token": token, "congress-version": version,
                                                           "congress-day": "2025-08-20"}).status_code == 403


def test_unknown_step_or_action_is_404(app):
    client = signed_in(app, "tuminh.vanphong")
    token = csrf_token(client)
    assert client.post("/units/10891/steps/nothing/start", data={"csrf_token": token}).status_code == 404
    assert client.post("/units/10891/steps/plan/dance", data={"csrf_token": token}).status_code == 404


# --- language -------------------------------------------------------------------------------------

def test_pages_in_vietnamese_then_english(app):
    client = signed_in(app, "tuminh.vanphong")
    pages = {path: text(client.get(path.format(TU_MINH))) for path in PAGES}
    assert "Các bước" in pages["/units/{}"] and "Lịch sử thay đổi" in pages["/units/{}"]
    assert "Ngày đại hội" in pages["/units/{}/branches"] and "Bí thư mới" in pages["/units/{}/branches"]
    assert "Bộ văn bản đại hội" in pages["/units/{}/documents"]
    assert "Mọi thay đổi của đơn vị" in pages["/units/{}/history"]
    for html in pages.values():
        assert unicodedata.is_normalized("NFC", html)
    client.get("/lang/en")
    english = text(client.get("/units/10891"))
    assert 'lang="en"' in english and "At a glance" in english and "Due in the next 7 days" in english
    assert "Hold the congress (preparatory and official sessions)" in english
    assert "Record the date held" in text(client.get("/units/10891/branches"))
    assert "The congress document set" in text(client.get("/units/10891/documents"))
    assert "Step completed" in text(client.get("/units/10891/history"))


def test_city_approves_a_drafted_step_through_its_draft(app):
    """Hồng Bàng's documents await the city with the political report's draft: the unit page
    offers the city no approval of the step itself, and says where to approve it."""
    page = text(signed_in(app, "thanhuy.vanphong").get("/units/11311"))
    card = page.split('id="step-documents_approval"')[1].split("</li>")[0]
    assert "/units/11311/steps/documents_approval/return" in card
    assert "/units/11311/steps/documents_approval/approve" not in card
    assert "Thành ủy phê duyệt bước này bằng việc phê duyệt một bản dự thảo:" in card
    campaign = db.session.execute(db.select(Preparation.campaign_id).join(Unit).where(
        Unit.code == "11311")).scalar_one()
    assert f'href="/units/11311/drafts/political_report?campaign={campaign}"' in card  # the draft of this campaign


# --- issue 16: what a page says and offers ---------------------------------------------------

def test_deadline_count_says_it_counts_to_the_deadline_with_real_plurals(app):
    from flask_babel import force_locale

    from congress.web.units import deadline_in_words
    from workflows.deadlines import Deadline, DeadlineKind

    deadline = Deadline(date(2025, 8, 30), DeadlineKind.BY)
    with app.test_request_context(), force_locale("en"):
        assert deadline_in_words(deadline, date(2025, 8, 5)) == "25 days left until the deadline"
        assert deadline_in_words(deadline, date(2025, 8, 29)) == "1 day left until the deadline"
        assert deadline_in_words(deadline, date(2025, 8, 31)) == "1 day past the deadline"
        assert "(s)" not in deadline_in_words(deadline, date(2025, 9, 5))


def test_approved_step_says_what_is_left(app):
    """An approved step is not finished (the unit completes it): it stays in "due in the next 7 days",
    and the page says what is left to do, there and on the step."""
    client = signed_in(app, "thanhuy.vanphong")
    found = step("10546", "personnel_plan")
    assert found.state == "approved"
    html = client.get("/units/10546").get_data(as_text=True)
    soon = html[html.index('id="soon-title"'):html.index('id="done-title"')]
    assert "#step-personnel_plan" in soon and "still-to-do" in soon
    card = html[html.index('id="step-personnel_plan"'):]
    card = card[:card.index("</li>")]
    assert 'class="hint still-to-do"' in card


def test_approval_is_a_note_not_a_button(app):
    html = signed_in(app, "tuminh.vanphong").get(f"/units/{TU_MINH}").get_data(as_text=True)
    assert "⇪" not in html and '<p class="tag">' not in html
    assert html.count('<p class="step-note"><svg class="icon icon-send-up"') >= 2

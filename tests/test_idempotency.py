"""Every write is carried out once and answered honestly, however often it is sent.

A form sent twice (a double click) carries the same one-time key and gets the first answer again;
an API call sent twice with the same Idempotency-Key likewise; nothing is applied or audited
twice. One test per kind of write: issuing a number, a step action (page and API), the city's
decision, a draft upload, a branch record, an import's confirmation, marking a notice read; then
the rules of the keys themselves, a client without a key, and two simultaneous clicks on
PostgreSQL.
"""
from __future__ import annotations

import html as html_lib
import threading
import time
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa
from flask import g

from congress import idempotency
from congress.accounts.models import User
from congress.audit.models import AuditRecord
from congress.drafts.models import DraftVersion
from congress.extensions import db
from congress.idempotency import RequestKey
from congress.notices import jobs
from congress.notices.models import Notification
from congress.papers.models import PaperIssue
from congress.progress.models import Step
from congress.units.models import Branch
from tests.conftest import needs_postgresql
from tests.test_drafts import PDF, REPORT_1, awaiting_city, make_docx
from tests.test_drafts_api import multipart
from tests.test_transfers import BRANCH_HEADINGS, csv_bytes, token_of
from tests.test_web import login
from tests.test_web_units import step, unit_of
from workflows.deadlines import LOCAL_TZ

TU_MINH, HONG_BANG = "10891", "11311"
REPLAYED = "Idempotent-Replayed"
CONGRESS = "Tổ chức đại hội (phiên trù bị và phiên chính thức)"
NEW_REPORT = make_docx("BÁO CÁO CHÍNH TRỊ", "Dự thảo bổ sung sau hội nghị lấy ý kiến các chi bộ.")


# --- helpers: the forms of a page, as a browser would send them ----------------------------------

class Forms(HTMLParser):
    """The POST forms of a page: each action with the fields it would send as it stands."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[tuple[str, dict[str, str]]] = []
        self._fields: dict[str, str] | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and (attrs.get("method") or "").lower() == "post":
            self._fields = {}
            self.forms.append((html_lib.unescape(attrs.get("action") or ""), self._fields))
        elif self._fields is not None and tag == "input" and attrs.get("name"):
            if attrs.get("type") not in ("checkbox", "radio", "file", "submit") or "checked" in attrs:
                self._fields[attrs["name"]] = attrs.get("value") or ""
        elif self._fields is not None and tag == "textarea" and attrs.get("name"):
            self._textarea = attrs["name"]
            self._fields[self._textarea] = ""

    def handle_data(self, data):
        if self._textarea is not None and self._fields is not None:
            self._fields[self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "textarea":
            self._textarea = None
        elif tag == "form":
            self._fields = None


def page_forms(client, path: str) -> list[tuple[str, dict[str, str]]]:
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    parser = Forms()
    parser.feed(response.get_data(as_text=True))
    return [(action, fields) for action, fields in parser.forms if action != "/logout"]


def form_on(client, path: str, action: str) -> dict[str, str]:
    """The fields of the page's form that posts to ``action`` (the first such form)."""
    for found, fields in page_forms(client, path):
        if found == action or found.split("?")[0] == action:
            return dict(fields)
    raise AssertionError(f"no form to {action} on {path}")


def key_of(fields: dict[str, str]) -> str:
    return next(v for k, v in fields.items() if k == "request_key" or k.endswith("-request_key"))


def signed_in(app, username: str):
    client = app.test_client()
    assert login(client, username).status_code == 302, username
    return client


def audits(**where) -> list[AuditRecord]:
    db.session.expire_all()
    return list(db.session.execute(db.select(AuditRecord).filter_by(**where).order_by(AuditRecord.id)).scalars())


def audit_total() -> int:
    return db.session.execute(sa.select(sa.func.count(AuditRecord.id))).scalar_one()


def keys_of(username: str) -> list[RequestKey]:
    db.session.expire_all()
    user = db.session.execute(db.select(User).filter_by(username=username)).scalar_one()
    return list(db.session.execute(db.select(RequestKey).filter_by(user_id=user.id)).scalars())


def flashes_after(client, response) -> str:
    """The page a redirect leads to, where its messages show."""
    return html_lib.unescape(client.get(response.headers["Location"]).get_data(as_text=True))


# --- 1. issuing a number --------------------------------------------------------------------------

def test_a_double_click_on_issue_takes_one_number(app):
    client = signed_in(app, "tuminh.vanphong")
    action = f"/units/{TU_MINH}/papers/congress_plan/issue"
    fields = form_on(client, f"/units/{TU_MINH}/documents", action)
    assert key_of(fields)
    before = audit_total()
    first = client.post(action, data=fields)
    second = client.post(action, data=fields)
    assert (first.status_code, second.status_code) == (302, 302)
    assert second.headers["Location"] == first.headers["Location"] and second.headers[REPLAYED] == "true"
    issues = db.session.execute(db.select(PaperIssue).filter_by(unit_id=unit_of(TU_MINH).id,
                                                                kind="congress_plan")).scalars().all()
    assert [[n.symbol for n in i.numbers] for i in issues] == [["01-KH/ĐU"]]
    assert audit_total() == before + 1 and len(audits(action="paper.issue")) == 1
    # the second click's page says what the first did
    assert "Đã ban hành: 01-KH/ĐU." in flashes_after(client, second)


def test_the_api_issue_sent_twice_with_its_key_is_issued_once(app, api_as):
    staff = api_as("unit_staff", unit=HONG_BANG)
    url = f"/api/v1/units/{HONG_BANG}/papers/congress_plan/issue"
    first = staff.post(url, json={}, headers={"Idempotency-Key": "plan-2025-08-05"})
    second = staff.post(url, json={}, headers={"Idempotency-Key": "plan-2025-08-05"})
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.json == first.json and second.headers[REPLAYED] == "true"
    assert [n["symbol"] for n in first.json["numbers"]] == ["01-KH/ĐU"]
    # another key is another issue, with the next number
    third = staff.post(url, json={}, headers={"Idempotency-Key": "plan-again"})
    assert [n["symbol"] for n in third.json["numbers"]] == ["02-KH/ĐU"]
    assert len(audits(action="paper.issue", entity_key=f"{HONG_BANG}/congress_plan")) == 2


def test_issue_document_called_twice_under_one_key_gives_the_first_issue(app):
    from congress.papers.operations import issue_document

    staff = db.session.execute(db.select(User).filter_by(username="tuminh.vanphong")).scalar_one()
    found = unit_of(TU_MINH)
    with app.test_request_context("/"):
        g.request_claim = idempotency.Claim(id=0, user_id=staff.id, key="k")
        first = issue_document(found, "propaganda_plan", staff)
        again = issue_document(found, "propaganda_plan", staff)
        assert again is first
        other_kind = issue_document(found, "congress_agenda", staff)
        assert other_kind.id != first.id
        g.pop("request_claim")
    db.session.commit()
    assert [n.symbol for n in first.numbers] == ["01-KH/ĐU"]
    assert len(audits(action="paper.issue", entity_key=f"{TU_MINH}/propaganda_plan")) == 1


# --- 2. a step action on the unit's page and in the API -------------------------------------------

def test_a_double_click_on_a_step_button_applies_it_once(app):
    client = signed_in(app, "tuminh.vanphong")
    action = f"/units/{TU_MINH}/steps/congress/start"
    fields = form_on(client, f"/units/{TU_MINH}", action)
    version = step(TU_MINH, "congress").version
    before = audit_total()
    first = client.post(action, data=fields)
    second = client.post(action, data=fields)
    assert (first.status_code, second.status_code) == (302, 302)
    assert second.headers["Location"] == first.headers["Location"].replace("http://localhost", "")
    assert step(TU_MINH, "congress").state == "in_progress" and step(TU_MINH, "congress").version == version + 1
    assert audit_total() == before + 1
    page = flashes_after(client, second)
    assert f"Đã bắt đầu bước “{CONGRESS}”." in page
    assert "Người khác đã thay đổi" not in page


def test_the_api_transition_sent_twice_with_its_key_is_applied_once(app, api_as):
    staff = api_as("unit_staff", unit=TU_MINH, username="tuminh.vanphong")
    version = step(TU_MINH, "congress").version
    url = f"/api/v1/units/{TU_MINH}/steps/congress/transitions"
    body = {"action": "start", "version": version, "on": "2025-08-05"}
    first = staff.post(url, json=body, headers={"Idempotency-Key": "start-congress"})
    second = staff.post(url, json=body, headers={"Idempotency-Key": "start-congress"})
    assert (first.status_code, second.status_code) == (200, 200)
    assert second.json == first.json and first.json["version"] == version + 1
    assert len(audits(action="step.start", entity_key=f"{TU_MINH}/congress")) == 1


def test_a_step_action_repeated_without_a_key_is_answered_with_the_step_not_a_conflict(app, api_as):
    """An older client without keys sends its request again after losing the answer."""
    staff = api_as("unit_staff", unit=TU_MINH, username="tuminh.vanphong")
    version = step(TU_MINH, "congress").version
    url = f"/api/v1/units/{TU_MINH}/steps/congress/transitions"
    body = {"action": "start", "version": version, "on": "2025-08-05"}
    leader = api_as("unit_leader", unit=TU_MINH, username="tuminh.bithu")
    assert staff.post(url, json=body).status_code == 200
    before = audit_total()
    again = staff.post(url, json=body)
    assert again.status_code == 200, again.json
    assert again.json["repeated"] is True and again.json["state"] == "in_progress"
    assert again.json["version"] == version + 1 and audit_total() == before
    # someone else's action, or another action on the version one behind, is still a conflict
    assert leader.post(url, json=body).status_code == 409
    assert staff.post(url, json={**body, "action": "complete"}).status_code == 409
    assert audit_total() == before


def test_a_step_form_repeated_without_a_key_says_already_done(app):
    client = signed_in(app, "tuminh.vanphong")
    action = f"/units/{TU_MINH}/steps/congress/start"
    fields = {k: v for k, v in form_on(client, f"/units/{TU_MINH}", action).items() if not k.endswith("request_key")}
    assert client.post(action, data=fields).status_code == 302
    before = audit_total()
    again = client.post(action, data=fields)
    assert again.status_code == 302 and audit_total() == before
    page = flashes_after(client, again)
    assert f"“{CONGRESS}”: yêu cầu trước của bạn đã thực hiện việc này; không có gì bị thay đổi thêm." in page


# --- 3. the city's decision -----------------------------------------------------------------------

def submitted_step() -> Step:
    db.session.expire_all()
    return db.session.execute(db.select(Step).where(Step.branch_id.is_(None), Step.state == "submitted")
                              .order_by(Step.id)).scalars().first()


def decision_fields(client, pending: Step, key: str | None = "return-once") -> dict:
    """The dashboard's form returning one submitted step to its unit, as the page writes it (approving
    the documents' steps waits for the city's verdict on a draft)."""
    prefix = f"s{pending.id}-return"
    token = next(v for _, f in page_forms(client, "/dashboard") for k, v in f.items() if k.endswith("csrf_token"))
    fields = {"action": "return", f"{prefix}-csrf_token": token, f"{prefix}-version": str(pending.version),
              f"{prefix}-note": "Bổ sung phần đánh giá công tác cán bộ."}
    if key:
        fields[f"{prefix}-request_key"] = key
    return fields


def test_a_double_click_on_the_citys_decision_decides_once(app):
    city = signed_in(app, "thanhuy.vanphong")
    pending = submitted_step()
    action = f"/dashboard/approvals/{pending.id}"
    fields = decision_fields(city, pending)
    first = city.post(action, data=fields)
    second = city.post(action, data=fields)
    assert (first.status_code, second.status_code) == (302, 302), second.get_data(as_text=True)[:300]
    assert second.headers[REPLAYED] == "true"
    assert db.session.get(Step, pending.id).state == "in_progress"
    unit_code = db.session.get(Step, pending.id).preparation.unit.code
    assert len(audits(action="step.return", entity_key=f"{unit_code}/{pending.key}")) == 1
    assert "Đã trả lại" in flashes_after(city, second)


def test_a_double_click_on_a_verdict_in_the_citys_queue_decides_once(app):
    city = signed_in(app, "thanhuy.vanphong")
    action, fields = next((a, dict(f)) for a, f in page_forms(city, "/dashboard")
                          if a.startswith("/dashboard/approvals/") and f.get("action") == "approve")
    assert key_of(fields)
    first = city.post(action, data=fields)
    after_first = audit_total()
    second = city.post(action, data=fields)
    assert (first.status_code, second.status_code) == (302, 302), second.get_data(as_text=True)[:300]
    assert second.headers[REPLAYED] == "true" and audit_total() == after_first
    assert "Người khác" not in flashes_after(city, second)


def test_the_citys_decision_repeated_without_a_key_is_not_a_conflict(app):
    city = signed_in(app, "thanhuy.vanphong")
    pending = submitted_step()
    action = f"/dashboard/approvals/{pending.id}"
    fields = decision_fields(city, pending, key=None)
    assert city.post(action, data=fields).status_code == 302
    before = audit_total()
    again = city.post(action, data=fields)
    assert again.status_code == 302 and audit_total() == before
    assert "yêu cầu trước của bạn đã thực hiện việc này" in flashes_after(city, again)


# --- 4. a draft upload ----------------------------------------------------------------------------

@pytest.fixture
def files(app, tmp_path):
    app.config["FILES_FOLDER"] = str(tmp_path / "files")
    return tmp_path / "files"


def versions_of(code: str, kind: str = "political_report") -> list[DraftVersion]:
    db.session.expire_all()
    return list(db.session.execute(db.select(DraftVersion).filter_by(unit_id=unit_of(code).id, kind=kind)
                                   .order_by(DraftVersion.number)).scalars())


def test_a_double_upload_keeps_one_version(app, files):
    staff = signed_in(app, "tuminh.vanphong")
    page = f"/units/{TU_MINH}/drafts"
    fields = form_on(staff, page, page)
    fields.pop("file", None)
    before, uploads = len(versions_of(TU_MINH)), len(audits(action="draft.upload"))
    # each click encodes the file anew (another multipart boundary): the same request all the same
    first = staff.post(page, **multipart(NEW_REPORT, "BCCT.docx", **fields, kind="political_report"))
    second = staff.post(page, **multipart(NEW_REPORT, "BCCT.docx", **fields, kind="political_report"))
    assert (first.status_code, second.status_code) == (302, 302)
    assert second.headers[REPLAYED] == "true"
    assert len(versions_of(TU_MINH)) == before + 1
    assert len(audits(action="draft.upload")) == uploads + 1


def test_the_same_file_uploaded_again_is_already_the_latest_version(app, files, api_as):
    staff = signed_in(app, "tuminh.vanphong")
    page = f"/units/{TU_MINH}/drafts"
    before, uploads = [v.number for v in versions_of(TU_MINH)], len(audits(action="draft.upload"))
    for _ in range(2):  # two forms, two keys: the content decides
        fields = form_on(staff, page, page)
        fields.pop("file", None)
        response = staff.post(page, **multipart(NEW_REPORT, "BCCT mới.docx", **fields, kind="political_report"))
        assert response.status_code == 302
    number = len(before) + 1
    assert [v.number for v in versions_of(TU_MINH)] == [*before, number]
    assert len(audits(action="draft.upload")) == uploads + 1
    assert (f"Tệp này đã là Báo cáo chính trị, dự thảo lần {number}: không lưu thêm bản mới."
            in flashes_after(staff, response))
    # the API: the first upload is created (201), the same file again is that version (200)
    api = api_as("unit_staff", unit=TU_MINH, username="tuminh.vanphong")
    url = f"/api/v1/units/{TU_MINH}/drafts/self_review_report/versions"
    before = [v.number for v in versions_of(TU_MINH, "self_review_report")]
    created = api.post(url, **multipart(PDF, "tu-kiem-diem.pdf"))
    repeated = api.post(url, **multipart(PDF, "tu-kiem-diem (1).pdf"))
    assert (created.status_code, repeated.status_code) == (201, 200)
    assert repeated.json["number"] == created.json["number"] == len(before) + 1
    assert repeated.json["repeated"] is True and "repeated" not in created.json
    assert [v.number for v in versions_of(TU_MINH, "self_review_report")] == [*before, len(before) + 1]


# --- 5. branch records ----------------------------------------------------------------------------

def test_a_double_click_on_add_branch_adds_one(app):
    staff = signed_in(app, "hongbang.vanphong")
    action = f"/units/{HONG_BANG}/branches/new"
    fields = form_on(staff, f"/units/{HONG_BANG}/branches", action)
    fields.update({"new-name": "Chi bộ Khu dân cư số 77", "new-kind": "chi_bo", "new-members": "21"})
    count = len(db.session.execute(db.select(Branch).filter_by(unit_id=unit_of(HONG_BANG).id)).scalars().all())
    first = staff.post(action, data=fields)
    second = staff.post(action, data=fields)
    assert (first.status_code, second.status_code) == (302, 302)
    assert second.headers["Location"] == first.headers["Location"]
    db.session.expire_all()
    names = [b.name for b in db.session.execute(db.select(Branch).filter_by(unit_id=unit_of(HONG_BANG).id)).scalars()]
    assert len(names) == count + 1 and names.count("Chi bộ Khu dân cư số 77") == 1


def test_a_double_click_on_recording_branch_congresses_records_once(app):
    staff = signed_in(app, "hongbang.vanphong")
    action = f"/units/{HONG_BANG}/branches"
    fields = form_on(staff, f"/units/{HONG_BANG}/branches?show=pending", f"{action}?show=pending")
    row = next(k[: -len("held_on")] for k, v in fields.items() if k.endswith("-held_on") and not v)
    code = fields[row + "code"]
    fields.update({row + "held_on": "4/8/2025", row + "delegates": "30", row + "new_secretary": "Vũ Thị Hoa"})
    first = staff.post(f"{action}?show=pending", data=fields)
    second = staff.post(f"{action}?show=pending", data=fields)
    assert (first.status_code, second.status_code) == (302, 302)
    assert len(audits(action="branch.update", entity_key=code)) == 1
    assert "Đã lưu 1 chi bộ." in flashes_after(staff, second)
    assert "Người khác đã thay đổi chi bộ này" not in flashes_after(staff, second)


def test_the_api_branch_writes_sent_twice_are_applied_once(app, api_as):
    staff = api_as("unit_staff", unit=HONG_BANG, username="hongbang.vanphong")
    added = [staff.post(f"/api/v1/units/{HONG_BANG}/branches", json={"name": "Chi bộ Tổ dân phố 12", "members": 18},
                        headers={"Idempotency-Key": "add-tdp-12"}) for _ in range(2)]
    assert [r.status_code for r in added] == [201, 201] and added[0].json == added[1].json
    code, version = added[0].json["code"], added[0].json["version"]
    patched = [staff.patch(f"/api/v1/branches/{code}", json={"version": version, "held_on": "2025-08-04",
                                                                "delegates": 25},
                           headers={"Idempotency-Key": "held-tdp-12"}) for _ in range(2)]
    assert [r.status_code for r in patched] == [200, 200] and patched[0].json == patched[1].json
    assert len(audits(action="branch.add", entity_key=code)) == 1
    assert len(audits(action="branch.update", entity_key=code)) == 1


# --- 6. confirming an import ----------------------------------------------------------------------

def test_a_double_click_on_confirm_imports_once(web_app):
    client = signed_in(web_app, "hongbang.vanphong")
    fields = form_on(client, "/transfers", "/transfers")
    content = csv_bytes([BRANCH_HEADINGS, [HONG_BANG, "", "Chi bộ Trường Tiểu học Mới", "chi bộ", "", "14", "", "",
                                           "", ""]])
    uploaded = client.post("/transfers", **multipart(content, "moi.csv", **{**fields, "kind": "branches"}))
    token = token_of(uploaded)
    action = f"/transfers/{token}/confirm"
    fields = form_on(client, f"/transfers/{token}", action)
    first = client.post(action, data=fields)
    second = client.post(action, data=fields)  # without its key: 422, the batch is already applied
    assert (first.status_code, second.status_code) == (302, 302)
    assert len(audits(action="import.apply", entity_key=token)) == 1
    assert "Đã nhập: 1 mới" in flashes_after(client, second)


def test_the_api_confirm_sent_twice_with_its_key_is_applied_once(web_app, api_as):
    staff = api_as("unit_staff", unit=HONG_BANG, username="hongbang.vanphong")
    content = csv_bytes([BRANCH_HEADINGS, [HONG_BANG, "", "Chi bộ Khu công nghiệp", "chi bộ", "", "40", "", "", "",
                                           ""]])
    started = staff.post("/api/v1/imports", **multipart(content, "kcn.csv", kind="branches"))
    token = started.json["token"]
    answers = [staff.post(f"/api/v1/imports/{token}/confirm", json={}, headers={"Idempotency-Key": f"confirm-{token}"})
               for _ in range(2)]
    assert [a.status_code for a in answers] == [200, 200] and answers[0].json == answers[1].json
    assert answers[0].json["state"] == "applied"
    assert len(audits(action="import.apply", entity_key=token)) == 1


# --- 7. marking a notice read ---------------------------------------------------------------------

def test_marking_read_twice_is_answered_with_the_first_answer(app, api_as):
    jobs.send_reminders(datetime(2025, 8, 5, 9, tzinfo=LOCAL_TZ))
    jobs.send_digests(datetime(2025, 8, 5, 17, 30, tzinfo=LOCAL_TZ))
    client = signed_in(app, "tuminh.vanphong")
    notice = db.session.execute(db.select(Notification).join(User, User.id == Notification.user_id)
                                .where(User.username == "tuminh.vanphong")).scalars().first()
    action = f"/notifications/{notice.id}/read"
    fields = form_on(client, "/notifications", action)
    first, second = client.post(action, data=fields), client.post(action, data=fields)
    assert (first.status_code, second.status_code) == (302, 302) and second.headers[REPLAYED] == "true"
    db.session.expire_all()
    assert db.session.get(Notification, notice.id).read_at is not None
    # the API: "read all" sent twice with its key answers what the first did, not "0 marked"
    api = api_as("unit_staff", unit=TU_MINH, username="tuminh.vanphong")
    answers = [api.post("/api/v1/notifications/read-all", json={}, headers={"Idempotency-Key": "all-read"})
               for _ in range(2)]
    assert answers[0].json == answers[1].json and answers[0].json["marked"] >= 1
    assert api.post("/api/v1/notifications/read-all", json={}).json["marked"] == 0


def test_a_double_click_on_a_new_calendar_address_makes_one_and_says_why_it_is_not_shown(app):
    """The address is shown once, to the first click: the second is told so, not given a second one."""
    from congress.notices.models import CalendarFeed

    client = signed_in(app, "tuminh.vanphong")
    fields = form_on(client, "/notifications/settings", "/notifications/calendars")
    first = client.post("/notifications/calendars", data=fields,
                        headers={"Referer": "http://localhost/notifications/settings"})
    second = client.post("/notifications/calendars", data=fields,
                         headers={"Referer": "http://localhost/notifications/settings"})
    assert first.status_code == 200 and "/calendar/" in first.get_data(as_text=True)
    assert second.status_code == 303 and second.headers["Location"] == "/notifications/settings"
    assert "/calendar/" not in second.get_data(as_text=True)
    assert "Lần bấm đầu tiên của bạn đã tạo địa chỉ lịch này" in flashes_after(client, second)
    staff = db.session.execute(db.select(User).filter_by(username="tuminh.vanphong")).scalar_one()
    assert len(db.session.execute(db.select(CalendarFeed).filter_by(user_id=staff.id)).scalars().all()) == 1
    # the secret address is not kept with the key
    (kept,) = keys_of("tuminh.vanphong")
    assert kept.body is None


# --- the keys themselves --------------------------------------------------------------------------

def test_the_same_key_for_another_request_is_refused(app, api_as):
    staff = api_as("unit_staff", unit=TU_MINH, username="tuminh.vanphong")
    headers = {"Idempotency-Key": "only-once", "Accept-Language": "vi"}
    first = staff.post(f"/api/v1/units/{TU_MINH}/papers/congress_plan/issue", json={}, headers=headers)
    assert first.status_code == 201
    other = staff.post(f"/api/v1/units/{TU_MINH}/papers/propaganda_plan/issue", json={}, headers=headers)
    assert other.status_code == 422 and other.json["error"] == "request_key_reused"
    assert "Mã yêu cầu này đã được dùng cho một yêu cầu khác" in other.json["message"]
    assert not audits(action="paper.issue", entity_key=f"{TU_MINH}/propaganda_plan")
    bad = staff.post(f"/api/v1/units/{TU_MINH}/papers/propaganda_plan/issue", json={},
                     headers={"Idempotency-Key": "x" * 65})
    assert bad.status_code == 422 and bad.json["error"] == "request_key_invalid"
    # a key is its user's: another user's same key is another request
    leader = api_as("unit_leader", unit=TU_MINH, username="tuminh.bithu")
    mine = leader.post(f"/api/v1/units/{TU_MINH}/papers/propaganda_plan/issue", json={}, headers=headers)
    assert mine.status_code == 201 and REPLAYED not in mine.headers


def test_a_refused_form_keeps_nothing_and_comes_back_with_a_fresh_key(app):
    client = signed_in(app, "tuminh.vanphong")
    action = f"/units/{TU_MINH}/steps/congress/start"
    fields = form_on(client, f"/units/{TU_MINH}", action)
    sent_key = key_of(fields)
    refused = client.post(action, data={**fields, "congress-start-on": "1/9/2025"})  # in the future
    assert refused.status_code == 422
    assert keys_of("tuminh.vanphong") == []
    parser = Forms()
    parser.feed(refused.get_data(as_text=True))
    shown_again = next(f for a, f in parser.forms if a == action)
    assert key_of(shown_again) != sent_key
    # corrected and sent (even with the same key): carried out
    corrected = client.post(action, data={**fields, "congress-start-on": "5/8/2025"})
    assert corrected.status_code == 302 and REPLAYED not in corrected.headers
    assert step(TU_MINH, "congress").state == "in_progress"
    assert [k.state for k in keys_of("tuminh.vanphong")] == ["done"]


def test_the_api_refusal_keeps_nothing_and_the_same_key_may_be_sent_again(app, api_as):
    staff = api_as("unit_staff", unit=TU_MINH, username="tuminh.vanphong")
    url = f"/api/v1/units/{TU_MINH}/steps/congress/transitions"
    version = step(TU_MINH, "congress").version
    headers = {"Idempotency-Key": "start-after-fix"}
    wrong = staff.post(url, json={"action": "start", "version": version, "on": "2025-09-01"}, headers=headers)
    assert wrong.status_code == 422
    right = staff.post(url, json={"action": "start", "version": version, "on": "2025-08-05"}, headers=headers)
    assert right.status_code == 200 and REPLAYED not in right.headers


def test_keys_expire_after_a_day_and_are_swept(app, api_as):
    staff = api_as("unit_staff", unit=TU_MINH, username="tuminh.vanphong")
    url = f"/api/v1/units/{TU_MINH}/papers/congress_plan/issue"
    headers = {"Idempotency-Key": "yesterday"}
    assert staff.post(url, json={}, headers=headers).status_code == 201
    (row,) = keys_of("tuminh.vanphong")
    assert row.state == "done" and row.status == 201 and row.method == "POST" and row.path == url
    db.session.execute(sa.update(RequestKey).values(created_at=row.created_at - timedelta(hours=25)))
    db.session.commit()
    again = staff.post(url, json={}, headers=headers)  # a day later the key is new again
    assert again.status_code == 201 and REPLAYED not in again.headers
    assert [n["symbol"] for n in again.json["numbers"]] == ["02-KH/ĐU"]
    assert len(keys_of("tuminh.vanphong")) == 1  # the old row was swept
    db.session.execute(sa.update(RequestKey).values(created_at=datetime(2025, 1, 1, tzinfo=UTC)))
    db.session.commit()
    assert idempotency.sweep() == 1 and keys_of("tuminh.vanphong") == []


def test_a_repeat_waits_for_the_first_and_gives_up_honestly(app, api_as):
    """While the first is still being carried out, a repeat waits; a first that never finishes
    leaves the repeat with 409, not with a second write."""
    staff = api_as("unit_staff", unit=TU_MINH, username="tuminh.vanphong")
    user = db.session.execute(db.select(User).filter_by(username="tuminh.vanphong")).scalar_one()
    url = f"/api/v1/units/{TU_MINH}/papers/congress_plan/issue"
    db.session.add(RequestKey(user_id=user.id, key="stuck", method="POST", path=url,
                              body_hash=_hash_of_empty_json(), state="pending", created_at=datetime.now(UTC)))
    db.session.commit()
    app.config["IDEMPOTENCY_WAIT_SECONDS"] = 0.3
    started = time.monotonic()
    waited = staff.post(url, json={}, headers={"Idempotency-Key": "stuck", "Accept-Language": "vi"})
    assert time.monotonic() - started >= 0.3
    assert waited.status_code == 409 and waited.json["error"] == "request_in_progress"
    assert not audits(action="paper.issue", entity_key=f"{TU_MINH}/congress_plan")


def _hash_of_empty_json() -> str:
    import hashlib
    import json

    return hashlib.sha256(json.dumps({}, sort_keys=True).encode()).hexdigest()


def test_every_write_form_carries_a_request_key(app, files):
    from congress.drafts import operations as drafts

    staff = db.session.execute(db.select(User).filter_by(username="tuminh.vanphong")).scalar_one()
    version = drafts.upload_version(unit_of(TU_MINH), "political_report", filename="a.docx", content=REPORT_1,
                                    note=None, actor=staff)
    found = drafts.open_round(version, audiences=["members"], starts_on=datetime(2025, 8, 1).date(),
                              ends_on=datetime(2025, 8, 20).date(), actor=staff)
    awaiting_city(HONG_BANG)
    db.session.commit()
    pages = {"tuminh.vanphong": [f"/units/{TU_MINH}", f"/units/{TU_MINH}/branches", f"/units/{TU_MINH}/documents",
                                 f"/units/{TU_MINH}/drafts", f"/units/{TU_MINH}/drafts/political_report",
                                 f"/units/{TU_MINH}/drafts/rounds/{found.id}", "/notifications",
                                 "/notifications/settings", "/transfers"],
             "thanhuy.vanphong": ["/dashboard", f"/units/{HONG_BANG}", "/provinces/31/papers"],
             "admin": ["/provinces/31/papers"]}
    seen = 0
    for username, paths in pages.items():
        client = signed_in(app, username)
        for path in paths:
            for action, fields in page_forms(client, path):
                assert any(k == "request_key" or k.endswith("-request_key") for k in fields), (path, action)
                assert any(k.endswith("csrf_token") for k in fields), (path, action)
                seen += 1
    assert seen > 30


def test_the_openapi_document_offers_the_key_on_every_write():
    from congress.api.openapi import document

    spec = document()
    assert spec["components"]["parameters"]["IdempotencyKey"]["name"] == "Idempotency-Key"
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            refs = [p.get("$ref", "") for p in operation.get("parameters", [])]
            assert ("#/components/parameters/IdempotencyKey" in refs) == (method != "get"), (method, path)


def test_the_migration_builds_the_table_the_model_describes(empty_app):
    columns = {c["name"] for c in sa.inspect(db.engine).get_columns("request_keys")}
    assert {"user_id", "key", "method", "path", "body_hash", "state", "status", "location", "body", "flashes",
            "created_at"} <= columns
    unique = sa.inspect(db.engine).get_unique_constraints("request_keys")
    assert [u["column_names"] for u in unique] == [["user_id", "key"]]


# --- two simultaneous clicks, on PostgreSQL ----------------------------------------------------------

@pytest.mark.postgres
def test_two_simultaneous_clicks_issue_one_number_on_postgresql(app, monkeypatch):
    needs_postgresql(db.engine.dialect.name, "two simultaneous clicks")
    from congress.papers import operations

    issued = operations.issue_document

    def slow_issue(*args, **kwargs):  # the first click is still at work when the second arrives
        time.sleep(0.4)
        return issued(*args, **kwargs)

    monkeypatch.setattr(operations, "issue_document", slow_issue)
    first_client = signed_in(app, "tuminh.vanphong")
    action = f"/units/{TU_MINH}/papers/congress_plan/issue"
    fields = form_on(first_client, f"/units/{TU_MINH}/documents", action)
    second_client = app.test_client()  # the same browser: the same session, two connections
    second_client.set_cookie("session", first_client.get_cookie("session").value)
    barrier = threading.Barrier(2)
    answers: dict[str, object] = {}
    errors: list[BaseException] = []

    def click(name, client):
        try:
            barrier.wait(timeout=30)
            answers[name] = client.post(action, data=fields)
        except BaseException as exc:  # noqa: BLE001  (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=click, args=(name, c)) for name, c in (("a", first_client),
                                                                                ("b", second_client))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    statuses = sorted(r.status_code for r in answers.values())
    assert statuses == [302, 302]
    assert answers["a"].headers["Location"] == answers["b"].headers["Location"]
    assert sum(1 for r in answers.values() if r.headers.get(REPLAYED)) == 1
    issues = db.session.execute(db.select(PaperIssue).filter_by(unit_id=unit_of(TU_MINH).id,
                                                                kind="congress_plan")).scalars().all()
    assert [[n.symbol for n in i.numbers] for i in issues] == [["01-KH/ĐU"]]
    assert len(audits(action="paper.issue", entity_key=f"{TU_MINH}/congress_plan")) == 1


def at_once(clients, url: str, body: dict, headers: dict | None = None) -> list:
    """The same POST from each client, released together; their answers."""
    barrier = threading.Barrier(len(clients))
    answers = []

    def send(client):
        barrier.wait(timeout=30)
        answers.append(client.post(url, json=body, headers=headers or {}))

    threads = [threading.Thread(target=send, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return answers


@pytest.mark.postgres
def test_two_simultaneous_api_transitions_with_one_key_apply_once_on_postgresql(app, api_as):
    needs_postgresql(db.engine.dialect.name, "two simultaneous requests")
    staff = api_as("unit_staff", unit=TU_MINH, username="tuminh.vanphong")
    other = api_as("unit_staff", unit=TU_MINH, username="tuminh.vanphong")
    version = step(TU_MINH, "congress").version
    url = f"/api/v1/units/{TU_MINH}/steps/congress/transitions"
    body = {"action": "start", "version": version, "on": "2025-08-05"}
    answers = at_once([staff, other], url, body, {"Idempotency-Key": "simultaneous"})
    assert [a.status_code for a in answers] == [200, 200]
    assert answers[0].json == answers[1].json
    assert len(audits(action="step.start", entity_key=f"{TU_MINH}/congress")) == 1
    assert step(TU_MINH, "congress").version == version + 1


@pytest.mark.postgres
def test_two_simultaneous_identical_transitions_without_a_key_are_one_on_postgresql(app, api_as):
    """An older client sends the same action twice at once: one applies it, the other is told it
    is done (``repeated``), whichever way the race went (the version check, or the row's update)."""
    needs_postgresql(db.engine.dialect.name, "two simultaneous requests")
    clients = [api_as("unit_staff", unit=TU_MINH, username="tuminh.vanphong") for _ in range(2)]
    version = step(TU_MINH, "congress").version
    url = f"/api/v1/units/{TU_MINH}/steps/congress/transitions"
    body = {"action": "start", "version": version, "on": "2025-08-05"}
    answers = at_once(clients, url, body)
    assert sorted(a.status_code for a in answers) == [200, 200], [a.json for a in answers]
    assert sorted(bool(a.json.get("repeated")) for a in answers) == [False, True]
    assert len(audits(action="step.start", entity_key=f"{TU_MINH}/congress")) == 1
    assert step(TU_MINH, "congress").version == version + 1



def test_a_form_part_without_a_name_is_fingerprinted(app):
    """A multipart part whose name the parser gives as None (schemathesis sent one) is no 500."""
    from werkzeug.datastructures import MultiDict

    with app.test_request_context("/api/v1/imports", method="POST", data={"kind": "progress"},
                                  content_type="multipart/form-data"):
        from flask import request

        real = request._get_current_object()
        assert not real.files  # the body is read; its fields are then replaced
        real.__dict__["form"] = MultiDict([(None, "x"), ("kind", "progress"), (None, None)])
        first = idempotency._fingerprint()
        real.__dict__["form"] = MultiDict([("kind", "progress"), (None, None), (None, "x")])
        assert idempotency._fingerprint() == first

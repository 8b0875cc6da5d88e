"""The JSON API under /api/v1: status codes, and what the database holds afterwards.

Every refused write is checked to change nothing: the steps, branches, preparations and
campaigns are compared, as committed, before and after, and no audit record is added.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import date

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from congress.accounts.models import ApiToken, User
from congress.accounts.operations import create_token, revoke_token
from congress.audit.models import AuditRecord
from congress.extensions import db
from congress.progress.models import Campaign, Preparation, Step
from congress.progress.operations import add_branch_steps
from congress.progress.queries import unit_preparation
from congress.units.models import Branch, Unit
from tests.conftest import DEMO_PASSWORD, ApiClient
from tests.steps import approve_draft, finish_prerequisites

UNIT = "10891"  # Phường Tứ Minh
OTHER_UNIT = "11560"  # Phường Thủy Nguyên, same city
API = "/api/v1"
UNIT_STEP_COUNT = 17


# --- reading what the database holds (committed, through a session of its own) ------------------

def committed_one(statement):
    with Session(db.engine, expire_on_commit=False) as session:
        return session.execute(statement).scalar_one()


def unit_step(key: str, code: str = UNIT) -> Step:
    with Session(db.engine, expire_on_commit=False) as session:
        return session.execute(
            sa.select(Step).join(Preparation, Preparation.id == Step.preparation_id)
            .join(Unit, Unit.id == Preparation.unit_id)
            .where(Unit.code == code, Step.key == key, Step.branch_id.is_(None))).scalar_one()


def branch_step(branch_code: str, key: str) -> Step:
    with Session(db.engine, expire_on_commit=False) as session:
        return session.execute(sa.select(Step).join(Branch, Branch.id == Step.branch_id)
                               .where(Branch.code == branch_code, Step.key == key)).scalar_one()


def branch_row(code: str) -> Branch:
    with Session(db.engine, expire_on_commit=False) as session:
        return session.execute(sa.select(Branch).filter_by(code=code)).scalar_one()


def preparation(code: str = UNIT) -> Preparation:
    with Session(db.engine, expire_on_commit=False) as session:
        return session.execute(sa.select(Preparation).join(Unit, Unit.id == Preparation.unit_id)
                               .where(Unit.code == code)).scalar_one()


def audit_records(**filters) -> list[AuditRecord]:
    with Session(db.engine, expire_on_commit=False) as session:
        return list(session.execute(sa.select(AuditRecord).filter_by(**filters)
                                    .order_by(AuditRecord.id)).scalars())


def audit_count() -> int:
    with Session(db.engine) as session:
        return session.execute(sa.select(sa.func.count(AuditRecord.id))).scalar_one()


def database_state() -> dict:
    """Everything an API write may touch, as committed."""
    with Session(db.engine) as session:
        def rows(model):
            return [dict(r) for r in session.execute(
                sa.select(model.__table__).order_by(model.__table__.c.id)).mappings()]
        # accounts and tokens a test makes on the way are not the request's doing
        audit = [r for r in rows(AuditRecord) if r["entity"] not in ("user", "token")]
        return {"steps": rows(Step), "branches": rows(Branch), "preparations": rows(Preparation),
                "campaigns": rows(Campaign), "audit": audit}


class Unchanged:
    """with Unchanged(): ... asserts the block left the database as it found it."""

    def __enter__(self):
        self.before = database_state()
        return self

    def __exit__(self, *exc):
        if exc[0] is None:
            after = database_state()
            for table in self.before:
                assert after[table] == self.before[table], f"{table} changed"


# --- fixtures -------------------------------------------------------------------------------------

def add_branches(unit_code: str, count: int, planned_on: date | None = date(2025, 7, 25)) -> list[str]:
    """Insert ``count`` branches under a unit and create their steps; returns their codes."""
    unit = db.session.execute(db.select(Unit).filter_by(code=unit_code)).scalar_one()
    prep = unit_preparation(unit)
    branches = [Branch(code=f"{unit_code}-{n:03d}", unit_id=unit.id, campaign_id=prep.campaign_id,
                       name=f"Chi bộ tổ dân phố số {n}",
                       kind="chi_bo", members=20 + n, secretary=f"Bí thư {n}", planned_on=planned_on)
                for n in range(1, count + 1)]
    db.session.add_all(branches)
    db.session.flush()
    for branch in branches:
        add_branch_steps(prep, branch)
    db.session.commit()
    return [b.code for b in branches]


class Clients:
    """The API clients of a test, each made (user and token) on first use."""

    SCOPES = {
        "staff": ("unit_staff", UNIT, None, None),
        "leader": ("unit_leader", UNIT, None, None),
        "other_staff": ("unit_staff", OTHER_UNIT, None, None),
        "other_leader": ("unit_leader", OTHER_UNIT, None, None),
        "viewer": ("viewer", UNIT, None, None),
        "province_viewer": ("viewer", None, "31", "viewer-31"),
        "city_staff": ("city_staff", None, "31", None),
        "city_leader": ("city_leader", None, "31", None),
        "admin": ("admin", None, None, "admin"),
    }

    def __init__(self, api_as):
        self._api_as = api_as
        self._made: dict[str, ApiClient] = {}

    def __getattr__(self, name: str) -> ApiClient:
        if name not in self.SCOPES:
            raise AttributeError(name)
        if name not in self._made:
            role, unit, province, username = self.SCOPES[name]
            self._made[name] = self._api_as(role, unit=unit, province=province, username=username)
        return self._made[name]


@pytest.fixture
def api(base_app, api_as) -> Clients:
    return Clients(api_as)


def act(client, key: str, action: str, code: str = UNIT, version: int | None = None, **body):
    """Take ``action`` on a unit step, with the step's current version unless one is given."""
    version = unit_step(key, code).version if version is None else version
    return client.post(f"{API}/units/{code}/steps/{key}/transitions",
                       json={"action": action, "version": version, **body})


def act_on_branch(client, branch_code: str, key: str, action: str, **body):
    version = branch_step(branch_code, key).version
    return client.post(f"{API}/branches/{branch_code}/steps/{key}/transitions",
                       json={"action": action, "version": version, **body})


def patch_branch(client, code: str, /, **fields):
    return client.patch(f"{API}/branches/{code}", json={"version": branch_row(code).version, **fields})


def assert_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:500])
    assert response.is_json, response.get_data(as_text=True)[:200]
    body = response.json
    assert body["status"] == status
    assert isinstance(body["message"], str) and len(body["message"]) > 5
    if code is not None:
        assert body["error"] == code, body
    return body


def complete_prerequisites_of_personnel_plan(client) -> None:
    assert act(client, "plan", "complete", on="2025-07-10").status_code == 200
    assert act(client, "subcommittees", "complete", on="2025-07-12").status_code == 200


# --- authentication ---------------------------------------------------------------------------------

def _concrete_urls(app):
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(API + "/") or rule.endpoint == "api.openapi":
            continue
        values = {arg: 1 if "int:" + arg in rule.rule else UNIT for arg in rule.arguments}
        url = rule.rule
        for arg, value in values.items():
            url = re.sub(rf"<(?:[^:<>]+:)?{arg}>", str(value), url)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield method, url


def test_every_route_needs_credentials(base_app):
    anonymous = base_app.test_client()
    urls = list(_concrete_urls(base_app))
    assert len(urls) >= 13
    with Unchanged():
        for method, url in urls:
            response = anonymous.open(url, method=method, json={"version": 1})
            assert_error(response, 401, "unauthorized")
            assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", [
    "Bearer cgt_not-a-real-token",
    "Bearer ",
    "Bearer not-even-our-prefix",
    "Basic dXNlcjpwYXNz",
    "cgt_without_scheme",
    "Bearer cgt_" + "x" * 300,
])
def test_wrong_tokens_are_refused(base_app, header):
    client = base_app.test_client()
    with Unchanged():
        assert_error(client.get(f"{API}/units", headers={"Authorization": header}), 401, "unauthorized")
        assert_error(client.post(f"{API}/units/{UNIT}/steps/plan/transitions", headers={"Authorization": header},
                                 json={"action": "complete", "version": 1}), 401)


def test_a_bearer_token_is_stateless_across_pages_and_api(app, api_as):
    client = api_as("city_staff", province="31")
    page = client.get("/units/10891/documents")  # an HTML page with forms: it makes a CSRF token
    assert page.status_code == 200 and "Set-Cookie" not in page.headers
    assert client.get("/units/10891/papers/congress_plan.docx").status_code == 200
    assert client.get(f"{API}/units/10891").status_code == 200


def test_a_revoked_token_and_a_deactivated_account_are_refused(base_app, make_user):
    user = make_user("nv-tu-minh", "unit_staff", unit=UNIT)
    token, plain = create_token(user, "laptop")
    db.session.commit()
    client = ApiClient(base_app, plain)
    assert client.get(f"{API}/me").json["username"] == "nv-tu-minh"

    revoke_token(db.session.get(ApiToken, token.id))
    db.session.commit()
    with Unchanged():
        assert_error(client.get(f"{API}/me"), 401, "unauthorized")
        assert_error(act(client, "plan", "complete"), 401)

    _, plain = create_token(user, "phone")
    db.session.get(User, user.id).active = False
    db.session.commit()
    assert_error(ApiClient(base_app, plain).get(f"{API}/me"), 401, "unauthorized")


def test_me_says_who_is_asking(api):
    assert api.staff.get(f"{API}/me").json == {
        "username": "unit_staff-10891", "display_name": "unit_staff-10891", "role": "unit_staff",
        "unit_code": UNIT, "province_code": None}
    assert api.city_staff.get(f"{API}/me").json["province_code"] == "31"


def _login(app, username: str):
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"username": username, "password": DEMO_PASSWORD, "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    # signing in starts a fresh session, so the token comes from a page served after it
    page = client.get("/", follow_redirects=True).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return client, token


def test_session_reads_work_and_writes_need_the_csrf_header(base_app, make_user):
    make_user("lanh-dao-tu-minh", "unit_leader", unit=UNIT)
    client, token = _login(base_app, "lanh-dao-tu-minh")
    assert client.get(f"{API}/units/{UNIT}").status_code == 200

    url = f"{API}/units/{UNIT}/steps/plan/transitions"
    body = {"action": "complete", "version": 1, "on": "2025-07-10"}
    with Unchanged():
        assert_error(client.post(url, json=body), 400, "csrf_missing")
        assert_error(client.post(url, json=body, headers={"X-CSRFToken": "forged"}), 400, "csrf_missing")
        assert_error(client.patch(f"{API}/branches/{UNIT}-001", json={"version": 1}), 400, "csrf_missing")
        assert_error(client.put(f"{API}/units/{UNIT}/congress-date", json={"version": 1, "date": None}),
                     400, "csrf_missing")

    response = client.post(url, json=body, headers={"X-CSRFToken": token})
    assert response.status_code == 200, response.json
    assert unit_step("plan").state == "done"
    assert audit_records(action="step.complete")[-1].actor == "lanh-dao-tu-minh"


def test_a_deactivated_accounts_session_ends(base_app, make_user):
    user = make_user("cu-nhan-vien", "unit_staff", unit=UNIT)
    client, _ = _login(base_app, "cu-nhan-vien")
    assert client.get(f"{API}/me").status_code == 200
    db.session.get(User, user.id).active = False
    db.session.commit()
    assert_error(client.get(f"{API}/me"), 401, "unauthorized")


def test_bearer_writes_need_no_csrf_header(api):
    assert act(api.staff, "plan", "complete", on="2025-07-10").status_code == 200


# --- scope and roles ----------------------------------------------------------------------------------

def test_unit_staff_cannot_read_or_change_another_unit(api):
    add_branches(OTHER_UNIT, 1)
    other_branch = f"{OTHER_UNIT}-001"
    with Unchanged():
        assert_error(api.staff.get(f"{API}/units/{OTHER_UNIT}"), 403, "forbidden")
        assert_error(api.staff.get(f"{API}/branches/{other_branch}"), 403, "forbidden")
        assert_error(act(api.staff, "plan", "complete", code=OTHER_UNIT, on="2025-07-10"), 403, "forbidden")
        assert_error(act(api.leader, "plan", "start", code=OTHER_UNIT), 403, "forbidden")
        assert_error(act_on_branch(api.staff, other_branch, "plan", "complete", on="2025-07-10"), 403)
        assert_error(patch_branch(api.staff, other_branch, held_on="2025-07-20", delegates=12), 403, "forbidden")
        assert_error(api.leader.put(f"{API}/units/{OTHER_UNIT}/congress-date",
                                    json={"version": 1, "date": "2025-08-20"}), 403)
        assert_error(api.staff.get(f"{API}/audit?unit={OTHER_UNIT}"), 403)
        assert_error(api.staff.get(f"{API}/units?province=31"), 403)
    assert unit_step("plan", OTHER_UNIT).state == "not_started"
    assert branch_row(other_branch).held_on is None


def test_viewers_read_but_never_write(api):
    add_branches(UNIT, 1)
    assert api.viewer.get(f"{API}/units/{UNIT}").status_code == 200
    assert api.province_viewer.get(f"{API}/units/{OTHER_UNIT}").status_code == 200
    assert_error(api.viewer.get(f"{API}/units/{OTHER_UNIT}"), 403)
    detail = api.viewer.get(f"{API}/units/{UNIT}").json
    assert all(step["actions"] == [] for step in detail["steps"])
    with Unchanged():
        for viewer in (api.viewer, api.province_viewer):
            for action in ("start", "complete", "mark_not_applicable"):
                assert_error(act(viewer, "plan", action, note="x"), 403, "action_forbidden")
            assert_error(patch_branch(viewer, f"{UNIT}-001", members=5), 403, "branch_forbidden")
            assert_error(viewer.put(f"{API}/units/{UNIT}/congress-date", json={"version": 1, "date": None}),
                         403, "congress_date_forbidden")
            assert_error(viewer.put(f"{API}/units/{UNIT}/deadline", json={"version": 1, "date": "2025-08-20"}),
                         403, "deadline_forbidden")


@pytest.mark.parametrize("role", ["unit_staff", "unit_leader", "viewer"])
def test_only_city_roles_approve_or_return(api, role):
    client = {"unit_staff": api.staff, "unit_leader": api.leader, "viewer": api.viewer}[role]
    finish_prerequisites(UNIT, "personnel_plan")
    approve_draft(UNIT, "personnel_submission")
    assert act(api.leader, "personnel_plan", "start").status_code == 200
    assert act(api.leader, "personnel_plan", "submit").status_code == 200
    with Unchanged():
        assert_error(act(client, "personnel_plan", "approve"), 403, "action_forbidden")
        assert_error(act(client, "personnel_plan", "return", note="Chưa đạt"), 403, "action_forbidden")
    assert unit_step("personnel_plan").state == "submitted"


@pytest.mark.parametrize("role", ["city_staff", "city_leader", "admin"])
def test_city_roles_approve(api, role):
    finish_prerequisites(UNIT, "personnel_plan")
    approve_draft(UNIT, "personnel_submission")
    assert act(api.leader, "personnel_plan", "start", on="2025-08-01").status_code == 200
    assert act(api.leader, "personnel_plan", "submit", on="2025-08-02").status_code == 200
    response = act(getattr(api, role), "personnel_plan", "approve", on="2025-08-04")
    assert response.status_code == 200, response.json
    step = unit_step("personnel_plan")
    assert (step.state, step.approved_on) == ("approved", date(2025, 8, 4))
    assert audit_records(action="step.approve")[-1].actor == {"admin": "admin"}.get(role, f"{role}-31")


@pytest.mark.parametrize("role", ["unit_staff", "city_staff", "city_leader"])
def test_only_the_unit_leader_or_an_admin_submits(api, role):
    finish_prerequisites(UNIT, "personnel_plan")
    assert act(api.staff, "personnel_plan", "start").status_code == 200
    with Unchanged():
        assert_error(act(getattr(api, {"unit_staff": "staff"}.get(role, role)), "personnel_plan", "submit"),
                     403, "action_forbidden")
    assert act(api.leader, "personnel_plan", "submit").status_code == 200
    assert unit_step("personnel_plan").state == "submitted"


def test_city_roles_do_not_do_the_units_work(api):
    with Unchanged():
        for client in (api.city_staff, api.city_leader):
            assert_error(act(client, "plan", "complete", on="2025-07-10"), 403, "action_forbidden")
        assert_error(act(api.city_leader, "plan", "start"), 403, "action_forbidden")


def test_city_staff_are_confined_to_their_province(base_app, api, api_as):
    from congress.seeding.seed import seed

    seed(["01"])
    db.session.commit()
    hanoi = api_as("city_staff", province="01")
    hanoi_units = hanoi.get(f"{API}/units").json
    assert hanoi_units["count"] > 100
    assert {u["province_code"] for u in hanoi_units["units"]} == {"01"}
    with Unchanged():
        assert_error(hanoi.get(f"{API}/units/{UNIT}"), 403)
        assert_error(hanoi.get(f"{API}/units?province=31"), 403)
        assert_error(hanoi.get(f"{API}/readiness?province=31"), 403)
        assert_error(act(hanoi, "plan", "reopen", note="x"), 403)
        assert_error(hanoi.put(f"{API}/units/{UNIT}/deadline", json={"version": 1, "date": "2025-08-20"}), 403)
    campaigns = hanoi.get(f"{API}/campaigns").json["campaigns"]
    assert [c["province_code"] for c in campaigns] == ["01"]
    hai_phong_campaign = db.session.execute(db.select(Campaign).filter_by(province_code="31")).scalar_one()
    assert_error(hanoi.put(f"{API}/campaigns/{hai_phong_campaign.id}/deadline",
                           json={"version": 1, "date": "2025-08-25"}), 404)
    everything = api.admin.get(f"{API}/units").json
    assert everything["count"] == 114 + hanoi_units["count"]


# --- GET /units ---------------------------------------------------------------------------------------

def test_list_units_scope_and_filters(api):
    listed = api.city_staff.get(f"{API}/units").json
    assert listed["count"] == len(listed["units"]) == 114
    assert listed["as_of"] == "2025-08-05"
    assert {u["province_code"] for u in listed["units"]} == {"31"}
    kinds = {}
    for kind in ("phuong", "xa", "dac_khu"):
        kinds[kind] = api.city_staff.get(f"{API}/units?kind={kind}").json
        assert {u["kind"] for u in kinds[kind]["units"]} <= {kind}
    assert (kinds["phuong"]["count"], kinds["xa"]["count"], kinds["dac_khu"]["count"]) == (45, 67, 2)
    assert {u["name"] for u in kinds["dac_khu"]["units"]} == {"Đặc khu Cát Hải", "Đặc khu Bạch Long Vĩ"}
    assert api.city_staff.get(f"{API}/units?province=31").json["count"] == 114

    mine = api.staff.get(f"{API}/units").json
    assert [u["code"] for u in mine["units"]] == [UNIT]
    assert [u["code"] for u in api.viewer.get(f"{API}/units").json["units"]] == [UNIT]
    assert api.province_viewer.get(f"{API}/units").json["count"] == 114


def test_list_units_by_risk(api):
    # today (5/8) every unit has overdue steps
    assert api.city_staff.get(f"{API}/units?risk=late").json["count"] == 114
    # a later deadline does not erase the lateness already incurred: the unit stays late while the
    # steps it missed are unfinished, each against the day it missed
    response = api.city_staff.put(f"{API}/units/{UNIT}/deadline",
                                  json={"version": preparation().version, "date": "2025-10-31", "kind": "by"})
    assert response.status_code == 200, response.json
    readiness = api.city_staff.get(f"{API}/units/{UNIT}").json["readiness"]
    assert readiness["risk"] == "late" and readiness["overdue_steps"] == ["plan", "subcommittees", "propaganda"]
    plan = unit_step("plan")
    assert plan.missed_due_on == date(2025, 7, 26) and plan.due_on > plan.missed_due_on
    assert api.city_staff.get(f"{API}/units?risk=on_track").json["count"] == 0
    assert api.city_staff.get(f"{API}/units?risk=late").json["count"] == 114
    # a unit that kept to its due dates, whose pace only finishes after its deadline, is at risk:
    # a later deadline puts it on track
    for key in ("propaganda", "comment_round", "personnel_plan"):
        finish_prerequisites(OTHER_UNIT, key, include=True)
    readiness = api.city_staff.get(f"{API}/units/{OTHER_UNIT}").json["readiness"]
    assert readiness["risk"] == "at_risk" and readiness["overdue_steps"] == []
    response = api.city_staff.put(f"{API}/units/{OTHER_UNIT}/deadline",
                                  json={"version": preparation(OTHER_UNIT).version, "date": "2025-10-31", "kind": "by"})
    assert response.status_code == 200, response.json
    on_track = api.city_staff.get(f"{API}/units?risk=on_track").json
    assert [u["code"] for u in on_track["units"]] == [OTHER_UNIT]
    assert on_track["units"][0]["readiness"]["risk"] == "on_track"
    assert api.city_staff.get(f"{API}/units?risk=late").json["count"] == 113
    assert api.city_staff.get(f"{API}/units?risk=done&kind=xa").json["count"] == 0


@pytest.mark.parametrize("query, status, code", [
    ("kind=town", 422, "unknown_filter"),
    ("kind=XA", 422, "unknown_filter"),
    ("risk=overdue", 422, "unknown_filter"),
    ("risk=", 422, "unknown_filter"),
    ("province=99", 404, "province_not_found"),
    ("province=%27%20OR%201%3D1--", 404, "province_not_found"),
])
def test_list_units_refuses_unknown_filter_values(api, query, status, code):
    body = assert_error(api.city_staff.get(f"{API}/units?{query}"), status, code)
    if code == "unknown_filter":
        assert body["details"]["field"] in ("kind", "risk")


# --- GET /units/<code> -----------------------------------------------------------------------------

def test_unit_detail(api):
    add_branches(UNIT, 3)
    body = api.staff.get(f"{API}/units/{UNIT}").json
    assert (body["code"], body["name"], body["kind"], body["province_code"]) == (UNIT, "Phường Tứ Minh", "phuong", "31")
    assert body["province_name"] == "Thành phố Hải Phòng"
    assert body["formed_from"] and all(o["share"] in ("full", "partial") for o in body["formed_from"])
    prep = body["preparation"]
    assert prep["deadline"]["date"] == "2025-08-31" and prep["deadline"]["kind"] == "before"
    assert prep["deadline"]["last_allowed_day"] == "2025-08-30"
    assert prep["deadline_is_override"] is False and prep["campaign"]["starts_on"] == "2025-07-01"
    keys = [s["key"] for s in body["steps"]]
    assert len(keys) == UNIT_STEP_COUNT and keys[0] == "plan" and keys[-1] == "archive"
    plan = body["steps"][0]
    assert plan["state"] == "not_started" and plan["overdue"] is True
    assert {a["action"] for a in plan["actions"]} == {"start", "complete", "mark_not_applicable"}
    assert [b["code"] for b in body["branches"]] == [f"{UNIT}-001", f"{UNIT}-002", f"{UNIT}-003"]
    assert [s["key"] for s in body["branches"][0]["steps"]] == ["plan", "documents", "congress", "report"]
    readiness = body["readiness"]
    assert readiness["branches_total"] == 3 and readiness["branches_held"] == 0
    assert readiness["steps_total"] == UNIT_STEP_COUNT and readiness["risk"] == "late"


def test_unit_detail_of_an_unknown_unit(api):
    body = assert_error(api.city_staff.get(f"{API}/units/99999"), 404, "unit_not_found")
    assert "99999" in body["message"]
    assert_error(api.city_staff.get(f"{API}/units/abc"), 404, "unit_not_found")
    assert_error(api.city_staff.get(f"{API}/branches/{UNIT}-999"), 404, "branch_not_found")
    assert_error(act(api.staff, "plan", "start", version=1, code="99999"), 404, "unit_not_found")
    assert_error(api.staff.post(f"{API}/units/{UNIT}/steps/nope/transitions",
                                json={"action": "start", "version": 1}), 404, "step_not_found")


# --- transitions -------------------------------------------------------------------------------------

def test_full_cycle_of_an_approval_step(api):
    leader, city = api.leader, api.city_staff
    with Unchanged():  # a step starts once its prerequisites are done, never before
        body = assert_error(act(leader, "personnel_plan", "start", on="2025-07-15"), 422,
                            "prerequisites_incomplete")
        assert body["details"]["steps"] == ["subcommittees"]
        assert "“Thành lập các tiểu ban phục vụ đại hội”" in body["message"]
    complete_prerequisites_of_personnel_plan(leader)
    response = act(leader, "personnel_plan", "start", on="2025-07-15")
    assert response.status_code == 200, response.json
    assert response.json["state"] == "in_progress" and unit_step("personnel_plan").started_on == date(2025, 7, 15)
    # marking a step the city approves not applicable is the city's decision: not offered to the unit
    assert {a["action"] for a in response.json["actions"]} == {"submit"}

    assert act(leader, "personnel_plan", "submit", on="2025-07-20").json["state"] == "submitted"
    assert unit_step("personnel_plan").submitted_on == date(2025, 7, 20)

    with Unchanged():
        assert_error(act(city, "personnel_plan", "return"), 422, "reason_required")
        assert_error(act(city, "personnel_plan", "return", note="   "), 422, "reason_required")
    reason = "Bổ sung nhận xét, đánh giá cán bộ dự kiến tái cử"
    returned = act(city, "personnel_plan", "return", note=reason)
    assert returned.status_code == 200 and returned.json["state"] == "in_progress"
    assert returned.json["reason"] == reason
    step = unit_step("personnel_plan")
    assert (step.state, step.reason, step.submitted_on) == ("in_progress", reason, None)
    shown = next(s for s in leader.get(f"{API}/units/{UNIT}").json["steps"] if s["key"] == "personnel_plan")
    assert shown["reason"] == reason and shown["state"] == "in_progress"

    assert act(leader, "personnel_plan", "submit", on="2025-07-25").json["state"] == "submitted"
    assert unit_step("personnel_plan").reason is None
    with Unchanged():  # the step records the approval of a draft: the city approves the draft first
        assert_error(act(city, "personnel_plan", "approve", on="2025-07-28"), 422, "approval_needs_approved_draft")
    approve_draft(UNIT, "personnel_submission", date(2025, 7, 28))
    approved = act(city, "personnel_plan", "approve", on="2025-07-28")
    assert approved.json["state"] == "approved" and approved.json["approved_on"] == "2025-07-28"

    done = act(leader, "personnel_plan", "complete", on="2025-07-30")
    assert done.status_code == 200 and done.json["state"] == "done"
    step = unit_step("personnel_plan")
    assert (step.state, step.completed_on, step.approved_on) == ("done", date(2025, 7, 30), date(2025, 7, 28))

    trail = [(r.action, r.actor, r.new.get("state")) for r in audit_records(step_key="personnel_plan")]
    assert trail == [
        ("step.start", "unit_leader-10891", "in_progress"), ("step.submit", "unit_leader-10891", "submitted"),
        ("step.return", "city_staff-31", "in_progress"), ("step.submit", "unit_leader-10891", "submitted"),
        ("step.approve", "city_staff-31", "approved"), ("step.complete", "unit_leader-10891", "done")]
    assert audit_records(action="step.return")[0].reason == reason


def test_approval_steps_cannot_skip_the_city(api):
    finish_prerequisites(UNIT, "personnel_plan")
    assert act(api.leader, "personnel_plan", "start").status_code == 200
    with Unchanged():
        assert_error(act(api.leader, "personnel_plan", "complete"), 422, "invalid_transition")
        assert_error(act(api.city_staff, "plan", "approve"), 422, "approval_not_required")
        assert_error(act(api.leader, "plan", "submit"), 422, "approval_not_required")


def test_complete_a_normal_step_then_reopen_it(api):
    response = act(api.staff, "plan", "complete", on="2025-07-10", note="Kế hoạch số 12-KH/ĐU")
    assert response.status_code == 200, response.json
    step = unit_step("plan")
    assert (step.state, step.completed_on, step.started_on, step.note) == (
        "done", date(2025, 7, 10), date(2025, 7, 10), "Kế hoạch số 12-KH/ĐU")
    with Unchanged():
        assert_error(act(api.staff, "plan", "complete"), 422, "invalid_transition")
        assert_error(act(api.staff, "plan", "reopen", note="Sai ngày"), 403, "action_forbidden")
        assert_error(act(api.leader, "plan", "reopen"), 422, "reason_required")
    reopened = act(api.leader, "plan", "reopen", note="Sai ngày ban hành")
    assert reopened.status_code == 200 and reopened.json["state"] == "in_progress"
    step = unit_step("plan")
    assert (step.state, step.completed_on, step.reason) == ("in_progress", None, "Sai ngày ban hành")
    record = audit_records(action="step.reopen")[-1]
    assert record.old == {"state": "done", "completed_on": "2025-07-10", "reason": None, "version": 2}
    assert record.new["state"] == "in_progress" and record.reason == "Sai ngày ban hành"


def test_not_applicable_needs_a_reason(api):
    with Unchanged():
        assert_error(act(api.staff, "pilot_lessons", "mark_not_applicable"), 422, "reason_required")
        assert_error(act(api.staff, "pilot_lessons", "mark_not_applicable", note=""), 422, "reason_required")
    response = act(api.staff, "pilot_lessons", "mark_not_applicable", note="Đơn vị là đơn vị điểm")
    assert response.status_code == 200 and response.json["state"] == "not_applicable"
    step = unit_step("pilot_lessons")
    assert (step.state, step.reason) == ("not_applicable", "Đơn vị là đơn vị điểm")
    assert audit_records(action="step.mark_not_applicable")[0].reason == "Đơn vị là đơn vị điểm"
    assert act(api.city_staff, "pilot_lessons", "reopen", note="Không phải đơn vị điểm").status_code == 200
    assert unit_step("pilot_lessons").state == "in_progress"


def test_a_stale_version_is_a_conflict_and_changes_nothing(api):
    assert act(api.staff, "plan", "start", on="2025-07-05", note="bắt đầu").status_code == 200
    with Unchanged():
        body = assert_error(act(api.staff, "plan", "complete", version=1, on="2025-07-10"), 409, "stale_version")
    assert body["current"] == {"state": "in_progress", "started_on": "2025-07-05", "submitted_on": None,
                               "approved_on": None, "completed_on": None, "note": "bắt đầu", "reason": None,
                               "version": 2}
    assert body["details"] == {"expected": 1, "current": 2}
    assert unit_step("plan").state == "in_progress"


def test_a_write_racing_another_is_a_conflict(api, monkeypatch):
    """Two writers read version 1; the second one's UPDATE finds the row changed: 409, not 500."""
    from congress.progress import operations

    staff = api.staff
    checked = operations.check_version

    def concurrent_writer_commits_first(current, expected, snapshot):
        checked(current, expected, snapshot)
        with db.engine.begin() as connection:
            connection.execute(sa.update(Step.__table__).where(Step.__table__.c.id == unit_step("plan").id)
                               .values(state="in_progress", version=Step.__table__.c.version + 1))

    monkeypatch.setattr(operations, "check_version", concurrent_writer_commits_first)
    count = audit_count()
    assert_error(act(staff, "plan", "complete", on="2025-07-10"), 409, "stale_version")
    step = unit_step("plan")
    assert (step.state, step.completed_on, step.version) == ("in_progress", None, 2)
    assert audit_count() == count


def test_a_body_over_the_size_limit_is_refused_as_json(make_app, api_as):
    app = make_app("base", MAX_CONTENT_LENGTH=10_000)
    with app.app_context():
        response = act(api_as("unit_staff", unit=UNIT), "plan", "start", note="x" * 20_000)
        assert_error(response, 413, "too_large")
        assert unit_step("plan").state == "not_started"


@pytest.mark.parametrize("body, code", [
    ({"action": "complete"}, "version_required"),
    ({"action": "complete", "version": None}, "version_required"),
    ({"action": "complete", "version": "1"}, "invalid_field"),
    ({"action": "complete", "version": True}, "invalid_field"),
    ({"action": "complete", "version": 1.5}, "invalid_field"),
    ({"action": "finish", "version": 1}, "unknown_action"),
    ({"action": None, "version": 1}, "unknown_action"),
    ({"action": ["complete"], "version": 1}, "unknown_action"),
    ({"version": 1}, "unknown_action"),
    ({"action": "complete", "version": 1, "on": "2025-08-06"}, "date_in_future"),
    ({"action": "complete", "version": 1, "on": "2025-06-30"}, "date_before_campaign"),
    ({"action": "start", "version": 1, "on": "2024-12-31"}, "date_before_campaign"),
    ({"action": "complete", "version": 1, "on": "10/7/2025"}, "invalid_field"),
    ({"action": "complete", "version": 1, "on": "20250710"}, "invalid_field"),
    ({"action": "complete", "version": 1, "on": "2025-W28-4"}, "invalid_field"),
    ({"action": "complete", "version": 1, "on": "2025-02-30"}, "invalid_field"),
    ({"action": "complete", "version": 1, "on": "２０２５-07-10"}, "invalid_field"),
    ({"action": "complete", "version": 1, "on": " 2025-07-10"}, "invalid_field"),
    ({"action": "complete", "version": 1, "on": 20250710}, "invalid_field"),
    ({"action": "complete", "version": 1, "note": 12}, "invalid_field"),
    ({"action": "complete", "version": 1, "note": "x" * 2001}, "invalid_field"),
    ({"action": "complete", "version": 1, "state": "done"}, "unknown_fields"),
    ({"action": "complete", "version": 1, "completed_on": "2025-07-10"}, "unknown_fields"),
])
def test_transition_input_is_checked(api, body, code):
    with Unchanged():
        response = api.staff.post(f"{API}/units/{UNIT}/steps/plan/transitions", json=body)
        assert_error(response, 422, code)


@pytest.mark.parametrize("data, content_type", [
    ("{not json", "application/json"),
    ("", "application/json"),
    ("[1, 2]", "application/json"),
    ('"complete"', "application/json"),
    ("action=complete&version=1", "application/x-www-form-urlencoded"),
    ('{"action": "complete", "version": 1}', "text/plain"),
    (b"\xff\xfe\x00garbage", "application/json"),
])
def test_a_body_that_is_not_a_json_object_is_a_bad_request(api, data, content_type):
    with Unchanged():
        assert_error(api.staff.post(f"{API}/units/{UNIT}/steps/plan/transitions", data=data,
                                    content_type=content_type), 400, "invalid_json")


def test_completion_needs_its_prerequisites_done_first(api):
    with Unchanged():
        body = assert_error(act(api.staff, "congress", "complete"), 422, "prerequisites_incomplete")
    assert body["details"]["steps"] == ["delegates", "procedure_papers", "personnel_plan"]
    assert body["message"] == ("Cần hoàn thành trước các bước: “Phân bổ và bầu đại biểu dự đại hội”, "
                               "“Chương trình, nội quy, quy chế làm việc và quy chế bầu cử của đại hội”, "
                               "“Trình phương án nhân sự cấp ủy nhiệm kỳ 2025–2030”.")
    # not applicable counts as finished
    assert act(api.staff, "plan", "mark_not_applicable", note="Đã có kế hoạch chung").status_code == 200
    assert act(api.staff, "propaganda", "complete", on="2025-07-05").status_code == 200


def test_completion_cannot_be_dated_before_a_prerequisite(api):
    assert act(api.staff, "plan", "complete", on="2025-07-20").status_code == 200
    with Unchanged():
        body = assert_error(act(api.staff, "subcommittees", "complete", on="2025-07-19"), 422,
                            "completed_before_prerequisite")
    assert {k: v for k, v in body["details"].items() if k != "titles"} == {
        "on": "2025-07-19", "step": "plan", "prerequisite_on": "2025-07-20"}
    assert "Ban hành kế hoạch tổ chức đại hội" in body["message"]
    assert "20/7/2025" in body["message"]
    assert act(api.staff, "subcommittees", "complete", on="2025-07-20").status_code == 200


def test_hostile_text_is_stored_as_plain_nfc_text(api):
    markup = '<script>alert("x")</script><b onmouseover="x()">Kế hoạch</b> & \'quotes\''
    response = act(api.staff, "plan", "start", note=markup)
    assert response.status_code == 200 and response.json["note"] == markup
    assert response.mimetype == "application/json"
    assert unit_step("plan").note == markup

    nfd = unicodedata.normalize("NFD", "Bổ sung ý kiến của Ủy ban MTTQ phường Tứ Minh")
    assert nfd != unicodedata.normalize("NFC", nfd)
    response = act(api.staff, "plan", "mark_not_applicable", note="\x00\x07 " + nfd + "\x1b ")
    assert response.status_code == 200, response.json
    stored = unit_step("plan").reason
    assert stored == unicodedata.normalize("NFC", nfd) and unicodedata.is_normalized("NFC", stored)
    assert audit_records(action="step.mark_not_applicable")[0].reason == stored

    longest = "đ" * 2000
    assert act(api.leader, "plan", "reopen", note=longest).status_code == 200
    assert unit_step("plan").reason == longest
    # 2,000 characters once composed: the NFD form is longer but accepted
    composed = "ệ" * 2000
    decomposed = unicodedata.normalize("NFD", composed)
    assert len(decomposed) > 2000
    assert act(api.staff, "plan", "mark_not_applicable", note=decomposed).status_code == 200
    assert unit_step("plan").reason == composed


def test_branch_steps_move_and_roll_up(api):
    add_branches(UNIT, 1)
    code = f"{UNIT}-001"
    response = act_on_branch(api.staff, code, "plan", "complete", on="2025-07-06")
    assert response.status_code == 200 and response.json["state"] == "done"
    assert branch_step(code, "plan").completed_on == date(2025, 7, 6)
    with Unchanged():
        assert_error(act_on_branch(api.staff, code, "congress", "complete"), 422, "rule_not_satisfied")
        assert_error(act_on_branch(api.other_staff, code, "documents", "start"), 403)
        assert_error(api.staff.post(f"{API}/branches/{code}/steps/nope/transitions",
                                    json={"action": "start", "version": 1}), 404, "step_not_found")
    assert audit_records(action="step.complete")[-1].entity_key == f"{code}/plan"


def test_the_branch_roll_up_step_cannot_be_completed_by_hand(api):
    add_branches(UNIT, 2)
    assert act(api.staff, "plan", "complete", on="2025-07-05").status_code == 200
    assert patch_branch(api.staff, f"{UNIT}-001", held_on="2025-07-20").status_code == 200
    with Unchanged():
        body = assert_error(act(api.staff, "branch_congresses", "complete"), 422, "rule_not_satisfied")
    assert body["details"] == {"done": 1, "total": 2}
    assert "1" in body["message"] and "2" in body["message"]


# --- PATCH /branches/<code> -------------------------------------------------------------------------

def test_holding_every_branch_completes_the_units_step_and_removing_one_reopens_it(api):
    codes = add_branches(UNIT, 3)
    assert unit_step("branch_congresses").state == "not_started"

    response = patch_branch(api.staff, codes[0], held_on="2025-07-20", delegates=25, new_secretary="Trần Thị Bình")
    assert response.status_code == 200, response.json
    assert response.json["held"] is True and response.json["held_on"] == "2025-07-20"
    congress = next(s for s in response.json["steps"] if s["key"] == "congress")
    assert congress["state"] == "done" and congress["completed_on"] == "2025-07-20"
    assert branch_row(codes[0]).held_on == date(2025, 7, 20)
    assert branch_step(codes[0], "congress").state == "done"
    step = unit_step("branch_congresses")
    assert (step.state, step.started_on) == ("in_progress", date(2025, 7, 20))  # the first congress held

    assert patch_branch(api.leader, codes[1], held_on="2025-07-26").status_code == 200
    assert unit_step("branch_congresses").state == "in_progress"
    assert patch_branch(api.staff, codes[2], held_on="2025-07-23").status_code == 200
    step = unit_step("branch_congresses")
    assert (step.state, step.started_on, step.completed_on) == ("done", date(2025, 7, 20), date(2025, 7, 26))
    detail = api.staff.get(f"{API}/units/{UNIT}").json
    assert detail["readiness"]["branches_held"] == detail["readiness"]["branches_total"] == 3

    # taking a congress back reopens the unit's completed step: only when confirmed
    with Unchanged():
        refused = assert_error(patch_branch(api.staff, codes[1], held_on=None), 422, "completed_step_reopen")
        assert refused["details"]["step"] == "branch_congresses"
    assert patch_branch(api.staff, codes[1], held_on=None, confirm_reopen=True).status_code == 200
    step = unit_step("branch_congresses")
    assert (step.state, step.completed_on) == ("in_progress", None)
    assert branch_step(codes[1], "congress").state == "in_progress"
    assert branch_step(codes[1], "congress").completed_on is None
    assert branch_row(codes[1]).held_on is None

    update = audit_records(action="branch.update", entity_key=codes[0])[0]
    assert update.actor == "unit_staff-10891"
    assert update.old == {"held_on": None, "delegates": None, "new_secretary": None, "version": 1}
    assert update.new == {"held_on": "2025-07-20", "delegates": 25, "new_secretary": "Trần Thị Bình", "version": 2}
    automatic = [(r.action, r.entity_key) for r in audit_records() if r.action.startswith("step.auto")]
    assert automatic == [
        ("step.auto_complete", f"{codes[0]}/congress"), ("step.auto_start", f"{UNIT}/branch_congresses"),
        ("step.auto_complete", f"{codes[1]}/congress"),
        ("step.auto_complete", f"{codes[2]}/congress"), ("step.auto_complete", f"{UNIT}/branch_congresses"),
        ("step.auto_reopen", f"{codes[1]}/congress"), ("step.auto_reopen", f"{UNIT}/branch_congresses")]


def test_the_branch_congress_step_follows_a_corrected_held_on(api):
    codes = add_branches(UNIT, 2)
    assert patch_branch(api.staff, codes[0], held_on="2025-07-20").status_code == 200
    assert patch_branch(api.staff, codes[1], held_on="2025-07-22").status_code == 200
    assert unit_step("branch_congresses").completed_on == date(2025, 7, 22)
    response = patch_branch(api.staff, codes[1], held_on="2025-07-28")
    assert response.status_code == 200, response.json
    assert branch_step(codes[1], "congress").completed_on == date(2025, 7, 28)
    assert unit_step("branch_congresses").completed_on == date(2025, 7, 28)
    assert [r.new["completed_on"] for r in audit_records(step_key="congress") if r.action == "step.auto_update"] \
        == ["2025-07-28"]


def test_planned_on_moves_the_branch_due_dates(api):
    code = add_branches(UNIT, 1, planned_on=None)[0]
    response = patch_branch(api.staff, code, planned_on="2025-08-25")
    assert response.status_code == 200, response.json
    assert branch_step(code, "plan").due_on == date(2025, 8, 5)
    assert branch_step(code, "congress").due_on == date(2025, 8, 25)
    record = audit_records(action="branch.update")[-1]
    assert record.old["planned_on"] is None and record.new["planned_on"] == "2025-08-25"


@pytest.mark.parametrize("fields, code", [
    ({"held_on": "2025-08-06"}, "date_in_future"),
    ({"held_on": "2025-06-30"}, "date_before_campaign"),
    ({"planned_on": "2025-06-01"}, "date_before_campaign"),
    ({"held_on": "6/8/2025"}, "invalid_field"),
    ({"delegates": -1}, "must_not_be_negative"),
    ({"members": -5}, "must_not_be_negative"),
    ({"delegates": 251}, "too_many_delegates"),
    ({"delegates": "12"}, "invalid_field"),
    ({"members": 2**40}, "invalid_field"),
    ({"kind": "to_dan_pho"}, "unknown_branch_kind"),
    ({"name": ""}, "field_required"),
    ({"name": None}, "field_required"),
    ({"name": "x" * 201}, "invalid_field"),
    ({"secretary": ["a"]}, "invalid_field"),
    ({"unit_id": 3}, "unknown_fields"),
    ({"code": f"{UNIT}-777"}, "unknown_fields"),
    ({"held_on": "2025-07-20", "delegates": -1}, "must_not_be_negative"),
])
def test_branch_patch_input_is_checked(api, fields, code):
    branch = add_branches(UNIT, 1)[0]
    with Unchanged():
        assert_error(patch_branch(api.staff, branch, **fields), 422, code)


def test_branch_patch_conflicts_permissions_and_text(api):
    branch = add_branches(UNIT, 1)[0]
    with Unchanged():
        assert_error(api.staff.patch(f"{API}/branches/{branch}", json={"held_on": "2025-07-20"}), 422,
                     "version_required")
        body = assert_error(api.staff.patch(f"{API}/branches/{branch}", json={"version": 7, "members": 40}),
                            409, "stale_version")
        assert body["current"]["version"] == 1 and body["current"]["members"] == 21
        assert_error(patch_branch(api.city_staff, branch, members=40), 403, "branch_forbidden")
        assert_error(api.staff.patch(f"{API}/branches/{branch}", data="nope", content_type="application/json"),
                     400, "invalid_json")
    name = unicodedata.normalize("NFD", "  Chi bộ Trường THCS Lê Lợi <i>mới</i> ")
    response = patch_branch(api.leader, branch, name=name, kind="dang_bo_bo_phan", secretary=None)
    assert response.status_code == 200, response.json
    row = branch_row(branch)
    assert row.name == "Chi bộ Trường THCS Lê Lợi <i>mới</i>" and unicodedata.is_normalized("NFC", row.name)
    assert (row.kind, row.secretary, row.version) == ("dang_bo_bo_phan", None, 2)
    admin = api.admin
    count = audit_count()
    assert patch_branch(admin, branch, members=row.members).status_code == 200  # no change, no record
    assert audit_count() == count


# --- deadlines and congress dates ---------------------------------------------------------------------

def test_unit_deadline_before_a_day(api):
    version = preparation().version
    response = api.city_staff.put(f"{API}/units/{UNIT}/deadline", json={
        "version": version, "date": "2025-08-20", "kind": "before", "basis": "Công văn số 123-CV/TU"})
    assert response.status_code == 200, response.json
    assert response.json["deadline"] == {"date": "2025-08-20", "kind": "before", "last_allowed_day": "2025-08-19",
                                         "text": "trước ngày 20/8/2025"}
    assert response.json["deadline_is_override"] is True and response.json["version"] == version + 1
    prep = preparation()
    assert (prep.deadline_on, prep.deadline_kind, prep.deadline_basis) == (
        date(2025, 8, 20), "before", "Công văn số 123-CV/TU")
    # no congress date planned: due dates count from the deadline's last allowed day
    congress = unit_step("congress")
    assert (congress.due_on, congress.due_kind) == (date(2025, 8, 19), "before")
    assert unit_step("plan").due_on == date(2025, 7, 15)
    assert unit_step("plan", OTHER_UNIT).due_on == date(2025, 7, 26)  # others keep the campaign's
    shown = api.staff.get(f"{API}/units/{UNIT}").json
    assert shown["preparation"]["deadline"]["text"] == "trước ngày 20/8/2025"
    assert shown["readiness"]["deadline"]["last_allowed_day"] == "2025-08-19"
    record = audit_records(action="deadline.set")[-1]
    assert record.actor == "city_staff-31" and record.reason == "Công văn số 123-CV/TU"
    assert record.old["deadline_on"] is None and record.new["deadline_on"] == "2025-08-20"
    assert record.new["deadline_kind"] == "before"

    english = api.city_staff.get(f"{API}/units/{UNIT}", headers={"Accept-Language": "en"}).json
    assert english["preparation"]["deadline"]["text"] == "before 20 Aug 2025"


def test_unit_deadline_by_a_day_and_back_to_the_campaigns(api):
    response = api.admin.put(f"{API}/units/{UNIT}/deadline",
                             json={"version": preparation().version, "date": "2025-08-20", "kind": "by"})
    assert response.status_code == 200, response.json
    assert response.json["deadline"] == {"date": "2025-08-20", "kind": "by", "last_allowed_day": "2025-08-20",
                                         "text": "chậm nhất ngày 20/8/2025"}
    assert unit_step("congress").due_on == date(2025, 8, 20)
    assert unit_step("plan").due_on == date(2025, 7, 16)

    response = api.city_staff.put(f"{API}/units/{UNIT}/deadline", json={"version": preparation().version, "date": None})
    assert response.status_code == 200
    assert response.json["deadline_is_override"] is False
    assert response.json["deadline"]["date"] == "2025-08-31" and response.json["deadline"]["kind"] == "before"
    assert preparation().deadline_on is None
    assert unit_step("congress").due_on == date(2025, 8, 30)
    assert [r.action for r in audit_records(entity="preparation", entity_key=UNIT)][-2:] == [
        "deadline.set", "deadline.clear"]


@pytest.mark.parametrize("role", ["city_leader", "leader", "staff", "viewer", "province_viewer"])
def test_only_city_staff_and_admins_set_deadlines(api, role):
    with Unchanged():
        assert_error(getattr(api, role).put(f"{API}/units/{UNIT}/deadline", json={
            "version": preparation().version, "date": "2025-08-20", "kind": "before"}), 403, "deadline_forbidden")


@pytest.mark.parametrize("body, status, code", [
    ({"date": "2025-08-20"}, 422, "version_required"),
    ({"version": 1, "kind": "before"}, 422, "field_required"),
    ({"version": 1, "date": "2025-08-20", "kind": "until"}, 422, "unknown_deadline_kind"),
    ({"version": 1, "date": "2025-06-20"}, 422, "date_before_campaign"),
    ({"version": 1, "date": "20/8/2025"}, 422, "invalid_field"),
    ({"version": 1, "date": "2025-08-20", "basis": "x" * 201}, 422, "invalid_field"),
    ({"version": 1, "date": "2025-08-20", "deadline_on": "2025-08-20"}, 422, "unknown_fields"),
    ({"version": 5, "date": "2025-08-20"}, 409, "stale_version"),
])
def test_unit_deadline_input_is_checked(api, body, status, code):
    with Unchanged():
        response = assert_error(api.city_staff.put(f"{API}/units/{UNIT}/deadline", json=body), status, code)
    if status == 409:
        assert response["current"]["version"] == 1 and response["current"]["deadline_on"] is None


def test_congress_date(api):
    response = api.leader.put(f"{API}/units/{UNIT}/congress-date",
                              json={"version": preparation().version, "date": "2025-08-15"})
    assert response.status_code == 200, response.json
    assert response.json == {"congress_on": "2025-08-15", "version": 2}
    assert preparation().congress_on == date(2025, 8, 15)
    assert (unit_step("congress").due_on, unit_step("congress").due_kind) == (date(2025, 8, 15), "by")
    assert unit_step("plan").due_on == date(2025, 7, 11)
    record = audit_records(action="congress_date.set")[-1]
    assert (record.actor, record.old, record.new) == (
        "unit_leader-10891", {"congress_on": None, "version": 1}, {"congress_on": "2025-08-15", "version": 2})
    assert api.staff.get(f"{API}/units/{UNIT}").json["preparation"]["congress_on"] == "2025-08-15"

    assert api.city_staff.put(f"{API}/units/{UNIT}/congress-date",
                              json={"version": 2, "date": "2025-08-18"}).status_code == 200
    with Unchanged():
        assert_error(api.staff.put(f"{API}/units/{UNIT}/congress-date", json={"version": 3, "date": "2025-08-19"}),
                     403, "congress_date_forbidden")
        assert_error(api.city_leader.put(f"{API}/units/{UNIT}/congress-date",
                                         json={"version": 3, "date": "2025-08-19"}), 403)
        assert_error(api.leader.put(f"{API}/units/{UNIT}/congress-date", json={"version": 2, "date": "2025-08-19"}),
                     409, "stale_version")
        assert_error(api.leader.put(f"{API}/units/{UNIT}/congress-date", json={"version": 3, "date": "2025-06-19"}),
                     422, "date_before_campaign")
        assert_error(api.leader.put(f"{API}/units/{UNIT}/congress-date", json={"version": 3}), 422, "field_required")
        assert_error(api.leader.put(f"{API}/units/{UNIT}/congress-date", json={"version": 3, "date": "19.8.2025"}),
                     422, "invalid_field")
    assert api.leader.put(f"{API}/units/{UNIT}/congress-date", json={"version": 3, "date": None}).status_code == 200
    assert preparation().congress_on is None
    assert unit_step("congress").due_on == date(2025, 8, 30)


def test_campaign_deadline(api):
    campaign = api.city_staff.get(f"{API}/campaigns").json["campaigns"][0]
    assert campaign["deadline"]["text"] == "trước ngày 31/8/2025" and campaign["starts_on"] == "2025-07-01"
    assert api.staff.get(f"{API}/campaigns").json["campaigns"] == [campaign]
    url = f"{API}/campaigns/{campaign['id']}/deadline"
    with Unchanged():
        assert_error(api.city_leader.put(url, json={"version": 1, "date": "2025-08-25"}), 403, "deadline_forbidden")
        # a unit's staff read their campaign (their unit is in it) but may not change it
        assert_error(api.staff.put(url, json={"version": 1, "date": "2025-08-25"}), 403, "deadline_forbidden")
        assert_error(api.city_staff.put(url, json={"version": 1}), 422, "field_required")
        assert_error(api.city_staff.put(url, json={"version": 1, "date": None}), 422, "field_required")
        assert_error(api.city_staff.put(url, json={"version": 1, "date": "2025-06-25"}), 422, "date_before_campaign")
        assert_error(api.city_staff.put(url, json={"version": 9, "date": "2025-08-25"}), 409, "stale_version")
        assert_error(api.city_staff.put(f"{API}/campaigns/999/deadline", json={"version": 1, "date": "2025-08-25"}),
                     404)
    # one unit keeps its own deadline
    assert api.city_staff.put(f"{API}/units/{OTHER_UNIT}/deadline", json={
        "version": 1, "date": "2025-08-20", "kind": "by"}).status_code == 200
    response = api.city_staff.put(url, json={"version": 1, "date": "2025-08-25", "kind": "before",
                                             "basis": "Kế hoạch số 45-KH/TU"})
    assert response.status_code == 200, response.json
    assert response.json["deadline"] == {"date": "2025-08-25", "kind": "before", "last_allowed_day": "2025-08-24",
                                         "text": "trước ngày 25/8/2025"}
    assert response.json["deadline_basis"] == "Kế hoạch số 45-KH/TU" and response.json["version"] == 2
    row = committed_one(sa.select(Campaign).filter_by(id=campaign["id"]))
    assert (row.deadline_on, row.deadline_kind) == (date(2025, 8, 25), "before")
    assert unit_step("congress").due_on == date(2025, 8, 24)
    assert unit_step("congress", "11914").due_on == date(2025, 8, 24)
    assert unit_step("congress", OTHER_UNIT).due_on == date(2025, 8, 20)
    record = audit_records(action="campaign.deadline.set")[-1]
    assert record.actor == "city_staff-31" and record.old["deadline_on"] == "2025-08-31"
    assert record.new == {"deadline_on": "2025-08-25", "deadline_basis": "Kế hoạch số 45-KH/TU", "version": 2}
    shown = api.city_leader.get(f"{API}/audit?limit=1").json["records"][0]
    assert (shown["action"], shown["entity_key"]) == ("campaign.deadline.set", "31/2025–2030")


# --- GET /readiness --------------------------------------------------------------------------------------

def test_province_readiness_in_the_citys_words(api):
    assert act(api.staff, "plan", "complete", on="2025-07-10").status_code == 200
    assert act(api.staff, "pilot_lessons", "mark_not_applicable", note="Đơn vị điểm").status_code == 200
    body = api.city_staff.get(f"{API}/readiness?province=31").json
    assert body["unit_count"] == 114 and body["province"] == {"code": "31", "name": "Thành phố Hải Phòng"}
    assert sum(body["by_risk"].values()) == 114
    assert sum(body["risk_percentages"].values()) == 100
    tasks = body["tasks"]
    assert tasks["assigned"] == 114 * UNIT_STEP_COUNT - 1 == 1937
    assert tasks["done"] == 1 and tasks["done"] + tasks["in_progress"] + tasks["overdue"] == tasks["assigned"]
    assert tasks["done_percent"] + tasks["in_progress_percent"] + tasks["overdue_percent"] == 100
    assert tasks["text"].startswith("1.937 nhiệm vụ"), tasks["text"]
    for count, share in (("done", "done_percent"), ("in_progress", "in_progress_percent"),
                         ("overdue", "overdue_percent")):
        assert f"{tasks[count]:,} ({tasks[share]}%)".replace(",", ".") in tasks["text"], tasks["text"]
    assert tasks["in_progress"] >= 1000  # so the Vietnamese thousands separator shows
    assert len(body["units"]) == 114 and body["campaign"]["deadline"]["date"] == "2025-08-31"
    assert body["as_of"] == "2025-08-05"

    english = api.city_staff.get(f"{API}/readiness?province=31", headers={"Accept-Language": "en"}).json
    assert english["tasks"]["text"].startswith("1,937 tasks assigned; 1 done (0%)"), english["tasks"]["text"]
    assert api.city_staff.get(f"{API}/readiness?province=31&lang=en").json["tasks"]["text"].startswith("1,937 tasks")

    by_kind = api.province_viewer.get(f"{API}/readiness?province=31&kind=dac_khu").json
    assert by_kind["unit_count"] == 2 and by_kind["tasks"]["assigned"] == 2 * UNIT_STEP_COUNT
    assert api.admin.get(f"{API}/readiness").json["unit_count"] == 114
    assert api.city_leader.get(f"{API}/readiness").json["province"]["code"] == "31"


def test_province_readiness_refusals(api):
    assert_error(api.city_staff.get(f"{API}/readiness?province=99"), 404, "province_not_found")
    assert_error(api.staff.get(f"{API}/readiness?province=31"), 403, "forbidden")
    assert_error(api.staff.get(f"{API}/readiness"), 403, "forbidden")
    assert_error(api.viewer.get(f"{API}/readiness"), 403, "forbidden")
    assert_error(api.city_staff.get(f"{API}/readiness?kind=village"), 422, "unknown_filter")


# --- GET /audit ----------------------------------------------------------------------------------------------

def test_audit_shows_the_writes_with_their_values_and_pages(api):
    assert act(api.staff, "plan", "start", on="2025-07-02").status_code == 200
    assert act(api.staff, "plan", "complete", on="2025-07-09").status_code == 200
    response = api.leader.put(f"{API}/units/{UNIT}/congress-date", json={"version": 1, "date": "2025-08-22"})
    assert response.status_code == 200
    assert act(api.staff, "plan", "start", code=OTHER_UNIT).status_code == 403

    body = api.city_staff.get(f"{API}/audit?unit={UNIT}").json
    records = body["records"]
    assert body["next_before"] is None
    writes = [r for r in records if r["entity"] != "user"]  # accounts made by the test on the way
    assert [r["action"] for r in writes[:3]] == ["congress_date.set", "step.complete", "step.start"]
    ids = [r["id"] for r in records]
    assert ids == sorted(ids, reverse=True)
    complete = writes[1]
    assert complete["actor"] == "unit_staff-10891" and complete["entity_key"] == f"{UNIT}/plan"
    assert complete["old"] == {"state": "in_progress", "completed_on": None, "version": 2}
    assert complete["new"] == {"state": "done", "completed_on": "2025-07-09", "version": 3}
    assert complete["at"].endswith("+00:00")
    assert records[-1]["action"] == "preparation.create"

    pages, before = [], None
    while True:
        url = f"{API}/audit?unit={UNIT}&limit=2" + (f"&before={before}" if before else "")
        page = api.city_staff.get(url).json
        pages.extend(page["records"])
        assert len(page["records"]) <= 2
        before = page["next_before"]
        if before is None:
            break
    assert pages == records

    own = api.staff.get(f"{API}/audit").json["records"]
    assert own and all(r["entity_key"].startswith(UNIT) for r in own if r["entity"] != "user")
    everything = api.city_staff.get(f"{API}/audit?limit=500").json["records"]
    assert {r["action"] for r in everything} >= {"congress_date.set", "step.complete", "preparation.create"}


def test_audit_refusals(api):
    assert_error(api.city_staff.get(f"{API}/audit?unit=99999"), 404, "unit_not_found")
    assert_error(api.staff.get(f"{API}/audit?unit={OTHER_UNIT}"), 403)
    assert_error(api.city_staff.get(f"{API}/audit?limit=ten"), 422, "invalid_field")
    assert_error(api.city_staff.get(f"{API}/audit?before=1.5"), 422, "invalid_field")
    assert api.city_staff.get(f"{API}/audit?limit=0").json["records"].__len__() == 1


# --- every error is JSON with a message ------------------------------------------------------------

@pytest.mark.parametrize("method, url, kwargs, status", [
    ("get", "/api/v1/nothing-here", {}, 404),
    ("get", "/api/v1/units/%00", {}, 404),
    ("get", "/api/v1/units/" + "9" * 300, {}, 404),
    ("get", "/api/v1/branches/%27%3B%20DROP%20TABLE%20steps%3B--", {}, 404),
    ("get", "/api/v1/units?province=%00", {}, 404),
    ("get", "/api/v1/audit?unit=%00", {}, 404),
    ("get", "/api/v1/audit?before=99999999999999999999999", {}, 422),
    ("get", "/api/v1/audit?limit=-99999999999999999999999", {}, 422),
    ("post", "/api/v1/units/10891/steps/%00/transitions", {"json": {"action": "start", "version": 1}}, 404),
    ("post", "/api/v1/branches/10891-001/steps/" + "k" * 100 + "/transitions", {"json": {}}, 404),
    ("delete", "/api/v1/units", {}, 405),
    ("post", "/api/v1/units/10891", {"json": {}}, 405),
    ("put", "/api/v1/campaigns/abc/deadline", {"json": {}}, 404),
    ("post", "/api/v1/units/10891/steps/plan/transitions", {"json": {"action": "start", "version": 1,
                                                                     "note": "a\x00b"}}, 200),
    ("post", "/api/v1/units/10891/steps/plan/transitions", {"json": {"action": "start", "version": 2**31 + 1}}, 422),
    ("post", "/api/v1/units/10891/steps/plan/transitions", {"json": {"action": "start", "version": -1}}, 409),
    ("patch", "/api/v1/branches/10891-001", {"json": {"version": 1, "name": "\u0000\u0007 "}}, 422),
])
def test_errors_are_json_with_a_message_never_a_crash(api, method, url, kwargs, status):
    add_branches(UNIT, 1)
    response = getattr(api.staff, method)(url, **kwargs)
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert response.is_json
    if status >= 400:
        assert_error(response, status)


def test_events_of_one_step_keep_their_order(api):
    finish_prerequisites(UNIT, "personnel_plan", date(2025, 7, 10))
    approve_draft(UNIT, "personnel_submission")
    assert act(api.leader, "personnel_plan", "start", on="2025-07-15").status_code == 200
    with Unchanged():
        assert_error(act(api.leader, "personnel_plan", "submit", on="2025-07-14"), 422, "date_before_earlier_event")
    assert act(api.leader, "personnel_plan", "submit", on="2025-07-20").status_code == 200
    with Unchanged():
        body = assert_error(act(api.city_staff, "personnel_plan", "approve", on="2025-07-19"), 422,
                            "date_before_earlier_event")
    assert "20/7/2025" in body["message"]
    assert act(api.staff, "propaganda", "start", on="2025-07-11").status_code == 200
    with Unchanged():
        assert_error(act(api.staff, "propaganda", "complete", on="2025-07-10"), 422, "date_before_earlier_event")


def test_adding_a_branch(api):
    codes = add_branches(UNIT, 2)
    for code in codes:
        assert patch_branch(api.staff, code, held_on="2025-07-20").status_code == 200
    assert unit_step("branch_congresses").state == "done"

    new_branch = {"name": "Chi bộ Trường Mầm non Tứ Minh", "members": 14, "secretary": "Lê Thị Hoa",
                  "planned_on": "2025-08-10"}
    # a new branch not yet held reopens the unit's completed roll-up step: only when confirmed
    with Unchanged():
        refused = assert_error(api.staff.post(f"{API}/units/{UNIT}/branches", json=new_branch), 422,
                               "completed_step_reopen")
        assert refused["details"]["step"] == "branch_congresses" and refused["details"]["completed_on"] == "2025-07-20"
        assert_error(api.staff.post(f"{API}/units/{UNIT}/branches", json={**new_branch, "confirm_reopen": "yes"}),
                     422, "invalid_field")
    response = api.staff.post(f"{API}/units/{UNIT}/branches", json={**new_branch, "confirm_reopen": True})
    assert response.status_code == 201, response.json
    body = response.json
    assert body["code"] == f"{UNIT}-{len(codes) + 1:03d}" and body["held"] is False
    assert [s["key"] for s in body["steps"]] == ["plan", "documents", "congress", "report"]
    assert next(s for s in body["steps"] if s["key"] == "congress")["due"]["date"] == "2025-08-10"
    assert unit_step("branch_congresses").state == "in_progress"
    assert audit_records(action="branch.add")[0].new["name"] == "Chi bộ Trường Mầm non Tứ Minh"

    with Unchanged():
        assert_error(api.staff.post(f"{API}/units/{UNIT}/branches", json={"name": "Chi bộ Trường Mầm non Tứ Minh"}),
                     422, "duplicate_branch")
        assert_error(api.staff.post(f"{API}/units/{UNIT}/branches", json={"members": 3}), 422, "field_required")
        assert_error(api.staff.post(f"{API}/units/{UNIT}/branches", json={"name": "X", "held_on": "2025-09-01"}),
                     422, "date_in_future")
        assert_error(api.staff.post(f"{API}/units/{OTHER_UNIT}/branches", json={"name": "Chi bộ mới"}), 403)
        assert_error(api.city_staff.post(f"{API}/units/{UNIT}/branches", json={"name": "Chi bộ mới"}), 403)
        assert_error(api.staff.post(f"{API}/units/{UNIT}/branches", json={"name": "X", "colour": "red"}), 422,
                     "unknown_fields")


def test_province_readiness_words_each_unit_as_its_own_page_does(app, api_as):
    """The province answer puts shared words once; every unit still reads as on its own answer."""
    client = api_as("city_staff", province="31")
    listed = {u["code"]: u["readiness"] for u in client.get(f"{API}/readiness?province=31").json["units"]}
    assert len(listed) == 114
    late = [code for code, r in listed.items() if r["reasons"]][:12]
    assert len(late) >= 5
    for code in late + ["10891", "11311"]:
        assert client.get(f"{API}/units/{code}").json["readiness"] == listed[code], code

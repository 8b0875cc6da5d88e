"""The OpenAPI document: valid, complete (every route of the app), and true (real responses match)."""
from __future__ import annotations

import copy
import io
import re
from datetime import date, datetime

import pytest
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from congress.api.openapi import PREFIX, document
from congress.extensions import db
from congress.notices import jobs as notice_jobs
from congress.progress.operations import add_branch_steps
from congress.progress.queries import unit_preparation
from congress.units.models import Branch, Unit
from workflows.deadlines import LOCAL_TZ

IGNORED_METHODS = {"HEAD", "OPTIONS"}
UNIT = "10891"  # Phường Tứ Minh
OTHER_UNIT = "11560"  # Phường Thủy Nguyên


def openapi_path(rule: str) -> str:
    """/api/v1/campaigns/<int:campaign_id>/deadline -> /campaigns/{campaign_id}/deadline"""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule[len(PREFIX):])


def api_rules(app):
    return [r for r in app.url_map.iter_rules() if r.rule.startswith(PREFIX + "/")]


def test_document_is_valid_openapi():
    spec = document()
    validate(spec)
    assert spec["openapi"].startswith("3.1")
    assert spec["servers"] == [{"url": PREFIX}]


def test_served_at_openapi_json_without_login(base_app):
    response = base_app.test_client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.json == document()


def test_every_route_is_documented_and_every_documented_path_exists(base_app):
    paths = document()["paths"]
    routed: dict[str, set[str]] = {}
    for rule in api_rules(base_app):
        path = openapi_path(rule.rule)
        routed.setdefault(path, set()).update(m.lower() for m in rule.methods - IGNORED_METHODS)
    assert routed, "no route under /api/v1"
    for path, methods in routed.items():
        assert path in paths, f"{path} is routed but not documented"
        documented = {m for m in paths[path] if m in {"get", "post", "put", "patch", "delete"}}
        assert methods == documented, f"{path}: routed {sorted(methods)}, documented {sorted(documented)}"
    assert set(paths) == set(routed), f"documented but not routed: {sorted(set(paths) - set(routed))}"


def test_path_parameters_match_the_routes(base_app):
    spec = document()
    parameters = spec["components"]["parameters"]
    for rule in api_rules(base_app):
        for method in rule.methods - IGNORED_METHODS:
            operation = spec["paths"][openapi_path(rule.rule)][method.lower()]
            names = set()
            for param in operation.get("parameters", []):
                param = parameters[param["$ref"].rsplit("/", 1)[1]] if "$ref" in param else param
                if param["in"] == "path":
                    names.add(param["name"])
            assert names == set(rule.arguments), f"{method} {rule.rule}: {names} vs {rule.arguments}"


def test_operations_declare_their_errors_and_security():
    spec = document()
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if path == "/openapi.json":
                assert operation["security"] == []
                continue
            codes = set(operation["responses"])
            assert {"401", "default"} <= codes and ("200" in codes or "201" in codes), (method, path)
            if method != "get":
                assert {"400", "403", "404", "409", "422"} <= codes, (method, path)
                assert {"sessionCookie": [], "csrfHeader": []} in operation["security"]
                assert operation["requestBody"]["required"] is True
            assert {"bearerAuth": []} in operation["security"]
    schemes = spec["components"]["securitySchemes"]
    assert schemes["bearerAuth"]["scheme"] == "bearer"
    assert schemes["sessionCookie"]["in"] == "cookie"
    assert schemes["csrfHeader"] == {**schemes["csrfHeader"], "in": "header", "name": "X-CSRFToken"}


def test_deadline_schema_explains_the_vietnamese_wording():
    schemas = document()["components"]["schemas"]
    deadline = schemas["Deadline"]
    assert set(deadline["required"]) == {"date", "kind", "last_allowed_day", "text"}
    assert "trước ngày" in deadline["description"] and "chậm nhất ngày" in deadline["description"]
    assert schemas["DeadlineKind"]["enum"] == ["before", "by"]
    for name in ("UnitSummary", "UnitDetail", "Step", "Branch", "Readiness", "ProvinceReadiness", "Tasks",
                 "AuditRecord", "Campaign", "Error"):
        assert name in schemas


# --- real responses against the documented schemas ---------------------------------------------

def _strict(schema):
    """Forbid undocumented properties, so a field the API adds without documenting it fails here."""
    if isinstance(schema, dict):
        schema = {k: _strict(v) for k, v in schema.items()}
        kind = schema.get("type")
        if "properties" in schema and (kind == "object" or isinstance(kind, list) and "object" in kind):
            schema.setdefault("additionalProperties", False)
        return schema
    if isinstance(schema, list):
        return [_strict(v) for v in schema]
    return schema


class Checker:
    def __init__(self):
        self.spec = document()
        strict = copy.deepcopy(self.spec)
        strict["components"]["schemas"] = _strict(strict["components"]["schemas"])
        self.strict = strict
        resource = Resource.from_contents(strict, default_specification=DRAFT202012)
        self.registry = Registry().with_resource("urn:congress-api", resource)
        self.checked: set[tuple[str, str, str]] = set()

    def operation(self, method: str, url: str) -> tuple[str, dict]:
        path = url.split("?", 1)[0][len(PREFIX):]
        for template, item in self.strict["paths"].items():
            pattern = "^" + re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(template)) + "$"
            if re.match(pattern, path) and method in item:
                return template, item[method]
        raise AssertionError(f"{method.upper()} {url} is not documented")

    def response_schema(self, operation: dict, status: int) -> dict:
        responses = operation["responses"]
        response = responses.get(str(status), responses.get("default"))
        assert response is not None, f"status {status} is not documented"
        if "$ref" in response:
            response = self.strict["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
        return response["content"]["application/json"]["schema"]

    def check(self, method: str, url: str, response, request_body=None) -> None:
        template, operation = self.operation(method, url)
        assert response.is_json, f"{method.upper()} {url}: not JSON ({response.status_code})"
        status = response.status_code
        assert str(status) in operation["responses"], f"{method.upper()} {template}: {status} not documented"
        self._validate(self.response_schema(operation, status), response.json)
        if request_body is not None and status < 400:
            schema = operation["requestBody"]["content"]["application/json"]["schema"]
            self._validate(schema, request_body)
        self.checked.add((method, template, str(status)))

    def _validate(self, schema: dict, instance) -> None:
        wrapper = {"$ref": "urn:congress-api" + schema["$ref"]} if "$ref" in schema else schema
        validator = OAS31Validator(wrapper, registry=self.registry,
                                   format_checker=OAS31Validator.FORMAT_CHECKER)
        errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
        assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:10])


def _add_branches(unit_code: str, count: int) -> list[Branch]:
    unit = db.session.execute(db.select(Unit).filter_by(code=unit_code)).scalar_one()
    prep = unit_preparation(unit)
    branches = [Branch(code=f"{unit_code}-{n:03d}", unit_id=unit.id, campaign_id=prep.campaign_id,
                       name=f"Chi bộ khu dân cư số {n}",
                       kind="chi_bo", members=30 + n, planned_on=date(2025, 7, 20)) for n in range(1, count + 1)]
    db.session.add_all(branches)
    db.session.flush()
    for branch in branches:
        add_branch_steps(prep, branch)
    db.session.commit()
    return branches


@pytest.fixture
def checker():
    return Checker()


def test_real_responses_match_the_documented_schemas(base_app, api_as, checker, tmp_path):
    _add_branches(UNIT, 2)
    staff = api_as("unit_staff", unit=UNIT)
    leader = api_as("unit_leader", unit=UNIT)
    city = api_as("city_staff", province="31")
    admin = api_as("admin", username="admin")
    anonymous = base_app.test_client()

    def call(client, method, url, body=None, **kwargs):
        response = getattr(client, method)(url, json=body, **kwargs) if body is not None \
            else getattr(client, method)(url, **kwargs)
        checker.check(method, url, response, body)
        return response

    assert call(staff, "get", "/api/v1/me").status_code == 200
    assert call(city, "get", "/api/v1/units").status_code == 200
    english = {"Accept-Language": "en"}
    assert call(city, "get", "/api/v1/units?kind=phuong&risk=late", headers=english).status_code == 200
    detail = call(staff, "get", f"/api/v1/units/{UNIT}")
    assert detail.status_code == 200 and detail.json["branches"]
    steps = {s["key"]: s for s in detail.json["steps"]}
    body = {"action": "complete", "version": steps["plan"]["version"], "on": "2025-07-10", "note": "KH số 12-KH/ĐU"}
    assert call(staff, "post", f"/api/v1/units/{UNIT}/steps/plan/transitions", body).status_code == 200
    branch = detail.json["branches"][0]
    body = {"version": branch["version"], "held_on": "2025-07-25", "delegates": 30, "new_secretary": "Nguyễn Văn An"}
    assert call(staff, "patch", f"/api/v1/branches/{branch['code']}", body).status_code == 200
    branch_step = call(staff, "get", f"/api/v1/branches/{branch['code']}").json["steps"][0]
    body = {"action": "start", "version": branch_step["version"], "on": "2025-07-05"}
    assert call(staff, "post", f"/api/v1/branches/{branch['code']}/steps/{branch_step['key']}/transitions",
                body).status_code == 200
    prep_version = call(city, "get", f"/api/v1/units/{UNIT}").json["preparation"]["version"]
    body = {"version": prep_version, "date": "2025-08-20", "kind": "before", "basis": "Công văn của Thành ủy"}
    assert call(city, "put", f"/api/v1/units/{UNIT}/deadline", body).status_code == 200
    body = {"version": prep_version + 1, "date": "2025-08-15"}
    assert call(leader, "put", f"/api/v1/units/{UNIT}/congress-date", body).status_code == 200
    campaigns = call(city, "get", "/api/v1/campaigns").json["campaigns"]
    campaign = campaigns[0]
    body = {"version": campaign["version"], "date": "2025-08-31", "kind": "by"}
    assert call(admin, "put", f"/api/v1/campaigns/{campaign['id']}/deadline", body).status_code == 200
    assert call(city, "get", "/api/v1/readiness?province=31").status_code == 200
    assert call(admin, "get", "/api/v1/readiness").status_code == 200
    front = {"name": "Đại hội Mặt trận Tổ quốc cấp xã", "term": "2026–2031", "unit_workflow": "front_commune_congress",
             "provinces": ["31"], "starts_on": "2025-08-01", "deadline": {"date": "2025-11-30", "kind": "by"}}
    assert call(city, "post", "/api/v1/campaigns", front).status_code == 200  # the preview
    started = call(city, "post", "/api/v1/campaigns", {**front, "confirm": True})
    assert started.status_code == 201
    assert call(city, "get", f"/api/v1/readiness?province=31&campaign={started.json['id']}").status_code == 200
    assert call(admin, "post", f"/api/v1/campaigns/{started.json['id']}/close",
                {"version": started.json["version"]}).status_code == 200
    created = call(staff, "post", f"/api/v1/units/{UNIT}/branches",
                   {"name": "Chi bộ Tổ dân phố số 9", "members": 12, "planned_on": "2025-08-01"})
    assert created.status_code == 201
    assert call(staff, "get", f"/api/v1/units/{UNIT}/papers").status_code == 200
    assert call(staff, "get", "/api/v1/account/tokens").status_code == 200
    spare = call(staff, "post", "/api/v1/account/tokens", {"name": "spare"})
    assert spare.status_code == 201
    assert call(staff, "post", f"/api/v1/account/tokens/{spare.json['id']}/revoke", {}).status_code == 200
    assert call(admin, "get", "/api/v1/accounts").status_code == 200
    viewer = api_as("viewer", unit=UNIT)
    viewer_name = call(viewer, "get", "/api/v1/me").json["username"]
    assert call(admin, "post", f"/api/v1/accounts/{viewer_name}/deactivate", {}).status_code == 200
    assert call(admin, "post", f"/api/v1/accounts/{viewer_name}/reactivate", {}).status_code == 200
    papers = call(staff, "get", f"/api/v1/units/{UNIT}/papers").json
    assert call(staff, "put", f"/api/v1/units/{UNIT}/signers",
                {"version": papers["signers"]["version"], "secretary": "Nguyễn Văn A",
                 "deputy": None}).status_code == 200
    assert call(staff, "post", f"/api/v1/units/{UNIT}/papers/congress_plan/issue", {}).status_code == 201
    assert call(city, "post", f"/api/v1/units/{UNIT}/papers/congress_plan/issue", {}).status_code == 403
    assert call(staff, "post", f"/api/v1/units/{UNIT}/papers/no_such_kind/issue", {}).status_code == 404
    _exercise_drafts(base_app, tmp_path, checker, call, staff, leader, city)
    audit = call(city, "get", f"/api/v1/audit?unit={UNIT}&limit=3")
    assert audit.status_code == 200 and audit.json["next_before"] is not None
    # notices: the day's digest and reminders, two nights of recorded readiness
    notice_jobs.send_reminders(datetime(2025, 8, 5, 8, tzinfo=LOCAL_TZ))
    notice_jobs.send_digests(datetime(2025, 8, 5, 17, 30, tzinfo=LOCAL_TZ))
    # (a night before the day the base app's units were enrolled has none to record: progress/history.py)
    notice_jobs.record_readiness(datetime(2025, 8, 5, 23, 45, tzinfo=LOCAL_TZ))
    notice_jobs.record_readiness(datetime(2025, 8, 6, 23, 45, tzinfo=LOCAL_TZ))
    notices = call(staff, "get", "/api/v1/notifications?limit=5")
    assert notices.status_code == 200 and notices.json["unread"] >= 1 and notices.json["notifications"]
    notice_id = notices.json["notifications"][0]["id"]
    assert call(staff, "post", f"/api/v1/notifications/{notice_id}/read", {}).json["read"] is True
    assert call(staff, "post", "/api/v1/notifications/read-all", {}).json["unread"] == 0
    history = call(staff, "get", f"/api/v1/units/{UNIT}/readiness-history")
    assert history.status_code == 200 and len(history.json["snapshots"]) == 2
    assert call(city, "post", f"/api/v1/notifications/{notice_id}/read", {}).status_code == 404
    assert call(staff, "get", f"/api/v1/units/{OTHER_UNIT}/readiness-history").status_code == 403

    # imports: upload, preview, confirm; another dropped
    base_app.config["TRANSFERS_JOBS_INLINE"] = True
    sheet = f"Mã đơn vị,Tên chi bộ,Bí thư\n{UNIT},Chi bộ nhập từ tệp,Lê Văn Nhập\n".encode()
    tokens = []
    for _ in range(2):
        uploaded = staff.post("/api/v1/imports", data={"kind": "branches", "file": (io.BytesIO(sheet), "ds.csv")},
                              content_type="multipart/form-data")
        checker.check("post", "/api/v1/imports", uploaded)
        assert uploaded.status_code == 201
        tokens.append(uploaded.json["token"])
    assert call(staff, "get", f"/api/v1/imports/{tokens[0]}").json["rows"][0]["status"] == "new"
    assert call(staff, "post", f"/api/v1/imports/{tokens[1]}/cancel", {}).json["state"] == "cancelled"
    assert call(staff, "post", f"/api/v1/imports/{tokens[0]}/confirm", {}).json["state"] == "applied"
    # errors
    assert call(anonymous, "get", "/api/v1/units").status_code == 401
    assert call(staff, "get", f"/api/v1/units/{OTHER_UNIT}").status_code == 403
    assert call(staff, "get", "/api/v1/units/99999").status_code == 404
    assert call(city, "get", "/api/v1/readiness?province=99").status_code == 404
    assert call(staff, "get", "/api/v1/readiness").status_code == 403
    assert call(city, "get", "/api/v1/units?kind=town").status_code == 422
    stale = call(leader, "post", f"/api/v1/units/{UNIT}/steps/plan/transitions",
                 {"action": "reopen", "version": 1, "note": "sai"})
    assert stale.status_code == 409 and stale.json["current"]["state"] == "done"
    assert call(staff, "post", f"/api/v1/units/{UNIT}/steps/congress/transitions",
                {"action": "complete", "version": 1}).status_code == 422
    assert call(staff, "post", f"/api/v1/units/{UNIT}/steps/plan/transitions", data="{not json",
                content_type="application/json").status_code == 400
    assert call(staff, "patch", f"/api/v1/branches/{branch['code']}", {"version": 99, "members": 3}).status_code == 409
    assert call(staff, "put", f"/api/v1/units/{UNIT}/deadline", {"version": 1, "date": None}).status_code in (403, 409)
    assert call(city, "put", "/api/v1/campaigns/999/deadline", {"version": 1, "date": "2025-08-30"}).status_code == 404
    assert call(city, "get", "/api/v1/audit?limit=many").status_code == 422
    assert call(staff, "post", f"/api/v1/units/{UNIT}/branches", {"name": "Chi bộ Tổ dân phố số 9"}).status_code == 422

    statuses = {status for _, _, status in checker.checked}
    assert {"200", "400", "401", "403", "404", "409", "422"} <= statuses
    documented_operations = {(m, p) for p, item in checker.spec["paths"].items() for m in item
                             if p != "/openapi.json"}
    assert {(m, p) for m, p, s in checker.checked if s in ("200", "201")} == documented_operations


def _exercise_drafts(app, tmp_path, checker, call, staff, leader, city) -> None:
    """Every drafts operation once (tests/test_drafts_api.py covers them in depth)."""
    from tests.test_drafts import REPORT_1, REPORT_2
    from tests.test_drafts_api import multipart

    app.config["FILES_FOLDER"] = str(tmp_path / "files")
    base = f"/api/v1/units/{UNIT}/drafts"
    for content in (REPORT_1, REPORT_2):  # uploads are multipart, not JSON
        response = staff.post(f"{base}/political_report/versions", **multipart(content, "bao-cao.docx"))
        checker.check("post", f"{base}/political_report/versions", response)
        assert response.status_code == 201
    assert call(staff, "get", base).status_code == 200
    assert call(staff, "get", f"{base}/political_report/versions/2").status_code == 200
    assert call(staff, "get", f"{base}/political_report/compare?from=1&to=2").status_code == 200
    opened = call(staff, "post", f"{base}/political_report/versions/2/rounds",
                  {"audiences": ["members"], "starts_on": "2025-07-20", "ends_on": "2025-07-30"})
    assert opened.status_code == 201
    round_url = f"{base}/rounds/{opened.json['id']}"
    assert call(staff, "post", f"{round_url}/comments", {"comments": [{"audience": "members"}]}).status_code == 201
    assert call(staff, "get", round_url).status_code == 200
    assert call(staff, "post", f"{round_url}/close", {}).status_code == 200
    assert call(leader, "post", f"{base}/political_report/versions/2/submit", {}).status_code == 200
    assert call(city, "post", f"{base}/political_report/versions/2/reviews", {"verdict": "approve"}).status_code == 200
    assert call(city, "post", f"{base}/personnel_submission/exception", {"reason": "Chỉ định"}).status_code == 201

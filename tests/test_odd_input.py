"""Odd input answers 4xx, never 500: CR/LF in a ``next`` address, JSON nested 100,000 deep, and
integers of 2^63 and more (which SQLite cannot bind) in path ids, query parameters and JSON fields.

The walks go over every route of the URL map and every operation of the OpenAPI document, so a
route added later is covered without a new case here."""
from __future__ import annotations

import re

import pytest
from werkzeug.routing import IntegerConverter

from congress.extensions import db
from tests.test_web import login

TU_MINH = "10891"
HUGE = (2**63, 2**64)
#: a value for each non-integer path argument, by name (real where it helps reach the database)
PATH_VALUES = {"code": TU_MINH, "kind": "political_report", "key": "prepare_documents", "token": "x" * 20,
               "fmt": "xlsx", "name": "x", "action": "submit", "step": "x", "filename": "x"}


def csrf(client, path: str = "/notifications") -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get(path).get_data(as_text=True))[1]


# --- CR/LF in next= ------------------------------------------------------------------------------

@pytest.mark.parametrize("target", ["/%0d%0aX:1", "/%0aX:1", "/%0dX:1", "/%09/evil.example", "/\\evil.example",
                                    "/%5cevil.example", "/a%00b"])
def test_next_with_control_characters_goes_to_a_safe_page(app, target):
    client = app.test_client()
    response = client.get(f"/lang/vi?next={target}")
    assert response.status_code == 302
    location = response.headers["Location"]
    assert "\r" not in location and "\n" not in location and "X" not in response.headers
    assert "evil" not in location and location in ("/", "http://localhost/")


def test_login_next_with_cr_lf_is_ignored(app):
    client = app.test_client()
    page = client.get("/login?next=/%0d%0aX:1")
    assert page.status_code == 200
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.get_data(as_text=True))[1]
    response = client.post("/login?next=/%0d%0aX:1", data={"username": "tuminh.vanphong",
                                                           "password": "daihoi-2025", "csrf_token": token})
    assert response.status_code == 302 and "X" not in response.headers
    assert "\n" not in response.headers["Location"] and "X:1" not in response.headers["Location"]


def test_notification_read_with_cr_lf_next_goes_back_to_the_list(app):
    from datetime import datetime

    from congress.accounts.models import User
    from congress.notices import jobs
    from congress.notices.models import Notification
    from workflows.deadlines import LOCAL_TZ

    jobs.send_reminders(datetime(2025, 8, 5, 8, 0, tzinfo=LOCAL_TZ))
    staff = db.session.execute(db.select(User).filter_by(username="tuminh.vanphong")).scalar_one()
    notice = db.session.execute(db.select(Notification).filter_by(user_id=staff.id)).scalars().first()
    assert notice is not None
    db.session.commit()
    client = app.test_client()
    login(client, "tuminh.vanphong")
    for target in ("/\r\nX:1", "/\nX:1", "/\\evil.example"):
        response = client.post(f"/notifications/{notice.id}/read", data={"csrf_token": csrf(client), "next": target})
        assert response.status_code == 302, target
        assert response.headers["Location"].endswith("/notifications") and "X" not in response.headers


# --- JSON nested 100,000 deep -------------------------------------------------------------------

def api_write_rules(app):
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            for method in sorted(rule.methods & {"POST", "PUT", "PATCH", "DELETE"}):
                yield rule, method


def fill(rule, ints: int = 1) -> str:
    values = {name: (ints if isinstance(conv, IntegerConverter) else PATH_VALUES.get(name, "x"))
              for name, conv in rule._converters.items()}
    path = rule.rule
    for name, value in values.items():
        path = re.sub(rf"<(?:[^:<>]+:)?{name}>", str(value), path)
    return path


def test_deeply_nested_json_is_a_clear_400_on_every_api_write(api_as, app):
    admin = api_as("admin", username="admin")
    body = "[" * 100_000
    answered: dict[int, int] = {}
    for rule, method in api_write_rules(app):
        response = getattr(admin, method.lower())(fill(rule), data=body, content_type="application/json")
        assert response.status_code < 500, (method, rule.rule, response.status_code, response.get_data(as_text=True))
        answered[response.status_code] = answered.get(response.status_code, 0) + 1
    assert answered.get(400, 0) >= 5, answered  # the writes that read a body refuse it as JSON
    response = admin.post("/api/v1/notifications/read-all", data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.json["error"] == "invalid_json" and response.json["message"]


# --- integers of 2^63 and more -------------------------------------------------------------------

@pytest.fixture
def no_csrf_app(make_app):
    app = make_app("demo", WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=False, TRANSFERS_JOBS_INLINE=True)
    with app.app_context():
        yield app


def signed_in(app, username: str):
    client = app.test_client()
    assert client.post("/login", data={"username": username, "password": "daihoi-2025"}).status_code == 302
    return client


def test_huge_integers_in_path_ids_are_4xx_on_every_route(no_csrf_app, api_as):
    app = no_csrf_app
    admin_api = api_as("admin", username="admin")
    staff = signed_in(app, "tuminh.vanphong")
    rules = [r for r in app.url_map.iter_rules()
             if any(isinstance(c, IntegerConverter) for c in r._converters.values())]
    assert len(rules) >= 15, "the walk lost the routes with integer ids"
    failures = []
    for rule in rules:
        for huge in HUGE:
            path = fill(rule, huge)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                client = admin_api if rule.rule.startswith("/api/") else staff
                kwargs = {"json": {"version": 1}} if rule.rule.startswith("/api/") and method != "GET" else {}
                response = getattr(client, method.lower())(path, **kwargs)
                if response.status_code >= 500:
                    failures.append(f"{method} {path}: {response.status_code}")
    assert not failures, "\n".join(failures)


def test_huge_integers_in_query_parameters_are_4xx(no_csrf_app, api_as):
    app = no_csrf_app
    admin_api = api_as("admin", username="admin")
    staff = signed_in(app, "tuminh.vanphong")
    failures = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods:
            continue
        for huge in HUGE:
            query = "&".join(f"{name}={huge}" for name in ("limit", "before", "after", "page", "offset", "since",
                                                            "version", "number", "id"))
            client = admin_api if rule.rule.startswith("/api/") else staff
            response = client.get(f"{fill(rule)}?{query}")
            response.close()
            if response.status_code >= 500:
                failures.append(f"GET {fill(rule)}?{query}: {response.status_code}")
    assert not failures, "\n".join(failures)


def integer_fields(schema: dict, components: dict, seen=()) -> set[str]:
    """The names of the integer properties of a request body's schema (through $ref, anyOf ...)."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        return set() if name in seen else integer_fields(components[name], components, (*seen, name))
    found = set()
    for key in ("anyOf", "oneOf", "allOf"):
        for part in schema.get(key, []):
            found |= integer_fields(part, components, seen)
    for name, prop in schema.get("properties", {}).items():
        types = prop.get("type")
        if types == "integer" or (isinstance(types, list) and "integer" in types) or any(
                p.get("type") == "integer" for p in prop.get("anyOf", []) + prop.get("oneOf", [])):
            found.add(name)
        found |= integer_fields(prop, components, seen) if prop.get("type") == "object" else set()
    return found


def test_huge_integers_in_json_fields_are_4xx(no_csrf_app, api_as):
    from congress.api.openapi import PREFIX, document

    spec = document()
    components = spec["components"]["schemas"]
    admin_api = api_as("admin", username="admin")
    failures, sent = [], 0
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if not body:
                continue
            fields = integer_fields(body["schema"], components) | {"version"}
            url = PREFIX + re.sub(r"{([^}]+)}", lambda m: str(PATH_VALUES.get(m[1], 1)), path)
            for huge in HUGE:
                for name in sorted(fields):
                    sent += 1
                    response = getattr(admin_api, method)(url, json={name: huge, "version": 1} | {name: huge})
                    if response.status_code >= 500:
                        failures.append(f"{method.upper()} {url} {name}={huge}: {response.status_code}")
    assert sent > 20
    assert not failures, "\n".join(failures)


def test_huge_integers_in_form_fields_are_4xx(no_csrf_app):
    staff, city = signed_in(no_csrf_app, "tuminh.vanphong"), signed_in(no_csrf_app, "thanhuy.vanphong")
    fields = ("version", "number", "count", "page", "year", "term", "members", "delegates", "round_id", "step_id")
    failures = []
    for rule in no_csrf_app.url_map.iter_rules():
        if rule.rule.startswith("/api/") or "POST" not in rule.methods or rule.endpoint == "web.logout":
            continue
        for huge in HUGE:
            for client in (staff, city):
                response = client.post(fill(rule), data={name: str(huge) for name in fields})
                if response.status_code >= 500:
                    failures.append(f"POST {fill(rule)}: {response.status_code}")
    assert not failures, "\n".join(failures)

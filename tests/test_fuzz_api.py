"""Schemathesis against /api/v1/openapi.json, in-process on the WSGI app, as city staff and as a
unit's staff (bearer tokens).

Every operation of the document is exercised (none left out): requests built from the schema with
real path values of the demo (phường Tứ Minh, its branch, step, draft, comment round ...), and
requests that break the schema on purpose. Each answer must not be a server error, and its status
code, content type and body must be the ones the document declares. The number of examples per
operation is bounded and derandomized, so a run is repeatable and takes minutes.
"""
from __future__ import annotations

from datetime import date, datetime

import pytest

from congress.extensions import db
from tests.test_drafts import make_docx
from workflows.deadlines import LOCAL_TZ

schemathesis = pytest.importorskip("schemathesis")
hypothesis = pytest.importorskip("hypothesis")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.generation import GenerationMode  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

TU_MINH = "10891"
#: examples per operation and per caller: twice this, drawn from valid data with the demo's real path
#: values, valid data with made-up ones, and data that breaks the schema
MAX_EXAMPLES = 30
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
CALLERS = {"city_staff": "thanhuy.vanphong", "unit_staff": "tuminh.vanphong"}




def real_values() -> dict[str, dict[str, object]]:
    """Path values of the demo's records, by the first segment of an operation's path."""
    from congress.accounts.models import User
    from congress.drafts import operations as drafts
    from congress.notices import jobs
    from congress.notices.models import Notification
    from congress.progress import queries
    from congress.progress.models import Campaign, Step
    from congress.transfers import importing
    from congress.units.models import Branch, Unit

    staff = db.session.execute(db.select(User).filter_by(username="tuminh.vanphong")).scalar_one()
    unit = db.session.execute(db.select(Unit).filter_by(code=TU_MINH)).scalar_one()
    prep = queries.unit_preparation(unit)
    step = db.session.execute(db.select(Step).where(Step.preparation_id == prep.id, Step.branch_id.is_(None))
                              .order_by(Step.id)).scalars().first()
    branch = db.session.execute(db.select(Branch).filter_by(unit_id=unit.id).order_by(Branch.code)).scalars().first()
    branch_step = db.session.execute(db.select(Step).filter_by(branch_id=branch.id).order_by(Step.id)).scalars().first()
    version = drafts.upload_version(unit, "political_report", filename="bao-cao.docx",
                                    content=make_docx("BÁO CÁO CHÍNH TRỊ"), note=None, actor=staff)
    found = drafts.open_round(version, audiences=["cadres"], starts_on=date(2025, 8, 1), ends_on=date(2025, 8, 20),
                              actor=staff)
    batch = importing.start_import("branches", "chi-bo.csv", "Mã đơn vị;Tên chi bộ\n".encode(), staff)
    jobs.send_reminders(datetime(2025, 8, 5, 8, 0, tzinfo=LOCAL_TZ))
    notice = db.session.execute(db.select(Notification).filter_by(user_id=staff.id)).scalars().first()
    campaign = db.session.execute(db.select(Campaign)).scalars().first()
    db.session.commit()
    return {
        "units": {"code": TU_MINH, "key": step.key, "kind": "political_report", "number": version.number,
                  "round_id": found.id},
        "branches": {"code": branch.code, "key": branch_step.key},
        "campaigns": {"campaign_id": campaign.id},
        "notifications": {"notification_id": notice.id if notice else 1},
        "imports": {"token": batch.token},
    }


def path_values(operation, values: dict[str, dict[str, object]]) -> dict[str, object]:
    segment = operation.path.strip("/").split("/")[0] if not operation.path.startswith("/api/v1") \
        else operation.path[len("/api/v1/"):].split("/")[0]
    known = dict(values.get(segment, {}))
    if segment == "units" and "/papers/" in operation.path:
        known["kind"] = "congress_plan"
    names = {p.name for p in operation.path_parameters}
    return {name: value for name, value in known.items() if name in names}


def fuzz(strategy, headers: dict[str, str], statuses: list[int]) -> int:
    """Run one operation's examples; the number of requests sent."""
    count = 0

    @settings(max_examples=MAX_EXAMPLES * 2, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck), phases=[hypothesis.Phase.generate])
    @given(case=strategy)
    def run(case):
        nonlocal count
        count += 1
        statuses.append(case.call_and_validate(headers=headers, checks=CHECKS).status_code)

    run()
    return count


def test_api_conforms_to_its_document(make_app, tmp_path, capsys):
    from congress.accounts.models import User
    from congress.accounts.operations import create_token

    app = make_app("demo", RATELIMIT_ENABLED=False, FILES_FOLDER=str(tmp_path / "files"),
                   PAPERS_FOLDER=str(tmp_path / "papers"))
    with app.app_context():
        values = real_values()
        tokens = {}
        for caller, username in CALLERS.items():
            user = db.session.execute(db.select(User).filter_by(username=username)).scalar_one()
            tokens[caller] = create_token(user, "fuzz")[1]
        db.session.commit()
        db.session.remove()

    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 30, "the OpenAPI document lost operations"
    # a caller's own tokens last: a made-up id may be its own token's, and revoking it ends its calls
    operations.sort(key=lambda operation: "/account/tokens" in operation.path)

    ran = 0
    statuses: list[int] = []
    failures: list[str] = []
    for caller, token in tokens.items():
        headers = {"Authorization": f"Bearer {token}"}
        for operation in operations:
            real = path_values(operation, values)
            strategy = (operation.as_strategy(GenerationMode.POSITIVE, path_parameters=real)
                        | operation.as_strategy(GenerationMode.POSITIVE)
                        | operation.as_strategy(GenerationMode.NEGATIVE))
            try:
                ran += fuzz(strategy, headers, statuses)
            except Exception as exc:  # noqa: BLE001  every operation is run; failures are listed together
                failures.append(f"{caller} {operation.label}: {str(exc)[:1500]}")

    with capsys.disabled():
        print(f"\nschemathesis: {ran} cases over {len(operations)} operations × {len(tokens)} callers")
    assert not failures, "\n\n".join(failures)
    # the examples reached real records and were refused as well as accepted
    assert sum(200 <= s < 300 for s in statuses) > len(operations), "too few requests were accepted"
    assert {403, 404, 422} <= set(statuses)


# --- the shapes a probe found past the schema: CR/LF in next=, deep JSON, integers past 64 bits ----

def _odd_app(make_app, tmp_path):
    from congress.accounts.models import User
    from congress.accounts.operations import create_token

    app = make_app("demo", RATELIMIT_ENABLED=False, FILES_FOLDER=str(tmp_path / "files"),
                   PAPERS_FOLDER=str(tmp_path / "papers"))
    with app.app_context():
        values = real_values()
        admin = db.session.execute(db.select(User).filter_by(username="admin")).scalar_one()
        token = create_token(admin, "fuzz")[1]
        db.session.commit()
        db.session.remove()
    return app, values, {"Authorization": f"Bearer {token}"}


def _example(schema: dict, components: dict, huge: int):
    """A request body with every integer property set to ``huge`` (others left out)."""
    if "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[1]]
    body = {}
    for name, prop in schema.get("properties", {}).items():
        kinds = [prop.get("type")] + [p.get("type") for p in prop.get("anyOf", []) + prop.get("oneOf", [])]
        if "integer" in kinds or (isinstance(prop.get("type"), list) and "integer" in prop["type"]):
            body[name] = huge
    return body


def test_odd_shapes_never_answer_a_server_error(make_app, tmp_path):
    import re
    from urllib.parse import quote

    from hypothesis import strategies as st

    from congress.api.openapi import PREFIX, document

    app, values, headers = _odd_app(make_app, tmp_path)
    client = app.test_client()
    spec = document()
    components = spec["components"]["schemas"]
    operations = [(path, method, op) for path, item in spec["paths"].items() for method, op in item.items()
                  if method in {"get", "post", "put", "patch", "delete"}]
    writes = [(p, m, o) for p, m, o in operations if m != "get"]

    def url(path: str, operation, huge: int | None) -> str:
        known = {**values.get(path.strip("/").split("/")[0], {})}
        ints = {p["name"] for p in operation.get("parameters", []) if "$ref" not in p
                and p.get("schema", {}).get("type") == "integer"}
        for ref in (p["$ref"].rsplit("/", 1)[1] for p in operation.get("parameters", []) if "$ref" in p):
            param = spec["components"]["parameters"][ref]
            if param.get("schema", {}).get("type") == "integer":
                ints.add(param["name"])
        filled = re.sub(r"{([^}]+)}", lambda m: str(huge if huge is not None and m[1] in ints
                                                    else known.get(m[1], 1)), path)
        query = "&".join(f"{name}={huge}" for name in sorted(ints) if "{" + name + "}" not in path)
        return PREFIX + filled + (f"?{query}" if query and huge is not None else "")

    @settings(max_examples=40, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(target=st.text(alphabet="/\r\n\t\x00\x7f\\:aX1.", min_size=1, max_size=12))
    def next_addresses(target):
        response = client.get(f"/lang/vi?next={quote('/' + target, safe='')}")
        assert response.status_code == 302
        location = response.headers["Location"]
        assert not any(ord(ch) < 0x20 for ch in location) and "\\" not in location
        assert not location.startswith("//") and "X" not in response.headers

    @settings(max_examples=25, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(operation=st.sampled_from(writes), depth=st.integers(1_000, 100_000), opener=st.sampled_from("[{"))
    def deep_json(operation, depth, opener):
        path, method, op = operation
        body = (opener + ('"a":' if opener == "{" else "")) * depth
        response = getattr(client, method)(url(path, op, None), data=body, headers=headers,
                                           content_type="application/json")
        assert response.status_code < 500, (method, path, response.get_data(as_text=True)[:300])

    @settings(max_examples=60, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(operation=st.sampled_from(operations),
           huge=st.integers(2**63, 2**80) | st.integers(-2**80, -2**63 - 1))
    def huge_integers(operation, huge):
        path, method, op = operation
        body = op.get("requestBody", {}).get("content", {}).get("application/json")
        kwargs = {"json": {"version": huge, **_example(body["schema"], components, huge)}} if body else {}
        response = getattr(client, method)(url(path, op, huge), headers=headers, **kwargs)
        assert response.status_code < 500, (method, path, huge, response.get_data(as_text=True)[:300])

    with app.app_context():
        next_addresses()
        deep_json()
        huge_integers()

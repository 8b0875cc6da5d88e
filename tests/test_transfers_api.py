"""Imports through the API: upload, preview, confirm, drop; every answer checked against the
OpenAPI document."""
from __future__ import annotations

import io

import pytest

from congress.extensions import db
from congress.progress import queries
from congress.units.models import Unit
from congress.units.operations import update_branch
from tests.test_openapi import Checker
from tests.test_transfers import BRANCH_HEADINGS, TU_MINH, csv_bytes, database_state

BASE = "/api/v1/imports"


@pytest.fixture
def checker():
    return Checker()


@pytest.fixture
def inline(app):
    app.config["TRANSFERS_JOBS_INLINE"] = True
    return app


def upload(client, kind: str, content: bytes, filename: str = "ds.csv"):
    return client.post(BASE, data={"kind": kind, "file": (io.BytesIO(content), filename)},
                       content_type="multipart/form-data")


def test_the_whole_import_through_the_api(inline, api_as, checker):
    staff = api_as("unit_staff", unit=TU_MINH)
    unit = db.session.execute(db.select(Unit).filter_by(code=TU_MINH)).scalar_one()
    branch = queries.unit_branches(unit)[0]

    def call(method, url, response):
        checker.check(method, url, response)
        return response

    content = csv_bytes([BRANCH_HEADINGS, [TU_MINH, branch.code, branch.name, "", "Bí Thư Mới", "", "", "", "", ""],
                         [TU_MINH, "", "Chi bộ API", "", "", "", "", "", "", ""]])
    created = call("post", BASE, upload(staff, "branches", content))
    assert created.status_code == 201 and created.json["state"] == "previewed"
    token = created.json["token"]
    preview = call("get", f"{BASE}/{token}", staff.get(f"{BASE}/{token}"))
    # the new branch, not yet held, reopens Tứ Minh's completed step (every branch held): a warning naming it
    assert [r["status"] for r in preview.json["rows"]] == ["updated", "warning"]
    assert preview.json["rows"][0]["changes"] == {"secretary": [branch.secretary, "Bí Thư Mới"]}
    assert [p["code"] for p in preview.json["rows"][1]["problems"]] == ["import_reopens_completed_step"]
    only_warnings = call("get", f"{BASE}/{token}?status=warning", staff.get(f"{BASE}/{token}?status=warning"))
    assert [r["number"] for r in only_warnings.json["rows"]] == [3]
    assert call("get", f"{BASE}/{token}?status=x", staff.get(f"{BASE}/{token}?status=x")).status_code == 422
    other = api_as("unit_staff", unit="11311")
    assert call("get", f"{BASE}/{token}", other.get(f"{BASE}/{token}")).status_code == 404
    # confirmed only with the acceptance of what the preview names; refused, it changes nothing
    before = database_state()
    for body in ({}, {"accept_completed_changes": False}):
        refused = call("post", f"{BASE}/{token}/confirm", staff.post(f"{BASE}/{token}/confirm", json=body))
        assert refused.status_code == 422 and refused.json["error"] == "import_completed_changes_unconfirmed"
    for body in ({"accept_completed_changes": "yes"}, {"accept_completed_changes": True, "colour": "red"}):
        refused = call("post", f"{BASE}/{token}/confirm", staff.post(f"{BASE}/{token}/confirm", json=body))
        assert refused.status_code == 422 and refused.json["error"] in ("invalid_field", "unknown_fields")
    db.session.expire_all()
    assert database_state() == before
    accepted = {"accept_completed_changes": True}
    applied = call("post", f"{BASE}/{token}/confirm", staff.post(f"{BASE}/{token}/confirm", json=accepted))
    checker.check("post", f"{BASE}/{token}/confirm", applied, request_body=accepted)
    assert applied.status_code == 200 and applied.json["state"] == "applied"
    assert applied.json["counts"]["new"] == 1 and applied.json["counts"]["updated"] == 1
    assert applied.json["counts"]["warning"] == 1
    db.session.expire_all()
    assert any(b.name == "Chi bộ API" for b in queries.unit_branches(unit))
    again = call("post", f"{BASE}/{token}/confirm", staff.post(f"{BASE}/{token}/confirm", json={}))
    assert again.status_code == 422 and again.json["error"] == "import_already_applied"
    assert call("post", f"{BASE}/{token}/cancel", staff.post(f"{BASE}/{token}/cancel", json={})).status_code == 422


def test_stale_errors_bad_files_and_roles_through_the_api(inline, api_as, checker):
    staff = api_as("unit_staff", unit=TU_MINH)
    unit = db.session.execute(db.select(Unit).filter_by(code=TU_MINH)).scalar_one()
    branch = queries.unit_branches(unit)[0]
    content = csv_bytes([BRANCH_HEADINGS, [TU_MINH, branch.code, branch.name, "", "Người Nhập", "", "", "", "", ""]])
    token = upload(staff, "branches", content).json["token"]
    update_branch(branch, {"secretary": "Người Khác"}, actor=api_as_user(), version=branch.version)
    db.session.commit()
    stale = staff.post(f"{BASE}/{token}/confirm", json={})
    checker.check("post", f"{BASE}/{token}/confirm", stale)
    assert stale.status_code == 409 and stale.json["error"] == "import_stale"
    dropped = staff.post(f"{BASE}/{token}/cancel", json={})
    checker.check("post", f"{BASE}/{token}/cancel", dropped)
    assert dropped.status_code == 200 and dropped.json["state"] == "cancelled"
    unknown_unit = ["00000", "", "X", "", "", "", "", "", "", ""]
    with_errors = upload(staff, "branches", csv_bytes([BRANCH_HEADINGS, unknown_unit]))
    refused = staff.post(f"{BASE}/{with_errors.json['token']}/confirm", json={})
    checker.check("post", f"{BASE}/x/confirm", refused)
    assert refused.status_code == 422 and refused.json["error"] == "import_has_errors"
    broken = upload(staff, "branches", b"\x89PNG\r\n\x1a\n\x00", "a.png")
    checker.check("post", BASE, broken)
    assert broken.json["state"] == "failed" and broken.json["error"]["code"] == "import_not_spreadsheet"
    missing = staff.post(BASE, data={"kind": "branches"}, content_type="multipart/form-data")
    checker.check("post", BASE, missing)
    assert missing.status_code == 422
    viewer = api_as("viewer", unit=TU_MINH)
    forbidden = upload(viewer, "branches", content)
    checker.check("post", BASE, forbidden)
    assert forbidden.status_code == 403
    assert upload(staff, "units", content).status_code == 403


def api_as_user():
    from congress.accounts.models import User

    return db.session.execute(db.select(User).filter_by(username="tuminh.bithu")).scalar_one()

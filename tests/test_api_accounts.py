"""Accounts through the API: one's own tokens listed, made once per request, revoked; an
administrator deactivating and reactivating an account."""
from __future__ import annotations

from congress.accounts.models import ApiToken, User
from congress.audit.models import AuditRecord
from congress.extensions import db
from tests.test_account_tokens import bearer


def audited(action: str) -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(AuditRecord).where(AuditRecord.action == action))


def test_tokens_are_listed_made_once_and_revoked(app, api_as):
    staff = api_as("unit_staff", unit="10891", username="tuminh.vanphong")
    listed = staff.get("/api/v1/account/tokens")
    assert listed.status_code == 200 and [t["name"] for t in listed.json["tokens"]] == ["test"]
    assert all("token" not in t and "token_hash" not in t for t in listed.json["tokens"])
    key = {"Idempotency-Key": "make-token-1"}
    made = staff.post("/api/v1/account/tokens", json={"name": "  máy chủ báo cáo "}, headers=key)
    assert made.status_code == 201 and made.json["name"] == "máy chủ báo cáo"
    assert made.json["token"].startswith("cgt_") and bearer(app, made.json["token"]) == 200
    again = staff.post("/api/v1/account/tokens", json={"name": "  máy chủ báo cáo "}, headers=key)
    assert again.status_code == 201 and again.json["id"] == made.json["id"]
    assert db.session.scalar(db.select(db.func.count()).select_from(ApiToken).filter_by(name="máy chủ báo cáo")) == 1
    assert audited("token.create") == 2  # the caller's own token, and this one once
    for body in ({}, {"name": ""}, {"name": 7}, {"name": "x" * 81}, {"name": "a", "scope": "all"}):
        assert staff.post("/api/v1/account/tokens", json=body).status_code == 422, body
    revoked = staff.post(f"/api/v1/account/tokens/{made.json['id']}/revoke", json={})
    assert revoked.status_code == 200 and revoked.json["active"] is False
    assert bearer(app, made.json["token"]) == 401 and audited("token.revoke") == 1
    assert staff.post(f"/api/v1/account/tokens/{made.json['id']}/revoke", json={}).status_code == 200
    assert audited("token.revoke") == 1
    other = api_as("unit_staff", unit="11311", username="hongbang.vanphong")
    theirs = db.session.execute(db.select(ApiToken).join(User).filter(User.username == "hongbang.vanphong")).scalar()
    assert staff.post(f"/api/v1/account/tokens/{theirs.id}/revoke", json={}).status_code == 404
    assert other.get("/api/v1/me").status_code == 200


def test_an_administrator_deactivates_and_reactivates_through_the_api(app, api_as):
    admin = api_as("admin", username="admin")
    target = api_as("unit_staff", unit="10891", username="tuminh.vanphong")
    assert target.get("/api/v1/me").status_code == 200
    accounts = admin.get("/api/v1/accounts")
    assert accounts.status_code == 200 and "tuminh.vanphong" in {a["username"] for a in accounts.json["accounts"]}
    done = admin.post("/api/v1/accounts/tuminh.vanphong/deactivate", json={})
    assert done.status_code == 200 and done.json["active"] is False
    assert target.get("/api/v1/me").status_code == 401
    assert admin.post("/api/v1/accounts/tuminh.vanphong/deactivate", json={}).status_code == 200
    assert audited("user.deactivate") == 1
    back = admin.post("/api/v1/accounts/tuminh.vanphong/reactivate", json={})
    assert back.status_code == 200 and back.json["active"] is True
    assert target.get("/api/v1/me").status_code == 401  # its token stays revoked
    assert admin.post("/api/v1/accounts/admin/deactivate", json={}).status_code == 403
    assert admin.post("/api/v1/accounts/nobody/deactivate", json={}).status_code == 404
    city = api_as("city_staff", province="31")
    assert city.get("/api/v1/accounts").status_code == 403
    assert city.post("/api/v1/accounts/tuminh.vanphong/deactivate", json={}).status_code == 403

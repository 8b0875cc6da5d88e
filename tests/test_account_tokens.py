"""One's own API tokens on the account page (listed, made, revoked), and an administrator
deactivating an account: its sessions and tokens stop at once, and reactivating it revives neither."""
from __future__ import annotations

import re

from congress.accounts.models import ApiToken, User
from congress.accounts.operations import create_token
from congress.audit.models import AuditRecord
from congress.extensions import db
from tests.test_web import login

USER = "tuminh.vanphong"


def csrf(client, path: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get(path).get_data(as_text=True))[1]


def user(name: str = USER) -> User:
    db.session.expire_all()
    return db.session.execute(db.select(User).filter_by(username=name)).scalar_one()


def audited(action: str, key: str) -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(AuditRecord).where(
        AuditRecord.action == action, AuditRecord.entity_key.startswith(key)))


def bearer(app, token: str) -> int:
    return app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code


def test_the_account_page_lists_makes_and_revokes_ones_own_tokens(app):
    _, script = create_token(user(), "báo cáo tự động")
    _, others = create_token(user("hongbang.vanphong"), "của người khác")
    db.session.commit()
    client = app.test_client()
    login(client, USER)
    page = client.get("/account/tokens").get_data(as_text=True)
    assert "báo cáo tự động" in page and script[:10] in page and "của người khác" not in page

    made = client.post("/account/tokens", data={"csrf_token": csrf(client, "/account/tokens"), "name": "máy chủ"})
    assert made.status_code == 200
    plain = re.search(r"cgt_[A-Za-z0-9_-]+", made.get_data(as_text=True))[0]
    assert bearer(app, plain) == 200 and audited("token.create", f"{USER}/") == 2

    mine = db.session.execute(db.select(ApiToken).filter_by(name="báo cáo tự động")).scalar_one()
    theirs = db.session.execute(db.select(ApiToken).filter_by(name="của người khác")).scalar_one()
    assert bearer(app, script) == 200
    response = client.post(f"/account/tokens/{mine.id}/revoke", data={"csrf_token": csrf(client, "/account/tokens")})
    assert response.status_code == 302
    assert bearer(app, script) == 401 and audited("token.revoke", f"{USER}/") == 1
    assert "đã thu hồi" in client.get("/account/tokens").get_data(as_text=True)
    # another's token is not found, and keeps working
    response = client.post(f"/account/tokens/{theirs.id}/revoke", data={"csrf_token": csrf(client, "/account/tokens")})
    assert response.status_code == 404 and bearer(app, others) == 200


def test_deactivating_an_account_ends_its_sessions_and_tokens_for_good(app):
    _, plain = create_token(user(), "script")
    db.session.commit()
    staff, admin = app.test_client(), app.test_client()
    assert login(staff, USER).status_code == 302 and staff.get("/units/10891").status_code == 200
    assert login(admin, "admin").status_code == 302
    assert USER in admin.get("/admin/users").get_data(as_text=True)

    response = admin.post(f"/admin/users/{USER}/deactivate", data={"csrf_token": csrf(admin, "/admin/users")})
    assert response.status_code == 302
    assert not user().active and audited("user.deactivate", USER) == 1
    assert staff.get("/units/10891").status_code == 302  # the open session has ended
    assert bearer(app, plain) == 401
    assert login(app.test_client(), USER).status_code == 401

    response = admin.post(f"/admin/users/{USER}/reactivate", data={"csrf_token": csrf(admin, "/admin/users")})
    assert response.status_code == 302 and user().active and audited("user.reactivate", USER) == 1
    assert staff.get("/units/10891").status_code == 302  # the old session stays ended
    assert bearer(app, plain) == 401  # and so does the old token
    assert login(app.test_client(), USER).status_code == 302  # a new sign-in works


def test_only_an_administrator_deactivates_and_not_themselves(app):
    staff = app.test_client()
    login(staff, "thanhuy.vanphong")
    assert staff.get("/admin/users").status_code == 403
    assert staff.post(f"/admin/users/{USER}/deactivate",
                      data={"csrf_token": csrf(staff, "/account/tokens")}).status_code == 403
    assert user().active
    admin = app.test_client()
    login(admin, "admin")
    admin.post("/admin/users/admin/deactivate", data={"csrf_token": csrf(admin, "/admin/users")})
    assert user("admin").active

"""Accounts under pressure: the password policy, lockout after wrong passwords, the per-address
limit on sign-ins, log-out and password change ending the other sessions, cookie flags."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from congress.accounts.models import User
from congress.accounts.operations import check_password_policy
from congress.audit.models import AuditRecord
from congress.clock import utcnow
from congress.errors import Unprocessable
from congress.extensions import db
from tests.conftest import DEMO_PASSWORD
from tests.test_web import login

USER = "hongbang.vanphong"


def text(response) -> str:
    return response.get_data(as_text=True)


def account(username: str = USER) -> User:
    db.session.expire_all()
    return db.session.execute(db.select(User).filter_by(username=username)).scalar_one()


def audit(action: str, username: str = USER) -> list[AuditRecord]:
    db.session.expire_all()
    return db.session.execute(db.select(AuditRecord).filter_by(action=action, entity_key=username)).scalars().all()


def csrf(client, path: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', text(client.get(path)))[1]


@pytest.mark.parametrize("password, code", [
    ("ngan-qua", "password_too_short"),
    ("x" * 201, "password_too_long"),
    ("hongbang.vanphong-2025", "password_has_username"),
    ("Matkhau@123", "password_too_common"),
    ("1234567890", "password_too_common"),
    ("aaaaaaaaaaaa", "password_too_common"),
    ("abababababab", "password_too_common"),
])
def test_password_policy_refuses(password, code):
    with pytest.raises(Unprocessable) as refused:
        check_password_policy(password, "hongbang.vanphong")
    assert refused.value.code == code


@pytest.mark.parametrize("password", ["sông Cấm chảy qua cầu Rào", "hoa-phuong-do-1955", DEMO_PASSWORD])
def test_password_policy_accepts_phrases(password):
    check_password_policy(password, "hongbang.vanphong")


def test_wrong_passwords_lock_the_account_for_a_while(app):
    client = app.test_client()
    for _ in range(4):
        response = login(client, USER, "sai-mat-khau")
        assert response.status_code == 401 and "Sai tên đăng nhập hoặc mật khẩu." in text(response)
    assert account().failed_logins == 4
    assert login(client, USER, "sai-mat-khau").status_code == 401  # the fifth locks
    locked = account()
    assert locked.locked_until is not None and locked.failed_logins == 0
    assert len(audit("user.locked")) == 1
    # now even the right password is refused, with a message saying until when
    response = login(client, USER)
    assert response.status_code == 401
    assert "tài khoản này bị tạm khóa đến" in text(response)
    assert not audit("user.login")
    # the lock runs out
    locked.locked_until = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert login(client, USER).status_code == 302
    assert account().locked_until is None and len(audit("user.login")) == 1


def test_a_good_sign_in_resets_the_count(app):
    client = app.test_client()
    for _ in range(3):
        login(client, USER, "sai-mat-khau")
    assert login(client, USER).status_code == 302
    assert account().failed_logins == 0


def test_unknown_user_gets_the_same_message(app):
    response = login(app.test_client(), "khong.ton.tai", "sai-mat-khau")
    assert response.status_code == 401 and "Sai tên đăng nhập hoặc mật khẩu." in text(response)


def test_sign_ins_per_address_are_limited(make_app):
    limited = make_app("demo", LOGIN_RATE_LIMIT="3 per minute")
    with limited.app_context():
        client = limited.test_client()
        for _ in range(3):
            assert login(client, "xem.tuminh", "sai-mat-khau").status_code == 401
        response = login(client, "xem.tuminh")
        assert response.status_code == 429
        assert "Quá nhiều yêu cầu" in text(response)
        assert client.get("/login").status_code == 200  # reading the page is not limited


def test_logging_out_ends_every_session_of_the_account(app):
    phone, office = app.test_client(), app.test_client()
    assert login(phone, USER).status_code == 302 and login(office, USER).status_code == 302
    assert office.get("/units/11311").status_code == 200
    phone.post("/logout", data={"csrf_token": csrf(phone, "/units/11311")})
    assert phone.get("/units/11311").status_code == 302
    response = office.get("/units/11311")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert len(audit("user.logout")) == 1
    assert login(office, USER).status_code == 302  # signing in again works


def test_changing_the_password_ends_the_other_sessions(app):
    mine, other = app.test_client(), app.test_client()
    assert login(mine, USER).status_code == 302 and login(other, USER).status_code == 302
    token = csrf(mine, "/account/password")
    new = "cầu Rào qua sông Lạch Tray"
    response = mine.post("/account/password", data={"csrf_token": token, "current": DEMO_PASSWORD,
                                                     "new": new, "repeated": new})
    assert response.status_code == 302
    assert mine.get("/units/11311").status_code == 200  # this session goes on
    assert other.get("/units/11311").status_code == 302  # the other one has ended
    assert login(app.test_client(), USER).status_code == 401
    assert login(app.test_client(), USER, new).status_code == 302
    assert len(audit("user.password")) == 1


@pytest.mark.parametrize("fields, message", [
    ({"current": "sai-mat-khau", "new": "mot cau dai de nho", "repeated": "mot cau dai de nho"},
     "Mật khẩu hiện tại không đúng."),
    ({"current": DEMO_PASSWORD, "new": "mot cau dai de nho", "repeated": "mot cau khac"},
     "Hai mật khẩu mới không giống nhau."),
    ({"current": DEMO_PASSWORD, "new": "ngan", "repeated": "ngan"}, "ít nhất 10 ký tự"),
    ({"current": DEMO_PASSWORD, "new": "", "repeated": ""}, "Hãy điền đủ cả ba ô."),
])
def test_a_refused_password_change_changes_nothing(app, fields, message):
    client = app.test_client()
    login(client, USER)
    before = account().password_hash
    response = client.post("/account/password", data={"csrf_token": csrf(client, "/account/password"), **fields})
    assert response.status_code == 422 and message in text(response)
    assert account().password_hash == before and not audit("user.password")
    assert client.get("/units/11311").status_code == 200


def test_production_cookies_are_secure(make_app, tmp_path, monkeypatch):
    from congress.config import from_environment

    monkeypatch.delenv("CONGRESS_INSECURE_COOKIES", raising=False)
    monkeypatch.setenv("SECRET_KEY", "production-key")
    settings = from_environment(str(tmp_path), "production")
    assert settings["SESSION_COOKIE_SECURE"] and settings["SESSION_COOKIE_HTTPONLY"]
    assert settings["SESSION_COOKIE_SAMESITE"] == "Lax"
    prod = make_app("demo", **{key: settings[key] for key in
                               ("SESSION_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY", "SESSION_COOKIE_SAMESITE")})
    with prod.app_context():
        cookie = login(prod.test_client(), USER).headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=Lax" in cookie


def test_administrator_commands_reset_unlock_and_log_out(app):
    runner = app.test_cli_runner()
    client = app.test_client()
    for _ in range(5):
        login(client, USER, "sai-mat-khau")
    assert account().locked_until is not None
    assert runner.invoke(args=["users", "unlock", USER]).exit_code == 0
    assert account().locked_until is None and len(audit("user.unlock")) == 1
    assert login(client, USER).status_code == 302

    result = runner.invoke(args=["users", "logout", USER])
    assert result.exit_code == 0, result.output
    assert client.get("/units/11311").status_code == 302

    assert login(client, USER).status_code == 302
    refused = runner.invoke(args=["users", "password", USER, "--password-stdin"], input="ngan\n")
    assert refused.exit_code != 0 and "ít nhất 10 ký tự" in refused.output
    assert client.get("/units/11311").status_code == 200  # a refusal ends nothing
    result = runner.invoke(args=["users", "password", USER, "--password-stdin"], input="bến Bính bên sông Cấm\n")
    assert result.exit_code == 0, result.output
    assert client.get("/units/11311").status_code == 302
    assert login(app.test_client(), USER, "bến Bính bên sông Cấm").status_code == 302
    assert runner.invoke(args=["users", "unlock", "khong.ton.tai"]).exit_code != 0


# --- the key that signs sessions --------------------------------------------------------------------

def test_production_refuses_to_start_without_a_secret_key(tmp_path, monkeypatch):
    """Without SECRET_KEY every worker would make its own key and sign-ins would fail at random."""
    from congress import create_app
    from congress.config import MissingSecretKey, from_environment

    monkeypatch.delenv("SECRET_KEY", raising=False)
    url = f"sqlite:///{tmp_path / 'x.db'}"
    with pytest.raises(MissingSecretKey) as refused:
        create_app({"SQLALCHEMY_DATABASE_URI": url}, mode="production")
    message = str(refused.value)
    assert "SECRET_KEY" in message and "secrets.token_hex" in message
    with pytest.raises(MissingSecretKey):
        from_environment(str(tmp_path), "production")
    # given in the environment or in the settings, it starts
    assert create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "k" * 64},
                      mode="production").config["SECRET_KEY"] == "k" * 64
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    assert create_app({"SQLALCHEMY_DATABASE_URI": url}, mode="production").config["SECRET_KEY"] == \
        "from-the-environment"


def test_embedded_mode_keeps_its_generated_key(tmp_path, monkeypatch):
    from congress.config import from_environment

    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = from_environment(str(tmp_path), "embedded")["SECRET_KEY"]
    assert len(first) == 64 and (tmp_path / "secret_key").read_text().strip() == first
    assert from_environment(str(tmp_path), "embedded")["SECRET_KEY"] == first


# --- the client's address behind a proxy, and where the counts are kept ---------------------------

def sign_ins_from(client, addresses: list[str]) -> list[int]:
    return [login(client, "xem.tuminh", "sai-mat-khau").status_code if address is None else
            client.post("/login", data={"username": "xem.tuminh", "password": "sai-mat-khau",
                                        "csrf_token": csrf(client, "/login")},
                        headers={"X-Forwarded-For": address}).status_code
            for address in addresses]


def test_x_forwarded_for_is_ignored_without_a_trusted_proxy(make_app):
    """Anyone may send X-Forwarded-For: without a configured proxy it must not name the client
    (or changing it on every try would escape the limit)."""
    limited = make_app("demo", LOGIN_RATE_LIMIT="2 per minute", LOGIN_LOCKOUT_ATTEMPTS=100)
    with limited.app_context():
        statuses = sign_ins_from(limited.test_client(), ["203.0.113.1", "203.0.113.2", "203.0.113.3"])
        assert statuses == [401, 401, 429]


def test_behind_a_trusted_proxy_each_client_has_its_own_count(make_app):
    """nginx in front: every request comes from 127.0.0.1, the client is in X-Forwarded-For."""
    limited = make_app("demo", LOGIN_RATE_LIMIT="2 per minute", LOGIN_LOCKOUT_ATTEMPTS=100, TRUSTED_PROXIES=1)
    with limited.app_context():
        client = limited.test_client()
        assert sign_ins_from(client, ["203.0.113.1", "203.0.113.1", "203.0.113.2", "203.0.113.1"]) == \
            [401, 401, 401, 429]
        # only the last hop (the one the proxy appended) counts: a client's own header is not believed
        assert sign_ins_from(client, ["198.51.100.9, 203.0.113.1"]) == [429]


def test_trusted_proxies_is_read_from_the_environment(tmp_path, monkeypatch):
    from congress.config import from_environment

    monkeypatch.setenv("CONGRESS_TRUSTED_PROXIES", "1")
    assert from_environment(str(tmp_path), "testing")["TRUSTED_PROXIES"] == 1
    monkeypatch.delenv("CONGRESS_TRUSTED_PROXIES")
    assert from_environment(str(tmp_path), "testing")["TRUSTED_PROXIES"] == 0
    monkeypatch.setenv("CONGRESS_TRUSTED_PROXIES", "yes")
    with pytest.raises(ValueError, match="CONGRESS_TRUSTED_PROXIES"):
        from_environment(str(tmp_path), "testing")


@pytest.mark.parametrize("mode, storage, workers, warned", [
    ("production", "memory://", 4, True),
    ("production", "memory://", 1, False),
    ("production", "redis://127.0.0.1:6379", 4, False),
    ("embedded", "memory://", 4, False),
])
def test_several_workers_with_counts_in_memory_are_warned_about(mode, storage, workers, warned):
    from congress.config import limiter_storage_warning

    message = limiter_storage_warning(mode, storage, workers)
    assert bool(message) is warned
    if warned:
        assert "CONGRESS_RATELIMIT_STORAGE" in message and "redis://" in message and "4" in message

"""Wrong passwords sent at once: every one is counted and the account is locked (and audited) once;
an unknown user name costs the same password check as a known one.

The parallel tests serve the app over HTTP with Werkzeug's threaded server, on PostgreSQL (on
SQLite writes are serialised by the file lock, so the race does not show there).
"""
from __future__ import annotations

import threading
import urllib.error
import urllib.parse
import urllib.request

import pytest

from congress.accounts.models import User
from congress.audit.models import AuditRecord
from congress.extensions import db
from tests.conftest import needs_postgresql
from tests.serving import LiveServer

USER = "hongbang.vanphong"
PARALLEL = 20


def post_login(url: str, username: str, password: str) -> int:
    data = urllib.parse.urlencode({"username": username, "password": password}).encode()
    request = urllib.request.Request(f"{url}/login", data=data, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def wrong_passwords_at_once(app, count: int = PARALLEL) -> list[int]:
    statuses: list[int] = []
    barrier = threading.Barrier(count)
    lock = threading.Lock()
    with LiveServer(app) as server:
        def attempt():
            barrier.wait()
            status = post_login(server.url, USER, "sai-mat-khau")
            with lock:
                statuses.append(status)

        threads = [threading.Thread(target=attempt) for _ in range(count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    return statuses


@pytest.fixture
def race_app(make_app, databases, request):
    needs_postgresql(databases.backend, "the parallel sign-in test")
    app = make_app("demo", RATELIMIT_ENABLED=False, WTF_CSRF_ENABLED=False,
                   LOGIN_LOCKOUT_ATTEMPTS=request.param,
                   SQLALCHEMY_ENGINE_OPTIONS={"pool_size": PARALLEL + 5, "max_overflow": 10})
    with app.app_context():
        yield app


def account() -> User:
    db.session.expire_all()
    return db.session.execute(db.select(User).filter_by(username=USER)).scalar_one()


def locks() -> int:
    db.session.expire_all()
    return db.session.scalar(db.select(db.func.count()).select_from(AuditRecord).where(
        AuditRecord.action == "user.locked", AuditRecord.entity_key == USER))


@pytest.mark.parametrize("race_app", [100], indirect=True)
def test_parallel_wrong_passwords_are_each_counted(race_app):
    statuses = wrong_passwords_at_once(race_app)
    assert statuses == [401] * PARALLEL
    assert account().failed_logins == PARALLEL and account().locked_until is None
    assert locks() == 0


@pytest.mark.parametrize("race_app", [5], indirect=True)
def test_parallel_wrong_passwords_lock_the_account_once(race_app):
    statuses = wrong_passwords_at_once(race_app)
    assert statuses == [401] * PARALLEL
    locked = account()
    assert locked.locked_until is not None
    assert locks() == 1


def test_an_unknown_user_costs_one_password_check_like_a_known_one(app, monkeypatch):
    """The same work whether the name exists or not (no wall clock: the number of hash checks)."""
    from congress.accounts import models
    from tests.test_web import login

    calls: list[str] = []
    real = models.check_password_hash

    def counting(pwhash, password):
        calls.append(pwhash[:6])
        return real(pwhash, password)

    monkeypatch.setattr(models, "check_password_hash", counting)
    client = app.test_client()
    assert login(client, "khong.ton.tai", "sai-mat-khau").status_code == 401
    unknown = list(calls)
    calls.clear()
    assert login(client, USER, "sai-mat-khau").status_code == 401
    known = list(calls)
    assert len(unknown) == 1 and len(known) == 1
    assert unknown[0] == known[0] == "scrypt"  # the same method, so the same cost
    # a deactivated account answers like an unknown one, after the same check
    calls.clear()
    account_row = account()
    account_row.active = False
    db.session.commit()
    assert login(client, USER, "sai-mat-khau").status_code == 401
    assert len(calls) == 1

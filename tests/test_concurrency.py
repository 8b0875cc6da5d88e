"""Fifty clients writing the same unit at once, over HTTP, against PostgreSQL.

The app is served by Werkzeug's threaded server on a free port. Half the clients move one of
phường Tứ Minh's steps (start, complete, reopen, each with the version they read), half record a
branch's delegates (read the count, PATCH it plus one, with the version they read). Every write
must be applied and audited, recognised as a repeat of the same user's write just applied
(answered with it, "repeated": true), or refused with 409; none may be lost (the branch's final count is
its first plus the accepted writes), none counted twice (one audit record per accepted write,
each version once), and no answer may be a server error.

Runs on PostgreSQL only (DATABASE_URL); ``.ci/run`` runs the suite on PostgreSQL and fails under
CI=true when it cannot be reached.
"""
from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections import Counter

import pytest

from congress.extensions import db
from tests.conftest import needs_postgresql
from tests.serving import LiveServer

TU_MINH = "10891"
CLIENTS = 50
ROUNDS = 4


@pytest.fixture
def pg_app(make_app, databases):
    needs_postgresql(databases.backend, "the concurrency test")
    app = make_app("demo", RATELIMIT_ENABLED=False,
                   SQLALCHEMY_ENGINE_OPTIONS={"pool_size": CLIENTS + 5, "max_overflow": 10})
    with app.app_context():
        yield app


def call(url: str, token: str, method: str = "GET", body: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def test_fifty_clients_lose_nothing(pg_app, capsys):
    from congress.accounts.models import User
    from congress.accounts.operations import create_token
    from congress.audit.models import AuditRecord
    from congress.progress import queries
    from congress.progress.models import Step
    from congress.units.models import Branch, Unit

    leader = db.session.execute(db.select(User).filter_by(username="tuminh.bithu")).scalar_one()
    token = create_token(leader, "concurrency")[1]
    unit = db.session.execute(db.select(Unit).filter_by(code=TU_MINH)).scalar_one()
    prep = queries.unit_preparation(unit)
    # a step the unit may move back and forth (reopen, complete): its last finished one, on which no
    # finished step depends
    step = db.session.execute(db.select(Step).where(
        Step.preparation_id == prep.id, Step.branch_id.is_(None), Step.state == "done")
        .order_by(Step.id.desc())).scalars().first()
    assert step is not None, "the demo has no finished step in phường Tứ Minh"
    branch = db.session.execute(db.select(Branch).filter_by(unit_id=unit.id).order_by(Branch.code)).scalars().first()
    first_delegates = branch.delegates or 0
    first_step_version = step.version
    step_id, step_key, branch_code, branch_id = step.id, step.key, branch.code, branch.id
    audit_before = {
        "step": db.session.scalar(db.select(db.func.count()).select_from(AuditRecord).where(
            AuditRecord.entity == "step", AuditRecord.unit_id == unit.id, AuditRecord.step_key == step_key)),
        "branch": db.session.scalar(db.select(db.func.count()).select_from(AuditRecord).where(
            AuditRecord.entity == "branch", AuditRecord.entity_key == branch_code)),
    }
    db.session.commit()

    statuses: Counter[tuple[str, int]] = Counter()
    accepted_delegates: list[int] = []
    errors: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(CLIENTS)

    with LiveServer(pg_app) as served:
        api = f"{served.url}/api/v1"

        def step_client():
            for round_ in range(ROUNDS):
                status, found = call(f"{api}/units/{TU_MINH}", token)
                if status != 200:
                    errors.append(f"reading the unit: {status} {found}")
                    return
                current = next(s for s in found["steps"] if s["key"] == step_key)
                action = {"not_started": "start", "in_progress": "complete", "done": "reopen"}.get(current["state"])
                if round_ == 0:
                    start.wait()
                if action is None:
                    errors.append(f"unexpected state {current['state']}")
                    return
                status, answer = call(f"{api}/units/{TU_MINH}/steps/{step_key}/transitions", token, "POST",
                                      {"action": action, "version": current["version"], "on": "2025-08-05",
                                       "note": "Làm lại theo góp ý."})
                with lock:
                    # the same user sending the same action on the same version as a write just
                    # applied is that write repeated: answered with it, never applied twice
                    repeated = status == 200 and isinstance(answer, dict) and answer.get("repeated") is True
                    statuses[("step", "repeated" if repeated else status)] += 1
                if status not in (200, 409):
                    errors.append(f"step {action}: {status} {answer}")

        def branch_client():
            for round_ in range(ROUNDS):
                status, found = call(f"{api}/branches/{branch_code}", token)
                if status != 200:
                    errors.append(f"reading the branch: {status} {found}")
                    return
                if round_ == 0:
                    start.wait()
                wanted = (found.get("delegates") or 0) + 1
                status, answer = call(f"{api}/branches/{branch_code}", token, "PATCH",
                                      {"version": found["version"], "delegates": wanted})
                with lock:
                    statuses[("branch", status)] += 1
                    if status == 200:
                        accepted_delegates.append(wanted)
                if status not in (200, 409):
                    errors.append(f"branch: {status} {answer}")

        threads = [threading.Thread(target=step_client if i % 2 == 0 else branch_client) for i in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)
        assert not any(t.is_alive() for t in threads), "a client never finished"

    assert not errors, errors[:10]
    assert sum(statuses.values()) == CLIENTS * ROUNDS
    step_ok, branch_ok = statuses[("step", 200)], statuses[("branch", 200)]
    assert step_ok >= 1 and branch_ok >= 1
    met = statuses[("step", 409)] + statuses[("step", "repeated")] + statuses[("branch", 409)]
    assert met >= 1, "no write ever met another"

    db.session.expire_all()
    branch = db.session.get(Branch, branch_id)
    step = db.session.get(Step, step_id)
    # no lost update: each accepted write added one, in turn
    assert branch.delegates == first_delegates + branch_ok
    assert sorted(accepted_delegates) == list(range(first_delegates + 1, first_delegates + branch_ok + 1))
    # every accepted write audited once, nothing more
    step_records = list(db.session.execute(db.select(AuditRecord).where(
        AuditRecord.entity == "step", AuditRecord.unit_id == unit.id, AuditRecord.step_key == step_key)
        .order_by(AuditRecord.id)).scalars())
    branch_records = list(db.session.execute(db.select(AuditRecord).where(
        AuditRecord.entity == "branch", AuditRecord.entity_key == branch_code)
        .order_by(AuditRecord.id)).scalars())
    assert len(step_records) - audit_before["step"] == step_ok
    assert len(branch_records) - audit_before["branch"] == branch_ok
    recorded = [r.new["delegates"] for r in branch_records[audit_before["branch"]:]]
    assert recorded == sorted(set(recorded)) == sorted(accepted_delegates)
    # the step's version moved once per accepted transition
    assert step.version == first_step_version + step_ok
    with capsys.disabled():
        print(f"\nconcurrency: {CLIENTS} clients, {sum(statuses.values())} writes, {step_ok + branch_ok} applied, "
              f"{statuses[('step', 'repeated')]} recognised as repeats, "
              f"{statuses[('step', 409)] + statuses[('branch', 409)]} refused with 409, 0 lost")

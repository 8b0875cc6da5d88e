"""Writes per second through gunicorn, and a worker's memory after the largest pages.

gunicorn is started with deploy/gunicorn.conf.py (2 workers) on the benchmark database, in
production mode. Fifty client threads (the standard library's http.client) start branch steps
through the API as fast as the server answers, one step per request, each with the version it
read; every write the server accepted must then be in the audit log. Afterwards the national
readiness API and the Hải Phòng dashboard are requested a few times, and the resident memory of
each worker is read from /proc.
"""
from __future__ import annotations

import http.client
import json
import os
import queue
import re
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path

import sqlalchemy as sa

from congress import PROJECT_ROOT
from congress.seeding.demo import DEMO_PASSWORD

from .database import app_environment
from .measures import FLIPPED_STEP, HAIPHONG, bearer, bench_app, flippable_steps

CONFIG = PROJECT_ROOT / "deploy" / "gunicorn.conf.py"


@dataclass
class Throughput:
    writes: int
    accepted: int
    refused: dict[int, int]
    seconds: float
    audited: int
    worker_rss_mb: list[float]

    @property
    def per_second(self) -> float:
        return self.accepted / self.seconds if self.seconds else 0.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _request(port: int, method: str, path: str, body: bytes | None = None,
             headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def _wait_ready(port: int, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("gunicorn stopped while starting")
        try:
            if _request(port, "GET", "/readyz")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError("gunicorn did not become ready")


def _workers(master: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == master:
                found.append(int(entry.name))
    return found


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _login(port: int, username: str) -> str:
    """A session cookie for ``username``, signed in through the login form."""
    status, headers, body = _request(port, "GET", "/login")
    cookie = SimpleCookie(headers.get("set-cookie", ""))
    token = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', body).group(1).decode()
    form = f"username={username}&password={DEMO_PASSWORD}&csrf_token={token}".encode()
    status, headers, _ = _request(port, "POST", "/login", form, {
        "Content-Type": "application/x-www-form-urlencoded", "Cookie": f"session={cookie['session'].value}"})
    if status != 302:
        raise RuntimeError(f"cannot sign in as {username} through gunicorn: {status}")
    return f"session={SimpleCookie(headers['set-cookie'])['session'].value}"


def run(url: str, writes: int, clients: int = 50, workers: int = 2, log=print) -> Throughput:
    app = bench_app(url)
    steps = flippable_steps(app, writes)
    since = _last_audit_id(url)
    admin = bearer(app, "admin")
    port = _free_port()
    env = {**app_environment(url), "CONGRESS_MODE": "production", "SECRET_KEY": "benchmark",
           "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": str(workers), "GUNICORN_ACCESSLOG": "",
           "GUNICORN_LOGLEVEL": "warning"}
    process = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", str(CONFIG)], env=env, cwd=PROJECT_ROOT)
    try:
        _wait_ready(port, process)
        log(f"  {writes} step transitions from {clients} clients through gunicorn ({workers} workers) …")
        work: queue.Queue = queue.Queue()
        for item in steps:
            work.put(item)
        accepted: list[str] = []
        refused: dict[int, int] = {}
        lock = threading.Lock()

        def client() -> None:
            while True:
                try:
                    code, _, payload = work.get_nowait()
                except queue.Empty:
                    return
                body = json.dumps(payload).encode()
                try:
                    status = _request(port, "POST", f"/api/v1/branches/{code}/steps/{FLIPPED_STEP}/transitions", body,
                                      {**admin, "Content-Type": "application/json"})[0]
                except OSError:
                    status = 0
                with lock:
                    if status == 200:
                        accepted.append(code)
                    else:
                        refused[status] = refused.get(status, 0) + 1

        threads = [threading.Thread(target=client) for _ in range(clients)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        seconds = time.perf_counter() - started

        log("  worker memory after the national readiness API and the Hải Phòng dashboard …")
        cookie = _login(port, "admin")
        for _ in range(2 * workers):
            _request(port, "GET", "/api/v1/readiness", headers=admin)
            _request(port, "GET", f"/dashboard?province={HAIPHONG}", headers={"Cookie": cookie})
        rss = [_rss_mb(pid) for pid in _workers(process.pid)]
    finally:
        process.terminate()
        process.wait(30)
    return Throughput(writes, len(accepted), refused, seconds, _audited(url, accepted, since), rss)


def _last_audit_id(url: str) -> int:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        found = conn.execute(sa.text("SELECT COALESCE(MAX(id), 0) FROM audit_records")).scalar_one()
    engine.dispose()
    return found


def _audited(url: str, codes: list[str], since: int) -> int:
    """How many of the accepted writes have their audit record (written after ``since``)."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    keys = [f"{code}/{FLIPPED_STEP}" for code in codes]
    found = 0
    statement = sa.text("SELECT COUNT(DISTINCT entity_key) FROM audit_records WHERE id > :since "
                        "AND action IN ('step.reopen', 'step.complete') AND entity_key IN :keys").bindparams(
        sa.bindparam("keys", expanding=True))
    with engine.connect() as conn:
        for start in range(0, len(keys), 500):
            found += conn.execute(statement, {"since": since, "keys": keys[start:start + 500]}).scalar_one()
    engine.dispose()
    return found


if __name__ == "__main__":  # pragma: no cover - a manual check: python -m benchmarks.throughput URL
    print(run(sys.argv[1], int(os.environ.get("WRITES", "600"))))

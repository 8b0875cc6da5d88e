"""The sign-in limit holds across gunicorn workers when they share their counts in Redis.

gunicorn is started as in production (deploy/gunicorn.conf.py, CONGRESS_MODE=production) with 4
workers and CONGRESS_RATELIMIT_STORAGE=redis://127.0.0.1:6379; 40 wrong passwords from one
address within the minute must see no more than the 20 the limit allows checked, the rest 429.
With counts in each worker's memory the four workers let up to 80 through.

Needs gunicorn, the redis package and Redis on 127.0.0.1:6379: skipped without them, except
under CI=true, where they are part of the machine and their absence fails the test.
"""
from __future__ import annotations

import http.client
import os
import re
import socket
import subprocess
import sys
import time
import uuid
from http.cookies import SimpleCookie
from pathlib import Path

import pytest

from tests.conftest import IN_CI, TODAY

ROOT = Path(__file__).resolve().parent.parent
REDIS = ("127.0.0.1", 6379)
WORKERS = 4
LIMIT = 20
TRIES = 40


def needs(what: str, ok: bool, why: str = "") -> None:
    if ok:
        return
    message = f"the sign-in limit across workers needs {what}{': ' + why if why else ''}"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def redis_reachable() -> str:
    try:
        with socket.create_connection(REDIS, timeout=2) as sock:
            sock.sendall(b"PING\r\n")
            return "" if sock.recv(16).startswith(b"+PONG") else "no PONG"
    except OSError as exc:
        return str(exc)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def request(port: int, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def serve(url: str, port: int, storage: str, prefix: str) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": url, "CONGRESS_MODE": "production", "SECRET_KEY": "workers-test",
           "CONGRESS_TODAY": TODAY.isoformat(), "CONGRESS_INSECURE_COOKIES": "1",
           "CONGRESS_RATELIMIT_STORAGE": storage, "CONGRESS_RATELIMIT_PREFIX": prefix,
           "CONGRESS_LOGIN_RATE_LIMIT": f"{LIMIT} per minute", "CONGRESS_LOGIN_LOCKOUT_ATTEMPTS": "1000",
           "CONGRESS_SCHEDULER": "0", "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": str(WORKERS),
           "GUNICORN_ACCESSLOG": "", "GUNICORN_LOGLEVEL": "warning"}
    process = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", str(ROOT / "deploy" / "gunicorn.conf.py")],
                               env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail("gunicorn stopped while starting:\n" + process.stdout.read())
        try:
            if request(port, "GET", "/readyz")[0] == 200:
                return process
        except OSError:
            pass
        time.sleep(0.3)
    process.kill()
    pytest.fail("gunicorn did not become ready")


def stop(process: subprocess.Popen) -> str:
    process.terminate()
    try:
        output, _ = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
    return output


def wrong_passwords(port: int, tries: int) -> list[int]:
    status, headers, body = request(port, "GET", "/login")
    assert status == 200
    cookie = SimpleCookie(headers["set-cookie"])["session"].value
    token = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', body)[1].decode()
    form = f"username=hongbang.vanphong&password=sai-mat-khau&csrf_token={token}".encode()
    statuses = []
    for _ in range(tries):  # a new connection each time: the workers take turns
        statuses.append(request(port, "POST", "/login", form, {
            "Content-Type": "application/x-www-form-urlencoded", "Cookie": f"session={cookie}"})[0])
    return statuses


def test_the_limit_holds_across_four_workers_sharing_redis(make_app):
    try:
        import gunicorn  # noqa: F401
        import redis  # noqa: F401
    except ImportError as exc:
        needs("gunicorn and the redis package", False, str(exc))
    problem = redis_reachable()
    needs(f"Redis on {REDIS[0]}:{REDIS[1]}", not problem, problem)

    app = make_app("demo")
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    port = free_port()
    process = serve(url, port, "redis://127.0.0.1:6379", f"congress-test-{uuid.uuid4().hex[:12]}")
    try:
        statuses = wrong_passwords(port, TRIES)
    finally:
        output = stop(process)
    checked = statuses.count(401)
    assert set(statuses) <= {401, 429}, (statuses, output)
    assert checked <= LIMIT, f"{checked} wrong passwords checked within a minute against a limit of {LIMIT}"
    assert checked == LIMIT and statuses.count(429) == TRIES - LIMIT
    assert "workers keep their sign-in counts in memory" not in output


def test_counts_in_memory_with_several_workers_are_warned_about_at_start(make_app):
    try:
        import gunicorn  # noqa: F401
    except ImportError as exc:
        needs("gunicorn", False, str(exc))
    app = make_app("demo")
    port = free_port()
    process = serve(app.config["SQLALCHEMY_DATABASE_URI"], port, "memory://", "congress")
    output = stop(process)
    assert f"{WORKERS} workers keep their sign-in counts in memory" in output
    assert "CONGRESS_RATELIMIT_STORAGE" in output

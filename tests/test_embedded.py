"""The README's first command: python -m congress serves the Hải Phòng demo on SQLite."""
import http.cookiejar
import os
import re
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(db_path: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{db_path}", "PYTHONUNBUFFERED": "1"}
    env.pop("CONGRESS_TODAY", None)
    env.pop("CONGRESS_MODE", None)
    return subprocess.Popen([sys.executable, "-m", "congress", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wait_until_serving(proc: subprocess.Popen, port: int, timeout: float = 120) -> str:
    lines = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            if proc.poll() is not None:
                pytest.fail("python -m congress exited:\n" + "".join(lines))
            continue
        lines.append(line)
        if line.startswith("Serving on"):
            break
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
            return "".join(lines)
        except OSError:
            time.sleep(0.1)
    pytest.fail("the server never answered:\n" + "".join(lines))


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    proc.stdout.close()


def test_first_start_seeds_the_demo_and_serves_it(tmp_path):
    db_path = tmp_path / "congress.db"
    port = free_port()
    proc = start(db_path, port)
    try:
        output = wait_until_serving(proc, port)
        assert "daihoi-2025" in output
        for username in ("admin", "thanhuy.lanhdao", "thanhuy.vanphong", "tuminh.bithu", "tuminh.vanphong",
                         "xem.thanhpho"):
            assert username in output
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        page = opener.open(f"http://127.0.0.1:{port}/login").read().decode("utf-8")
        assert "Đăng nhập" in page
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        form = urllib.parse.urlencode({"csrf_token": token, "username": "thanhuy.lanhdao",
                                       "password": "daihoi-2025"}).encode()
        home = opener.open(f"http://127.0.0.1:{port}/login", data=form).read().decode("utf-8")
        assert "nhiệm vụ được giao" in home
        assert "Phường Tứ Minh" in home and "Đơn vị (114)" in home
    finally:
        stop(proc)

    # a second start keeps the data and does not seed again
    proc = start(db_path, port)
    try:
        output = wait_until_serving(proc, port)
        assert "units +" not in output
    finally:
        stop(proc)

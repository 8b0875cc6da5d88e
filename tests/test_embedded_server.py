"""python -m congress serves with a production WSGI server (waitress), on --port or CONGRESS_PORT
and --host or CONGRESS_HOST, with no development server's warning (issue 16)."""
from __future__ import annotations

import os
import subprocess
import sys
import urllib.request

from tests.test_embedded import ROOT, free_port, stop, wait_until_serving


def serve(db_path, args=(), **env) -> subprocess.Popen:
    environment = {**os.environ, "DATABASE_URL": f"sqlite:///{db_path}", "PYTHONUNBUFFERED": "1",
                   "CONGRESS_SCHEDULER": "0", **env}
    for name in ("CONGRESS_TODAY", "CONGRESS_MODE", *(() if "CONGRESS_PORT" in env else ("CONGRESS_PORT",))):
        environment.pop(name, None)
    return subprocess.Popen([sys.executable, "-m", "congress", *args], cwd=ROOT, env=environment,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_served_by_waitress_on_the_given_port_without_a_development_warning(tmp_path):
    port = free_port()
    proc = serve(tmp_path / "congress.db", ["--port", str(port)])
    try:
        output = wait_until_serving(proc, port)
        answer = urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5)
        assert answer.status == 200 and answer.headers["Server"] == "congress"  # waitress's ident
        icon = urllib.request.urlopen(f"http://127.0.0.1:{port}/favicon.ico", timeout=5)
        assert icon.headers["Content-Type"].startswith("image/svg+xml")
    finally:
        proc.terminate()
        rest, _ = proc.communicate(timeout=20)
    output += rest
    assert f"Serving on http://127.0.0.1:{port}/" in output
    assert "development server" not in output.lower() and "WARNING" not in output, output


def test_the_port_and_host_from_the_environment(tmp_path):
    port = free_port()
    proc = serve(tmp_path / "congress.db", CONGRESS_PORT=str(port), CONGRESS_HOST="127.0.0.1")
    try:
        output = wait_until_serving(proc, port)
        assert urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5).status == 200
    finally:
        stop(proc)
    assert f"Serving on http://127.0.0.1:{port}/" in output

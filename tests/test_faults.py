"""Failure drills: the database goes away and comes back, the disk fills during an upload, the
scheduler is killed in the middle of its work.

- The database drill runs on PostgreSQL: the app reaches the server through a TCP relay the test
  cuts (connections refused, open ones dropped) and restores, as a stopped and restarted server
  looks to the app. Pages and the API answer 503 with a clear message while it is down and
  recover by themselves, with nothing half written.
- The full disk is a real one: a 256 KiB tmpfs mounted as the files folder (root only; skipped
  elsewhere, failed under CI=true).
- The scheduler is a real process sending through a real SMTP server that stops answering in the
  middle of a batch; the process is killed there, and the next run sends the rest, each once.
"""
from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import sqlalchemy as sa

from congress.extensions import db
from tests.conftest import BUILDERS, DEMO_PASSWORD, IN_CI, make_test_app, needs_postgresql
from tests.test_drafts import make_docx

ROOT = Path(__file__).resolve().parent.parent
TU_MINH = "10891"
API = "/api/v1"




# --- the database goes away ----------------------------------------------------------------------

class Relay:
    """A TCP relay to PostgreSQL that can be cut (new connections refused, open ones dropped) and
    restored on the same port."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.port = 0
        self.listener: socket.socket | None = None
        self.open: list[socket.socket] = []
        self.lock = threading.Lock()
        self.restore()

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        listener, self.listener = self.listener, None
        try:
            listener.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept()
        except OSError:
            pass
        listener.close()
        with self.lock:
            for connection in self.open:
                try:
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                connection.close()
            self.open.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.open += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                try:
                    end.close()
                except OSError:
                    pass


@pytest.fixture
def relayed_app(databases):
    needs_postgresql(databases.backend, "the database drill")
    url = databases.copy(databases.template("demo", BUILDERS["demo"]))
    parts = urlsplit(url)
    relay = Relay((parts.hostname or "127.0.0.1", parts.port or 5432))
    netloc = f"{parts.username + '@' if parts.username else ''}127.0.0.1:{relay.port}"
    app = make_test_app(urlunsplit(parts._replace(netloc=netloc)), RATELIMIT_ENABLED=False,
                        SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True, "connect_args": {"connect_timeout": 3}})
    try:
        yield app, relay
    finally:
        if relay.listener is None:
            relay.restore()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        relay.cut()
        databases.drop(url)


def test_database_stopped_pages_and_api_answer_503_and_recover(relayed_app):
    from congress.accounts.models import User
    from congress.accounts.operations import create_token
    from congress.audit.models import AuditRecord

    app, relay = relayed_app
    with app.app_context():
        staff = db.session.execute(db.select(User).filter_by(username="tuminh.vanphong")).scalar_one()
        token = create_token(staff, "drill")[1]
        db.session.commit()
        db.session.remove()
    bearer = {"Authorization": f"Bearer {token}"}
    browser = app.test_client()
    page = browser.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert browser.post("/login", data={"username": "tuminh.vanphong", "password": DEMO_PASSWORD,
                                        "csrf_token": csrf}).status_code == 302
    api = app.test_client()
    unit = api.get(f"{API}/units/{TU_MINH}", headers=bearer)
    assert unit.status_code == 200 and browser.get(f"/units/{TU_MINH}").status_code == 200
    step = next(s for s in unit.json["steps"] if s["state"] == "not_started")
    with app.app_context():
        audit_before = db.session.scalar(sa.select(sa.func.count()).select_from(AuditRecord))
        db.session.remove()

    relay.cut()
    page = browser.get(f"/units/{TU_MINH}")
    assert page.status_code == 503
    assert "Hiện không kết nối được cơ sở dữ liệu" in page.get_data(as_text=True)
    assert "Traceback" not in page.get_data(as_text=True)
    down = api.get(f"{API}/units/{TU_MINH}", headers=bearer)
    assert down.status_code == 503 and down.json["error"] == "database_unavailable"
    write = api.post(f"{API}/units/{TU_MINH}/steps/{step['key']}/transitions", headers=bearer,
                     json={"action": "start", "version": step["version"], "on": "2025-08-05"})
    assert write.status_code == 503 and write.json["error"] == "database_unavailable"
    assert app.test_client().get("/readyz").status_code == 503
    assert app.test_client().get("/healthz").status_code == 200  # the process itself lives

    relay.restore()
    # no restart: the next requests find the database again
    assert browser.get(f"/units/{TU_MINH}").status_code == 200
    assert app.test_client().get("/readyz").status_code == 200
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditRecord)) == audit_before
        db.session.remove()
    now = next(s for s in api.get(f"{API}/units/{TU_MINH}", headers=bearer).json["steps"] if s["key"] == step["key"])
    assert (now["state"], now["version"]) == ("not_started", step["version"])  # nothing half written
    again = api.post(f"{API}/units/{TU_MINH}/steps/{step['key']}/transitions", headers=bearer,
                     json={"action": "start", "version": step["version"], "on": "2025-08-05"})
    assert again.status_code == 200, again.json
    assert again.json["state"] == "in_progress"


# --- the disk fills during an upload ---------------------------------------------------------------

@pytest.fixture
def full_disk(tmp_path):
    folder = tmp_path / "files"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(folder)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        if IN_CI:
            pytest.fail(f"a tmpfs cannot be mounted for the full-disk drill: {mounted.stderr.strip()}")
        pytest.skip(f"mounting a tmpfs needs root: {mounted.stderr.strip()}")
    try:
        filler = folder / "filler"
        stats = os.statvfs(folder)
        # fill it up, leaving a few KiB: less than any .docx
        filler.write_bytes(b"\0" * (stats.f_bavail * stats.f_frsize - 8192))
        yield folder, filler
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_full_disk_during_upload_keeps_nothing_and_says_so(app, api_as, full_disk):
    from congress.audit.models import AuditRecord
    from congress.drafts.models import DraftVersion
    from tests.test_drafts_api import multipart

    folder, filler = full_disk
    app.config["FILES_FOLDER"] = str(folder)
    staff = api_as("unit_staff", unit=TU_MINH)
    content = make_docx("BÁO CÁO CHÍNH TRỊ", *[f"Đoạn {i}: " + os.urandom(300).hex() for i in range(30)])
    assert len(content) > 16384
    audit_before = db.session.scalar(sa.select(sa.func.count()).select_from(AuditRecord))
    versions_before = db.session.scalar(sa.select(sa.func.count()).select_from(DraftVersion))  # the demo's

    response = staff.post(f"{API}/units/{TU_MINH}/drafts/political_report/versions",
                          **multipart(content, "bao-cao.docx"))
    assert response.status_code == 507, response.json
    assert response.json["error"] == "storage_full"
    assert "hết chỗ lưu tệp" in response.json["message"]
    # nothing kept: no partial file beside the filler, no version, no audit record
    left = [p for p in folder.rglob("*") if p.is_file() and p != filler]
    assert left == []
    assert db.session.scalar(sa.select(sa.func.count()).select_from(DraftVersion)) == versions_before
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditRecord)) == audit_before

    filler.unlink()  # room again: the same upload goes through
    response = staff.post(f"{API}/units/{TU_MINH}/drafts/political_report/versions",
                          **multipart(content, "bao-cao.docx"))
    assert response.status_code == 201, response.json
    stored = [p for p in folder.rglob("*") if p.is_file()]
    assert len(stored) == 1 and stored[0].read_bytes() == content


# --- the scheduler is killed mid-run -------------------------------------------------------------

class StallingInbox:
    """An SMTP handler that accepts messages, or stops answering after ``stall_after`` of them."""

    def __init__(self, stall_after: int | None):
        self.stall_after = stall_after
        self.accepted: list[tuple[str, str]] = []
        self.stalled = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        from email import message_from_bytes

        if self.stall_after is not None and len(self.accepted) >= self.stall_after:
            self.stalled.set()
            await asyncio.sleep(3600)  # never answers: the sender waits for its reply
        message = message_from_bytes(envelope.content)
        self.accepted.append((envelope.rcpt_tos[0], message["Message-ID"] or message["Subject"]))
        return "250 OK"


def test_scheduler_killed_mid_run_sends_the_rest_once_on_the_next_run(app, tmp_path):
    from aiosmtpd.controller import Controller

    from congress.accounts.models import User
    from congress.notices.models import NoticeAddress, Notification

    staff = [u for u in db.session.execute(db.select(User)).scalars() if u.unit_id is not None]
    for user in staff:
        db.session.add(NoticeAddress(user_id=user.id, email=f"{user.username}@example.vn"))
    db.session.commit()
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    db.session.remove()
    db.engine.dispose()

    inbox = StallingInbox(stall_after=2)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    env = {**os.environ, "DATABASE_URL": url, "CONGRESS_TODAY": "2025-08-05", "CONGRESS_MODE": "testing",
           "SECRET_KEY": "test", "CONGRESS_SMTP_HOST": "127.0.0.1", "CONGRESS_SMTP_PORT": str(port),
           "CONGRESS_SMTP_TLS": "none", "CONGRESS_SMTP_SENDER": "daihoi@haiphong.example.vn"}
    command = [sys.executable, "-m", "flask", "--app", "congress", "scheduler", "run-job", "notices.reminders",
               "--day", "2025-08-05", "--at", "07:30"]
    try:
        first = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 text=True)
        assert inbox.stalled.wait(120), first.communicate(timeout=5)[0] if first.poll() is not None else "no stall"
        time.sleep(0.3)
        first.send_signal(signal.SIGKILL)  # killed while waiting on the SMTP server
        first.communicate(timeout=30)
        assert first.returncode == -signal.SIGKILL
        sent_before_the_kill = list(inbox.accepted)
        assert len(sent_before_the_kill) == 2

        inbox.stall_after = None  # the server answers again; the scheduler runs again
        second = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
        assert second.returncode == 0, second.stdout + second.stderr
        assert " 0 created" in second.stdout  # the notifications were made once, by the killed run
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            pending = db.session.scalar(sa.select(sa.func.count()).select_from(Notification)
                                        .where(Notification.email_state == "sent"))
            if pending == len(inbox.accepted):
                break
            time.sleep(0.1)
    finally:
        controller.stop()

    notices = list(db.session.execute(db.select(Notification).where(Notification.email_state.is_not(None)))
                   .scalars())
    assert len(notices) > 2
    assert all(n.email_state == "sent" for n in notices)
    # every e-mail arrived once: as many accepted as notifications, none twice
    assert len(inbox.accepted) == len(notices) == len(set(inbox.accepted))

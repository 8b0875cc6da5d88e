"""Province-wide document jobs: who may start them, one at a time per kind, format and province
(a second request joins the first), a cap on LibreOffice conversions across threads and
processes, and finished ZIPs that expire and are removed."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest

from congress.extensions import db
from tests.conftest import DEMO_PASSWORD

ROOT = Path(__file__).resolve().parent.parent
PROVINCE = "31"


def jobs_count() -> int:
    from congress.papers.models import PaperJob

    db.session.expire_all()
    return db.session.execute(db.select(db.func.count(PaperJob.id))).scalar_one()


@pytest.fixture
def jobs_app(make_app, tmp_path, monkeypatch):
    """The demo, where a started job stays queued (no worker thread) unless a test runs it."""
    from congress.papers import bundles

    app = make_app("demo", WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=False, PAPERS_FOLDER=str(tmp_path / "papers"),
                   PAPERS_LOCKS_FOLDER=str(tmp_path / "locks"))
    monkeypatch.setattr(bundles, "start", lambda app, job_id: None)
    with app.app_context():
        yield app


def user(name: str):
    from congress.accounts.models import User

    return db.session.execute(db.select(User).filter_by(username=name)).scalar_one()


def test_only_the_city_and_admins_may_start_province_jobs(jobs_app, api_as):
    from congress.accounts import permissions

    may = {name: permissions.can_start_province_jobs(user(name), PROVINCE)
           for name in ("admin", "thanhuy.lanhdao", "thanhuy.vanphong", "xem.thanhpho", "xem.tuminh",
                        "tuminh.bithu", "tuminh.vanphong")}
    assert may == {"admin": True, "thanhuy.lanhdao": True, "thanhuy.vanphong": True, "xem.thanhpho": False,
                   "xem.tuminh": False, "tuminh.bithu": False, "tuminh.vanphong": False}
    assert not permissions.can_start_province_jobs(user("thanhuy.vanphong"), "01")  # another province

    viewer = api_as("viewer", province=PROVINCE, username="xem.thanhpho")
    before = jobs_count()
    for _ in range(3):
        response = viewer.post(f"/provinces/{PROVINCE}/papers/jobs", data={"kind": "congress_plan", "format": "docx"})
        assert response.status_code == 403
    assert jobs_count() == before
    page = viewer.get(f"/provinces/{PROVINCE}/papers").get_data(as_text=True)
    assert f"/provinces/{PROVINCE}/papers/jobs" not in page  # no button that would be refused
    city = api_as("city_leader", province=PROVINCE, username="thanhuy.lanhdao")
    assert f"/provinces/{PROVINCE}/papers/jobs" in city.get(f"/provinces/{PROVINCE}/papers").get_data(as_text=True)


def test_a_second_request_joins_the_job_that_is_running(jobs_app, api_as):
    from congress.papers import bundles
    from congress.papers.models import PaperJob

    staff = api_as("city_staff", province=PROVINCE, username="thanhuy.vanphong")
    leader = jobs_app.test_client()  # signed in (a session): the page shows what the request was told
    assert leader.post("/login", data={"username": "thanhuy.lanhdao", "password": DEMO_PASSWORD}).status_code == 302
    form = {"kind": "congress_plan", "format": "docx"}
    first = staff.post(f"/provinces/{PROVINCE}/papers/jobs", data=form)
    assert first.status_code == 302
    token = first.headers["Location"].rsplit("/", 1)[1]
    second = leader.post(f"/provinces/{PROVINCE}/papers/jobs", data=form)
    assert second.headers["Location"].rsplit("/", 1)[1] == token
    page = leader.get(second.headers["Location"]).get_data(as_text=True)
    assert "already being made" in page or "đang được tạo" in page
    assert jobs_count() == 1
    # another format (or kind) is another job
    other = staff.post(f"/provinces/{PROVINCE}/papers/jobs", data={"kind": "congress_plan", "format": "pdf"})
    assert other.headers["Location"].rsplit("/", 1)[1] != token
    assert jobs_count() == 2
    # once the first is finished, a new request makes a new one
    job = db.session.execute(db.select(PaperJob).filter_by(token=token)).scalar_one()
    bundles.run(jobs_app, job.id)
    db.session.expire_all()
    assert db.session.get(PaperJob, job.id).state == "done"
    again = leader.post(f"/provinces/{PROVINCE}/papers/jobs", data=form)
    assert again.headers["Location"].rsplit("/", 1)[1] not in (token,)
    assert jobs_count() == 3


def test_simultaneous_requests_make_one_job(jobs_app):
    from congress.papers import operations
    from congress.units.models import Province

    barrier = threading.Barrier(4)
    tokens, errors = [], []

    def request(name: str) -> None:
        with jobs_app.app_context():
            try:
                actor = user(name)
                barrier.wait(timeout=10)
                job = operations.start_province_job(db.session.get(Province, PROVINCE), "result_report", "docx",
                                                    actor)
                db.session.commit()
                tokens.append(job.token)
            except Exception as exc:  # pragma: no cover - shown by the assertion
                errors.append(repr(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=request, args=(name,)) for name in
               ("admin", "thanhuy.lanhdao", "thanhuy.vanphong", "admin")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert len(tokens) == 4 and len(set(tokens)) == 1
    assert jobs_count() == 1


def test_a_finished_zip_expires_and_is_removed(jobs_app, api_as, tmp_path):
    from congress.papers import bundles, operations, sweep
    from congress.papers.models import PaperJob
    from congress.units.models import Province

    jobs_app.config["PAPERS_JOB_HOURS"] = 24
    job = operations.start_province_job(db.session.get(Province, PROVINCE), "congress_plan", "docx", user("admin"))
    db.session.commit()
    bundles.run(jobs_app, job.id)
    db.session.expire_all()
    job = db.session.get(PaperJob, job.id)
    assert job.state == "done"
    finished = job.finished_at
    assert job.expires_at - finished == timedelta(hours=24)
    path = bundles.jobs_folder() / job.path
    assert path.is_file()
    city = api_as("city_staff", province=PROVINCE, username="thanhuy.vanphong")
    assert "24" in city.get(f"/papers/jobs/{job.token}").get_data(as_text=True)  # says how long it is kept

    sweep.sweep_jobs(now=finished + timedelta(hours=23))
    db.session.expire_all()
    assert path.is_file() and db.session.get(PaperJob, job.id).state == "done"
    sweep.sweep_jobs(now=finished + timedelta(hours=25))
    db.session.expire_all()
    job = db.session.get(PaperJob, job.id)
    assert not path.exists()
    assert job.state == "expired"
    assert city.get(f"/papers/jobs/{job.token}.json").json["state"] == "expired"
    assert city.get(f"/papers/jobs/{job.token}/download").status_code == 410
    page = city.get(f"/papers/jobs/{job.token}").get_data(as_text=True)
    assert "removed" in page or "bị xóa" in page
    # a ZIP that no job names (a database restored from a backup) goes too, once it is old
    stray = bundles.jobs_folder() / ("f" * 32 + ".zip")
    stray.write_bytes(b"PK")
    sweep.sweep_jobs()
    assert stray.exists()
    old = time.time() - 3600
    os.utime(stray, (old, old))
    sweep.sweep_jobs()
    assert not stray.exists()


def fake_soffice(tmp_path: Path, log: Path, seconds: float) -> str:
    """A LibreOffice that notes when it starts and ends, takes its time and writes each PDF."""
    path = tmp_path / "soffice"
    path.write_text(f"""#!/bin/sh
out=""; prev=""
for a in "$@"; do if [ "$prev" = "--outdir" ]; then out="$a"; fi; prev="$a"; done
echo start >> {log}
sleep {seconds}
for a in "$@"; do case "$a" in
  *.docx) b=$(basename "$a" .docx); printf '%%PDF-1.4 fake %%%%EOF' > "$out/$b.pdf";;
esac; done
echo end >> {log}
""")
    path.chmod(0o755)
    return str(path)


def most_at_once(log: Path) -> int:
    running = most = 0
    for line in log.read_text().split():
        running += 1 if line == "start" else -1
        most = max(most, running)
    return most


def test_pdf_downloads_wait_for_a_free_conversion(jobs_app, api_as, tmp_path):
    log = tmp_path / "conversions"
    jobs_app.config.update(PAPERS_SOFFICE=fake_soffice(tmp_path, log, 0.4), PAPERS_MAX_CONVERSIONS=1)
    clients = [api_as("unit_staff", unit="10891", username="tuminh.vanphong") for _ in range(4)]
    statuses = []

    def download(client) -> None:
        statuses.append(client.get("/units/10891/papers/congress_plan.pdf").status_code)

    threads = [threading.Thread(target=download, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert statuses == [200] * 4
    assert log.read_text().split().count("start") == 4
    assert most_at_once(log) == 1


def test_a_download_that_waits_too_long_is_told_to_try_again(jobs_app, api_as, tmp_path):
    from congress.papers import limits

    jobs_app.config.update(PAPERS_SOFFICE=fake_soffice(tmp_path, tmp_path / "log", 0), PAPERS_MAX_CONVERSIONS=1,
                           PAPERS_CONVERSION_WAIT=0.3)
    staff = api_as("unit_staff", unit="10891", username="tuminh.vanphong")
    with limits.conversion_slot():  # someone else's conversion holds the only slot
        response = staff.get("/units/10891/papers/congress_plan.pdf", headers={"Accept": "application/json"})
    assert response.status_code == 503
    assert response.json["error"] == "conversion_busy"
    assert staff.get("/units/10891/papers/congress_plan.pdf").status_code == 200


SLOT_SCRIPT = """
import json, sys, time
from congress import create_app
from congress.papers import limits
settings = json.loads(sys.argv[1])
app = create_app(settings, mode="testing")
with app.app_context():
    with limits.conversion_slot():
        with open(settings["LOG"], "a") as log:
            log.write("start\\n")
        time.sleep(0.5)
        with open(settings["LOG"], "a") as log:
            log.write("end\\n")
"""


def test_the_cap_holds_across_processes(jobs_app, tmp_path):
    log = tmp_path / "slots"
    log.touch()
    settings = {"SQLALCHEMY_DATABASE_URI": jobs_app.config["SQLALCHEMY_DATABASE_URI"], "SECRET_KEY": "x",
                "PAPERS_MAX_CONVERSIONS": 2, "PAPERS_LOCKS_FOLDER": jobs_app.config["PAPERS_LOCKS_FOLDER"],
                "LOG": str(log)}
    processes = [subprocess.Popen([sys.executable, "-c", SLOT_SCRIPT, json.dumps(settings)], cwd=ROOT)
                 for _ in range(5)]
    for process in processes:
        assert process.wait(timeout=120) == 0
    assert log.read_text().split().count("start") == 5
    assert most_at_once(log) == 2  # two at once, never more

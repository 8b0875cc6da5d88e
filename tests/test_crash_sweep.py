"""Nothing half-done after a crash: a process killed (SIGKILL) mid-upload or mid-job leaves files
and a "running" row behind; the sweep (run on start and periodically by the scheduler) removes the
files once they are old enough never to belong to an upload in progress, and the heartbeat fails
the job of a worker that died at once, so it may be started again."""
from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from congress.clock import utcnow
from congress.extensions import db
from tests.test_drafts import make_docx

ROOT = Path(__file__).resolve().parent.parent
PROVINCE = "31"
TU_MINH = "10891"


def user(name: str):
    from congress.accounts.models import User

    return db.session.execute(db.select(User).filter_by(username=name)).scalar_one()


@pytest.fixture
def crash_app(make_app, tmp_path, monkeypatch):
    from congress.papers import bundles

    app = make_app("demo", PAPERS_FOLDER=str(tmp_path / "papers"), FILES_FOLDER=str(tmp_path / "files"),
                   PAPERS_LOCKS_FOLDER=str(tmp_path / "locks"), PAPERS_JOB_HEARTBEAT=0.2)
    monkeypatch.setattr(bundles, "start", lambda app, job_id: None)
    with app.app_context():
        yield app


def settings_of(app) -> dict:
    keys = ("SQLALCHEMY_DATABASE_URI", "PAPERS_FOLDER", "FILES_FOLDER", "PAPERS_LOCKS_FOLDER", "PAPERS_JOB_HEARTBEAT")
    return {"SECRET_KEY": "x", **{k: app.config[k] for k in keys}}


#: a worker process: the app on the test's database, then the given lines; it prints READY at the
#: point where the test kills it
WORKER = """
import datetime, json, os, sys, time
from congress import create_app
from congress.extensions import db
settings = json.loads(sys.argv[1])
settings["CONGRESS_TODAY"] = datetime.date(2025, 8, 5)
app = create_app(settings, mode="testing")
def ready():
    print("READY", flush=True)
    time.sleep(600)
with app.app_context():
{body}
"""


def start_worker(app, body: str, *args: str) -> subprocess.Popen:
    script = WORKER.format(body="\n".join("    " + line for line in body.strip().splitlines()))
    return subprocess.Popen([sys.executable, "-c", script, json.dumps(settings_of(app)), *args], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)


def kill_when_ready(process: subprocess.Popen, timeout: float = 120) -> None:
    """Wait for READY, then kill -9 the process, as a crash or the OOM killer would."""
    deadline = time.monotonic() + timeout
    line = process.stdout.readline()
    assert line.strip() == "READY", f"the worker stopped before the kill: {line!r} (exit {process.poll()})"
    assert time.monotonic() < deadline
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    process.stdout.close()
    assert process.returncode == -signal.SIGKILL


def files_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def test_a_worker_killed_mid_upload_leaves_nothing_after_the_sweep(crash_app):
    from congress.drafts import storage
    from congress.drafts.models import DraftVersion

    folder = Path(crash_app.config["FILES_FOLDER"])
    # 1. killed while writing the file: a partial .upload-* stays
    writing = start_worker(crash_app, """
from congress.drafts import storage
os.fsync = lambda fd: ready()
storage.put(b"x" * 100_000, "a" * 64)
""")
    kill_when_ready(writing)
    # 2. killed after the file is in place, before its row was committed: a file nobody names
    content = make_docx("Báo cáo chính trị, dự thảo lần 9")
    uploading = start_worker(crash_app, """
from congress.accounts.models import User
from congress.drafts import operations
from congress.units.models import Unit
operations._next_number = lambda *a, **k: ready()
unit = db.session.execute(db.select(Unit).filter_by(code="10891")).scalar_one()
staff = db.session.execute(db.select(User).filter_by(username="tuminh.vanphong")).scalar_one()
operations.upload_version(unit, "political_report", filename="du-thao.docx", content=open(sys.argv[2], "rb").read(),
                          note=None, actor=staff)
""", str(write(folder.parent / "upload.docx", content)))
    kill_when_ready(uploading)
    orphan = storage.path_of(hashlib.sha256(content).hexdigest())
    partials = [p for p in files_in(folder) if p.name.startswith(".upload-")]
    assert len(partials) == 1 and orphan.is_file()
    assert not db.session.execute(db.select(DraftVersion).filter_by(sha256=orphan.name)).first()

    # a file that a row names, kept whatever its age
    from congress.drafts import operations

    kept = make_docx("Báo cáo chính trị, dự thảo lần 1")
    operations.upload_version(unit_of(TU_MINH), "political_report", filename="bc.docx", content=kept, note=None,
                              actor=user("tuminh.vanphong"))
    db.session.commit()
    named = storage.path_of(hashlib.sha256(kept).hexdigest())
    for path in files_in(folder):
        os.utime(path, (time.time() - 7200,) * 2)

    # right after the crash nothing is touched: it could be an upload in progress
    assert storage.sweep(at=time.time() - 7200).created == 0
    result = storage.sweep()
    assert result.created == 2
    assert files_in(folder) == [named]


def test_an_upload_in_progress_is_never_swept(crash_app):
    from congress.drafts import storage

    folder = Path(crash_app.config["FILES_FOLDER"])
    partial = folder / "ab" / ".upload-x1"
    partial.parent.mkdir(parents=True)
    partial.write_bytes(b"half")
    complete = storage.put(b"whole", "ab" + "0" * 62)  # just written; its row is not committed yet
    assert storage.sweep().created == 0
    assert partial.exists() and complete.exists()
    grace = crash_app.config["FILES_GRACE_MINUTES"]
    assert storage.sweep(at=time.time() + 60 * (grace + 1)).created == 2
    assert not partial.exists() and not complete.exists()
    # a repeated upload of content already on disk makes its file young again
    old = storage.put(b"again", "cd" + "0" * 62)
    os.utime(old, (time.time() - 7200,) * 2)
    storage.put(b"again", "cd" + "0" * 62)
    assert storage.sweep().created == 0 and old.exists()


def write(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


def unit_of(code: str):
    from congress.units.models import Unit

    return db.session.execute(db.select(Unit).filter_by(code=code)).scalar_one()


def test_a_worker_killed_mid_job_is_failed_by_its_heartbeat(crash_app, api_as):
    from congress.papers import bundles, operations, sweep
    from congress.papers.models import PaperJob
    from congress.units.models import Province

    province = db.session.get(Province, PROVINCE)
    job = operations.start_province_job(province, "congress_plan", "docx", user("thanhuy.vanphong"))
    db.session.commit()
    worker = start_worker(crash_app, """
from congress.papers import bundles, generate
made = generate.unit_paper
count = []
def slow(unit, kind, **kw):
    count.append(unit)
    if len(count) == 5:
        ready()
    return made(unit, kind, **kw)
generate.unit_paper = slow
bundles.run(app, int(sys.argv[2]))
""", str(job.id))
    kill_when_ready(worker)
    db.session.expire_all()
    job = db.session.get(PaperJob, job.id)
    partial = bundles.jobs_folder() / f"{job.token}.part"
    assert job.state == "running" and job.done == 4 and partial.exists()
    assert job.heartbeat_at is not None

    time.sleep(6 * crash_app.config["PAPERS_JOB_HEARTBEAT"] + 0.5)  # a few beats missed
    city = api_as("city_staff", province=PROVINCE, username="thanhuy.vanphong")
    status = city.get(f"/papers/jobs/{job.token}.json").json
    assert status["state"] == "failed" and status["error"] == "worker_stopped"
    page = city.get(f"/papers/jobs/{job.token}").get_data(as_text=True)
    assert "stopped" in page or "dừng" in page

    sweep.sweep_jobs()
    db.session.expire_all()
    job = db.session.get(PaperJob, job.id)
    assert job.state == "failed" and job.error == "worker_stopped" and job.finished_at is not None
    assert not partial.exists()
    # the user may start again: a new job, not the dead one
    again = operations.start_province_job(province, "congress_plan", "docx", user("thanhuy.vanphong"))
    db.session.commit()
    assert again.id != job.id and not again.joined


def test_a_running_job_beats_while_it_waits_for_a_conversion(crash_app):
    from congress.papers import bundles, limits, operations
    from congress.papers.models import PaperJob
    from congress.units.models import Province

    crash_app.config.update(PAPERS_MAX_CONVERSIONS=1, PAPERS_SOFFICE="/bin/true")
    job = operations.start_province_job(db.session.get(Province, PROVINCE), "congress_plan", "pdf", user("admin"))
    db.session.commit()
    import threading

    with limits.conversion_slot():  # the only slot is taken: the job waits for it, alive
        thread = threading.Thread(target=bundles.run, args=(crash_app, job.id), daemon=True)
        thread.start()
        beats = set()
        for _ in range(20):
            time.sleep(0.2)
            db.session.expire_all()
            found = db.session.get(PaperJob, job.id)
            if found.heartbeat_at is not None:
                beats.add(found.heartbeat_at)
        assert found.state == "running" and found.shown_state == "running"
        assert len(beats) >= 3
    thread.join(timeout=60)
    db.session.expire_all()
    assert db.session.get(PaperJob, job.id).state == "failed"  # /bin/true makes no PDF


def test_leftovers_of_jobs_are_swept(crash_app):
    """A .part of a job that is not running, and a job that stopped beating, found by the sweep."""
    from congress.papers import bundles, operations, sweep
    from congress.papers.models import PaperJob
    from congress.units.models import Province

    province = db.session.get(Province, PROVINCE)
    dead = operations.start_province_job(province, "congress_plan", "docx", user("admin"))
    alive = operations.start_province_job(province, "result_report", "docx", user("admin"))
    db.session.flush()
    dead.state = alive.state = "running"
    dead.heartbeat_at = utcnow() - timedelta(minutes=5)
    alive.heartbeat_at = utcnow()
    db.session.commit()
    folder = bundles.jobs_folder()
    for job in (dead, alive):
        (folder / f"{job.token}.part").write_bytes(b"PK")
    (folder / ("e" * 32 + ".part")).write_bytes(b"PK")  # no job at all
    result = sweep.sweep_jobs()
    assert result.created == 3  # one job failed, two files removed
    db.session.expire_all()
    assert db.session.get(PaperJob, dead.id).state == "failed"
    assert db.session.get(PaperJob, alive.id).state == "running"
    assert sorted(p.name for p in folder.iterdir()) == [f"{alive.token}.part"]


def test_the_scheduler_runs_the_sweeps(crash_app):
    from congress.notices import scheduler

    ids = [spec.id for spec in scheduler.sweep_specs(crash_app)]
    assert "papers.sweep" in ids and "drafts.sweep" in ids
    results = scheduler.catch_up(crash_app)  # what the acting scheduler does on start
    assert {"papers.sweep", "drafts.sweep"} <= {r.job for r in results}
    built = scheduler.build_scheduler(crash_app)
    built.start(paused=True)
    try:
        assert built.get_job("papers.sweep") is not None and built.get_job("drafts.sweep") is not None
    finally:
        built.shutdown(wait=False)


# --- spreadsheet imports ---------------------------------------------------------------------

def import_facts(batch_id: int) -> tuple:
    """The batch as the database holds it, and how many rows it has staged."""
    from congress.transfers.models import ImportBatch, ImportRow

    db.session.expire_all()
    batch = db.session.get(ImportBatch, batch_id)
    staged_rows = db.session.execute(db.select(db.func.count(ImportRow.id)).filter_by(batch_id=batch_id)).scalar_one()
    return batch, staged_rows


def branch_count() -> int:
    from congress.units.models import Branch

    return db.session.execute(db.select(db.func.count(Branch.id))).scalar_one()


def test_a_worker_killed_mid_reading_leaves_an_import_the_sweep_fails(crash_app, api_as):
    from congress.background import stale_after
    from congress.transfers import importing
    from congress.transfers.models import ImportBatch
    from congress.transfers.sweep import sweep
    from tests.test_import_bulk import branch_rows
    from tests.test_transfers import BRANCH_HEADINGS, csv_bytes

    content = csv_bytes([BRANCH_HEADINGS] + branch_rows(3000))
    source = write(Path(crash_app.config["FILES_FOLDER"]).parent / "chi-bo.csv", content)
    worker = start_worker(crash_app, """
from congress.accounts.models import User
from congress.transfers import importing
staging = importing._stage
def first_chunk(*args):
    staging(*args)  # the chunk's rows staged and committed, with the batch's progress
    time.sleep(5 * app.config["PAPERS_JOB_HEARTBEAT"])  # alive for a few beats, then killed
    ready()
importing._stage = first_chunk
admin = db.session.execute(db.select(User).filter_by(username="admin")).scalar_one()
batch = importing.start_import("branches", "chi-bo-crash.csv", open(sys.argv[2], "rb").read(), admin)
db.session.commit()
importing.run(app, batch.id)
""", str(source))
    kill_when_ready(worker)
    batch_id = db.session.execute(db.select(ImportBatch.id).filter_by(filename="chi-bo-crash.csv")).scalar_one()
    batch, staged_rows = import_facts(batch_id)
    # what the crash leaves: a row being read, its upload and the first chunk staged
    assert batch.state == "reading" and batch.error is None
    assert batch.content == content
    assert staged_rows == importing.CHUNK and batch.done == importing.CHUNK
    assert batch.heartbeat_at is not None
    # a worker that may still be alive is left alone
    beat = batch.heartbeat_at
    assert sweep(now=beat + timedelta(seconds=stale_after() / 2)).created == 0
    assert import_facts(batch_id)[0].state == "reading"

    time.sleep(stale_after() + 0.5)  # a few beats missed
    batch, _ = import_facts(batch_id)
    assert batch.shown_state == "failed" and batch.shown_error == "import_worker_stopped"
    admin_api = api_as("admin", username="admin")
    status = admin_api.get(f"/api/v1/imports/{batch.token}").json
    assert status["state"] == "failed" and status["error"]["code"] == "import_worker_stopped"

    result = sweep()
    assert result.created == 1, result.details
    batch, staged_rows = import_facts(batch_id)
    assert (batch.state, batch.error, batch.content) == ("failed", "import_worker_stopped", None)
    assert batch.finished_at is not None and staged_rows == 0
    assert batch.shown_state == "failed" and batch.shown_error == "import_worker_stopped"
    # a second sweep finds nothing left to do
    assert sweep().created == 0
    again, staged_rows = import_facts(batch_id)
    assert (again.state, again.error, again.content, again.updated_at) == ("failed", "import_worker_stopped", None,
                                                                           batch.updated_at)
    assert staged_rows == 0


def test_a_worker_killed_mid_apply_changes_nothing_and_the_import_can_be_confirmed_again(crash_app, api_as):
    from congress.background import stale_after
    from congress.transfers import importing
    from congress.transfers.sweep import sweep
    from tests.test_import_bulk import branch_rows
    from tests.test_transfers import BRANCH_HEADINGS, csv_bytes, staged

    admin = user("admin")
    rows = branch_rows(1200)  # three chunks of 500
    batch = staged("branches", "chi-bo.csv", csv_bytes([BRANCH_HEADINGS] + rows), admin)
    assert batch.state == "previewed", batch.error
    batch_id, token, counts = batch.id, batch.token, dict(batch.counts)
    assert counts["new"] + counts["warning"] == 1200 and counts["error"] == 0
    before = branch_count()
    db.session.commit()
    worker = start_worker(crash_app, """
from congress.transfers import importing
from congress.transfers.models import ImportBatch
from congress.accounts.models import User
app.config["TRANSFERS_JOBS_INLINE"] = False
batch = db.session.get(ImportBatch, int(sys.argv[2]))
admin = db.session.get(User, batch.user_id)
assert importing.confirm(batch, admin, accept_completed_changes=True) is None  # marked applying
db.session.commit()
applying = importing.BranchApplier.apply
def first_chunk(self, rows):
    applying(self, rows)
    db.session.flush()  # the chunk's branches written, in the transaction that is never committed
    time.sleep(5 * app.config["PAPERS_JOB_HEARTBEAT"])  # alive for a few beats, then killed
    ready()
importing.BranchApplier.apply = first_chunk
importing.run_apply(app, batch.id, True)
""", str(batch_id))
    kill_when_ready(worker)
    # the worker's transaction died with it: not one branch of the import exists
    batch, staged_rows = import_facts(batch_id)
    assert branch_count() == before
    assert batch.state == "applying" and batch.error is None and staged_rows == 1200

    time.sleep(stale_after() + 0.5)  # a few beats missed
    batch, _ = import_facts(batch_id)
    # its confirmation changed nothing: the preview stands, saying why
    assert batch.shown_state == "previewed" and batch.shown_error == "import_apply_stopped"
    admin_api = api_as("admin", username="admin")
    status = admin_api.get(f"/api/v1/imports/{token}").json
    assert status["state"] == "previewed" and status["error"]["code"] == "import_apply_stopped"

    result = sweep()
    assert result.created == 1, result.details
    batch, staged_rows = import_facts(batch_id)
    assert (batch.state, batch.error) == ("previewed", "import_apply_stopped")
    assert batch.shown_state == "previewed" and staged_rows == 1200 and batch.counts == counts
    assert sweep().created == 0
    assert import_facts(batch_id)[0].state == "previewed"

    # confirmed again, it applies every row
    crash_app.config["TRANSFERS_JOBS_INLINE"] = True
    done = importing.confirm(batch, admin, accept_completed_changes=True)
    db.session.commit()
    assert done is not None and done["new"] == 1200
    batch, _ = import_facts(batch_id)
    assert (batch.state, batch.error) == ("applied", None)
    assert branch_count() == before + 1200

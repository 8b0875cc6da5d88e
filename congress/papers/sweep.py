"""The papers' housekeeping: what a crash or time leaves in PAPERS_FOLDER and in paper_jobs.

Run by the scheduler once when it starts acting and then every minute (congress.notices.scheduler
``sweep_specs``), and in part wherever a job is read or started:

- a queued or running job whose heartbeat is older than HEARTBEAT_MISSES beats died with its
  worker (kill -9, a restart, the OOM killer): failed with ``worker_stopped``, so its user may
  start it again at once;
- a ``.part`` of a job that is not running (or of no job) is removed;
- a finished ZIP past its ``expires_at`` (PAPERS_JOB_HOURS after it was made) is removed and its
  job marked ``expired``;
- a ZIP no finished job names (a database restored from a backup) is removed once it is older
  than FILES_GRACE_MINUTES (a job renames its ZIP into place just before it marks itself done).
"""
from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

import sqlalchemy as sa

from congress.clock import today, utcnow
from congress.extensions import db

from .models import MOVING_STATES, PaperJob, stale_after

log = logging.getLogger(__name__)
JOBS = PaperJob.__table__


def fail_dead_jobs(now: datetime | None = None, **key: str) -> int:
    """Fail the queued or running jobs whose worker stopped beating (of one kind, format and
    province with ``province_code=``, ``kind=``, ``format=``). In the caller's transaction."""
    now = now or utcnow()
    condition = [JOBS.c.state.in_(MOVING_STATES), JOBS.c.heartbeat_at < now - timedelta(seconds=stale_after())]
    condition += [JOBS.c[name] == value for name, value in key.items()]
    result = db.session.execute(sa.update(JOBS).where(*condition).values(
        state="failed", error="worker_stopped", finished_at=now, updated_at=now))
    return result.rowcount or 0


def sweep_jobs(now: datetime | None = None, at: float | None = None):
    """The whole sweep; returns a notices JobResult (``created``: jobs failed or expired, files
    removed). ``now`` is the rows' clock (congress.clock), ``at`` the files' (epoch seconds, the
    real clock files are dated by); both default to now."""
    from congress.notices.jobs import JobResult

    from .bundles import jobs_folder

    now = now or utcnow()
    result = JobResult("papers.sweep", today())
    failed = fail_dead_jobs(now)
    expiring = db.session.execute(sa.select(JOBS.c.id, JOBS.c.path).where(
        JOBS.c.state == "done", JOBS.c.expires_at <= now)).all()
    if expiring:
        db.session.execute(sa.update(JOBS).where(JOBS.c.id.in_([row.id for row in expiring]))
                           .values(state="expired", updated_at=now))
    db.session.commit()
    folder = jobs_folder()
    removed = 0
    for row in expiring:  # the rows say expired first, so no one is offered a file being removed
        if row.path and _unlink(folder / row.path):
            removed += 1
    running = set(db.session.execute(sa.select(JOBS.c.token).where(JOBS.c.state == "running")).scalars())
    finished = set(db.session.execute(sa.select(JOBS.c.path).where(JOBS.c.state == "done")).scalars())
    db.session.commit()
    grace = (time.time() if at is None else at) - _grace_seconds()
    for path in folder.iterdir():
        if not path.is_file():
            continue
        if path.suffix == ".part" and path.stem not in running:
            removed += _unlink(path)
        elif path.suffix == ".zip" and path.name not in finished and _mtime(path) < grace:
            removed += _unlink(path)
    result.created = failed + len(expiring) + removed
    result.details = [f"{failed} jobs failed (no heartbeat)", f"{len(expiring)} expired", f"{removed} files removed"]
    if result.created:
        log.info("papers sweep: %s", ", ".join(result.details))
    return result


def run(now: datetime | None = None):
    """The scheduler's entry point (``now`` in local time, as for every scheduled job)."""
    return sweep_jobs()


def _grace_seconds() -> float:
    from flask import current_app

    return 60 * float(current_app.config.get("FILES_GRACE_MINUTES", 10))


def _mtime(path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return float("inf")


def _unlink(path) -> int:
    try:
        path.unlink()
    except FileNotFoundError:
        return 0
    return 1

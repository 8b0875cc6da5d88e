"""APScheduler set-up: the jobs on cron triggers in local time, and one acting scheduler per database.

Several app processes may run; only the one holding the lock schedules. On PostgreSQL the lock is
an advisory lock (pg_try_advisory_lock) held on a dedicated connection for as long as the
scheduler runs: if the process dies, the connection closes and another process takes over. On
SQLite the lock is an exclusive lock on a file beside the database (one process acts).

On taking the lock the scheduler runs every job once: after downtime each missed job thus runs
once (the jobs work out the day they are due for), not once per missed day. Within a run,
``coalesce`` folds missed firings into one and the long ``misfire_grace_time`` still runs it.
"""
from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from flask import Flask
from sqlalchemy.engine import make_url

from congress.extensions import db

from . import jobs

log = logging.getLogger(__name__)
TIMEZONE = "Asia/Ho_Chi_Minh"
#: the advisory lock's key: "congress" in ASCII, a constant every process shares
LOCK_KEY = 0x636F6E6772657373
#: a firing late by up to a day still runs (once, coalesced)
MISFIRE_GRACE = 24 * 3600


@dataclass(frozen=True)
class JobSpec:
    id: str
    function: Callable
    trigger: CronTrigger


def job_specs(app: Flask) -> list[JobSpec]:
    """The jobs, their stable ids and their cron triggers (local time)."""
    hour = app.config["NOTICES_DIGEST_HOUR"]
    return [
        JobSpec("readiness.new_day", jobs.recompute_readiness, CronTrigger(hour=0, minute=1, timezone=TIMEZONE)),
        JobSpec("notices.reminders", jobs.send_reminders, CronTrigger(hour=7, minute=30, timezone=TIMEZONE)),
        JobSpec("notices.city_alerts", jobs.send_city_alerts, CronTrigger(hour=8, minute=0, timezone=TIMEZONE)),
        JobSpec("notices.digests", jobs.send_digests,
                CronTrigger(day_of_week="mon-fri", hour=hour, minute=0, timezone=TIMEZONE)),
        # just after midnight: the day that ended, as it was at its end
        JobSpec("notices.snapshots", jobs.record_readiness, CronTrigger(hour=0, minute=5, timezone=TIMEZONE)),
    ]


#: housekeeping beside the notices, each module registering its own sweep: (id, "module:function"
#: called without arguments and returning a JobResult, minutes between runs). Each runs once when
#: the scheduler starts acting (what a crash left is swept at once), then on its interval.
SWEEPS: list[tuple[str, str, int]] = [
    ("papers.sweep", "congress.papers.sweep:run", 1),  # dead jobs, stray .part, expired ZIPs
    ("drafts.sweep", "congress.drafts.storage:sweep", 5),  # partial and unnamed uploaded files
    ("transfers.sweep", "congress.transfers.sweep:sweep", 1),  # imports whose worker died
]


def sweep_specs(app: Flask) -> list[JobSpec]:
    import importlib

    specs = []
    for job_id, target, minutes in SWEEPS:
        module, name = target.split(":")
        specs.append(JobSpec(job_id, getattr(importlib.import_module(module), name),
                             CronTrigger(minute=f"*/{minutes}", timezone=TIMEZONE)))
    return specs


def run_job(app: Flask, job_id: str, now: datetime | None = None) -> jobs.JobResult:
    """Run one job (or sweep) in its own application context (a database session of its own)."""
    sweeps = {spec.id: spec.function for spec in sweep_specs(app)}
    with app.app_context():
        try:
            result = sweeps[job_id]() if job_id in sweeps else jobs.JOBS[job_id](now)
            log.info("%s for %s: %s created, %s e-mailed%s", job_id, result.day, result.created, result.emailed,
                     f" (skipped: {result.skipped})" if result.skipped else "")
            return result
        except Exception:
            db.session.rollback()
            log.exception("job %s failed", job_id)
            raise
        finally:
            db.session.remove()


def build_scheduler(app: Flask) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone=TIMEZONE, job_defaults={
        "coalesce": True, "misfire_grace_time": MISFIRE_GRACE, "max_instances": 1})
    for spec in job_specs(app) + sweep_specs(app):
        scheduler.add_job(_scheduled, spec.trigger, args=[app, spec.id], id=spec.id, name=spec.id,
                          replace_existing=True)
    return scheduler


def _scheduled(app: Flask, job_id: str) -> None:
    try:
        run_job(app, job_id)
    except Exception:  # logged in run_job; the scheduler keeps going
        pass


def catch_up(app: Flask) -> list[jobs.JobResult]:
    """Every job and sweep once, now (idempotent: what was already done is not done again)."""
    results = []
    for spec in job_specs(app) + sweep_specs(app):
        try:
            results.append(run_job(app, spec.id))
        except Exception:
            continue
    return results


# --- the lock ---------------------------------------------------------------------------------

class SchedulerLock:
    """Held by the one acting scheduler; ``acquire`` does not wait."""

    def __init__(self, app: Flask):
        self.app = app
        self.url = app.config["SQLALCHEMY_DATABASE_URI"]
        self.connection = None
        self.engine = None
        self.file = None

    @property
    def postgres(self) -> bool:
        return self.url.startswith("postgresql")

    def acquire(self) -> bool:
        if self.postgres:
            engine = sa.create_engine(self.url, poolclass=sa.pool.NullPool)
            connection = engine.connect()
            got = connection.execute(sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": LOCK_KEY}).scalar()
            connection.commit()
            if got:
                self.connection, self.engine = connection, engine
                return True
            connection.close()
            engine.dispose()
            return False
        path = self._lock_path()
        handle = open(path, "a+")  # noqa: SIM115  (held open while the lock is held)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self.file = handle
        return True

    def _lock_path(self) -> str:
        database = make_url(self.url).database
        if database and database != ":memory:":
            return database + ".scheduler.lock"
        return os.path.join(self.app.instance_path, "scheduler.lock")

    def alive(self) -> bool:
        """Whether the lock is still ours (its connection still open)."""
        if self.connection is None:
            return self.file is not None
        try:
            self.connection.execute(sa.text("SELECT 1")).scalar()
            self.connection.commit()
            return True
        except sa.exc.DBAPIError:
            return False

    def release(self) -> None:
        if self.connection is not None:
            try:
                self.connection.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY})
                self.connection.commit()
            except sa.exc.DBAPIError:
                pass
            self.connection.close()
            self.engine.dispose()
            self.connection = self.engine = None
        if self.file is not None:
            fcntl.flock(self.file, fcntl.LOCK_UN)
            self.file.close()
            self.file = None


def run(app: Flask, *, retry: float = 15.0, duration: float | None = None, stop: threading.Event | None = None,
        echo: Callable[[str], None] = log.info) -> None:
    """Stand by until the lock is free, then schedule (catching up first) while holding it.

    ``duration`` (seconds) ends the run, for tests and one-off catch-ups; ``stop`` ends it from
    another thread.
    """
    stop = stop or threading.Event()
    ends = time.monotonic() + duration if duration is not None else None

    def remaining() -> float | None:
        return None if ends is None else ends - time.monotonic()

    lock = SchedulerLock(app)
    while not stop.is_set() and (ends is None or remaining() > 0):
        if not lock.acquire():
            echo("scheduler: standing by (another process holds the lock)")
            stop.wait(min(retry, max(remaining(), 0)) if ends is not None else retry)
            continue
        echo(f"scheduler: acting (pid {os.getpid()})")
        try:
            for result in catch_up(app):
                echo(f"scheduler: {result.job} {result.day}: {result.created} created, {result.emailed} e-mailed"
                     + (f" (skipped: {result.skipped})" if result.skipped else ""))
            scheduler = build_scheduler(app)
            scheduler.start()
            try:
                while not stop.is_set() and (ends is None or remaining() > 0) and lock.alive():
                    stop.wait(min(retry, max(remaining(), 0)) if ends is not None else retry)
            finally:
                scheduler.shutdown(wait=True)
        finally:
            lock.release()
    echo("scheduler: stopped")


def start_in_background(app: Flask) -> threading.Event:
    """The embedded default: the scheduler in a daemon thread of the web process. Set the
    returned event to stop it."""
    stop = threading.Event()
    thread = threading.Thread(target=run, args=(app,), kwargs={"stop": stop}, name="congress-scheduler",
                              daemon=True)
    thread.start()
    return stop

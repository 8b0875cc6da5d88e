"""The imports' housekeeping: what a crash leaves in import_batches.

Run by the scheduler once when it starts acting and then every minute (congress.notices.scheduler
``SWEEPS``). An import whose worker stopped beating (congress.background) died with it:

- one queued or being read is failed with ``import_worker_stopped``: its uploaded content and the
  rows staged so far are removed (the user uploads the file again);
- one being applied changed nothing (its transaction died with the worker): it goes back to its
  preview with ``import_apply_stopped``, to be confirmed again.

Imports this process is running are never touched.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

import sqlalchemy as sa

from congress.background import running_here, stale_after
from congress.clock import today, utcnow
from congress.extensions import db

from .models import ImportBatch, ImportRow

log = logging.getLogger(__name__)
BATCHES = ImportBatch.__table__


def _dead(now: datetime, states: tuple[str, ...]) -> list[int]:
    beat = sa.func.coalesce(BATCHES.c.heartbeat_at, BATCHES.c.updated_at)
    here = running_here(BATCHES.name)
    return [row_id for row_id in db.session.execute(sa.select(BATCHES.c.id).where(
        BATCHES.c.state.in_(states), beat < now - timedelta(seconds=stale_after()))).scalars()
        if row_id not in here]


def sweep(now: datetime | None = None):
    """The whole sweep; returns a notices JobResult (``created``: imports failed or given back)."""
    from congress.notices.jobs import JobResult

    now = now or utcnow()
    result = JobResult("transfers.sweep", today())
    reading = _dead(now, ("queued", "reading"))
    if reading:
        db.session.execute(sa.delete(ImportRow.__table__).where(ImportRow.__table__.c.batch_id.in_(reading)))
        db.session.execute(sa.update(BATCHES).where(BATCHES.c.id.in_(reading), BATCHES.c.state.in_(
            ("queued", "reading"))).values(state="failed", error="import_worker_stopped", error_params=None,
                                           content=None, finished_at=now, updated_at=now))
    applying = _dead(now, ("applying",))
    if applying:
        db.session.execute(sa.update(BATCHES).where(BATCHES.c.id.in_(applying), BATCHES.c.state == "applying")
                           .values(state="previewed", error="import_apply_stopped", error_params=None,
                                   updated_at=now))
    db.session.commit()
    result.created = len(reading) + len(applying)
    result.details = [f"{len(reading)} imports failed (no heartbeat)", f"{len(applying)} confirmations given back"]
    if result.created:
        log.info("transfers sweep: %s", ", ".join(result.details))
    return result

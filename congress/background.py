"""What the rows of background work (document ZIPs, spreadsheet imports) share.

A worker stamps its row's ``heartbeat_at`` every PAPERS_JOB_HEARTBEAT seconds (:class:`Heartbeat`,
a thread with a connection of its own, so the beats land while the work's own transaction is
open). A moving row whose beats stopped for HEARTBEAT_MISSES beats died with its worker (kill -9,
a restart, the OOM killer): it is shown as failed at once, and the sweeps put it right.

On SQLite a beat cannot land while the work holds the database's only write lock (an import
being checked or applied), and nothing else can write then either: such work stamps its row with
its own commits, and the process keeps its own list of the work it runs (:data:`LIVE`), whose
progress it shows at once and which it never takes for dead.
"""
from __future__ import annotations

import logging
import threading

import sqlalchemy as sa

log = logging.getLogger(__name__)
#: a row whose heartbeat is older than this many beats died with its worker
HEARTBEAT_MISSES = 6
#: (table name, row id) -> rows done so far, for the work this process is running now
LIVE: dict[tuple[str, int], int] = {}
_LIVE_LOCK = threading.Lock()


def beat_seconds() -> float:
    from flask import current_app, has_app_context

    return float(current_app.config.get("PAPERS_JOB_HEARTBEAT", 5) if has_app_context() else 5)


def stale_after() -> float:
    """Seconds without a heartbeat after which a worker is taken for dead."""
    return HEARTBEAT_MISSES * beat_seconds()


def running_here(table: str) -> set[int]:
    """The ids of the rows of ``table`` whose work runs in this process."""
    with _LIVE_LOCK:
        return {row_id for name, row_id in LIVE if name == table}


class Stallable:
    """Mixin for a model with ``state``, ``updated_at`` and ``heartbeat_at`` columns."""

    #: a row without a heartbeat that has not moved for this long died with its process
    STALLED_AFTER_SECONDS = 600
    #: the states in which the row is expected to keep moving
    MOVING_STATES: tuple[str, ...] = ()

    @property
    def dead(self) -> bool:
        """Moving, but its worker stopped beating: it died (a crash, a restart)."""
        beat = getattr(self, "heartbeat_at", None)
        if self.state not in self.MOVING_STATES or beat is None or self.live:
            return False
        from congress.clock import utcnow

        beat = beat if beat.tzinfo else beat.replace(tzinfo=utcnow().tzinfo)
        return (utcnow() - beat).total_seconds() > stale_after()

    @property
    def live(self) -> bool:
        """Its work runs in this process now."""
        with _LIVE_LOCK:
            return (self.__tablename__, self.id) in LIVE

    @property
    def shown_done(self) -> int:
        """Rows done: this process's own count while it runs the work, else the row's."""
        with _LIVE_LOCK:
            return LIVE.get((self.__tablename__, self.id), self.done)

    @property
    def shown_state(self) -> str:
        """The state, with a moving row whose worker died, or that stopped moving, reported as failed."""
        from congress.clock import utcnow

        if self.dead:
            return "failed"
        if self.state in self.MOVING_STATES and not self.live and getattr(self, "heartbeat_at", None) is None:
            updated = self.updated_at if self.updated_at.tzinfo else self.updated_at.replace(tzinfo=utcnow().tzinfo)
            if (utcnow() - updated).total_seconds() > self.STALLED_AFTER_SECONDS:
                return "failed"
        return self.state


class Heartbeat:
    """While the body runs, a thread stamps the row's ``heartbeat_at`` (and ``done``, from
    :meth:`progress`) every PAPERS_JOB_HEARTBEAT seconds, whatever the work is doing, as long as
    the row is in one of ``states``. It dies with its process: a row whose beats stop died with
    its worker. The row is in :data:`LIVE` meanwhile."""

    def __init__(self, app, table: sa.Table, row_id: int, states: tuple[str, ...], *, on_sqlite: bool = True):
        from congress.extensions import db

        self.app, self.engine = app, db.engine
        self.table, self.row_id, self.states = table, row_id, states
        self.key = (table.name, row_id)
        self.done: int | None = None
        self.interval = float(app.config.get("PAPERS_JOB_HEARTBEAT", 5))
        # SQLite has one write lock: work that holds it for long (an import) beats only with its own commits
        self.beats = on_sqlite or self.engine.dialect.name != "sqlite"
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._beat, name=f"{table.name}-{row_id}-heartbeat", daemon=True)

    def progress(self, done: int) -> None:
        """Rows done so far: shown at once by this process, written with the next beat."""
        self.done = done
        with _LIVE_LOCK:
            LIVE[self.key] = done

    def __enter__(self) -> Heartbeat:
        with _LIVE_LOCK:
            LIVE.setdefault(self.key, 0)
        if self.beats:
            self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        if self.beats:
            self.thread.join(timeout=10)
        with _LIVE_LOCK:
            LIVE.pop(self.key, None)

    def _beat(self) -> None:
        from congress.clock import utcnow

        while not self.stop.wait(self.interval):
            with self.app.app_context():  # the app's clock (CONGRESS_TODAY), as the rows' other times
                values = {"heartbeat_at": utcnow()}
            if self.done is not None:
                values["done"] = self.done
            try:
                with self.engine.begin() as connection:
                    connection.execute(sa.update(self.table).where(
                        self.table.c.id == self.row_id, self.table.c.state.in_(self.states)).values(**values))
            except Exception:  # a missed beat is not fatal; many are, and say so
                log.warning("%s %s: heartbeat failed", self.table.name, self.row_id, exc_info=True)

"""Staged imports: an uploaded spreadsheet, read and classified row by row, waiting for the
uploader to confirm it (then applied all at once) or to drop it."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from congress.background import Stallable
from congress.extensions import db
from congress.progress.models import Campaign

IMPORT_KINDS = ("units", "branches", "progress")
#: queued -> reading -> previewed -> applying -> applied; or failed (the file could not be read),
#: cancelled; a refused or interrupted confirmation goes back to previewed, saying why
IMPORT_STATES = ("queued", "reading", "previewed", "applying", "applied", "failed", "cancelled")
ROW_STATUSES = ("new", "updated", "unchanged", "warning", "error")


class ImportBatch(Stallable, db.Model):
    """One uploaded file. Its rows are read, and once confirmed applied, in the background (the
    page shows the progress: ``done`` of ``total`` rows)."""
    __tablename__ = "import_batches"
    id: Mapped[int] = mapped_column(primary_key=True)
    #: a random key in the page's address, so batches cannot be guessed
    token: Mapped[str] = mapped_column(sa.String(32), unique=True)
    #: units, branches or progress
    kind: Mapped[str] = mapped_column(sa.String(12))
    filename: Mapped[str] = mapped_column(sa.String(200))
    #: the uploader: only they may see, confirm or drop the batch
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    #: the campaign the rows apply to (its round's preparations), as the uploader's page showed it
    campaign_id: Mapped[int | None] = mapped_column(sa.ForeignKey("campaigns.id"))
    campaign: Mapped[Campaign | None] = relationship()
    state: Mapped[str] = mapped_column(sa.String(10), default="queued")
    #: rows read so far and rows in the file (an estimate until the end)
    done: Mapped[int] = mapped_column(default=0)
    total: Mapped[int] = mapped_column(default=0)
    #: rows by status: {"new": 3, "updated": 1, ...}
    counts: Mapped[dict | None] = mapped_column(sa.JSON)
    #: why the file as a whole was refused: a message code and its parameters
    error: Mapped[str | None] = mapped_column(sa.String(60))
    error_params: Mapped[dict | None] = mapped_column(sa.JSON)
    #: the uploaded bytes, kept until the file is read
    content: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    #: the worker's last sign of life, while the file is read and while it is applied
    heartbeat_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))

    MOVING_STATES = ("queued", "reading", "applying")

    @property
    def shown_state(self) -> str:
        """A confirmation whose worker died changed nothing: the preview stands."""
        state = super().shown_state
        return "previewed" if state == "failed" and self.state == "applying" else state

    @property
    def shown_error(self) -> str | None:
        """Why the file was refused, or why the last confirmation did not apply."""
        if self.state in self.MOVING_STATES and self.shown_state != self.state:
            return "import_apply_stopped" if self.state == "applying" else "import_worker_stopped"
        return self.error

    @property
    def percent(self) -> int:
        if self.shown_state in ("previewed", "applied"):
            return 100
        done = self.shown_done
        return min(99, round(100 * done / self.total)) if self.total else 0


class ImportRow(db.Model):
    """One row of a staged file: what it asks for and what the preview found."""
    __tablename__ = "import_rows"
    __table_args__ = (sa.UniqueConstraint("batch_id", "number", name="uq_import_rows_batch_number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(sa.ForeignKey("import_batches.id", ondelete="CASCADE"), index=True)
    #: the row's number in the sheet, as the spreadsheet program shows it
    number: Mapped[int]
    #: new, updated, unchanged, warning or error
    status: Mapped[str] = mapped_column(sa.String(10))
    #: what a warning or error says: [{"code": ..., "params": {...}}]
    problems: Mapped[list | None] = mapped_column(sa.JSON)
    #: the unit, branch or step the row is about ("10891", "10891-003", "10891/plan")
    target: Mapped[str | None] = mapped_column(sa.String(80))
    #: the cleaned values the row sets (dates as YYYY-MM-DD)
    values: Mapped[dict] = mapped_column(sa.JSON)
    #: the target's fields as the preview saw them (None: it did not exist); confirming
    #: refuses when they changed since
    before: Mapped[dict | None] = mapped_column(sa.JSON)
    #: the fields that will change: {"field": [old, new]}
    changes: Mapped[dict | None] = mapped_column(sa.JSON)

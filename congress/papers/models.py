"""Issued document numbers, uploaded Word templates and the province-wide download jobs."""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from congress.background import HEARTBEAT_MISSES, Stallable, stale_after  # noqa: F401 (the papers' names for them)
from congress.extensions import db

JOB_STATES = ("queued", "running", "done", "failed", "expired")
#: the states of a job that is being worked on (at most one per kind, format and province)
MOVING_STATES = ("queued", "running")


class PaperIssue(db.Model):
    """A document issued by a unit in one campaign: from now on it carries its number(s) and its
    date."""
    __tablename__ = "paper_issues"
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"), index=True)
    #: the unit's preparation (its campaign) the document belongs to (revision 0019 gave the
    #: issues before it the unit's preparation of then)
    preparation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("preparations.id"), index=True)
    #: the document kind (workflows.documents.DOCUMENT_KINDS)
    kind: Mapped[str] = mapped_column(sa.String(40))
    #: the local date the document bears
    issued_on: Mapped[date]
    #: when, in UTC
    issued_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    actor: Mapped[str] = mapped_column(sa.String(80))

    unit = relationship("Unit")
    numbers: Mapped[list[PaperNumber]] = relationship(back_populates="issue", order_by="PaperNumber.part")


class PaperNumber(db.Model):
    """One number of a sequence, taken once and never again.

    Each issuer (committee or congress) numbers from 01 per document type per term (series = the
    type, "KH", "NQ"). The unique constraint is what keeps
    two simultaneous issues from taking the same number: the loser retries with the next one.
    """
    __tablename__ = "paper_numbers"
    __table_args__ = (sa.UniqueConstraint("unit_id", "issuer", "term", "series", "number",
                                          name="uq_paper_numbers_sequence"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(sa.ForeignKey("paper_issues.id"), index=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"))
    #: 1, 2, 3 for a file of several documents (the subcommittee decisions)
    part: Mapped[int] = mapped_column(default=1)
    #: the issuer's symbol after the slash: ĐU (the committee) or ĐH (the congress)
    issuer: Mapped[str] = mapped_column(sa.String(8))
    #: the type abbreviation before the slash: KH, QĐ, BC, TTr ...
    abbreviation: Mapped[str] = mapped_column(sa.String(8))
    term: Mapped[str] = mapped_column(sa.String(20))
    #: what the sequence counts: the type's abbreviation ("*" before revision 0013: one sequence
    #: across a congress's types)
    series: Mapped[str] = mapped_column(sa.String(8))
    number: Mapped[int]

    issue: Mapped[PaperIssue] = relationship(back_populates="numbers")

    @property
    def symbol(self) -> str:
        """"01-KH/ĐU"; the Front's "01/KH-MTTQ" (its series say which: numbering)."""
        from .numbering import style_of_series, symbol

        return symbol(self.number, self.abbreviation, self.issuer, style_of_series(self.series))


class PaperTemplate(db.Model):
    """A Word template an admin uploaded for one kind of the units of one province that follow
    one workflow: it replaces the built-in text, or is the kind's only template."""
    __tablename__ = "paper_templates"
    __table_args__ = (sa.UniqueConstraint("province_code", "workflow", "kind",
                                          name="uq_paper_templates_province_workflow_kind"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    province_code: Mapped[str] = mapped_column(sa.ForeignKey("provinces.code"))
    #: the workflow whose units it serves (the key of its definition; the templates uploaded
    #: before revision 0019 serve the commune party congress's)
    workflow: Mapped[str] = mapped_column(sa.String(60), default="commune_congress",
                                          server_default="commune_congress")
    kind: Mapped[str] = mapped_column(sa.String(40))
    filename: Mapped[str] = mapped_column(sa.String(200))
    content: Mapped[bytes] = mapped_column(sa.LargeBinary)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    uploaded_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    uploaded_by: Mapped[str] = mapped_column(sa.String(80))


class PaperJob(Stallable, db.Model):
    """Long work: one kind for every unit of a province in one campaign, in a ZIP, built in the
    background.

    The page polls the row for ``done``/``total``; the file lands under PAPERS_FOLDER. At most one
    job per kind, format, province and campaign is queued or running (the partial unique index; a second
    request joins it). The worker beats (``heartbeat_at``) every PAPERS_JOB_HEARTBEAT seconds: a
    job whose beats stopped died with its worker and is failed. A finished ZIP is kept until
    ``expires_at``, then the sweep removes it and marks the job expired.
    """
    __tablename__ = "paper_jobs"
    __table_args__ = (sa.Index("uq_paper_jobs_moving", "province_code", "campaign_id", "kind", "format", unique=True,
                               sqlite_where=sa.text("state IN ('queued', 'running')"),
                               postgresql_where=sa.text("state IN ('queued', 'running')")),)
    id: Mapped[int] = mapped_column(primary_key=True)
    #: a random key in the download address, so ids cannot be guessed
    token: Mapped[str] = mapped_column(sa.String(32), unique=True)
    province_code: Mapped[str] = mapped_column(sa.ForeignKey("provinces.code"))
    #: the campaign whose units it covers (empty for the jobs before revision 0019)
    campaign_id: Mapped[int | None] = mapped_column(sa.ForeignKey("campaigns.id"))
    kind: Mapped[str] = mapped_column(sa.String(40))
    #: docx or pdf
    format: Mapped[str] = mapped_column(sa.String(4))
    state: Mapped[str] = mapped_column(sa.String(10), default="queued")
    total: Mapped[int] = mapped_column(default=0)
    done: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(sa.Text)
    #: the ZIP's path relative to PAPERS_FOLDER
    path: Mapped[str | None] = mapped_column(sa.String(200))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    #: the worker's last sign of life (set when queued, then every few seconds while running)
    heartbeat_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    #: when a finished ZIP is removed (finished_at + PAPERS_JOB_HOURS)
    expires_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))

    MOVING_STATES = MOVING_STATES

    @property
    def shown_error(self) -> str | None:
        if self.dead:
            return "worker_stopped"
        return self.error or ("stalled" if self.shown_state != self.state else None)

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else (100 if self.state == "done" else 0)

"""Drafts of the congress documents: numbered versions, comment rounds, the city's verdicts and the
exceptions that let a congress go ahead without an approval."""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from congress.extensions import db


def _drafted_kinds() -> tuple[str, ...]:
    """Every kind a shipped unit workflow drafts in versions (its "drafts" section), in the order
    the definitions list them (the commune congress's first)."""
    from workflows.loader import load_all

    found = load_all()
    ordered = sorted(found.values(), key=lambda d: (d.key != "commune_congress", d.key))
    return tuple(dict.fromkeys(kind for d in ordered if d.subject == "unit" for kind in d.drafts))


#: the document kinds a unit may draft in versions (keys of workflows.documents.DOCUMENT_KINDS):
#: those the workflows' "drafts" sections name, which also say which steps their drafts move and
#: which the congress needs approved. A unit's pages offer the kinds of its own campaign's workflow.
DRAFT_KINDS = _drafted_kinds()
#: who is asked in a comment round: cadres, party members, branch secretaries, the Fatherland
#: Front (MTTQ), residents
AUDIENCES = ("cadres", "members", "branch_secretaries", "fatherland_front", "residents")
#: a version's place in the city's review
STATUSES = ("draft", "submitted", "returned", "approved")
FORMATS = ("docx", "pdf")
ROUND_STATES = ("open", "closed")
#: what the city (or the unit, when it submits) writes about a version
REVIEW_ACTIONS = ("submit", "comment", "approve", "return")


class DraftVersion(db.Model):
    """One uploaded draft of a document kind of a unit's preparation (one campaign): "Báo cáo
    chính trị, dự thảo lần 2" of the 2025–2030 congress.

    The file lives outside the database, under FILES_FOLDER by its SHA-256; its original name is
    kept only to tell people what was uploaded. Numbers count per preparation and kind from 1 (a
    unit's next congress drafts its report from "lần 1" again); the unique constraint refuses a
    duplicate when two uploads race.
    """
    __tablename__ = "draft_versions"
    __table_args__ = (sa.UniqueConstraint("preparation_id", "kind", "number",
                                          name="uq_draft_versions_preparation_kind_number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    #: the preparation (the unit in one campaign) the draft is for
    preparation_id: Mapped[int] = mapped_column(sa.ForeignKey("preparations.id"), index=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    #: 1, 2, 3 ... "dự thảo lần N"
    number: Mapped[int]
    #: docx or pdf, from the file's content
    format: Mapped[str] = mapped_column(sa.String(4))
    sha256: Mapped[str] = mapped_column(sa.String(64))
    size: Mapped[int]
    #: the name the file had on the uploader's computer (metadata only, never a path)
    original_name: Mapped[str] = mapped_column(sa.String(255))
    note: Mapped[str | None] = mapped_column(sa.Text)
    #: the local day it was uploaded, and the instant (UTC)
    uploaded_on: Mapped[date]
    uploaded_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    actor: Mapped[str] = mapped_column(sa.String(80))
    #: draft, submitted, returned, approved (see STATUSES)
    status: Mapped[str] = mapped_column(sa.String(12), default="draft")
    submitted_on: Mapped[date | None]
    #: the day of the city's last verdict (approve or return) and its reasons
    decided_on: Mapped[date | None]
    verdict_reason: Mapped[str | None] = mapped_column(sa.Text)
    version: Mapped[int] = mapped_column(default=1)

    preparation = relationship("Preparation")
    unit = relationship("Unit")
    reviews: Mapped[list[DraftReview]] = relationship(back_populates="draft", order_by="DraftReview.id")
    rounds: Mapped[list[CommentRound]] = relationship(back_populates="draft", order_by="CommentRound.id")

    __mapper_args__ = {"version_id_col": version}


class DraftReview(db.Model):
    """One event of the city's review of a version: the unit's submission, a comment, a verdict."""
    __tablename__ = "draft_reviews"
    id: Mapped[int] = mapped_column(primary_key=True)
    draft_id: Mapped[int] = mapped_column(sa.ForeignKey("draft_versions.id"), index=True)
    #: submit, comment, approve, return
    action: Mapped[str] = mapped_column(sa.String(10))
    text: Mapped[str | None] = mapped_column(sa.Text)
    on: Mapped[date]
    at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    actor: Mapped[str] = mapped_column(sa.String(80))

    draft: Mapped[DraftVersion] = relationship(back_populates="reviews")


class CommentRound(db.Model):
    """A round of comments on one version ("lấy ý kiến góp ý dự thảo lần 1"), open until closed;
    of the version's preparation."""
    __tablename__ = "comment_rounds"
    id: Mapped[int] = mapped_column(primary_key=True)
    draft_id: Mapped[int] = mapped_column(sa.ForeignKey("draft_versions.id"), index=True)
    preparation_id: Mapped[int] = mapped_column(sa.ForeignKey("preparations.id"), index=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"), index=True)
    #: the audiences asked (see AUDIENCES), in that order
    audiences: Mapped[list] = mapped_column(sa.JSON)
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    #: open or closed
    state: Mapped[str] = mapped_column(sa.String(8), default="open")
    opened_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    opened_by: Mapped[str] = mapped_column(sa.String(80))
    closed_on: Mapped[date | None]
    closed_by: Mapped[str | None] = mapped_column(sa.String(80))
    version: Mapped[int] = mapped_column(default=1)

    draft: Mapped[DraftVersion] = relationship(back_populates="rounds")
    comments: Mapped[list[RoundComment]] = relationship(back_populates="round", order_by="RoundComment.id")

    __mapper_args__ = {"version_id_col": version}


class RoundComment(db.Model):
    """Comments received from one audience: how many, and the text of a notable one."""
    __tablename__ = "round_comments"
    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("comment_rounds.id"), index=True)
    audience: Mapped[str] = mapped_column(sa.String(20))
    #: how many comments this entry stands for (1 for a single notable comment)
    count: Mapped[int] = mapped_column(default=1)
    #: the text of a notable comment (empty for a bare count)
    text: Mapped[str | None] = mapped_column(sa.Text)
    recorded_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(sa.String(80))

    round: Mapped[CommentRound] = relationship(back_populates="comments")


class ApprovalException(db.Model):
    """The city lets a unit hold its congress (of one preparation) without an approved version of
    one document kind."""
    __tablename__ = "approval_exceptions"
    __table_args__ = (sa.UniqueConstraint("preparation_id", "kind", name="uq_approval_exceptions_preparation_kind"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    preparation_id: Mapped[int] = mapped_column(sa.ForeignKey("preparations.id"), index=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    reason: Mapped[str] = mapped_column(sa.Text)
    at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    actor: Mapped[str] = mapped_column(sa.String(80))

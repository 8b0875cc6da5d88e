"""The audit log: one row per write, appended and never changed."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapped, Session, mapped_column

from congress.extensions import db

#: the city's verdicts on a unit's step; the approval queue shows the last one with a resubmission
STEP_VERDICTS = ("step.approve", "step.return")
_STEP_VERDICT_ROWS = sa.text(f"action IN ({', '.join(repr(action) for action in STEP_VERDICTS)})")


class AuditRecord(db.Model):
    __tablename__ = "audit_records"
    __table_args__ = (
        # the last verdict on a unit's step, read for every submission waiting for the city: the
        # few verdict records, by unit and step (the query names the actions as literals, so that
        # both databases can prove it reads only rows this partial index holds)
        sa.Index("ix_audit_records_step_verdicts", "unit_id", "step_key",
                 postgresql_where=_STEP_VERDICT_ROWS, sqlite_where=_STEP_VERDICT_ROWS),
    )
    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    #: when, in UTC
    at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), index=True)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    #: the actor's user name at the time ("system" for automatic changes)
    actor: Mapped[str] = mapped_column(sa.String(80))
    #: what happened: step.complete, branch.update, deadline.set, user.add, token.create ...
    action: Mapped[str] = mapped_column(sa.String(60))
    #: step, branch, preparation, campaign, user, token
    entity: Mapped[str] = mapped_column(sa.String(30))
    entity_key: Mapped[str | None] = mapped_column(sa.String(80))
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"), index=True)
    step_key: Mapped[str | None] = mapped_column(sa.String(60))
    #: the campaign a step's, a branch's or a preparation's record was made in
    campaign_id: Mapped[int | None]
    old: Mapped[dict | None] = mapped_column(sa.JSON)
    new: Mapped[dict | None] = mapped_column(sa.JSON)
    reason: Mapped[str | None] = mapped_column(sa.Text)


class AuditIsAppendOnly(Exception):
    pass


@event.listens_for(Session, "before_flush")
def _refuse_audit_changes(session: Session, flush_context, instances) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AuditRecord) and (obj in session.deleted or session.is_modified(obj)):
            raise AuditIsAppendOnly("audit records are never changed or deleted")

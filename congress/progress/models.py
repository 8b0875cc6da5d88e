"""Campaigns, the workflow versions units follow, each unit's preparation and its steps."""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from congress.extensions import db
from workflows.deadlines import Deadline, DeadlineKind
from workflows.loader import WorkflowDefinition, definition_from_snapshot
from workflows.rules import FINISHED, State

#: The organisations whose congresses a campaign may prepare, and the level of the units it covers.
ORGANISATIONS = ("party", "fatherland_front")
LEVELS = ("commune", "province")
OPEN, CLOSED = "open", "closed"


class Campaign(db.Model):
    """A round of congresses: one organisation's, at one level, over the units it covers
    ("Đại hội Đảng bộ cấp xã, nhiệm kỳ 2025–2030" in Hải Phòng's 114 communes).

    The workflows it runs are named by key and pinned to the versions it started with, so a
    definition changed later reaches its units only by an explicit migration. A campaign over
    higher-level units reads its roll-ups from a child campaign (the province's congress from its
    communes'). A closed campaign stays readable and exportable, and refuses every write."""
    __tablename__ = "campaigns"
    __table_args__ = (sa.UniqueConstraint("province_code", "organisation", "level", "term",
                                          name="uq_campaigns_round"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    #: the province of every unit it covers; empty for a campaign over several provinces
    province_code: Mapped[str | None] = mapped_column(sa.ForeignKey("provinces.code"))
    organisation: Mapped[str] = mapped_column(sa.String(30), default="party", server_default="party")
    level: Mapped[str] = mapped_column(sa.String(20), default="commune", server_default="commune")
    term: Mapped[str] = mapped_column(sa.String(20))
    name_vi: Mapped[str] = mapped_column(sa.String(200))
    name_en: Mapped[str] = mapped_column(sa.String(200))
    #: no step may be dated before this day
    starts_on: Mapped[date]
    #: the default deadline of every unit: its day and its wording (before / by)
    deadline_on: Mapped[date]
    deadline_kind: Mapped[str] = mapped_column(sa.String(6))
    #: what set the deadline, e.g. "Chỉ thị số 45-CT/TW"
    deadline_basis: Mapped[str | None] = mapped_column(sa.String(200))
    unit_workflow: Mapped[str] = mapped_column(sa.String(60))
    #: the workflow of the subordinate organisations (empty: the units have none tracked)
    branch_workflow: Mapped[str | None] = mapped_column(sa.String(60))
    #: the versions units enrolled later are given (the ones the campaign started with)
    unit_workflow_version_id: Mapped[int | None] = mapped_column(sa.ForeignKey("workflow_versions.id"))
    branch_workflow_version_id: Mapped[int | None] = mapped_column(sa.ForeignKey("workflow_versions.id"))
    #: the campaign whose units this one's roll-up steps read (the communes' for a province's)
    child_campaign_id: Mapped[int | None] = mapped_column(sa.ForeignKey("campaigns.id"))
    status: Mapped[str] = mapped_column(sa.String(10), default=OPEN, server_default=OPEN)
    closed_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    version: Mapped[int] = mapped_column(default=1)

    province = relationship("Province", lazy="joined")
    child_campaign = relationship("Campaign", remote_side=[id], foreign_keys=[child_campaign_id])
    __mapper_args__ = {"version_id_col": version}

    @property
    def deadline(self) -> Deadline:
        return Deadline(self.deadline_on, DeadlineKind(self.deadline_kind))

    @property
    def is_closed(self) -> bool:
        return self.status == CLOSED

    def unit_definition(self) -> WorkflowDefinition:
        """The workflow its units follow, as pinned when it started."""
        return definition_of(self.unit_workflow_version_id)

    def name(self, locale: str = "vi") -> str:
        return self.name_en if locale == "en" and self.name_en else self.name_vi


class WorkflowVersion(db.Model):
    """A snapshot of a workflow definition. Units keep the snapshot they were created from."""
    __tablename__ = "workflow_versions"
    __table_args__ = (sa.UniqueConstraint("key", "revision", name="uq_workflow_versions_key_revision"),
                      sa.UniqueConstraint("key", "checksum", name="uq_workflow_versions_key_checksum"))
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(60))
    #: 1, 2, 3 ... one per distinct content of the definition
    revision: Mapped[int]
    #: the "version" the YAML file declares
    declared_version: Mapped[int]
    checksum: Mapped[str] = mapped_column(sa.String(64))
    source: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[dict] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))

    def definition(self) -> WorkflowDefinition:
        return _definition_cache(self.id, self.checksum, self.body)


_DEFINITIONS: dict[tuple[int, str], WorkflowDefinition] = {}
#: the definitions of the stored versions read so far, by database and version id: a stored
#: version never changes (a changed definition is a new version), so each is read once per process
_BY_VERSION: dict[tuple[str, int], WorkflowDefinition] = {}

#: The branch workflow of a unit whose campaign tracks no subordinate organisations: no steps.
NO_BRANCH_WORKFLOW = WorkflowDefinition(key="", version=1, subject="branch", title_vi="", title_en="",
                                        phases=(), steps=())


def _definition_cache(version_id: int, checksum: str, body: dict) -> WorkflowDefinition:
    key = (version_id, checksum)
    if key not in _DEFINITIONS:
        _DEFINITIONS[key] = definition_from_snapshot(body, f"workflow version {version_id}")
    found = _DEFINITIONS[key]
    database = _database()
    if version_id is not None and database is not None:
        _BY_VERSION[(database, version_id)] = found
    return found


def _database() -> str | None:
    """The database the session works on, as the key of what is read once from it (None for an
    in-memory SQLite database: two of them share an address)."""
    url = db.engine.url
    if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
        return None
    return url.render_as_string(hide_password=True)


def definitions_of(version_ids) -> dict[int, WorkflowDefinition]:
    """The definitions of stored workflow versions, by id: one query for those this process has
    not read before, none for the others."""
    database = _database()
    found, missing = {}, []
    for version_id in version_ids:
        known = _BY_VERSION.get((database, version_id)) if database is not None else None
        if known is None:
            missing.append(version_id)
        else:
            found[version_id] = known
    if missing:
        for version in db.session.execute(sa.select(WorkflowVersion).where(WorkflowVersion.id.in_(missing))).scalars():
            found[version.id] = version.definition()
    return found


def definition_of(version_id: int) -> WorkflowDefinition:
    """The definition of one stored workflow version (see definitions_of)."""
    return definitions_of((version_id,))[version_id]


class Preparation(db.Model):
    """One unit's preparation for its congress in a campaign."""
    __tablename__ = "preparations"
    __table_args__ = (sa.UniqueConstraint("campaign_id", "unit_id", name="uq_preparations_campaign_unit"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaigns.id"), index=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"), index=True)
    workflow_version_id: Mapped[int] = mapped_column(sa.ForeignKey("workflow_versions.id"))
    #: empty when the campaign tracks no subordinate organisations
    branch_workflow_version_id: Mapped[int | None] = mapped_column(sa.ForeignKey("workflow_versions.id"))
    #: the planned first day of the congress
    congress_on: Mapped[date | None]
    #: the unit's own deadline when the city sets one (else the campaign's)
    deadline_on: Mapped[date | None]
    deadline_kind: Mapped[str | None] = mapped_column(sa.String(6))
    deadline_basis: Mapped[str | None] = mapped_column(sa.String(200))
    #: who signs the committee's documents, printed under "BÍ THƯ" and "PHÓ BÍ THƯ" (blank: by hand)
    secretary_name: Mapped[str | None] = mapped_column(sa.String(80))
    deputy_secretary_name: Mapped[str | None] = mapped_column(sa.String(80))
    version: Mapped[int] = mapped_column(default=1)

    campaign: Mapped[Campaign] = relationship(lazy="joined")
    unit = relationship("Unit", lazy="joined")
    workflow_version: Mapped[WorkflowVersion] = relationship(foreign_keys=[workflow_version_id])
    branch_workflow_version: Mapped[WorkflowVersion | None] = relationship(
        foreign_keys=[branch_workflow_version_id])

    __mapper_args__ = {"version_id_col": version}

    def definition(self) -> WorkflowDefinition:
        """The workflow the unit follows in this campaign (its pinned version; the one just given
        to it, before it is written, on a migration or an enrolment)."""
        version = self.__dict__.get("workflow_version")
        return version.definition() if version is not None else definition_of(self.workflow_version_id)

    def branch_definition(self) -> WorkflowDefinition:
        """The workflow its branches follow (one without steps when the campaign tracks none)."""
        if "branch_workflow_version" in self.__dict__:
            version = self.__dict__["branch_workflow_version"]
            return version.definition() if version is not None else NO_BRANCH_WORKFLOW
        version_id = self.branch_workflow_version_id
        return definition_of(version_id) if version_id is not None else NO_BRANCH_WORKFLOW

    @property
    def deadline(self) -> Deadline:
        if self.deadline_on is not None:
            return Deadline(self.deadline_on, DeadlineKind(self.deadline_kind or "by"))
        return self.campaign.deadline

    @property
    def deadline_is_override(self) -> bool:
        return self.deadline_on is not None


class Step(db.Model):
    """A step of a unit's workflow (branch_id empty) or of one branch's workflow."""
    __tablename__ = "steps"
    __table_args__ = (
        sa.Index("uq_steps_unit_step", "preparation_id", "key", unique=True,
                 sqlite_where=sa.text("branch_id IS NULL"),
                 postgresql_where=sa.text("branch_id IS NULL")),
        sa.UniqueConstraint("branch_id", "key", name="uq_steps_branch_key"),
        sa.Index("ix_steps_state_due", "state", "due_on"),
        # PostgreSQL reads every unit's facts for readiness from this index alone (index-only scan)
        sa.Index("ix_steps_unit_facts", "preparation_id", "key",
                 postgresql_include=["state", "due_on", "due_kind", "completed_on", "missed_due_on",
                                     "missed_due_kind"],
                 postgresql_where=sa.text("branch_id IS NULL")).ddl_if(dialect="postgresql"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    preparation_id: Mapped[int] = mapped_column(sa.ForeignKey("preparations.id"), index=True)
    branch_id: Mapped[int | None] = mapped_column(sa.ForeignKey("branches.id"))
    key: Mapped[str] = mapped_column(sa.String(60))
    #: see workflows.rules.State; "overdue" is never stored, it is derived from due_on
    state: Mapped[str] = mapped_column(sa.String(20), default=State.NOT_STARTED.value)
    started_on: Mapped[date | None]
    submitted_on: Mapped[date | None]
    approved_on: Mapped[date | None]
    completed_on: Mapped[date | None]
    #: last allowed day (inclusive) and the deadline's wording, from the step's due rule
    due_on: Mapped[date | None]
    due_kind: Mapped[str | None] = mapped_column(sa.String(6))
    #: the first last allowed day the step let pass unfinished, kept when its due date later moved
    #: (the congress or a deadline re-planned): the lapse stays on the record until the step is done
    missed_due_on: Mapped[date | None]
    missed_due_kind: Mapped[str | None] = mapped_column(sa.String(6))
    note: Mapped[str | None] = mapped_column(sa.Text)
    #: why the step was returned, reopened or is not applicable
    reason: Mapped[str | None] = mapped_column(sa.Text)
    updated_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    version: Mapped[int] = mapped_column(default=1)

    preparation: Mapped[Preparation] = relationship()
    branch = relationship("Branch")

    __mapper_args__ = {"version_id_col": version}

    @property
    def state_enum(self) -> State:
        return State(self.state)

    @property
    def due(self) -> Deadline | None:
        """The deadline the step answers to (see :func:`accountable_due`)."""
        return accountable_due(State(self.state), self.due_on, self.due_kind, self.missed_due_on,
                               self.missed_due_kind)

    @property
    def planned_due(self) -> Deadline | None:
        """The deadline its due rule gives today, whatever it missed before."""
        if self.due_on is None:
            return None
        return Deadline.from_last_day(self.due_on, self.due_kind or "by")

    @property
    def lapsed(self) -> bool:
        """Unfinished and answering to a due date it already missed before its due date moved."""
        due = self.due
        return due is not None and due.last_allowed_day != self.due_on


def accountable_due(state: State, due_on: date | None, due_kind: str | None, missed_on: date | None,
                    missed_kind: str | None) -> Deadline | None:
    """The deadline a step answers to: its due rule's, or, while it is unfinished, the earlier
    one it already let pass. Moving the congress or a deadline later does not make a late step
    punctual: it stays overdue against its original date until it is done."""
    if missed_on is not None and state not in FINISHED and (due_on is None or missed_on < due_on):
        return Deadline.from_last_day(missed_on, missed_kind or due_kind or "by")
    if due_on is None:
        return None
    return Deadline.from_last_day(due_on, due_kind or "by")


class StoredReadiness(db.Model):
    """A preparation's readiness as the engine computed it for one local day, kept beside its steps
    (congress.progress.stored): written by the write that changes it, in the same transaction, and
    again for every unit when the day turns. A read takes it as it is when it is today's."""
    __tablename__ = "unit_readiness"
    __table_args__ = (sa.Index("ix_unit_readiness_campaign_unit", "campaign_id", "unit_id"),)
    preparation_id: Mapped[int] = mapped_column(sa.ForeignKey("preparations.id", ondelete="CASCADE"),
                                                primary_key=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaigns.id"))
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"))
    #: the local day it counts "today" (overdue, days left, risk change with it)
    day: Mapped[date]
    #: the workflow version it was computed under
    workflow_version_id: Mapped[int]
    #: the readiness (workflows.readiness.UnitReadiness) and the unit's step facts, encoded by
    #: congress.progress.stored
    readiness: Mapped[dict] = mapped_column(sa.JSON)
    steps: Mapped[list] = mapped_column(sa.JSON)
    computed_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))

"""Reads of the drafts domain for pages, the API and the congress gate, in few queries.

Every read is of one preparation (a unit in one campaign), whose drafts are its own; the city's
lists are of the round its page shows."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import sqlalchemy as sa
from flask import g, has_request_context
from sqlalchemy.orm import aliased, lazyload, selectinload

from congress.audit.models import STEP_VERDICTS, AuditRecord
from congress.errors import NotFound
from congress.extensions import db
from congress.progress.models import Preparation, Step
from congress.units.models import Unit
from workflows.deadlines import LOCAL_TZ
from workflows.documents import DOCUMENT_KINDS
from workflows.loader import WorkflowDefinition

from .models import DRAFT_KINDS, ApprovalException, CommentRound, DraftReview, DraftVersion


def shown_preparation(unit: Unit) -> Preparation:
    """The preparation whose drafts a request reads and writes: the unit's in the campaign
    ``?campaign=`` names (NotFound when the unit is not in it), else in the campaign the request
    shows (see congress.progress.campaigns.unit_preparation)."""
    from flask import request

    from congress.progress import campaigns

    if has_request_context() and request.args.get("campaign"):
        prep = campaigns.unit_preparation(unit, campaigns.chosen_campaign())
    else:
        prep = campaigns.unit_preparation(unit)
    if prep is None:
        raise NotFound("not_enrolled", {"code": unit.code})
    return prep


def kind_or_404(kind: str, prep: Preparation | None = None) -> str:
    """A kind drafted in versions; with ``prep``, one its workflow drafts."""
    if kind not in (unit_kinds(prep) if prep is not None else DRAFT_KINDS):
        raise NotFound("draft_kind_not_found", {"kind": kind[:40]})
    return kind


def title_vi(kind: str) -> str:
    return DOCUMENT_KINDS[kind].title_vi


def versions(prep: Preparation, kind: str | None = None) -> list[DraftVersion]:
    """The preparation's versions (of ``kind``), newest first."""
    query = db.select(DraftVersion).filter_by(preparation_id=prep.id)
    if kind:
        query = query.filter_by(kind=kind)
    return list(db.session.execute(query.order_by(DraftVersion.kind, DraftVersion.number.desc())).scalars())


def version_or_404(prep: Preparation, kind: str, number: int) -> DraftVersion:
    found = None
    if 0 < number < 2**31:  # beyond the column's range there is none (and SQLite cannot bind the number)
        found = db.session.execute(db.select(DraftVersion).filter_by(
            preparation_id=prep.id, kind=kind, number=number)).scalar_one_or_none()
    if found is None:
        raise NotFound("draft_not_found", {"number": number})
    return found


def round_or_404(prep: Preparation, round_id: int) -> CommentRound:
    found = db.session.get(CommentRound, round_id) if 0 < round_id < 2**31 else None
    if found is None or found.preparation_id != prep.id:
        raise NotFound("round_not_found")
    return found


def rounds(prep: Preparation) -> list[CommentRound]:
    return list(db.session.execute(db.select(CommentRound).filter_by(preparation_id=prep.id)
                                   .options(selectinload(CommentRound.draft))
                                   .order_by(CommentRound.id.desc())).scalars())


def exceptions(prep: Preparation) -> dict[str, ApprovalException]:
    return {e.kind: e for e in db.session.execute(
        db.select(ApprovalException).filter_by(preparation_id=prep.id)).scalars()}


@dataclass
class KindStage:
    """Where one document kind of a preparation stands: its latest version and whether the city
    approved one."""
    kind: str
    latest: DraftVersion | None = None
    approved: DraftVersion | None = None
    pending: DraftVersion | None = None
    versions: list[DraftVersion] = field(default_factory=list)

    @property
    def stage(self) -> str:
        """none, draft, submitted, returned, approved (the newest fact first)."""
        if self.pending is not None:
            return "submitted"
        return self.latest.status if self.latest is not None else "none"


def unit_kinds(prep: Preparation) -> tuple[str, ...]:
    """The kinds the unit drafts in the preparation: its workflow's "drafts"."""
    return tuple(prep.definition().drafts)


def stages(prep: Preparation) -> dict[str, KindStage]:
    """Every draft kind of the preparation with its versions (one query)."""
    found = {kind: KindStage(kind) for kind in unit_kinds(prep)}
    for version in versions(prep):
        stage = found.get(version.kind)
        if stage is None:
            continue  # a kind the workflow no longer drafts (a workflow version migrated to)
        stage.versions.append(version)
        stage.latest = stage.latest or version
        if version.status == "approved" and stage.approved is None:
            stage.approved = version
        if version.status == "submitted":
            stage.pending = version
    return found


def missing_approvals(prep: Preparation) -> list[str]:
    """The document kinds the preparation's congress still needs the city to approve (the
    workflow's congress gate, decided in congress.progress.actions)."""
    from congress.progress.actions import UnitFacts

    return list(UnitFacts(prep).gate_missing)


def gated_kinds(prep: Preparation) -> tuple[str, ...]:
    """The document kinds the preparation's congress needs approved, in the workflow's order."""
    definition = prep.definition()
    return definition.congress.needs_approved if definition.congress else ()


def province_stages(province_code: str) -> list[dict]:
    """Every preparation of a province's units in the round the page shows with at least one
    version: its unit's id, code and name, the preparation's id and campaign, the stage of each
    draft kind it has (none, draft, submitted, returned, approved) and the kinds of which the city
    approved a version; one query, by unit name, read once per request (the dashboard's queue and
    its stage table share it)."""
    cache = g.setdefault("province_stages", {}) if has_request_context() else {}
    if province_code not in cache:
        cache[province_code] = _province_stages(province_code)
    return cache[province_code]


def _province_stages(province_code: str) -> list[dict]:
    from congress.progress import campaigns
    from congress.progress.models import Campaign

    query = (sa.select(Unit.id, Unit.code, Unit.name, Preparation.id.label("preparation_id"),
                       Preparation.campaign_id, DraftVersion.kind, DraftVersion.status)
             .join(Preparation, Preparation.unit_id == Unit.id)
             .join(DraftVersion, DraftVersion.preparation_id == Preparation.id)
             .where(Unit.province_code == province_code))
    round_ = campaigns.chosen_round({province_code})  # the round the page shows
    if round_ is not None:
        query = query.join(Campaign, Campaign.id == Preparation.campaign_id).where(round_.where())
    rows = db.session.execute(query.order_by(Unit.name, Unit.id, Preparation.id, DraftVersion.kind,
                                             DraftVersion.number)).all()
    preps: dict[int, dict] = {}
    pending: set[tuple[int, str]] = set()
    for row in rows:
        entry = preps.setdefault(row.preparation_id, {
            "id": row.id, "code": row.code, "name": row.name, "preparation_id": row.preparation_id,
            "campaign_id": row.campaign_id, "stages": {}, "approved": set()})
        entry["stages"][row.kind] = row.status
        if row.status == "approved":
            entry["approved"].add(row.kind)
        if row.status == "submitted":
            pending.add((row.preparation_id, row.kind))
    for prep_id, kind in pending:
        preps[prep_id]["stages"][kind] = "submitted"
    return list(preps.values())


def totals(comments: Iterable) -> dict[str, int]:
    """Comments received per audience."""
    counts: dict[str, int] = {}
    for comment in comments:
        counts[comment.audience] = counts.get(comment.audience, 0) + comment.count
    return counts


# --- the city's queue ------------------------------------------------------------------------------

@dataclass
class Submission:
    """One submission waiting for the city's verdict: a draft version, an approval step, or both.

    A draft whose submission submitted its approval step (the workflow's ``drafts: approved_by``)
    is one submission with that step: it is decided on the draft, whose verdict moves the step.
    """
    unit: Unit
    #: the unit's workflow
    definition: WorkflowDefinition
    #: the preparation (the unit in one campaign) the submission is of
    preparation: Preparation | None = None
    draft: DraftVersion | None = None
    step: Step | None = None
    #: for an approval step without a submitted draft: the newest version of the document it records
    document: DraftVersion | None = None
    #: the unit's note with the submission
    note: str | None = None
    #: the reason and day of the city's return of the same document just before this submission
    returned_reason: str | None = None
    returned_on: date | None = None

    @property
    def submitted_on(self) -> date | None:
        return self.draft.submitted_on if self.draft is not None else self.step.submitted_on

    @property
    def anchor(self) -> str:
        return f"approval-draft-{self.draft.id}" if self.draft is not None else f"approval-{self.step.id}"


def pending_submissions(province_codes: set[str] | None) -> list[Submission]:
    """Every submission waiting for the city, oldest first, in one query.

    Each preparation with a submitted unit step or a submitted draft comes with each of them (a
    preparation has at most a few of each, so their product is small), the newest version of each
    document kind (for a step without a submitted draft), the note of each draft's submission and
    the city's last verdict on the same document or step before it (a return is shown with a
    resubmission). A draft comes with the steps of its own preparation.
    """
    newest, newer, earlier = aliased(DraftVersion), aliased(DraftVersion), aliased(DraftVersion)

    def last_verdict(column):
        """The city's last verdict on any version of the same document of the preparation."""
        return (sa.select(column).join(earlier, earlier.id == DraftReview.draft_id)
                .where(earlier.preparation_id == DraftVersion.preparation_id, earlier.kind == DraftVersion.kind,
                       DraftReview.action.in_(("approve", "return")))
                .order_by(DraftReview.id.desc()).limit(1).scalar_subquery())

    def last_step_verdict(column):
        """The city's last verdict on the step in its own campaign, read through
        ix_audit_records_step_verdicts (whose rows the actions, written as literals, name)."""
        return (sa.select(column)
                .where(AuditRecord.unit_id == Unit.id, AuditRecord.step_key == Step.key,
                       AuditRecord.action.in_([sa.literal(a, literal_execute=True) for a in STEP_VERDICTS]),
                       AuditRecord.entity_key == Unit.code + "/" + Step.key,
                       AuditRecord.campaign_id == Preparation.campaign_id)
                .order_by(AuditRecord.id.desc()).limit(1).scalar_subquery())

    submit_text = (sa.select(DraftReview.text).where(DraftReview.draft_id == DraftVersion.id,
                                                     DraftReview.action == "submit")
                   .order_by(DraftReview.id.desc()).limit(1).scalar_subquery())
    query = (
        sa.select(Unit, Step, DraftVersion, newest,
                  last_verdict(DraftReview.action), last_verdict(DraftReview.text), last_verdict(DraftReview.on),
                  submit_text, last_step_verdict(AuditRecord.action), last_step_verdict(AuditRecord.reason),
                  last_step_verdict(AuditRecord.at), Preparation)
        .join(Preparation, Preparation.unit_id == Unit.id)
        .outerjoin(Step, sa.and_(Step.preparation_id == Preparation.id, Step.branch_id.is_(None),
                                 Step.state == "submitted"))
        .outerjoin(DraftVersion, sa.and_(DraftVersion.preparation_id == Preparation.id,
                                         DraftVersion.status == "submitted"))
        .outerjoin(newest, sa.and_(Step.id.is_not(None), newest.preparation_id == Preparation.id, ~sa.exists().where(
            newer.preparation_id == newest.preparation_id, newer.kind == newest.kind, newer.number > newest.number)))
        # the preparation's unit is the row's, its campaign the one the page shows (both in the session)
        .options(lazyload(Preparation.unit), lazyload(Preparation.campaign))
        .where(sa.or_(Step.id.is_not(None), DraftVersion.id.is_not(None))))
    if province_codes is not None:
        query = query.where(Unit.province_code.in_(province_codes))
    from congress.progress import campaigns
    from congress.progress.models import Campaign

    round_ = campaigns.chosen_round(province_codes)  # the round the page shows
    if round_ is not None:
        query = query.join(Campaign, Campaign.id == Preparation.campaign_id).where(round_.where())
    preps: dict[int, _UnitPending] = {}
    for row in db.session.execute(query):
        prep = row[-1]
        found = preps.get(prep.id)
        if found is None:
            found = preps[prep.id] = _UnitPending(row[0], prep.definition(), prep)
        found.add(row)
    submissions = [s for found in preps.values() for s in found.submissions()]
    return sorted(submissions, key=lambda s: (s.submitted_on or date.max, s.unit.name, s.anchor))


def draft_kind_of_step(definition: WorkflowDefinition, step_key: str) -> str | None:
    """The document kind whose drafts an approval step follows (the workflow's ``drafts``)."""
    return definition.draft_of_approval(step_key)


def approval_step_of_kind(definition: WorkflowDefinition, kind: str) -> str | None:
    """The approval step a document kind's drafts submit, and the city's verdict moves."""
    facts = definition.drafts.get(kind)
    return facts.approved_by if facts is not None else None


def _local_day(at: datetime | None) -> date | None:
    if at is None:
        return None
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(LOCAL_TZ).date()


@dataclass
class _UnitPending:
    """The rows of one preparation in :func:`pending_submissions`, gathered."""
    unit: Unit
    definition: WorkflowDefinition
    preparation: Preparation
    steps: dict[int, tuple] = field(default_factory=dict)
    drafts: dict[int, tuple] = field(default_factory=dict)
    newest: dict[str, DraftVersion] = field(default_factory=dict)

    def add(self, row) -> None:
        (_, step, draft, newest, verdict, verdict_text, verdict_on, submit_text, step_verdict, step_reason,
         step_verdict_at, _) = row
        if step is not None:
            returned = step_verdict == "step.return"
            self.steps[step.id] = (step, step_reason if returned else None,
                                   _local_day(step_verdict_at) if returned else None)
        if draft is not None:
            returned = verdict == "return"
            self.drafts[draft.id] = (draft, submit_text, verdict_text if returned else None,
                                     verdict_on if returned else None)
        if newest is not None:
            self.newest[newest.kind] = newest

    def submissions(self) -> list[Submission]:
        found, steps = [], dict(self.steps)
        by_key = {step.key: step_id for step_id, (step, _, _) in steps.items()}
        for draft, note, reason, returned_on in self.drafts.values():
            step_id = by_key.get(approval_step_of_kind(self.definition, draft.kind))
            step, step_reason, step_returned_on = steps.pop(step_id) if step_id in steps else (None, None, None)
            if reason is None and step_reason is not None:
                reason, returned_on = step_reason, step_returned_on
            found.append(Submission(self.unit, self.definition, self.preparation, draft=draft, step=step, note=note,
                                    returned_reason=reason, returned_on=returned_on))
        for step, reason, returned_on in steps.values():
            kind = draft_kind_of_step(self.definition, step.key)
            found.append(Submission(self.unit, self.definition, self.preparation, step=step, note=step.note,
                                    document=self.newest.get(kind) if kind else None,
                                    returned_reason=reason, returned_on=returned_on))
        return found

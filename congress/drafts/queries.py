"""Reads of the drafts domain for pages, the API and the congress gate, in few queries."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from congress.errors import NotFound, Unprocessable
from congress.extensions import db
from congress.progress.models import Preparation, Step
from congress.units.models import Unit
from workflows.documents import DOCUMENT_KINDS

from .models import APPROVAL_STEPS, DRAFT_KINDS, GATED_KINDS, ApprovalException, CommentRound, DraftVersion

#: the unit's step that is the congress itself: completing it is "the congress was held"
CONGRESS_STEP = "congress"


def kind_or_404(kind: str) -> str:
    if kind not in DRAFT_KINDS:
        raise NotFound("draft_kind_not_found", {"kind": kind[:40]})
    return kind


def title_vi(kind: str) -> str:
    return DOCUMENT_KINDS[kind].title_vi


def versions(unit: Unit, kind: str | None = None) -> list[DraftVersion]:
    """Newest first."""
    query = db.select(DraftVersion).filter_by(unit_id=unit.id)
    if kind:
        query = query.filter_by(kind=kind)
    return list(db.session.execute(query.order_by(DraftVersion.kind, DraftVersion.number.desc())).scalars())


def version_or_404(unit: Unit, kind: str, number: int) -> DraftVersion:
    found = db.session.execute(db.select(DraftVersion).filter_by(
        unit_id=unit.id, kind=kind, number=number)).scalar_one_or_none()
    if found is None:
        raise NotFound("draft_not_found", {"number": number})
    return found


def round_or_404(unit: Unit, round_id: int) -> CommentRound:
    found = db.session.get(CommentRound, round_id) if 0 < round_id < 2**31 else None
    if found is None or found.unit_id != unit.id:
        raise NotFound("round_not_found")
    return found


def rounds(unit: Unit) -> list[CommentRound]:
    return list(db.session.execute(db.select(CommentRound).filter_by(unit_id=unit.id)
                                   .options(selectinload(CommentRound.draft))
                                   .order_by(CommentRound.id.desc())).scalars())


def exceptions(unit: Unit) -> dict[str, ApprovalException]:
    return {e.kind: e for e in db.session.execute(db.select(ApprovalException).filter_by(unit_id=unit.id)).scalars()}


@dataclass
class KindStage:
    """Where one document kind of a unit stands: its latest version and whether the city approved one."""
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


def stages(unit: Unit) -> dict[str, KindStage]:
    """Every draft kind of the unit with its versions (one query)."""
    found = {kind: KindStage(kind) for kind in DRAFT_KINDS}
    for version in versions(unit):
        stage = found[version.kind]
        stage.versions.append(version)
        stage.latest = stage.latest or version
        if version.status == "approved" and stage.approved is None:
            stage.approved = version
        if version.status == "submitted":
            stage.pending = version
    return found


def missing_approvals(unit_id: int) -> list[str]:
    """The gated kinds the city has not approved (neither an approved version nor the matching
    approval step done, which is how an approval given outside the drafts is recorded) and that
    have no exception (three small queries)."""
    approved = set(db.session.execute(sa.select(DraftVersion.kind).where(
        DraftVersion.unit_id == unit_id, DraftVersion.kind.in_(GATED_KINDS),
        DraftVersion.status == "approved").distinct()).scalars())
    done_steps = set(db.session.execute(sa.select(Step.key).join(Preparation).where(
        Preparation.unit_id == unit_id, Step.branch_id.is_(None),
        Step.key.in_([APPROVAL_STEPS[k] for k in GATED_KINDS]),
        Step.state.in_(("approved", "done")))).scalars())
    approved |= {kind for kind in GATED_KINDS if APPROVAL_STEPS[kind] in done_steps}
    excepted = set(db.session.execute(sa.select(ApprovalException.kind).where(
        ApprovalException.unit_id == unit_id)).scalars())
    return [kind for kind in GATED_KINDS if kind not in approved and kind not in excepted]


def check_congress_gate(step) -> None:
    """Refuse to mark a unit's congress held while the city has approved neither version of the
    political report or the personnel plan it needs, unless the city recorded an exception."""
    if step.branch_id is not None or step.key != CONGRESS_STEP:
        return
    missing = missing_approvals(step.preparation.unit_id)
    if missing:
        raise Unprocessable("congress_needs_approval", {
            "kinds": missing, "documents": ", ".join(f"“{title_vi(k)}”" for k in missing)})


def province_stages(province_code: str) -> list[dict]:
    """Every unit of a province with at least one version: its code, name and the stage of each
    draft kind it has (none, draft, submitted, returned, approved); one query, by unit name."""
    rows = db.session.execute(
        sa.select(Unit.id, Unit.code, Unit.name, DraftVersion.kind, DraftVersion.status)
        .join(DraftVersion, DraftVersion.unit_id == Unit.id).where(Unit.province_code == province_code)
        .order_by(Unit.name, Unit.id, DraftVersion.kind, DraftVersion.number)).all()
    units: dict[int, dict] = {}
    pending: set[tuple[int, str]] = set()
    for row in rows:
        entry = units.setdefault(row.id, {"code": row.code, "name": row.name, "stages": {}})
        entry["stages"][row.kind] = row.status
        if row.status == "submitted":
            pending.add((row.id, row.kind))
    for unit_id, kind in pending:
        units[unit_id]["stages"][kind] = "submitted"
    return list(units.values())


def totals(comments: Iterable) -> dict[str, int]:
    """Comments received per audience."""
    counts: dict[str, int] = {}
    for comment in comments:
        counts[comment.audience] = counts.get(comment.audience, 0) + comment.count
    return counts

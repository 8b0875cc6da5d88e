"""Workflow definitions as managed data: uploaded versions, their differences, and moving units to
a new version.

A definition is stored as a revision of its key (``WorkflowVersion``) whether it comes from a file
in workflows/definitions/ (``definitions.current_version``) or from an upload (``add_definition``):
both number from the same sequence, and the same content is stored once. A unit keeps the version
its steps were created from until a migration moves it: previewed first (``plan_migration``, or
``migrate`` without ``confirm``), then applied all or nothing, audited per unit, and refused when it
would drop a step whose progress is on record.
"""
from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
import yaml
from sqlalchemy.exc import IntegrityError

from congress.audit.operations import record
from congress.clock import today, utcnow
from congress.errors import Conflict, NotFound, Unprocessable
from congress.extensions import db
from congress.units.models import Branch
from workflows.loader import DefinitionError, WorkflowDefinition, parse_definition
from workflows.rules import FINISHED, State

from .definitions import _json_ready, current_version, definitions
from .models import Campaign, Preparation, Step, WorkflowVersion
from .operations import _step_rows, anchors_for, insert_steps, refresh_due_dates

SCOPES = ("unit", "branch")
#: the columns a definition's snapshot is stored in, and their sizes
KEY_LENGTH, SOURCE_LENGTH, LARGEST_VERSION = 60, 200, 2**31 - 1
#: the fields of a step compared between two versions
STEP_FIELDS = ("title", "requires", "due", "approval", "done_when", "weight", "document", "phase", "skippable")
#: the columns of a step whose value records progress: a step with any of them set is never dropped
RECORDED_FIELDS = ("started_on", "submitted_on", "approved_on", "completed_on", "note", "reason")
#: states in which a step waits on the city: stranded if the new version no longer asks for approval
APPROVAL_STATES = frozenset({State.SUBMITTED.value, State.APPROVED.value})
CHUNK = 500


# --- storing definitions ------------------------------------------------------------------------

@dataclass(frozen=True)
class Added:
    version: WorkflowVersion
    #: False when the same content was already stored (nothing written)
    new: bool


def parse_text(text: str, source: str) -> WorkflowDefinition:
    """A definition from YAML text, or DefinitionError with the one-line problems
    ``flask workflows check`` prints for the same file."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise DefinitionError([f"{source}: cannot read the file: {exc}".splitlines()[0]]) from exc
    return parse_definition(raw, source)


def _storage_problems(definition: WorkflowDefinition, source: str) -> list[str]:
    """What the loader accepts but a stored version cannot hold, in the loader's one-line form."""
    problems = []
    if len(definition.key) > KEY_LENGTH:
        problems.append(f"{source}: workflow key is longer than {KEY_LENGTH} characters")
    if definition.version > LARGEST_VERSION:
        problems.append(f"{source}: 'version' {definition.version} is too large")
    try:
        json.dumps(_json_ready(definition.raw), ensure_ascii=False)
    except (TypeError, ValueError):
        problems.append(f"{source}: holds values other than text, numbers, dates, lists and mappings")
    subject = _known_subject(definition.key)
    if subject is not None and subject != definition.subject:
        problems.append(f"{source}: workflow '{definition.key}' is for a {subject}, not a {definition.subject}")
    return problems


def _known_subject(key: str) -> str | None:
    """The subject ('unit' or 'branch') the stored versions (or the file) of a key have."""
    newest = _newest(key)
    if newest is not None:
        return (newest.body or {}).get("subject")
    on_disk = definitions().get(key)
    return on_disk.subject if on_disk is not None else None


def _refused(problems: list[str]) -> Unprocessable:
    return Unprocessable("workflow_invalid", {"problems": problems, "count": len(problems),
                                              "lines": "; ".join(problems)})


def store_definition(text: str, source: str, actor) -> Added:
    """Store uploaded YAML as the next revision of its key (a key not seen before starts a new
    workflow at r1); the same content as a stored revision gives that revision back, unchanged and
    not audited again. Problems raise one Unprocessable ("workflow_invalid") listing every one."""
    source = (source or "upload").strip()[:SOURCE_LENGTH] or "upload"
    try:
        definition = parse_text(text, source)
    except DefinitionError as exc:
        raise _refused(exc.problems) from None
    problems = _storage_problems(definition, source)
    if problems:
        raise _refused(problems)
    key, checksum = definition.key, definition.checksum
    for _ in range(3):
        found = _by_checksum(key, checksum)
        if found is not None:
            return Added(found, new=False)
        version = WorkflowVersion(key=key, revision=(_last_revision(key) or 0) + 1,
                                  declared_version=definition.version, checksum=checksum, source=source,
                                  body=_json_ready(definition.raw), created_at=utcnow())
        try:
            with db.session.begin_nested():
                db.session.add(version)
                db.session.flush()
        except IntegrityError:
            continue  # another writer took the revision number (or stored the same content) first
        record(action="workflow.add", entity="workflow", actor=actor, entity_key=f"{key} r{version.revision}",
               new={"workflow": f"{key} r{version.revision}", "declared_version": definition.version,
                    "source": source})
        return Added(version, new=True)
    raise Conflict("stale_version")


def add_definition(text: str, source: str, actor) -> WorkflowVersion:
    """The stored version of uploaded YAML text (see :func:`store_definition`)."""
    return store_definition(text, source, actor).version


def _by_checksum(key: str, checksum: str) -> WorkflowVersion | None:
    return db.session.execute(db.select(WorkflowVersion).filter_by(key=key, checksum=checksum)).scalar_one_or_none()


def _last_revision(key: str) -> int | None:
    return db.session.execute(sa.select(sa.func.max(WorkflowVersion.revision)).filter_by(key=key)).scalar()


def _newest(key: str) -> WorkflowVersion | None:
    return db.session.execute(db.select(WorkflowVersion).filter_by(key=key)
                              .order_by(WorkflowVersion.revision.desc()).limit(1)).scalar_one_or_none()


def latest_version(key: str) -> WorkflowVersion:
    """The newest stored revision of a workflow; for a key only on disk, its file's version (stored
    now). An unknown key: NotFound ("workflow_not_found")."""
    newest = _newest(key)
    if newest is not None:
        return newest
    if key in definitions():
        return current_version(key)
    raise NotFound("workflow_not_found", {"key": key})


def version_of(key: str, revision: int) -> WorkflowVersion:
    """One revision of a workflow: NotFound ("workflow_not_found", "workflow_revision_not_found")."""
    found = db.session.execute(db.select(WorkflowVersion).filter_by(key=key, revision=revision)).scalar_one_or_none()
    if found is not None:
        return found
    if _newest(key) is None and key not in definitions():
        raise NotFound("workflow_not_found", {"key": key})
    raise NotFound("workflow_revision_not_found", {"key": key, "revision": revision})


@dataclass(frozen=True)
class StoredVersion:
    version: WorkflowVersion
    #: preparations whose unit steps (or branch steps) follow it
    preparations: int


def stored_versions(key: str | None = None) -> list[StoredVersion]:
    """Every stored revision (of one key), by key and revision, with how many preparations use it."""
    query = db.select(WorkflowVersion).order_by(WorkflowVersion.key, WorkflowVersion.revision)
    if key is not None:
        if _newest(key) is None and key not in definitions():
            raise NotFound("workflow_not_found", {"key": key})
        query = query.filter_by(key=key)
    versions = db.session.execute(query).scalars().all()
    uses: dict[int, int] = {}
    for column in (Preparation.workflow_version_id, Preparation.branch_workflow_version_id):
        for version_id, count in db.session.execute(
                sa.select(column, sa.func.count()).where(column.is_not(None)).group_by(column)):
            uses[version_id] = uses.get(version_id, 0) + count
    return [StoredVersion(v, uses.get(v.id, 0)) for v in versions]


# --- differences ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class StepChange:
    key: str
    #: field -> (old value, new value), for the fields in STEP_FIELDS that differ
    fields: dict[str, tuple[Any, Any]]


@dataclass(frozen=True)
class VersionDiff:
    key: str
    old_revision: int
    new_revision: int
    steps_added: tuple[str, ...]
    steps_removed: tuple[str, ...]
    steps_changed: tuple[StepChange, ...]
    phases_added: tuple[str, ...]
    phases_removed: tuple[str, ...]
    #: a unified diff of the two definitions as YAML, for display
    text: str

    @property
    def unchanged(self) -> bool:
        return not (self.steps_added or self.steps_removed or self.steps_changed or self.phases_added
                    or self.phases_removed or self.text)


def _step_value(step, name: str) -> Any:
    if name == "title":
        return {"vi": step.title_vi, "en": step.title_en}
    if name == "requires":
        return list(step.requires)
    if name == "due":
        return step.due.as_dict() if step.due is not None else None
    return getattr(step, name)


def as_yaml(version: WorkflowVersion) -> str:
    return yaml.safe_dump(version.body, allow_unicode=True, sort_keys=False, width=100)


def diff_versions(old: WorkflowVersion, new: WorkflowVersion) -> VersionDiff:
    """What changed from one version to another: steps and phases added and removed, the steps
    whose fields changed (field by field), and the line-by-line difference of their YAML."""
    before, after = old.definition(), new.definition()
    old_keys, new_keys = set(before.step_keys), set(after.step_keys)
    changed = []
    for key in after.step_keys:
        if key not in old_keys:
            continue
        was, now = before.step(key), after.step(key)
        fields = {name: (_step_value(was, name), _step_value(now, name)) for name in STEP_FIELDS
                  if _step_value(was, name) != _step_value(now, name)}
        if fields:
            changed.append(StepChange(key, fields))
    old_phases, new_phases = [p.key for p in before.phases], [p.key for p in after.phases]
    text = "\n".join(difflib.unified_diff(as_yaml(old).splitlines(), as_yaml(new).splitlines(),
                                          fromfile=f"{old.key} r{old.revision}", tofile=f"{new.key} r{new.revision}",
                                          lineterm=""))
    return VersionDiff(new.key, old.revision, new.revision,
                       tuple(k for k in after.step_keys if k not in old_keys),
                       tuple(k for k in before.step_keys if k not in new_keys), tuple(changed),
                       tuple(p for p in new_phases if p not in old_phases),
                       tuple(p for p in old_phases if p not in new_phases), text)


# --- migrations -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class StepMove:
    """A step a migration adds, drops or cannot keep: of the unit (owner: its code) or of one of
    its branches (owner: the branch's code)."""
    owner: str
    key: str
    branch_id: int | None = None
    state: str = State.NOT_STARTED.value
    due_on: date | None = None
    #: whether its progress is on record (a dropped one blocks the migration)
    recorded: bool = False

    @property
    def label(self) -> str:
        return f"{self.owner}/{self.key}"


@dataclass(frozen=True)
class PrerequisiteWarning:
    """A finished step kept by the migration whose new prerequisite is a step it adds, not started."""
    owner: str
    step: str
    prerequisite: str

    @property
    def label(self) -> str:
        return f"{self.owner}/{self.step}"


@dataclass
class UnitPlan:
    preparation: Preparation
    from_version: WorkflowVersion
    add: list[StepMove] = field(default_factory=list)
    drop: list[StepMove] = field(default_factory=list)
    kept: int = 0
    #: kept steps waiting on the city's verdict while the new version no longer asks for one
    stranded: list[StepMove] = field(default_factory=list)
    warnings: list[PrerequisiteWarning] = field(default_factory=list)
    #: the unit's branches (a branch migration), and the rows and ids the migration writes
    branches: list[Branch] = field(default_factory=list, repr=False)
    rows: list[dict] = field(default_factory=list, repr=False)
    drop_ids: list[int] = field(default_factory=list, repr=False)

    @property
    def unit(self):
        return self.preparation.unit

    @property
    def blockers(self) -> list[StepMove]:
        """Dropped steps whose progress is on record: the migration would lose them."""
        return [move for move in self.drop if move.recorded]


@dataclass
class MigrationPlan:
    to_version: WorkflowVersion
    scope: str
    #: the units the migration moves (those not already on ``to_version``)
    units: list[UnitPlan] = field(default_factory=list)
    #: preparations already on ``to_version`` (left as they are)
    unchanged: int = 0
    applied: bool = False

    @property
    def blockers(self) -> list[tuple[UnitPlan, StepMove]]:
        return [(unit, move) for unit in self.units for move in unit.blockers]

    @property
    def stranded(self) -> list[tuple[UnitPlan, StepMove]]:
        return [(unit, move) for unit in self.units for move in unit.stranded]

    @property
    def warnings(self) -> list[tuple[UnitPlan, PrerequisiteWarning]]:
        return [(unit, warning) for unit in self.units for warning in unit.warnings]

    @property
    def can_apply(self) -> bool:
        return not self.blockers and not self.stranded

    @property
    def steps_added(self) -> int:
        return sum(len(u.add) for u in self.units)

    @property
    def added_past_due(self) -> list[tuple[UnitPlan, StepMove]]:
        """Added steps whose due date has already passed: they are overdue from the start."""
        now = today()
        return [(unit, move) for unit in self.units for move in unit.add
                if move.due_on is not None and move.due_on < now]

    @property
    def steps_dropped(self) -> int:
        return sum(len(u.drop) for u in self.units)

    @property
    def steps_kept(self) -> int:
        return sum(u.kept for u in self.units)


def is_recorded(step) -> bool:
    """Whether a step's progress is on record: started or further, or any date, note or reason set."""
    return step.state != State.NOT_STARTED.value or any(
        getattr(step, name) not in (None, "") for name in RECORDED_FIELDS)


def _version_label(version: WorkflowVersion | None) -> str | None:
    return f"{version.key} r{version.revision}" if version is not None else None


def _followed(prep: Preparation, scope: str) -> WorkflowVersion | None:
    return prep.workflow_version if scope == "unit" else prep.branch_workflow_version


def _chunks(values: Sequence, size: int = CHUNK) -> Iterable[Sequence]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def plan_migration(preparations: Iterable[Preparation], to_version: WorkflowVersion, *,
                   scope: str = "unit") -> MigrationPlan:
    """What moving the units' steps (``scope`` "unit") or their branches' steps ("branch") to
    ``to_version`` would do, unit by unit: the steps it adds (not started, due by the new version's
    rules), drops (in the old version only) and keeps; the dropped steps whose progress is on
    record (blockers), the kept ones left waiting on a verdict the new version no longer asks for,
    and the finished steps whose new prerequisite is a step it adds. Writes nothing."""
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {', '.join(SCOPES)}, not {scope!r}")
    target = to_version.definition()
    plan = MigrationPlan(to_version, scope)
    moving = []
    for prep in preparations:
        followed = _followed(prep, scope)
        if followed is None or followed.key != to_version.key or target.subject != scope:
            raise Unprocessable("migration_wrong_workflow", {
                "version": _version_label(to_version),
                "expected": followed.key if followed is not None else None})
        if followed.id == to_version.id:
            plan.unchanged += 1
        else:
            moving.append(prep)
    if not moving:
        return plan
    steps_of: dict[int, list] = {}
    columns = (Step.id, Step.preparation_id, Step.branch_id, Step.key, Step.state, *(
        getattr(Step, name) for name in RECORDED_FIELDS))
    for ids in _chunks([p.id for p in moving]):
        query = sa.select(*columns).where(Step.preparation_id.in_(ids))
        query = query.where(Step.branch_id.is_(None) if scope == "unit" else Step.branch_id.is_not(None))
        for row in db.session.execute(query.order_by(Step.id)):
            steps_of.setdefault(row.preparation_id, []).append(row)
    branches_of: dict[tuple[int, int], list[Branch]] = {}
    if scope == "branch":
        for units in _chunks([p.unit_id for p in moving]):
            for branch in db.session.execute(db.select(Branch).where(
                    Branch.unit_id.in_(units), Branch.campaign_id.in_({p.campaign_id for p in moving}))
                    .order_by(Branch.code)).scalars():
                branches_of.setdefault((branch.campaign_id, branch.unit_id), []).append(branch)
    for prep in moving:
        plan.units.append(_unit_plan(prep, _followed(prep, scope), target, scope, steps_of.get(prep.id, []),
                                     branches_of.get((prep.campaign_id, prep.unit_id), [])))
    return plan


def _unit_plan(prep: Preparation, followed: WorkflowVersion, target: WorkflowDefinition, scope: str,
               rows: list, branches: list[Branch]) -> UnitPlan:
    unit = UnitPlan(prep, followed, branches=branches)
    if scope == "unit":
        owners = [(None, prep.unit.code, anchors_for(prep))]
    else:
        owners = [(b.id, b.code, anchors_for(prep, b)) for b in branches]
    codes = {branch_id: code for branch_id, code, _ in owners}
    by_owner: dict[int | None, list] = {}
    for row in rows:
        by_owner.setdefault(row.branch_id, []).append(row)
    wanted = set(target.step_keys)
    for branch_id, owner, anchors in owners:
        present = {row.key for row in by_owner.get(branch_id, [])}
        fresh = [r for r in _step_rows(prep, target, anchors, branch_id) if r["key"] not in present]
        unit.rows.extend(fresh)
        unit.add.extend(StepMove(owner, r["key"], branch_id, due_on=r["due_on"]) for r in fresh)
    added = {(move.branch_id, move.key) for move in unit.add}
    for branch_id, owned in by_owner.items():
        owner = codes.get(branch_id) or (prep.unit.code if branch_id is None else str(branch_id))
        for row in owned:
            if row.key not in wanted:
                unit.drop.append(StepMove(owner, row.key, branch_id, row.state, recorded=is_recorded(row)))
                continue
            unit.kept += 1
            step_def = target.step(row.key)
            if row.state in APPROVAL_STATES and not step_def.approval:
                unit.stranded.append(StepMove(owner, row.key, branch_id, row.state, recorded=True))
            if State(row.state) in FINISHED:
                unit.warnings.extend(PrerequisiteWarning(owner, row.key, required) for required in step_def.requires
                                     if (branch_id, required) in added)
    unit.drop_ids = [row.id for owned in by_owner.values() for row in owned if row.key not in wanted]
    return unit


def _refuse(plan: MigrationPlan) -> None:
    for unit in plan.units:
        campaign = unit.preparation.campaign
        if getattr(campaign, "is_closed", False):
            raise Unprocessable("migration_campaign_closed", {"campaign": campaign.name_vi})
    version = _version_label(plan.to_version)
    for found, code in ((plan.blockers, "migration_would_lose_steps"), (plan.stranded, "migration_would_strand_steps")):
        if found:
            units = list(dict.fromkeys(f"{u.unit.name} ({u.unit.code})" for u, _ in found))
            raise Unprocessable(code, {"version": version, "count": len(found), "units": units,
                                       "steps": [move.label for _, move in found]})


def migrate(preparations: Iterable[Preparation], to_version: WorkflowVersion, *, actor, scope: str = "unit",
            confirm: bool = False) -> MigrationPlan:
    """Move units to another version of their workflow. Without ``confirm``: the plan only, nothing
    written. With it: every unit at once or none (one savepoint) — steps added and dropped, kept
    steps' due dates recomputed by the new version (a lapse stays on record), the preparation
    pointed at the new version, one "preparation.migrate" record per unit. Refused
    ("migration_would_lose_steps") when a dropped step has progress on record. Units already on
    ``to_version`` are left as they are, so a second run does nothing. The caller commits."""
    return _migrate(plan_migration(preparations, to_version, scope=scope), actor=actor, confirm=confirm)


def _migrate(plan: MigrationPlan, *, actor, confirm: bool, then=None) -> MigrationPlan:
    if not confirm:
        return plan
    _refuse(plan)
    with db.session.begin_nested():
        if plan.units:
            _apply(plan, actor)
        if then is not None:
            then()
    db.session.expire_all()
    plan.applied = True
    return plan


def _apply(plan: MigrationPlan, actor) -> None:
    target = plan.to_version
    for unit in plan.units:
        if plan.scope == "unit":
            unit.preparation.workflow_version = target
        else:
            unit.preparation.branch_workflow_version = target
    db.session.flush()  # a preparation changed meanwhile is refused here (its version)
    drop_ids = [i for unit in plan.units for i in unit.drop_ids]
    for ids in _chunks(drop_ids):
        # only steps still without progress: one recorded since the plan was read stops everything
        deleted = db.session.execute(sa.delete(Step).where(
            Step.id.in_(ids), Step.state == State.NOT_STARTED.value,
            *(getattr(Step, name).is_(None) for name in RECORDED_FIELDS))
            .execution_options(synchronize_session=False)).rowcount
        if deleted != len(ids):
            raise Conflict("stale_version")
    insert_steps([row for unit in plan.units for row in unit.rows])
    for unit in plan.units:
        refresh_due_dates(unit.preparation, unit.branches, expire=False, actor=actor)
        record(action="preparation.migrate", entity="preparation", actor=actor,
               entity_key=unit.preparation.unit.code, unit_id=unit.preparation.unit_id,
               campaign_id=unit.preparation.campaign_id, old={"workflow": _version_label(unit.from_version)},
               new={"workflow": _version_label(target), "steps_added": [_owned(unit, m) for m in unit.add],
                    "steps_dropped": [_owned(unit, m) for m in unit.drop]})


def _owned(unit: UnitPlan, move: StepMove) -> str:
    """A step as the unit's record names it: its key, or a branch's code and key."""
    return move.key if move.branch_id is None else move.label


def campaign_preparations(campaign: Campaign) -> list[Preparation]:
    return db.session.execute(db.select(Preparation).filter_by(campaign_id=campaign.id)
                              .order_by(Preparation.id)).scalars().all()


def migrate_campaign(campaign: Campaign, to_version: WorkflowVersion, *, actor, scope: str = "unit",
                     confirm: bool = False) -> MigrationPlan:
    """:func:`migrate` every unit of a campaign; confirmed, the campaign's own pinned version (the
    one units enrolled later are given), where it keeps one, moves with them, audited
    ("campaign.migrate")."""
    plan = plan_migration(campaign_preparations(campaign), to_version, scope=scope)
    pin = "unit_workflow_version_id" if scope == "unit" else "branch_workflow_version_id"

    def move_pin() -> None:
        if not hasattr(campaign, pin) or getattr(campaign, pin) == to_version.id:
            return
        if getattr(campaign, "is_closed", False):
            raise Unprocessable("migration_campaign_closed", {"campaign": campaign.name_vi})
        old = db.session.get(WorkflowVersion, getattr(campaign, pin)) if getattr(campaign, pin) else None
        setattr(campaign, pin, to_version.id)
        db.session.flush()
        record(action="campaign.migrate", entity="campaign", actor=actor,
               entity_key=f"{campaign.province_code}/{campaign.term}",
               old={"workflow": _version_label(old)}, new={"workflow": _version_label(to_version)})

    return _migrate(plan, actor=actor, confirm=confirm, then=move_pin)

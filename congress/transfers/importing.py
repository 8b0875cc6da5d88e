"""Spreadsheet imports: upload, preview, confirm.

An upload becomes an ImportBatch; a background job (inline in tests) reads its rows in chunks
and stages each one with what the preview found: new, updated, unchanged, warning or error, and
why. The page polls the job's progress. Confirming applies every row in one transaction through
the same checks as the pages (branch rules, the workflow's transitions), refuses when what a
row changes was changed by someone since the preview (409), and writes one audit event with the
counts beside the records of each change.

The preview runs that same confirmation once, in a savepoint it rolls back (:func:`check_batch`):
a row the confirmation would refuse is an error in the preview, and every completed step of a
unit the import would reopen or re-date is named on the row that causes it. Confirming such an
import needs that consequence accepted (the preview's checkbox).
"""
from __future__ import annotations

import logging
import secrets
import threading
import unicodedata
from collections.abc import Callable, Iterable
from datetime import date
from functools import partial
from typing import TypeVar

import sqlalchemy as sa
from flask import Flask, current_app

from congress.accounts import permissions
from congress.accounts.models import User
from congress.audit.operations import changed_fields, record, record_many
from congress.background import Heartbeat
from congress.clock import today, utcnow
from congress.errors import Conflict, Forbidden, NotFound, OperationError, Unprocessable
from congress.extensions import db
from congress.formatting import short_date
from congress.messages import describe
from congress.progress import stored
from congress.progress.accountability import CompletedStepPolicy, completed_steps
from congress.progress.campaigns import check_open, round_of
from congress.progress.models import Campaign, Preparation, Step, WorkflowVersion
from congress.progress.operations import (
    add_branches_steps,
    apply_branches_rules,
    enrol_units,
    refresh_due_dates,
    set_congress_date,
    step_snapshot,
    transition,
)
from congress.units.models import Branch, Province, Unit
from congress.units.operations import BRANCH_FIELDS, TEXT_LIMITS, branch_snapshot, validate_branch_changes
from workflows.rules import Action, State, forward_path

from . import messages  # noqa: F401  (registers the messages)
from .columns import BRANCH_KIND_WORDS, STATE_ALIASES, STATE_WORDS, UNIT_KIND_WORDS, heading_key, word_key
from .models import IMPORT_KINDS, ImportBatch, ImportRow
from .reading import CellProblem, cell_value, open_sheet

log = logging.getLogger(__name__)
T = TypeVar("T")
#: rows read, classified and staged together (a fixed number of queries per chunk)
CHUNK = 500
#: the preview's checkbox that accepts reopening or re-dating completed steps
ACCEPT_FIELD = "accept_completed_changes"
DEFAULT_MAX_ROWS = 20_000
DEFAULT_MAX_BYTES = 10 * 1024 * 1024


def max_rows() -> int:
    return int(current_app.config.get("TRANSFERS_MAX_ROWS") or DEFAULT_MAX_ROWS)


def max_bytes() -> int:
    return int(current_app.config.get("TRANSFERS_MAX_BYTES") or DEFAULT_MAX_BYTES)


# --- upload and the reading job ------------------------------------------------------------

def start_import(kind: str, filename: str, content: bytes, actor, campaign: Campaign | None = None) -> ImportBatch:
    """Stage an uploaded file for ``campaign`` (the one the uploader's page showed: its rows apply
    to the units' preparations in that campaign's round; without one, to each unit's newest open
    preparation); its rows are read by :func:`run`."""
    if kind not in IMPORT_KINDS:
        raise Unprocessable("import_unknown_kind", {"kind": kind[:20]})
    if not permissions.can_import(actor, kind):
        raise Forbidden("import_forbidden")
    if not content:
        raise Unprocessable("import_empty_file")
    if len(content) > max_bytes():
        raise Unprocessable("import_too_large", {"limit": max_bytes() // (1024 * 1024)})
    now = utcnow()
    batch = ImportBatch(token=secrets.token_hex(16), kind=kind, filename=(filename or "")[:200] or "upload",
                        user_id=actor.id, state="queued", content=content, created_at=now, updated_at=now,
                        heartbeat_at=now, campaign_id=campaign.id if campaign is not None else None)
    db.session.add(batch)
    db.session.flush()
    return batch


def start(app: Flask, batch_id: int) -> None:
    """Read a batch: in a thread, or at once when TRANSFERS_JOBS_INLINE is set (tests, CLI)."""
    if app.config.get("TRANSFERS_JOBS_INLINE"):
        run(app, batch_id)
        return
    threading.Thread(target=run, args=(app, batch_id), name=f"import-{batch_id}", daemon=True).start()


def run(app: Flask, batch_id: int) -> None:
    """Read, classify and stage every row, committing the progress after each chunk."""
    with app.app_context():
        batch = db.session.get(ImportBatch, batch_id)
        if batch is None or batch.state != "queued":
            return
        batch.state = "reading"
        batch.updated_at = batch.heartbeat_at = utcnow()
        db.session.commit()
        with Heartbeat(app, ImportBatch.__table__, batch_id, ("reading",), on_sqlite=False):
            try:
                read_batch(batch)
            except OperationError as exc:
                _failed(batch_id, exc.code, exc.params)
            except Exception:  # the page must learn that the reading stopped
                log.exception("import %s failed", batch_id)
                _failed(batch_id, "import_failed", {})
        db.session.remove()


def _failed(batch_id: int, code: str, params: dict) -> None:
    from congress.audit.operations import _plain

    db.session.rollback()
    db.session.execute(sa.delete(ImportRow).where(ImportRow.batch_id == batch_id))
    batch = db.session.get(ImportBatch, batch_id)
    batch.state, batch.error, batch.error_params = "failed", code, _plain(dict(params))
    batch.content, batch.finished_at = None, utcnow()
    batch.updated_at = utcnow()
    db.session.commit()


def read_batch(batch: ImportBatch) -> None:
    actor = db.session.get(User, batch.user_id)
    sheet = open_sheet(batch.filename, batch.content or b"", batch.kind, max_rows())
    batch.total, batch.done = sheet.estimate, 0
    db.session.commit()
    classifier = CLASSIFIERS[batch.kind](actor)
    classifier.campaign = batch.campaign
    chunk: list[tuple[int, dict, list]] = []
    for number, cells in sheet.rows:
        warnings: list = []
        values, problems = {}, []
        for index, column in sheet.columns.items():
            if index >= len(cells):
                continue
            try:
                value = cell_value(column, cells[index], warnings)
            except CellProblem as problem:
                problems.append({"code": problem.code, "params": problem.params})
                continue
            if value is not None:
                values[column.field] = value
        chunk.append((number, values, problems + warnings))
        if len(chunk) >= CHUNK:
            _stage(batch, classifier, chunk)
            chunk = []
    if chunk:
        _stage(batch, classifier, chunk)
    batch.counts = row_counts(batch)
    if not any(batch.counts.values()):
        raise Unprocessable("import_no_rows")
    check_batch(batch, actor)
    batch.counts = row_counts(batch)
    batch.state, batch.content = "previewed", None
    batch.total = batch.done
    batch.finished_at = batch.updated_at = utcnow()
    db.session.commit()


def _stage(batch: ImportBatch, classifier, chunk: list[tuple[int, dict, list]]) -> None:
    staged = classifier.classify(chunk)
    db.session.execute(sa.insert(ImportRow.__table__), [
        {"batch_id": batch.id, "number": row.number, "status": row.status, "problems": _jsonable(row.problems) or None,
         "target": row.target, "values": _jsonable(row.values), "before": _jsonable(row.before),
         "changes": _jsonable(row.changes) or None}
        for row in staged])
    batch.done += len(chunk)
    batch.total = max(batch.total, batch.done)
    batch.updated_at = batch.heartbeat_at = utcnow()
    db.session.commit()


def _shown(params: dict) -> dict:
    """A finding's parameters as the preview keeps them: JSON, the days already in words (20/8/2025)."""
    return _jsonable({k: short_date(v) if isinstance(v, date) else v for k, v in params.items()})


def _jsonable(value):
    from congress.audit.operations import _plain

    return _plain(value) if value is not None else None


def row_counts(batch: ImportBatch) -> dict[str, int]:
    found = dict(db.session.execute(sa.select(ImportRow.status, sa.func.count(ImportRow.id))
                                    .where(ImportRow.batch_id == batch.id).group_by(ImportRow.status)).all())
    return {status: found.get(status, 0) for status in ("new", "updated", "unchanged", "warning", "error")}


def _done_counts(batch: ImportBatch, counts: dict[str, int]) -> dict[str, int]:
    """What the applied rows did: a row that carried a warning counts as new, updated or unchanged
    by its effect too ("warning" keeps how many carried one)."""
    done = dict(counts)
    for before, changes in db.session.execute(sa.select(ImportRow.before, ImportRow.changes).where(
            ImportRow.batch_id == batch.id, ImportRow.status == "warning")):
        done["new" if before is None else "updated" if changes else "unchanged"] += 1
    return done


# --- classifying rows ----------------------------------------------------------------------

class Staged:
    def __init__(self, number: int, values: dict, problems: list):
        self.number = number
        self.values = values
        self.problems = list(problems)
        self.target: str | None = None
        self.before: dict | None = None
        self.changes: dict = {}
        self.exists = False

    def error(self, problem: str, /, **params) -> None:
        self.problems.append({"code": problem, "params": _shown(params), "error": True})

    def warn(self, problem: str, /, **params) -> None:
        self.problems.append({"code": problem, "params": _shown(params)})

    @property
    def status(self) -> str:
        if any(p.get("error") or p["code"] in ERROR_CODES for p in self.problems):
            return "error"
        if self.problems:
            return "warning"
        if not self.exists:
            return "new"
        return "updated" if self.changes else "unchanged"


#: problems found while reading a cell that make the row an error (the others are warnings)
ERROR_CODES = {"import_formula", "import_bad_date", "import_bad_number", "import_text_too_long"}


def _units_by_code(codes: Iterable[str]) -> dict[str, Unit]:
    codes = {c for c in codes if c}
    if not codes:
        return {}
    return {u.code: u for u in db.session.execute(db.select(Unit).where(Unit.code.in_(codes))).scalars()}


def _preparations(unit_ids: Iterable[int], campaign: Campaign | None = None) -> dict[int, Preparation]:
    """Each unit's preparation the import applies to: in ``campaign``'s round (its province's
    campaign, or another province's of the same organisation, level and term), else the newest."""
    unit_ids = set(unit_ids)
    if not unit_ids:
        return {}
    found: dict[int, Preparation] = {}
    query = db.select(Preparation).join(Preparation.campaign).where(Preparation.unit_id.in_(unit_ids))
    if campaign is not None:
        query = query.where(round_of(campaign).where())
    # the last one wins: an open campaign's over a closed one's, one tracking branches over one
    # that tracks none, then the latest
    for prep in db.session.execute(
            query.order_by(sa.case((Campaign.status == "open", 1), else_=0),
                      sa.case((Preparation.branch_workflow_version_id.is_(None), 0), else_=1),
                      Preparation.id)).scalars():
        found[prep.unit_id] = prep
    return found


def _unit_code(value) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text.zfill(5) if text.isdigit() and len(text) <= 5 else text


class UnitClassifier:
    """Rows of units: code, name, kind, province, members, planned congress date (admins)."""

    campaign: Campaign | None = None

    def __init__(self, actor):
        self.actor = actor
        self.seen: set[str] = set()
        self.provinces = set(db.session.execute(sa.select(Province.code)).scalars())

    def classify(self, chunk) -> list[Staged]:
        rows = [Staged(*item) for item in chunk]
        units = _units_by_code(_unit_code(r.values.get("code")) for r in rows)
        preps = _preparations((u.id for u in units.values()), self.campaign)
        for row in rows:
            self._one(row, units, preps)
        return rows

    def _one(self, row: Staged, units: dict[str, Unit], preps: dict[int, Preparation]) -> None:
        values = row.values
        code = _unit_code(values.get("code"))
        if not code or not code.isdigit() or len(code) != 5:
            row.error("import_bad_unit_code", value=values.get("code") or "")
            return
        values["code"] = row.target = code
        if code in self.seen:
            row.error("import_duplicate_row", key=code)
        self.seen.add(code)
        if "kind" in values:
            kind = word_key(UNIT_KIND_WORDS, values["kind"])
            if kind is None:
                row.error("import_unknown_value", column="Loại", value=values["kind"])
            values["kind"] = kind
        if "province" in values:
            values["province"] = str(values["province"]).zfill(2)
            if values["province"] not in self.provinces:
                row.error("province_not_found", code=values["province"])
        if values.get("members") is not None and values["members"] < 0:
            row.error("must_not_be_negative", field="members")
        unit = units.get(code)
        if unit is None:
            for field in ("name", "kind", "province"):
                if not values.get(field):
                    row.error("import_new_unit_needs", field=field)
            return
        row.exists = True
        prep = preps.get(unit.id)
        row.before = unit_snapshot(unit, prep)
        if values.get("province") and values["province"] != unit.province_code:
            row.error("import_unit_moves", code=code)
        if values.get("congress_on") is not None:
            if prep is None:
                row.error("not_enrolled", code=code)
            elif values["congress_on"] < prep.campaign.starts_on:
                row.error("date_before_campaign", on=values["congress_on"], start=prep.campaign.starts_on)
        wanted = {k: v for k, v in values.items() if k in ("name", "kind", "members", "congress_on")}
        row.changes = {k: [row.before.get(k), v] for k, v in wanted.items() if row.before.get(k) != v}


def unit_snapshot(unit: Unit, prep: Preparation | None) -> dict:
    return {"name": unit.name, "kind": unit.kind, "members": unit.members, "province": unit.province_code,
            "congress_on": prep.congress_on if prep else None, "version": prep.version if prep else None}


class BranchClassifier:
    """Rows of branches: unit, branch code (or name), kind, secretary, members, dates, delegates."""

    campaign: Campaign | None = None

    def __init__(self, actor):
        self.actor = actor
        self.seen: set[tuple] = set()

    def classify(self, chunk) -> list[Staged]:
        rows = [Staged(*item) for item in chunk]
        units = _units_by_code(_unit_code(r.values.get("unit")) for r in rows)
        preps = _preparations((u.id for u in units.values()), self.campaign)
        by_code, by_name = {}, {}
        if preps:
            for branch in db.session.execute(db.select(Branch).where(_in_rosters(preps))).scalars():
                by_code[branch.code] = branch
                by_name[(branch.unit_id, name_key(branch.name))] = branch
        for row in rows:
            self._one(row, units, preps, by_code, by_name)
        return rows

    def _one(self, row, units, preps, by_code, by_name) -> None:
        values = row.values
        unit = _scoped_unit(row, units, self.actor)
        if unit is None:
            return
        values["unit"] = unit.code
        if "kind" in values:
            kind = word_key(BRANCH_KIND_WORDS, values["kind"])
            if kind is None:
                row.error("unknown_branch_kind", value=values["kind"])
                return
            values["kind"] = kind
        for field, limit in TEXT_LIMITS.items():
            if values.get(field) and len(values[field]) > limit:
                row.error("import_text_too_long", column=field, limit=limit)
        name = values.get("name")
        code = values.get("code")
        branch = by_code.get(code) if code else by_name.get((unit.id, name_key(name or "")))
        if code and branch is not None and branch.unit_id != unit.id:
            row.error("import_branch_other_unit", code=code, unit=unit.code)
            return
        if code and branch is None and not (code.startswith(unit.code + "-") and code[6:].isdigit()):
            row.error("branch_not_found", code=code)
            return
        key = (unit.id, name_key(name or "")) if name else None
        if code and ("code", code) in self.seen:
            row.error("import_duplicate_row", key=code)
        elif key and ("name", key) in self.seen:
            row.error("import_duplicate_row", key=name)
        if code:
            self.seen.add(("code", code))
        if key:
            self.seen.add(("name", key))
        if branch is None and code is None and name is None:
            row.error("field_required", field="name")
            return
        if branch is not None and name and code:
            other = by_name.get((unit.id, name_key(name)))
            if other is not None and other.id != branch.id:
                row.error("duplicate_branch", name=name)
        wanted = {k: v for k, v in values.items() if k in BRANCH_FIELDS}
        prep = preps.get(unit.id)
        if branch is None:
            row.target = code or f"{unit.code}/{name}"
            row.changes = {k: [None, v] for k, v in wanted.items()}
        else:
            row.exists = True
            row.target = branch.code
            values["code"] = branch.code
            row.before = branch_snapshot(branch)
            row.changes = {k: [row.before.get(k), v] for k, v in wanted.items() if row.before.get(k) != v}
        try:
            validate_branch_changes({k: v for k, (_, v) in row.changes.items()}, prep)
        except Unprocessable as exc:
            row.error(exc.code, **exc.params)


def name_key(name: str) -> str:
    """Branch names compared without case or extra spaces, but with their diacritics: "Thôn
    Đông" and "Thôn Đồng" are two branches."""
    return " ".join(unicodedata.normalize("NFC", name).lower().split())


def _in_rosters(preps: dict[int, Preparation]):
    """Branches of the preparations' units in the preparations' campaigns."""
    return sa.tuple_(Branch.unit_id, Branch.campaign_id).in_([(p.unit_id, p.campaign_id) for p in preps.values()])


def _scoped_unit(row: Staged, units: dict[str, Unit], actor) -> Unit | None:
    code = _unit_code(row.values.get("unit"))
    unit = units.get(code or "")
    if unit is None:
        row.error("import_unknown_unit", code=code or "")
        return None
    if not permissions.can_import_for_unit(actor, unit):
        row.error("import_unit_out_of_scope", code=unit.code)
        return None
    return unit


ACTION_DATE = {Action.START: "started_on", Action.SUBMIT: "submitted_on", Action.APPROVE: "approved_on",
               Action.COMPLETE: "completed_on"}


def plan_actions(current: State, target: State, needs_approval: bool, values: dict) -> list[Action]:
    """The actions that take a step from ``current`` to ``target``: the lifecycle's shortest run of
    forward moves (an import never undoes one), through "start" when the row gives a start date of
    its own; raises CellProblem if none do."""
    started, completed = values.get("started_on"), values.get("completed_on")
    prefer = Action.START if started and started != completed else None
    found = forward_path(current, target, needs_approval, prefer=prefer)
    if found is not None:
        return found
    if not needs_approval and target in (State.SUBMITTED, State.APPROVED):
        raise CellProblem("approval_not_required", {"action": Action.SUBMIT.value})
    raise CellProblem("import_state_backwards", {"current": current, "target": target})


class ProgressClassifier:
    """Rows of steps: unit, branch (empty for the unit's own steps), step, state and its dates."""

    campaign: Campaign | None = None

    def __init__(self, actor):
        self.actor = actor
        self.seen: set[str] = set()
        self.versions: dict[int, WorkflowVersion] = {}
        self.campaigns: dict[int, Campaign] = {}

    def _definition(self, version_id: int):
        if version_id not in self.versions:
            self.versions[version_id] = db.session.get(WorkflowVersion, version_id)
        return self.versions[version_id].definition()

    def classify(self, chunk) -> list[Staged]:
        rows = [Staged(*item) for item in chunk]
        units = _units_by_code(_unit_code(r.values.get("unit")) for r in rows)
        preps = _preparations((u.id for u in units.values()), self.campaign)
        codes = {r.values.get("branch") for r in rows if r.values.get("branch")}
        branches = {b.code: b for b in db.session.execute(
            db.select(Branch).where(Branch.code.in_(codes), _in_rosters(preps))).scalars()} if codes and preps else {}
        steps = {}
        if preps:
            for step in db.session.execute(db.select(Step).where(
                    Step.preparation_id.in_([p.id for p in preps.values()]))).scalars():
                steps[(step.preparation_id, step.branch_id, step.key)] = step
        for row in rows:
            self._one(row, units, preps, branches, steps)
        return rows

    def _one(self, row, units, preps, branches, steps) -> None:
        values = row.values
        unit = _scoped_unit(row, units, self.actor)
        if unit is None:
            return
        values["unit"] = unit.code
        prep = preps.get(unit.id)
        if prep is None:
            row.error("not_enrolled", code=unit.code)
            return
        branch = None
        if values.get("branch"):
            branch = branches.get(values["branch"])
            if branch is None or branch.unit_id != unit.id:
                row.error("branch_not_found", code=values["branch"])
                return
        definition = self._definition(prep.branch_workflow_version_id if branch else prep.workflow_version_id)
        step_def = _find_step(definition, values.get("step"))
        if step_def is None:
            row.error("import_unknown_step", step=values.get("step") or "")
            return
        values["step"] = step_def.key
        target = state_of(values.get("state"))
        if target is None:
            row.error("import_unknown_value", column="Trạng thái", value=values.get("state") or "")
            return
        values["state"] = target.value
        step = steps.get((prep.id, branch.id if branch else None, step_def.key))
        if step is None:
            row.error("import_unknown_step", step=step_def.key)
            return
        row.target = f"{branch.code if branch else unit.code}/{step_def.key}"
        if row.target in self.seen:
            row.error("import_duplicate_row", key=row.target)
        self.seen.add(row.target)
        row.exists = True
        row.before = step_snapshot(step)
        for field in ACTION_DATE.values():
            day = values.get(field)
            if day is None:
                continue
            if day > today():
                row.error("date_in_future", on=day, today=today())
            elif day < prep.campaign.starts_on:
                row.error("date_before_campaign", on=day, start=prep.campaign.starts_on)
        current = State(step.state)
        try:
            actions = plan_actions(current, target, step_def.approval, values)
        except CellProblem as problem:
            row.error(problem.code, **problem.params)
            return
        for action in actions:
            if not permissions.can_take_action(self.actor, unit, action, step_def.approval):
                row.error("action_forbidden", action=action.value)
                return
        if Action.MARK_NOT_APPLICABLE in actions and not values.get("note"):
            row.error("reason_required", action=Action.MARK_NOT_APPLICABLE.value)
        if actions:
            row.changes = {"state": [step.state, target.value]}
            for action in actions:
                field = ACTION_DATE.get(action)
                if field and values.get(field):
                    row.changes[field] = [getattr(step, field), values[field]]
        else:
            differ = [f for f in ACTION_DATE.values() if values.get(f) and values[f] != getattr(step, f)]
            if differ:
                row.warn("import_dates_kept", fields=differ)


def _find_step(definition, text):
    if not text:
        return None
    if text in definition.step_keys:
        return definition.step(text)
    wanted = heading_key(text)
    for step in definition.steps:
        if wanted in (heading_key(step.title_vi), heading_key(step.title_en), heading_key(step.key)):
            return step
    return None


def state_of(text) -> State | None:
    key = word_key(STATE_WORDS, text, STATE_ALIASES)
    return State(key) if key else None


CLASSIFIERS = {"units": UnitClassifier, "branches": BranchClassifier, "progress": ProgressClassifier}


# --- confirming -----------------------------------------------------------------------------

def batch_for(token: str, actor) -> ImportBatch:
    batch = db.session.execute(db.select(ImportBatch).filter_by(token=(token or "")[:32])).scalar_one_or_none()
    if batch is None or batch.user_id != actor.id:
        raise NotFound("import_not_found")
    return batch


def cancel(batch: ImportBatch, actor) -> None:
    if batch.user_id != actor.id:
        raise NotFound("import_not_found")
    if batch.state == "applied":
        raise Unprocessable("import_already_applied")
    db.session.execute(sa.delete(ImportRow).where(ImportRow.batch_id == batch.id))
    batch.state, batch.content, batch.updated_at = "cancelled", None, utcnow()


def _confirmable(batch: ImportBatch, actor, accept: bool, state: str = "previewed") -> tuple[dict[str, int], int]:
    """What refuses a confirmation before any row is applied; else the rows by status and how
    many completed steps the preview found the import reopens or re-dates."""
    if batch.user_id != actor.id:
        raise NotFound("import_not_found")
    if batch.state == "applied":
        raise Unprocessable("import_already_applied")
    if batch.state == "applying" and state != "applying":
        raise Unprocessable("import_being_applied")
    if batch.state != state:
        raise Unprocessable("import_not_ready")
    if not permissions.can_import(actor, batch.kind):
        raise Forbidden("import_forbidden")
    counts = row_counts(batch)
    if counts["error"]:
        raise Unprocessable("import_has_errors", {"count": counts["error"]})
    foreseen = completed_changes(batch)
    if foreseen and not accept:
        raise Unprocessable("import_completed_changes_unconfirmed", {"count": foreseen})
    return counts, foreseen


def confirm(batch: ImportBatch, actor, *, accept_completed_changes: bool = False) -> dict[str, int] | None:
    """The user's confirmation: what refuses it at once raises here. With TRANSFERS_JOBS_INLINE
    (tests, the command line) the rows are applied now, in the caller's transaction, and their
    counts returned; else the batch is marked ``applying`` (None is returned) and, once the
    caller committed, :func:`start_apply` applies it in the background."""
    if current_app.config.get("TRANSFERS_JOBS_INLINE"):
        return apply_batch(batch, actor, accept_completed_changes=accept_completed_changes)
    counts, _ = _confirmable(batch, actor, accept_completed_changes)
    now = utcnow()
    batch.state, batch.error, batch.error_params = "applying", None, None
    batch.done, batch.total = 0, sum(n for status, n in counts.items() if status != "error")
    batch.heartbeat_at = batch.updated_at = now
    db.session.flush()
    return None


def start_apply(app: Flask, batch_id: int, accept_completed_changes: bool) -> None:
    """Apply a batch marked ``applying`` by :func:`confirm`, in a thread."""
    threading.Thread(target=run_apply, args=(app, batch_id, accept_completed_changes),
                     name=f"import-apply-{batch_id}", daemon=True).start()


def run_apply(app: Flask, batch_id: int, accept_completed_changes: bool) -> None:
    """Apply every row in one transaction; a refusal (a row changed since the preview, a rule
    that refuses) rolls it all back and takes the batch back to its preview, saying why."""
    with app.app_context():
        batch = db.session.get(ImportBatch, batch_id)
        if batch is None or batch.state != "applying":
            return
        actor = db.session.get(User, batch.user_id)
        with Heartbeat(app, ImportBatch.__table__, batch_id, ("applying",), on_sqlite=False) as beat:
            try:
                apply_batch(batch, actor, accept_completed_changes=accept_completed_changes, progress=beat.progress)
                db.session.commit()
            except OperationError as exc:
                _back_to_preview(batch_id, exc.code, exc.params, exc)
            except Exception:  # the page must learn that the confirmation stopped
                log.exception("import %s: applying failed", batch_id)
                _back_to_preview(batch_id, "import_apply_failed", {})
        db.session.remove()


def _back_to_preview(batch_id: int, code: str, params: dict, exc: OperationError | None = None) -> None:
    from congress.audit.operations import _plain

    db.session.rollback()
    now = utcnow()
    db.session.execute(sa.update(ImportBatch.__table__).where(
        ImportBatch.__table__.c.id == batch_id, ImportBatch.__table__.c.state == "applying").values(
        state="previewed", error=code, error_params=_plain(dict(params)), updated_at=now))
    if exc is not None:
        note_refusal(batch_id, exc)
    db.session.commit()


def apply_batch(batch: ImportBatch, actor, *, accept_completed_changes: bool = False,
                progress: Callable[[int], None] | None = None) -> dict[str, int]:
    """Apply every staged row in the caller's transaction, all or nothing; the caller commits.

    Raises Conflict when what a row changes was changed since the preview, Unprocessable naming
    the row when an operation refuses it. Completed steps the preview said the import reopens or
    re-dates are changed only with ``accept_completed_changes`` (the preview's checkbox, the
    API's ``accept_completed_changes``: the caller passes what the user sent). ``progress`` hears
    the rows applied so far after each chunk.
    """
    accept = accept_completed_changes
    counts, foreseen = _confirmable(batch, actor, accept, "applying" if batch.state == "applying" else "previewed")
    applier = APPLIERS[batch.kind](actor, accept=accept)
    applier.campaign = batch.campaign
    _apply_rows(batch, applier, progress)
    if accept and len(applier.policy.changes) != foreseen:
        raise Conflict("import_completed_changes_differ",
                       {"count": len(applier.policy.changes), "foreseen": foreseen})
    counts = _done_counts(batch, counts)
    unit_ids = applier.unit_ids
    record(action="import.apply", entity="import", actor=actor, entity_key=batch.token,
           unit_id=next(iter(unit_ids)) if len(unit_ids) == 1 else None,
           new={"kind": batch.kind, "file": batch.filename, "rows": sum(counts.values()), **counts})
    batch.state, batch.counts, batch.error, batch.error_params = "applied", counts, None, None
    batch.done = batch.total = sum(counts.values()) - counts["warning"]
    batch.finished_at = batch.updated_at = utcnow()
    db.session.flush()
    return counts


def _apply_rows(batch: ImportBatch, applier: _Applier, progress: Callable[[int], None] | None = None) -> None:
    """Every row the confirmation applies (none with an error), chunk by chunk, through ``applier``;
    the workflow's rules may do to completed steps what its policy allows."""
    with completed_steps(applier.policy):
        last = done = 0
        while True:
            rows = db.session.execute(
                db.select(ImportRow).where(ImportRow.batch_id == batch.id, ImportRow.number > last,
                                           ImportRow.status.in_(("new", "updated", "unchanged", "warning")))
                .order_by(ImportRow.number).limit(CHUNK)).scalars().all()
            if not rows:
                break
            applier.apply(rows)
            last = rows[-1].number
            done += len(rows)
            if progress is not None:
                progress(done)
        applier.finish()


def check_batch(batch: ImportBatch, actor) -> None:
    """The preview's check: the confirmation itself, in a savepoint rolled back at the end, each row
    in its own savepoint so a refused row does not hide the next. What it would refuse becomes the
    row's error; each completed step it reopens or re-dates, a warning on the row that causes it
    (the confirmation must accept them)."""
    applier = APPLIERS[batch.kind](actor, checking=True)
    applier.campaign = batch.campaign
    savepoint = db.session.begin_nested()
    try:
        _apply_rows(batch, applier)
    finally:
        savepoint.rollback()
    findings = applier.findings
    numbers = sorted(findings)
    for start in range(0, len(numbers), CHUNK):
        for row in db.session.execute(db.select(ImportRow).where(
                ImportRow.batch_id == batch.id, ImportRow.number.in_(numbers[start:start + CHUNK]))).scalars():
            row.problems = [*(row.problems or []), *findings[row.number]]
            row.status = "error" if any(p.get("error") for p in findings[row.number]) else "warning"
    db.session.flush()


def completed_changes(batch: ImportBatch) -> int:
    """How many completed steps the preview found the import reopens or re-dates (warnings only)."""
    problems = db.session.execute(sa.select(ImportRow.problems).where(
        ImportRow.batch_id == batch.id, ImportRow.status == "warning")).scalars()
    return sum(1 for found in problems for p in found or [] if p["code"] in CONSEQUENCES.values())


#: the warning on a row that reopens or re-dates a completed step, by the change
CONSEQUENCES = {"reopen": "import_reopens_completed_step", "redate": "import_redates_completed_step"}


def _stale(row: ImportRow) -> Conflict:
    return Conflict("import_stale", {"row": row.number, "target": row.target or ""})


def _refused(row: ImportRow, exc: OperationError) -> Unprocessable:
    if isinstance(exc, Conflict):
        return _stale(row)
    return Unprocessable("import_row_refused", {"row": row.number, "reason": describe(exc.code, exc.params),
                                                "cause": {"code": exc.code, "params": _shown(exc.params)}})


def note_refusal(batch_id: int, exc: OperationError) -> None:
    """A confirmation refused because of one row (``import_row_refused``, ``import_stale``): that row
    becomes an error saying why, so the preview shows it and no longer offers to confirm. In the
    caller's transaction, after the refused one was rolled back."""
    number = exc.params.get("row")
    if exc.code not in ("import_row_refused", "import_stale") or not isinstance(number, int):
        return
    row = db.session.execute(db.select(ImportRow).filter_by(batch_id=batch_id, number=number)).scalar_one_or_none()
    if row is None:
        return
    cause = exc.params.get("cause") or {"code": exc.code, "params": _shown(exc.params)}
    row.problems = [*(row.problems or []), {**cause, "error": True}]
    row.status = "error"
    db.session.flush()
    batch = db.session.get(ImportBatch, batch_id)
    batch.counts = row_counts(batch)


def _date_value(value) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) else value


class _Applier:
    """Applies rows. Confirming (the default), the first refusal stops the import; checking (the
    preview), each row runs in its own savepoint and what is refused or what changes a completed
    step is noted in ``findings``, by row number."""

    #: the campaign the rows apply to (the batch's), or None for each unit's newest
    campaign: Campaign | None = None

    def __init__(self, actor, *, accept: bool = False, checking: bool = False):
        self.actor = actor
        self.unit_ids: set[int] = set()
        #: what the rules may do to completed steps, and what they did (the check allows all, to see it)
        self.policy = CompletedStepPolicy(reopen=accept or checking, redate=accept or checking)
        self.findings: dict[int, list[dict]] | None = {} if checking else None

    def guarded(self, row: ImportRow, work: Callable[[], T], *, writes: bool = True) -> T | None:
        """Run one row's work (or work the row caused, such as its unit's rules). Work that
        ``writes`` nothing before its last check (it only changes objects in memory) needs no
        savepoint of its own when checking."""
        if self.findings is None:
            try:
                return work()
            except OperationError as exc:
                raise _refused(row, exc) from None
        seen = len(self.policy.changes)
        try:
            if writes:
                with db.session.begin_nested():
                    result = work()
            else:
                result = work()
        except OperationError as exc:
            del self.policy.changes[seen:]  # rolled back with the refused work
            self.findings.setdefault(row.number, []).append(
                {"code": exc.code, "params": _shown(exc.params), "error": True})
            return None
        for change in self.policy.changes[seen:]:
            self.findings.setdefault(row.number, []).append(
                {"code": CONSEQUENCES[change["change"]], "params": _shown(change)})
        return result

    def finish(self) -> None:
        """Work left after the last chunk; appliers that batch their writes override it."""


class UnitApplier(_Applier):
    def __init__(self, actor, **options):
        super().__init__(actor, **options)
        self.added: list[tuple[Unit, date | None, ImportRow]] = []

    def apply(self, rows: list[ImportRow]) -> None:
        units = _units_by_code(r.values["code"] for r in rows)
        preps = _preparations((u.id for u in units.values()), self.campaign)
        for row in rows:
            self.guarded(row, partial(self._one, row, units.get(row.values["code"]), preps))

    def _one(self, row: ImportRow, unit: Unit | None, preps) -> None:
        values = row.values
        if row.before is None:
            if unit is not None:
                raise _stale(row)
            unit = Unit(code=values["code"], name=values["name"], kind=values["kind"],
                        province_code=values["province"], members=values.get("members"))
            db.session.add(unit)
            db.session.flush()
            record(action="unit.add", entity="unit", actor=self.actor, entity_key=unit.code, unit_id=unit.id,
                   new={"name": unit.name, "kind": unit.kind, "province": unit.province_code,
                        "members": unit.members})
            self.added.append((unit, _date_value(values.get("congress_on")), row))
            self.unit_ids.add(unit.id)
            return
        if unit is None:
            raise _stale(row)
        prep = preps.get(unit.id)
        if _jsonable(unit_snapshot(unit, prep)) != row.before:
            raise _stale(row)
        if not row.changes:
            return
        self.unit_ids.add(unit.id)
        before = {"name": unit.name, "kind": unit.kind, "members": unit.members}
        for field in ("name", "kind", "members"):
            if field in row.changes:
                setattr(unit, field, values[field])
        after = {"name": unit.name, "kind": unit.kind, "members": unit.members}
        if after != before:
            db.session.flush()
            old, new = changed_fields(before, after)
            record(action="unit.update", entity="unit", actor=self.actor, entity_key=unit.code, unit_id=unit.id,
                   old=old, new=new)
        if "congress_on" in row.changes:
            set_congress_date(prep, actor=self.actor, version=prep.version,
                              day=_date_value(values["congress_on"]))

    def finish(self) -> None:
        if not self.added:
            return
        by_province: dict[str, list[Unit]] = {}
        first_row: dict[str, ImportRow] = {}
        for unit, _, row in self.added:
            by_province.setdefault(unit.province_code, []).append(unit)
            first_row.setdefault(unit.province_code, row)
        dates = {unit.id: day for unit, day, _ in self.added if day}
        for province_code, units in by_province.items():
            self.guarded(first_row[province_code], partial(self._enrol, province_code, units, dates))

    def _enrol(self, province_code: str, units: list[Unit], dates: dict[int, date]) -> None:
        query = db.select(Campaign).filter_by(province_code=province_code, level="commune", status="open")
        if self.campaign is not None:
            query = query.where(round_of(self.campaign).where())
        campaign = db.session.execute(query.order_by(
            sa.case((Campaign.branch_workflow.is_(None), 1), else_=0), Campaign.id.desc())).scalars().first()
        if campaign is not None:
            enrol_units(campaign, units, dates, actor=self.actor)


class _UnitBranches:
    """What the import knows of one unit's branches while it adds to them, read once for the whole
    import: the names and codes taken (new ones included) and the highest number in a code."""

    def __init__(self, unit: Unit, campaign_id: int):
        from congress.units.operations import branch_number

        found = db.session.execute(sa.select(Branch.code, Branch.name, Branch.campaign_id).where(
            sa.or_(Branch.unit_id == unit.id, Branch.code.like(f"{unit.code}-%")))).all()
        # a code names one organisation across campaigns; a name is taken within the campaign
        self.codes = {code for code, _, _ in found}
        self.names = {name for _, name, owner in found if owner == campaign_id}
        self.highest = max((n for n in map(branch_number, self.codes) if n is not None), default=0)

    def take(self, unit: Unit, code: str | None, name: str) -> str:
        from congress.units.operations import branch_code, branch_number

        if code is None:
            self.highest += 1
            code = branch_code(unit, self.highest)
        else:
            self.highest = max(self.highest, branch_number(code) or 0)
        self.codes.add(code)
        self.names.add(name)
        return code


class BranchApplier(_Applier):
    """The import's equivalent of congress.units.operations.update_branch and add_branch: the
    same validation, audit records and workflow rules, with the import's permission (city staff
    may import for their province), applied a chunk at a time: each row is checked and changed in
    memory, then the chunk's branches, steps and records are written together, and each unit's
    due dates and rules are settled once per chunk. The statements grow with the chunks, not the
    rows."""

    def __init__(self, actor, **options):
        super().__init__(actor, **options)
        self.known: dict[int, _UnitBranches] = {}

    def apply(self, rows: list[ImportRow]) -> None:
        units = _units_by_code(r.values["unit"] for r in rows)
        preps = _preparations((u.id for u in units.values()), self.campaign)
        codes = [r.target for r in rows if r.before is not None]
        branches = {b.code: b for b in db.session.execute(
            db.select(Branch).where(Branch.code.in_(codes), _in_rosters(preps))).scalars()} if codes and preps else {}
        added: list[dict] = []  # the columns of each new branch
        updated: list[tuple[Branch, dict]] = []  # each changed branch and its snapshot before
        touched: dict[int, list[str]] = {}  # per unit, the codes of the branches added or changed
        # per unit, the row its rules run on behalf of: the first that adds a branch or records a
        # branch congress, else the first that changed one of its branches
        first: dict[int, ImportRow] = {}
        causing: dict[int, ImportRow] = {}
        with db.session.no_autoflush:
            for row in rows:
                unit = units.get(row.values["unit"])
                done = self.guarded(row, partial(self._scoped_one, row, unit, preps, branches), writes=False)
                if done is None:
                    continue
                (added if isinstance(done, dict) else updated).append(done)
                touched.setdefault(unit.id, []).append(done["code"] if isinstance(done, dict) else done[0].code)
                first.setdefault(unit.id, row)
                if row.before is None or "held_on" in (row.changes or {}):
                    causing.setdefault(unit.id, row)
        branches |= self._write(added, updated, preps)
        for unit_id, changed in touched.items():
            prep = preps.get(unit_id)
            if prep is not None:
                self.guarded(causing.get(unit_id) or first[unit_id],
                             partial(self._settle, prep, [branches[code] for code in changed]))

    def _write(self, added: list[dict], updated: list[tuple[Branch, dict]],
               preps: dict[int, Preparation]) -> dict[str, Branch]:
        """The chunk's changed and new branches, their audit records and the new ones' steps, a
        statement for each kind of row; returns the new branches by code."""
        db.session.flush()  # the changed branches (each checks its version)
        entries = []
        for branch, before in updated:
            old, new = changed_fields(before, branch_snapshot(branch))
            entries.append({"action": "branch.update", "entity": "branch", "actor": self.actor,
                            "entity_key": branch.code, "unit_id": branch.unit_id, "campaign_id": branch.campaign_id,
                            "old": old, "new": new})
        new_branches: dict[str, Branch] = {}
        if added:
            db.session.execute(sa.insert(Branch.__table__), added)
            stored.touch(units={(a["campaign_id"], a["unit_id"]) for a in added}, higher=False)
            new_branches = {b.code: b for b in db.session.execute(db.select(Branch).where(
                Branch.code.in_([a["code"] for a in added]),
                Branch.campaign_id.in_({a["campaign_id"] for a in added}))).scalars()}
            by_prep: dict[int, list[Branch]] = {}
            for columns in added:
                branch = new_branches[columns["code"]]
                entries.append({"action": "branch.add", "entity": "branch", "actor": self.actor,
                                "entity_key": branch.code, "unit_id": branch.unit_id,
                                "campaign_id": branch.campaign_id, "new": branch_snapshot(branch)})
                if branch.unit_id in preps:
                    by_prep.setdefault(branch.unit_id, []).append(branch)
            for unit_id, branches in by_prep.items():
                add_branches_steps(preps[unit_id], branches)
        record_many(entries)
        return new_branches

    def _settle(self, prep: Preparation, changed: list[Branch]) -> None:
        """The branches' due dates and the workflow's rules, once per unit and chunk."""
        refresh_due_dates(prep, changed, actor=self.actor)
        apply_branches_rules(prep, changed, self.actor)

    def _scoped_one(self, row: ImportRow, unit: Unit | None, preps, branches) -> dict | tuple[Branch, dict] | None:
        if unit is None or not permissions.can_import_for_unit(self.actor, unit):
            raise Forbidden("import_unit_out_of_scope", {"code": row.values["unit"]})
        return self._one(row, unit, preps.get(unit.id), branches)

    def _one(self, row: ImportRow, unit: Unit, prep, branches) -> dict | tuple[Branch, dict] | None:
        """Check one row; nothing is written before every check passed. A new branch: its columns;
        a changed one: the branch, changed in memory, and its snapshot before; else None."""
        changes = {k: (_date_value(new) if k.endswith("_on") else new) for k, (_, new) in (row.changes or {}).items()}
        if row.before is None:
            return self._add(row, unit, prep, changes)
        branch = branches.get(row.target)
        if branch is None or _jsonable(branch_snapshot(branch)) != row.before:
            raise _stale(row)
        if not changes:
            return None
        if prep is not None:
            check_open(prep.campaign)
        validate_branch_changes(changes, prep)
        before = branch_snapshot(branch)
        for field, value in changes.items():
            setattr(branch, field, value)
        if branch_snapshot(branch) == before:
            return None
        self.unit_ids.add(unit.id)
        return branch, before

    def _add(self, row: ImportRow, unit: Unit, prep, fields: dict) -> dict:
        if not fields.get("name"):
            raise Unprocessable("field_required", {"field": "name"})
        validate_branch_changes(fields, prep)
        if prep is None:
            raise Unprocessable("not_enrolled", {"code": unit.code})
        if prep.branch_workflow_version_id is None:
            raise Unprocessable("campaign_without_branches", {"campaign": prep.campaign.name_vi})
        check_open(prep.campaign)
        known = self.known.get(unit.id)
        if known is None:
            known = self.known[unit.id] = _UnitBranches(unit, prep.campaign_id)
        code = row.values.get("code")
        if fields["name"] in known.names or (code and code in known.codes):
            raise _stale(row)
        self.unit_ids.add(unit.id)
        return {**{field: None for field in BRANCH_FIELDS}, **fields, "kind": fields.get("kind") or "chi_bo",
                "unit_id": unit.id, "campaign_id": prep.campaign_id, "code": known.take(unit, code, fields["name"]),
                "version": 1}


class ProgressApplier(_Applier):
    def apply(self, rows: list[ImportRow]) -> None:
        for row in rows:
            if row.changes:
                self.guarded(row, partial(self._one, row))

    def _one(self, row: ImportRow) -> None:
        values = row.values
        unit = db.session.execute(db.select(Unit).filter_by(code=values["unit"])).scalar_one()
        prep = _preparations([unit.id], self.campaign)[unit.id]
        query = db.select(Step).where(Step.preparation_id == prep.id, Step.key == values["step"])
        if values.get("branch"):
            branch = db.session.execute(db.select(Branch).filter_by(
                code=values["branch"], campaign_id=prep.campaign_id)).scalar_one()
            query = query.where(Step.branch_id == branch.id)
        else:
            query = query.where(Step.branch_id.is_(None))
        step = db.session.execute(query).scalar_one()
        if _jsonable(step_snapshot(step)) != row.before:
            raise _stale(row)
        version = prep.branch_workflow_version if step.branch_id else prep.workflow_version
        step_def = version.definition().step(step.key)
        dated = {k: _date_value(values.get(k)) for k in ACTION_DATE.values()}
        for action in plan_actions(State(step.state), State(values["state"]), step_def.approval, dated):
            field = ACTION_DATE.get(action)
            transition(step, action=action, actor=self.actor, version=step.version,
                       on=dated.get(field) if field else None,
                       note=values.get("note") if action in (Action.MARK_NOT_APPLICABLE, Action.COMPLETE) else None)
        self.unit_ids.add(unit.id)


APPLIERS = {"units": UnitApplier, "branches": BranchApplier, "progress": ProgressApplier}

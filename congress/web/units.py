"""A unit's pages: its steps and what to do next, its branches, its history, its downloads.

Every write goes through an operation (congress.progress.operations, congress.units.operations),
then one commit here. A refusal is shown on the page it came from (422); a stale version gets a
page of its own with the new state (409); a permission the user lacks is the 403 page.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext, ngettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from congress.accounts import permissions
from congress.audit import words as record_words
from congress.audit.models import AuditRecord
from congress.audit.operations import SYSTEM_ACTOR
from congress.clock import today
from congress.errors import Conflict, OperationError
from congress.extensions import db
from congress.formatting import deadline_phrase, short_date
from congress.idempotency import already_done, idempotent, repeats_last_transition
from congress.messages import ACTION_BUTTONS, NamingApprover, describe, still_to_do
from congress.papers import convert, dating, generate
from congress.papers.models import PaperIssue
from congress.progress import operations as progress_ops
from congress.progress import queries
from congress.progress.actions import UnitFacts, step_definition
from congress.progress.models import Preparation, Step
from congress.text import fold
from congress.units import operations as unit_ops
from congress.units.models import Branch, Unit
from workflows.deadlines import Deadline, DeadlineKind
from workflows.documents import DOCUMENT_KINDS
from workflows.loader import StepDefinition
from workflows.readiness import is_due_soon, is_overdue
from workflows.rules import FINISHED, REASON_REQUIRED, ROLLUP_RULES, Action, State

from . import web
from .common import preparation_or_404, readable_unit
from .forms import (
    BRANCH_KIND_LABELS,
    AddBranchForm,
    BranchTableForm,
    CongressDateForm,
    DeadlineForm,
    SignersForm,
    StepActionForm,
    branch_row_data,
)

#: how far ahead "due this week" looks
HISTORY_PAGE_SIZE = 50

ACTION_DONE = {
    Action.START: _l("Started “%(step)s”."),
    Action.COMPLETE: _l("Completed “%(step)s”."),
    Action.SUBMIT: NamingApprover(_l("Submitted “%(step)s” to %(approver)s.")),
    Action.APPROVE: _l("Approved “%(step)s”."),
    Action.RETURN: _l("Returned “%(step)s” to the unit."),
    Action.MARK_NOT_APPLICABLE: _l("Marked “%(step)s” not applicable."),
    Action.REOPEN: _l("Reopened “%(step)s”."),
}
#: the words of the fields that operations write and the audit log keeps (one list, with the log's)
FIELD_LABELS = record_words.FIELDS
ROLE_LABELS = {"admin": _l("administrator"), "city_leader": _l("city leader"), "city_staff": _l("city staff"),
               "unit_leader": _l("unit leader"), "unit_staff": _l("unit staff"), "viewer": _l("viewer")}
#: the Party's document types behind the abbreviations (Hướng dẫn 36-HD/VPTW)
DOCUMENT_TYPES = {"KH": _l("Plan"), "QĐ": _l("Decision"), "BC": _l("Report"), "TTr": _l("Submission"),
                  "CTr": _l("Programme"), "QC": _l("Regulations"), "NQ": _l("Resolution"), "BB": _l("Minutes")}
#: the date an action records, by its label. A return carries none: it only sends the step back
ACTION_DATES = {Action.START: FIELD_LABELS["started_on"], Action.SUBMIT: FIELD_LABELS["submitted_on"],
                Action.APPROVE: FIELD_LABELS["approved_on"], Action.COMPLETE: FIELD_LABELS["completed_on"]}
#: refusals that are about the date the user gave, shown beside that field
DATE_REFUSALS = {"date_in_future", "date_before_campaign", "date_before_earlier_event",
                 "completed_before_prerequisite"}
#: fields that only say how often a record was written
UNSHOWN_FIELDS = {"version"}


def explain(exc: OperationError) -> str:
    """An operation's refusal in words, naming fields by their labels rather than their keys."""
    params = dict(exc.params)
    if params.get("field") in FIELD_LABELS:
        params["field"] = str(FIELD_LABELS[params["field"]])
    return describe(exc.code, params)


def attach_refusal(form, exc: OperationError, date_field: str | None = None) -> None:
    """Show a refusal beside the field it is about (the one it names, or the form's date), else
    above the form's button."""
    name = exc.params.get("field") or (date_field if exc.code in DATE_REFUSALS else None) or (
        "note" if exc.code == "reason_required" else None)
    if name and name in form:
        form[name].errors.append(explain(exc))
    else:
        form.form_errors.append(explain(exc))


# --- the unit page ----------------------------------------------------------------------

@dataclass
class StepCard:
    step: Step
    definition: StepDefinition
    overdue: bool
    #: the actions this user may take now, each with its form
    forms: dict[Action, StepActionForm]
    #: prerequisites not finished yet, by key
    waiting_for: list[str] = field(default_factory=list)
    #: the document kind whose draft the city approves to approve this step (when it waits for it)
    approved_by_draft: str | None = None

    @property
    def finished(self) -> bool:
        return self.step.state_enum in FINISHED


@dataclass
class Problem:
    """Why the last write on this page was refused, and where."""
    message: str
    anchor: str | None = None


def action_prefix(key: str, action: Action) -> str:
    return f"{key}-{action.value}"


def _action_form(step: Step, action: Action, now: date) -> StepActionForm:
    return StepActionForm(formdata=None, prefix=action_prefix(step.key, action),
                          data={"version": step.version, "on": now if action in ACTION_DATES else None})


def _dates_forms(prep: Preparation, deadline_form=None, congress_form=None):
    """The deadline and congress-date forms this user may use (None for the ones they may not)."""
    unit = prep.unit
    if deadline_form is None and permissions.can_set_deadline(current_user, unit.province_code):
        kind = prep.deadline_kind or DeadlineKind.BEFORE.value
        deadline_form = DeadlineForm(formdata=None, prefix="deadline", data={
            "version": prep.version, "day": prep.deadline_on, "kind": kind, "basis": prep.deadline_basis})
    if congress_form is None and permissions.can_plan_congress(current_user, unit):
        congress_form = CongressDateForm(formdata=None, prefix="congress",
                                         data={"version": prep.version, "day": prep.congress_on})
    return deadline_form, congress_form


def unit_page(unit: Unit, prep: Preparation, *, status: int = 200, failed: tuple | None = None,
              problem: Problem | None = None, deadline_form=None, congress_form=None):
    """Render the unit page; ``failed`` = (step key, action, form) keeps a refused form's input."""
    definition = prep.definition()
    now = today()
    steps = queries.unit_steps(prep)
    row = queries.unit_readiness_row(prep, steps, as_of=now)
    overdue = set(row.readiness.overdue)
    finished = {s.key for s in steps if s.state_enum in FINISHED}
    cards = []
    facts = UnitFacts(prep, steps, on=now)
    for step in steps:
        step_def = definition.step(step.key)
        forms = {}
        for action in facts.offered(current_user, step):
            if failed and failed[0] == step.key and failed[1] is action:
                forms[action] = failed[2]
            else:
                forms[action] = _action_form(step, action, facts.default_day(step, action))
        draft_kind = definition.draft_of_approval(step.key) if step.state_enum is State.SUBMITTED else None
        cards.append(StepCard(step, step_def, step.key in overdue, forms,
                              [key for key in step_def.requires if key not in finished],
                              draft_kind if draft_kind and draft_kind not in facts.approved_kinds else None))
    phases = [(phase, [c for c in cards if c.definition.phase == phase.key]) for phase in definition.phases]
    due_soon = [c for c in cards if not c.overdue and is_due_soon(c.step.state_enum, c.step.due, now)]
    deadline_form, congress_form = _dates_forms(prep, deadline_form, congress_form)
    # the finish at the pace the nightly snapshots show (absent without snapshots), in one query
    recorded_pace = queries.recorded_pace_projections([unit.id], until=now)
    return render_template(
        "units/unit.html", unit=unit, prep=prep, r=row.readiness, today=now, phases=phases,
        has_recorded_pace=unit.id in recorded_pace, recorded_finish=recorded_pace.get(unit.id),
        late=[c for c in cards if c.overdue], due_soon=sorted(due_soon, key=lambda c: c.step.due_on),
        done=[c for c in cards if c.finished], steps_total=len(cards), titles=_titles(definition),
        action_buttons=ACTION_BUTTONS, action_dates=ACTION_DATES, reason_actions=REASON_REQUIRED,
        still_to_do=still_to_do,
        problem=problem, failed=failed, document_title=record_words.document_title,
        deadline_form=deadline_form, congress_form=congress_form,
        rule_progress=(row.readiness.branches_held, row.readiness.branches_total), children=definition.children,
        language=_language()), status


def _language() -> str:
    return "en" if str(get_locale() or "vi") == "en" else "vi"


def _titles(definition) -> dict[str, str]:
    language = _language()
    return {s.key: s.title(language) for s in definition.steps}


@web.get("/units/<code>")
@login_required
def unit(code: str):
    found = readable_unit(code)
    return unit_page(found, preparation_or_404(found))


def _action_or_404(name: str) -> Action:
    try:
        return Action(name)
    except ValueError:
        abort(404)


def _unit_step_or_404(prep: Preparation, key: str) -> Step:
    step = db.session.execute(db.select(Step).filter_by(
        preparation_id=prep.id, branch_id=None, key=key[:60])).scalar_one_or_none()
    if step is None:
        abort(404)
    return step


@web.post("/units/<code>/steps/<key>/<action>")
@login_required
@idempotent
def step_action(code: str, key: str, action: str):
    found = readable_unit(code)
    prep = preparation_or_404(found)
    chosen = _action_or_404(action)
    step = _unit_step_or_404(prep, key)
    if not permissions.can_take_action(current_user, found, chosen, step_definition(step).approval):
        abort(403)
    title = _titles(prep.definition())[step.key]
    form = StepActionForm(prefix=action_prefix(key, chosen))
    anchor = f"step-{key}"
    if not form.validate_on_submit():
        return unit_page(found, prep, status=422, failed=(key, chosen, form),
                         problem=Problem(gettext("“%(step)s” was not changed: correct the form below.",
                                                 step=title), anchor))
    try:
        progress_ops.transition(step, action=chosen, actor=current_user, version=form.version.data,
                                on=form.on.data if chosen in ACTION_DATES else None, note=form.note.data)
    except Conflict:
        db.session.rollback()
        if repeats_last_transition(step, action=chosen, actor=current_user, version=form.version.data):
            flash(already_done(title), f"info {anchor}")
            return redirect(url_for("web.unit", code=found.code, _anchor=anchor))
        return conflict_page(found, step=db.session.get(Step, step.id), title=title, tried=chosen)
    except OperationError as exc:
        if exc.status == 403:
            raise
        db.session.rollback()
        attach_refusal(form, exc, "on" if chosen in ACTION_DATES else None)
        return unit_page(found, prep, status=422, failed=(key, chosen, form),
                         problem=Problem(gettext("“%(step)s” was not changed: %(reason)s", step=title,
                                                 reason=explain(exc)), anchor))
    done = ACTION_DONE[chosen] % {"step": title}  # in words before the commit expires what they name
    db.session.commit()
    # the category names the step too, so its card can repeat the message where the page scrolls
    flash(done, f"success {anchor}")
    return redirect(url_for("web.unit", code=found.code, _anchor=anchor))


def conflict_page(found: Unit, *, step: Step | None = None, title: str | None = None,
                  tried: Action | None = None, prep: Preparation | None = None):
    """409: someone else wrote first. Show what is there now, and the way back."""
    overdue = step is not None and is_overdue(step.state_enum, step.due, today())
    return render_template("units/conflict.html", unit=found, step=step, title=title, tried=tried,
                           prep=prep, overdue=overdue), 409


@web.post("/units/<code>/deadline")
@login_required
@idempotent
def unit_deadline(code: str):
    found = readable_unit(code)
    prep = preparation_or_404(found)
    if not permissions.can_set_deadline(current_user, found.province_code):
        abort(403)
    form = DeadlineForm(prefix="deadline")
    if not form.validate_on_submit():
        return unit_page(found, prep, status=422, deadline_form=form,
                         problem=Problem(gettext("The deadline was not changed: correct the form below."),
                                         "dates"))
    try:
        progress_ops.set_unit_deadline(prep, actor=current_user, version=form.version.data, day=form.day.data,
                                       kind=DeadlineKind(form.kind.data), basis=form.basis.data,
                                       confirm=form.confirm.data, reason=form.reason.data)
    except Conflict:
        db.session.rollback()
        return conflict_page(found, prep=db.session.get(Preparation, prep.id))
    except OperationError as exc:
        if exc.status == 403:
            raise
        db.session.rollback()
        attach_refusal(form, exc, "day")
        return unit_page(found, prep, status=422, deadline_form=form,
                         problem=Problem(gettext("The deadline was not changed: %(reason)s", reason=explain(exc)),
                                         "dates"))
    db.session.commit()
    if prep.deadline_is_override:
        flash(gettext("The unit's deadline is now %(deadline)s.", deadline=deadline_phrase(prep.deadline)),
              "success")
    else:
        flash(gettext("The unit follows the campaign's deadline again (%(deadline)s).",
                      deadline=deadline_phrase(prep.deadline)), "success")
    return redirect(url_for("web.unit", code=found.code, _anchor="dates"))


@web.post("/units/<code>/congress-date")
@login_required
@idempotent
def congress_date(code: str):
    found = readable_unit(code)
    prep = preparation_or_404(found)
    if not permissions.can_plan_congress(current_user, found):
        abort(403)
    form = CongressDateForm(prefix="congress")
    if not form.validate_on_submit():
        return unit_page(found, prep, status=422, congress_form=form,
                         problem=Problem(gettext("The congress date was not changed: correct the form below."),
                                         "dates"))
    try:
        progress_ops.set_congress_date(prep, actor=current_user, version=form.version.data, day=form.day.data,
                                       confirm=form.confirm.data, reason=form.reason.data)
    except Conflict:
        db.session.rollback()
        return conflict_page(found, prep=db.session.get(Preparation, prep.id))
    except OperationError as exc:
        if exc.status == 403:
            raise
        db.session.rollback()
        attach_refusal(form, exc, "day")
        return unit_page(found, prep, status=422, congress_form=form,
                         problem=Problem(gettext("The congress date was not changed: %(reason)s",
                                                 reason=explain(exc)), "dates"))
    db.session.commit()
    flash(gettext("The congress is planned on %(day)s; due dates follow it.", day=short_date(prep.congress_on)),
          "success")
    return redirect(url_for("web.unit", code=found.code, _anchor="dates"))


# --- branches ------------------------------------------------------------------------------

@dataclass
class BranchLine:
    branch: Branch
    steps: list[tuple[Step, bool]]  #: the branch's steps, each with "overdue"
    row: object | None = None  #: its row of the bulk form, for those who may edit
    errors: list[str] = field(default_factory=list)

    @property
    def steps_done(self) -> int:
        return sum(1 for step, _ in self.steps if step.state_enum in FINISHED)

    @property
    def next_step(self) -> tuple[Step, bool] | None:
        """The first step not finished yet, with "overdue"."""
        return next(((s, late) for s, late in self.steps if s.state_enum not in FINISHED), None)


#: The branch page's filters, by the ``show`` of its address: a branch's status in words, and the
#: test of it (the page's counts, its rows and its links all read these).
BRANCH_FILTERS: dict[str, tuple] = {
    "all": (_l("all (%(count)s)"), lambda b: True),
    "held": (_l("held (%(count)s)"), lambda b: b.held_on is not None),
    "pending": (_l("not yet held (%(count)s)"), lambda b: b.held_on is None),
    "unplanned": (_l("not yet held, no planned date (%(count)s)"),
                  lambda b: b.held_on is None and b.planned_on is None),
}
#: the longest search the branch page reads
BRANCH_SEARCH_LIMIT = 80


def branch_search_text(branch: Branch) -> str:
    """What a search on the branch page looks in, folded (no case, no diacritics): the name, the
    code and the secretaries. The page's script searches the same text."""
    return fold(" ".join(filter(None, (branch.name, branch.code, branch.secretary, branch.new_secretary))))


def branch_filter_params() -> tuple[str, str]:
    """The filter (``show``) and search (``q``) of the branch page's address, as it reads them."""
    show = request.args.get("show") or "all"
    return (show if show in BRANCH_FILTERS else "all"), (request.args.get("q") or "").strip()[:BRANCH_SEARCH_LIMIT]


def branches_page(found: Unit, prep: Preparation, *, status: int = 200, table_form=None, add_form=None,
                  row_errors: dict[str, list[str]] | None = None, problem: Problem | None = None):
    show, q = branch_filter_params()
    pending_only = show == "pending"
    branches = queries.unit_branches(prep)
    held = sum(1 for b in branches if b.held_on is not None)
    wanted = fold(q)
    searched = [b for b in branches if wanted in branch_search_text(b)] if wanted else branches
    filter_counts = {key: sum(1 for b in searched if test(b)) for key, (_label, test) in BRANCH_FILTERS.items()}
    steps_by_branch = queries.branch_steps(prep)
    now = today()
    editable = permissions.can_edit_branches(current_user, found)
    if table_form is not None:  # a refused save: the rows the user sent, as they sent them
        posted = {row.code.data for row in table_form.rows}
        shown = [b for b in branches if b.code in posted]
    else:
        shown = [b for b in searched if BRANCH_FILTERS[show][1](b)]
        if editable:
            table_form = BranchTableForm(formdata=None, data={"rows": [branch_row_data(b) for b in shown]})
    rows = {row.code.data: row for row in table_form.rows} if editable and table_form is not None else {}
    lines = [BranchLine(b, [(s, is_overdue(s.state_enum, s.due, now)) for s in steps_by_branch.get(b.id, [])],
                        rows.get(b.code), (row_errors or {}).get(b.code, [])) for b in shown]
    if editable and add_form is None:
        add_form = AddBranchForm(formdata=None, prefix="new")
    branch_definition = prep.branch_definition()
    return render_template(
        "units/branches.html", unit=found, prep=prep, lines=lines, total=len(branches), held=held,
        pending_only=pending_only, show=show, q=q, filters=BRANCH_FILTERS, filter_counts=filter_counts,
        search_text=branch_search_text, search_limit=BRANCH_SEARCH_LIMIT,
        editable=editable, table_form=table_form, add_form=add_form,
        problem=problem, today=now, step_titles=_titles(branch_definition),
        kind_labels=BRANCH_KIND_LABELS), status


@web.get("/units/<code>/branches")
@login_required
def branches(code: str):
    found = readable_unit(code)
    return branches_page(found, preparation_or_404(found))


@web.post("/units/<code>/branches")
@login_required
@idempotent
def save_branches(code: str):
    """Record many branch congresses at once: every changed row is saved, or none."""
    found = readable_unit(code)
    prep = preparation_or_404(found)
    if not permissions.can_edit_branches(current_user, found):
        abort(403)
    form = BranchTableForm()
    form.validate_on_submit()  # parse errors are reported per row below
    # the box the page offers once a save was refused for reopening the unit's completed step
    confirm_reopen = request.form.get("confirm_reopen") == "1"
    definition = prep.definition()
    roll_up = next((s.key for s in definition.steps if s.done_when in ROLLUP_RULES), None)
    form.reopen_step = _titles(definition).get(roll_up) if confirm_reopen and roll_up else None
    form.reopen_confirmed = confirm_reopen
    by_code = {b.code: b for b in queries.unit_branches(prep)}
    errors: dict[str, list[str]] = {}
    saved = 0
    for row in form.rows:
        code_ = row.code.data or ""
        if row.errors:
            errors[code_] = [str(message) for messages in row.errors.values() for message in messages]
            continue
        changes = row.changes()
        if not changes:
            continue
        branch = by_code.get(code_)
        if branch is None:
            errors[code_] = [describe("branch_not_found", {"code": code_[:16]})]
            continue
        try:
            unit_ops.update_branch(branch, changes, actor=current_user, version=row.version.data,
                                   confirm_reopen=confirm_reopen)
            saved += 1
        except Conflict:
            errors[code_] = [gettext("Someone else changed this branch while you were editing: it now reads "
                                     "%(values)s. Reload the page to see it.", values=_branch_values(branch))]
        except OperationError as exc:
            if exc.status == 403:
                raise
            errors[code_] = [explain(exc)]
            if exc.code == "completed_step_reopen":
                form.reopen_step = _titles(definition)[exc.params["step"]]
    if errors:
        db.session.rollback()
        problem = Problem(ngettext("Nothing was saved: %(num)s row needs correcting (marked below).",
                                   "Nothing was saved: %(num)s rows need correcting (marked below).", len(errors)),
                          f"branch-{next(iter(errors))}")
        return branches_page(found, prep, status=422, table_form=form, row_errors=errors, problem=problem)
    db.session.commit()
    if saved:
        flash(gettext("Saved %(count)s branch(es).", count=saved), "success")
    else:
        flash(gettext("Nothing to save: no row was changed."), "info")
    show, q = branch_filter_params()
    return redirect(url_for("web.branches", code=found.code, show=None if show == "all" else show, q=q or None,
                            _anchor="branch-table"))


def _branch_values(branch: Branch) -> str:
    return "; ".join(f"{FIELD_LABELS[name]}: {record_words.value_words(name, getattr(branch, name))}"
                     for name in ("held_on", "delegates", "new_secretary"))


@web.post("/units/<code>/branches/new")
@login_required
@idempotent
def add_branch(code: str):
    found = readable_unit(code)
    prep = preparation_or_404(found)
    if not permissions.can_edit_branches(current_user, found):
        abort(403)
    form = AddBranchForm(prefix="new")
    # the box the form offers once the branch was refused for reopening the unit's completed step
    confirm_reopen = request.form.get("confirm_reopen") == "1"
    definition = prep.definition()
    roll_up = next((s.key for s in definition.steps if s.done_when in ROLLUP_RULES), None)
    form.reopen_step = _titles(definition).get(roll_up) if confirm_reopen and roll_up else None
    form.reopen_confirmed = confirm_reopen
    if not form.validate_on_submit():
        return branches_page(found, prep, status=422, add_form=form,
                             problem=Problem(gettext("The branch was not added: correct the form below."),
                                             "add-branch"))
    try:
        branch = unit_ops.add_branch(found, form.fields_for_operation(), actor=current_user, prep=prep,
                                     confirm_reopen=confirm_reopen)
    except OperationError as exc:
        if exc.status == 403:
            raise
        db.session.rollback()
        if exc.code == "completed_step_reopen":
            form.reopen_step = _titles(definition)[exc.params["step"]]
        attach_refusal(form, exc)
        return branches_page(found, prep, status=422, add_form=form,
                             problem=Problem(gettext("The branch was not added: %(reason)s", reason=explain(exc)),
                                             "add-branch"))
    db.session.commit()
    flash(gettext("Added “%(name)s”.", name=branch.name), "success")
    return redirect(url_for("web.branches", code=found.code, _anchor=f"branch-{branch.code}"))


# --- history ------------------------------------------------------------------------------

@dataclass
class HistoryEntry:
    record: AuditRecord
    who: str
    subject: str
    #: the record in words (congress.audit.words: the one place that says what a record means)
    words: record_words.RecordWords

    @property
    def what(self) -> str:
        return self.words.what

    @property
    def changes(self) -> list[tuple[str, str, str]]:
        return [(c.label, c.old or "—", c.new) for c in self.words.changes]

    @property
    def reason(self) -> str | None:
        return self.words.note


@web.get("/units/<code>/history")
@login_required
def history(code: str):
    found = readable_unit(code)
    prep = preparation_or_404(found)
    page = max(1, min(request.args.get("page", 1, type=int) or 1, 10**6))
    shown = history_shown(found, prep)
    total = db.session.execute(sa.select(sa.func.count(AuditRecord.id)).where(*shown)).scalar_one()
    pages = max(1, math.ceil(total / HISTORY_PAGE_SIZE))
    records = db.session.execute(
        db.select(AuditRecord).where(*shown)
        .order_by(AuditRecord.at.desc(), AuditRecord.id.desc())
        .offset((page - 1) * HISTORY_PAGE_SIZE).limit(HISTORY_PAGE_SIZE)).scalars().all()
    entries = _history_entries(records, prep)
    return render_template("units/history.html", unit=found, entries=entries, page=page, pages=pages,
                           total=total)


def history_shown(unit: Unit, prep: Preparation) -> tuple:
    """The conditions of a unit's history in one campaign (the page and its download): the
    campaign's records (its steps, branches, drafts) and the unit's own (they name no campaign)."""
    return (AuditRecord.unit_id == unit.id,
            sa.or_(AuditRecord.campaign_id == prep.campaign_id, AuditRecord.campaign_id.is_(None)))


def _history_entries(records: list[AuditRecord], prep: Preparation) -> list[HistoryEntry]:
    """Records in words, with two queries for the whole page (people, branches)."""
    person = record_words.people(r.actor for r in records if r.actor_id)
    branch_codes = {_branch_code(r) for r in records} - {None}
    branch_names = dict(db.session.execute(
        sa.select(Branch.code, Branch.name).where(Branch.code.in_(branch_codes))).all()) if branch_codes else {}
    unit_titles = _titles(prep.definition())
    branch_titles = _titles(prep.branch_definition())
    entries = []
    for r in records:
        if r.actor_id is None:  # the engine's own rules, or the seeding
            who = gettext("System") if r.actor == SYSTEM_ACTOR else f"{gettext('System')} ({r.actor})"
        else:
            who = person(r.actor)
        branch_code = _branch_code(r)
        branch_name = branch_names.get(branch_code, branch_code) if branch_code else None
        if r.entity == "step":
            title = (branch_titles if branch_code else unit_titles).get(r.step_key or "", r.step_key or "")
            subject = f"{branch_name} · {title}" if branch_name else title
        elif r.entity == "branch":
            subject = branch_name or ""
        elif r.entity == "user":
            subject = gettext("Account %(name)s", name=r.entity_key or "")
        else:
            subject = gettext("The unit")
        words = record_words.describe(r)
        entries.append(HistoryEntry(r, who, words.subject or subject, words))
    return entries


def _branch_code(record: AuditRecord) -> str | None:
    if record.entity == "branch":
        return record.entity_key
    if record.entity == "step" and record.entity_key and "-" in record.entity_key.split("/", 1)[0]:
        return record.entity_key.split("/", 1)[0]
    return None


# --- documents ----------------------------------------------------------------------------

@web.get("/units/<code>/documents")
@login_required
def documents(code: str):
    """The congress document set: each kind with its step, its downloads and its issued number."""
    found = readable_unit(code)
    return documents_page(found, preparation_or_404(found))


@web.post("/units/<code>/signers")
@login_required
@idempotent
def signers(code: str):
    """Name who signs the committee's documents (printed under the signature)."""
    found = readable_unit(code)
    prep = preparation_or_404(found)
    if not permissions.can_issue_papers(current_user, found):
        abort(403)
    form = SignersForm(prefix="signers")
    if not form.validate_on_submit():
        return documents_page(found, prep, status=422, signers_form=form)
    try:
        progress_ops.set_signers(prep, actor=current_user, version=form.version.data,
                                 secretary=form.secretary.data, deputy=form.deputy.data)
    except Conflict:
        db.session.rollback()
        return conflict_page(found, prep=db.session.get(Preparation, prep.id))
    db.session.commit()
    flash(gettext("Saved: the documents print these names under the signatures."), "success")
    return redirect(url_for("web.documents", code=found.code, _anchor="signers"))


def documents_page(found: Unit, prep: Preparation, status: int = 200, signers_form: SignersForm | None = None):
    can_issue = permissions.can_issue_papers(current_user, found)
    if signers_form is None and can_issue:
        signers_form = SignersForm(prefix="signers", formdata=None, version=prep.version,
                                   secretary=prep.secretary_name, deputy=prep.deputy_secretary_name)
    unit_definition = prep.definition()
    branch_definition = prep.branch_definition()
    states = {s.key: s for s in queries.unit_steps(prep)}
    latest: dict[str, PaperIssue] = {}
    for issue in db.session.execute(db.select(PaperIssue).filter_by(unit_id=found.id, preparation_id=prep.id)
                                    .order_by(PaperIssue.id.desc())).scalars():
        latest.setdefault(issue.kind, issue)
    built = set(generate.unit_kinds(prep))
    language = _language()
    kinds = []
    # the campaign's document set, in the order its workflow lists it
    for kind in (DOCUMENT_KINDS[k] for k in unit_definition.documents if k in DOCUMENT_KINDS):
        unit_steps = [(s, states.get(s.key)) for s in unit_definition.steps if s.document == kind.key]
        branch_steps = [s for s in branch_definition.steps if s.document == kind.key]
        why = dating.why_not_yet(kind, prep, today())
        kinds.append({"kind": kind, "title": kind.title_en if language == "en" else kind.title_vi,
                      "unit_steps": unit_steps, "branch_steps": branch_steps,
                      "built": kind.key in built, "issue": latest.get(kind.key),
                      "not_yet": describe(*why) if why else None})
    return render_template("units/documents.html", unit=found, prep=prep, kinds=kinds, language=language,
                           document_types=DOCUMENT_TYPES, pdf_available=convert.available(),
                           can_issue=can_issue, signers_form=signers_form), status


@web.app_template_global()
def deadline_in_words(deadline: Deadline, now: date) -> str:
    """"25 days left until the deadline", "today is the last day", "3 days past the deadline": a count
    to the deadline, saying so (the card shows it beside projected dates)."""
    left = deadline.days_left(now)
    if left > 0:
        return ngettext("%(num)s day left until the deadline", "%(num)s days left until the deadline", left)
    if left == 0:
        return gettext("today is the last day")
    return ngettext("%(num)s day past the deadline", "%(num)s days past the deadline", -left)


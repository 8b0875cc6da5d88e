"""The city's dashboard: headline figures, risks, the units × steps matrix, queues and charts.

The page reads a fixed number of queries whatever the number of units: the readiness rows,
the approval queue and two grouped histories; filtering, searching and sorting the matrix
happen on the rows already read. The queue holds every submission: draft versions (with the
approval step each moves, one submission) and approval steps submitted outside the drafts.
Approving or returning a draft goes through congress.drafts.operations.review_version, a step
through congress.progress.operations.transition, then one commit here; a refused form comes back
on the dashboard (422), a stale version gets a page of its own with the step as it is now, or for
a draft the queue as it is now (409).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from flask import abort, current_app, flash, get_template_attribute, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from markupsafe import Markup, escape

from congress.accounts import permissions
from congress.audit.models import AuditRecord
from congress.audit.words import people
from congress.clock import today
from congress.dashboard.matrix import (
    DUE_SOON_DAYS,
    RISK_RANK,
    Matrix,
    MatrixParams,
    build_matrix,
    due_soon,
    overdue_items,
)
from congress.dashboard.series import cumulative_by_day, cumulative_by_week, recorded_levels
from congress.drafts import operations as draft_operations
from congress.drafts import queries as draft_queries
from congress.drafts.models import DraftVersion
from congress.errors import Conflict, OperationError
from congress.extensions import db
from congress.idempotency import already_done, idempotent, repeats_last_transition
from congress.messages import RISK_LABELS, STATE_LABELS, describe
from congress.progress import queries
from congress.progress.actions import UnitFacts
from congress.progress.models import Step
from congress.progress.operations import step_records, transition
from congress.text import vi_sort_key
from congress.units.models import UNIT_KINDS
from workflows.readiness import RISK_ORDER
from workflows.rules import Action, State

from . import web
from .charts import branches_chart, progress_chart, readiness_chart, readiness_days
from .common import is_city_user
from .drafts import kind_title as draft_kind_title
from .forms import StepActionForm

#: the two verdicts the city gives on a submission
DECISIONS = {"approve": Action.APPROVE, "return": Action.RETURN}
KIND_LABELS = {"xa": _l("Commune (xã)"), "phuong": _l("Ward (phường)"), "dac_khu": _l("Special zone (đặc khu)")}


def state_icons() -> dict[str, Markup]:
    """The icon of each state (the matrix's cells and legend): the pages' own, templates/_macros.html."""
    return {key: Markup(value) for key, value in get_template_attribute("_macros.html", "STATE_ICONS").items()}


@dataclass(frozen=True)
class Problem:
    """Why a decision was refused, shown at the top of the page and beside its form."""
    message: str
    anchor: str | None = None


@dataclass
class QueueItem:
    """A submission in the queue: a draft version (with the approval step it moves, if any), or an
    approval step submitted outside the drafts."""
    submission: draft_queries.Submission
    #: the forms this user may use, by action ("approve", "return"); none for readers
    forms: dict[str, StepActionForm]
    #: what it is, in words: "Báo cáo chính trị, dự thảo lần 2", or the step's title
    what: str
    #: the step's title, when there is a step
    step_title: str | None = None
    #: for a step: the document kind it records (a drafted kind, or the paper it produces)
    document_kind: str | None = None
    #: whether that kind is drafted in versions (its page is the unit's drafts of that kind)
    drafted: bool = False

    @property
    def anchor(self) -> str:
        return self.submission.anchor


def decision_prefix(step: Step, action: Action) -> str:
    return f"s{step.id}-{action.value}"


def draft_decision_prefix(draft: DraftVersion, action: Action) -> str:
    return f"d{draft.id}-{action.value}"


def draft_words(draft: DraftVersion) -> str:
    """"Báo cáo chính trị, dự thảo lần 2" in the reader's language."""
    return gettext("%(document)s, draft %(number)s", document=draft_kind_title(draft.kind), number=draft.number)


def _decision_form(step: Step, action: Action, now: date) -> StepActionForm:
    return StepActionForm(formdata=None, prefix=decision_prefix(step, action),
                          data={"version": step.version, "on": now if action is Action.APPROVE else None})


def _language() -> str:
    return "en" if str(get_locale() or "vi") == "en" else "vi"


def _province_code() -> str:
    """The province shown: the reader's own, or for an administrator the one chosen."""
    if not is_city_user(current_user):
        abort(403)
    readable = permissions.readable_province_codes(current_user)
    chosen = (request.args.get("province") or "").strip()
    if readable is None:
        if chosen:
            return chosen
        from congress.progress.campaigns import chosen_campaign

        campaign = chosen_campaign()
        return (campaign.province_code if campaign and campaign.province_code
                else current_app.config["CONGRESS_PROVINCE"])
    if not readable:
        abort(403)
    if chosen and chosen not in readable:
        abort(403)
    return chosen or next(iter(readable))


def _kept_args() -> dict[str, str]:
    """The dashboard's query string (province, filters, sort), kept across a decision."""
    return {k: v for k, v in request.args.items()
            if k in ("campaign", "province", "kind", "risk", "phase", "q", "sort", "dir") and v}


def dashboard_page(province_code: str, *, status: int = 200, failed: tuple | None = None,
                   problem: Problem | None = None):
    """Render the dashboard; ``failed`` = (step id, action, form) keeps a refused form's input."""
    provinces = None
    if permissions.readable_province_codes(current_user) is None:
        provinces = sorted(queries.provinces_with_campaigns(), key=lambda p: vi_sort_key(p.name))
        if province_code not in {p.code for p in provinces}:
            abort(404)
    with queries.collector_paused():  # a province's rows, matrix and page: see collector_paused
        overview = queries.province_overview({province_code})
        context = {"overview": overview, "provinces": provinces, "province_code": province_code,
                   "today": overview.as_of, "problem": problem, "language": _language(), "kinds": UNIT_KINDS,
                   "risks": RISK_ORDER, "kept_args": _kept_args()}
        if overview.campaign is not None:
            context.update(_campaign_context(overview, province_code, failed, context["kept_args"]))
        return render_template("dashboard/index.html", **context), status


def _campaign_context(overview: queries.ProvinceOverview, province_code: str, failed: tuple | None,
                      kept_args: dict[str, str]) -> dict:
    """The matrix, the lists, the queue and the charts of a province whose campaign has begun."""
    now = overview.as_of
    definition = overview.campaign.unit_definition()
    params = MatrixParams.from_args(request.args, definition.phases)
    province = {"province": kept_args["province"]} if "province" in kept_args else {}

    def link(**changes) -> str:
        """The dashboard with these filters or this sort (the province kept)."""
        return url_for("web.dashboard", **province, **params.args(**changes))

    children = definition.children
    readiness = overview.readiness
    matrix = build_matrix(overview.rows, definition, params, now)
    return {
        "definition": definition, "children": children, "params": params, "link": link,
        "matrix": matrix, "matrix_cells": matrix_cells(matrix), "cell_icons": state_icons(),
        "overdue": overdue_items(overview.rows, definition, now),
        "due_soon": due_soon(overview.rows, definition, now),
        "week_ahead": timedelta(days=DUE_SOON_DAYS - 1),
        "queue": _queue(province_code, now, failed),
        # units whose congress the city let be planned after their deadline (the readiness says why)
        "planned_late": sorted((r for r in overview.rows
                                if any(reason.code == "congress_after_deadline" for reason in r.readiness.reasons)),
                               key=lambda r: (r.preparation.congress_on, vi_sort_key(r.unit.name))),
        "risk_shares": [(risk.value, readiness.risk_percentages[risk], RISK_LABELS[risk]) for risk in RISK_ORDER],
        "risk_rank": RISK_RANK, "states": list(State), "kind_labels": KIND_LABELS,
        **_charts(overview, province_code),
    }


def matrix_cells(matrix: Matrix) -> list[Markup]:
    """Each row's cells of the matrix, as HTML, in the order of ``matrix.rows``.

    A cell per unit and step (1,938 in Hải Phòng) was too many for a template macro. A cell gives
    its state by colour, icon and words (the column header names the step; the link's title is
    its accessible name) and links to the step on the unit's page:
    ``<td class="c c-STATE[ c-overdue][ ps]"><a href="UNIT#step-KEY" title="LABEL[, overdue]">
    <i aria-hidden="true">ICON or the overdue mark</i></a></td>``, or for a step the unit's workflow does not
    have ``<td class="c c-none[ ps]"><span title="no such step">·</span></td>`` (" ps": the first
    column of a phase). All but the unit's address depends on the column, the state and whether
    it is overdue, so each such piece is written once per page.
    """
    labels = {state: Markup(STATE_LABELS[state]) for state in State}
    overdue_words = Markup(", ") + Markup(gettext("overdue"))
    no_step = Markup('"><span title="{}">·</span></td>').format(Markup(gettext("no such step")))
    # (HTML before the unit's address, after it), as escaped text, per column, step, state, overdue
    pieces: dict[tuple, tuple[str, str]] = {}
    icons = state_icons()
    overdue_icon = Markup(get_template_attribute("_macros.html", "OVERDUE_ICON"))

    def piece(column, cell) -> tuple[str, str]:
        edge = " ps" if column.starts_phase else ""
        if cell.state is None:
            return str(Markup('<td class="c c-none') + escape(edge) + no_step), ""
        before = Markup('<td class="c c-{}{}{}"><a href="').format(
            cell.state.value, " c-overdue" if cell.overdue else "", edge)
        after = Markup('#step-{}" title="{}{}"><i aria-hidden="true">{}</i></a></td>').format(
            cell.key, labels[cell.state], overdue_words if cell.overdue else "",
            overdue_icon if cell.overdue else icons[cell.state.value])
        return str(before), str(after)

    columns = matrix.columns
    rows = []
    for row in matrix.rows:
        address = str(escape(url_for("web.unit", code=row.unit.code)))
        html = []
        for index, cell in enumerate(row.cells):
            key = (index, cell.key, cell.state, cell.overdue)
            found = pieces.get(key)
            if found is None:
                found = pieces[key] = piece(columns[index], cell)
            before, after = found
            html.append(before + address + after if cell.state is not None else before)
        rows.append(Markup("".join(html)))
    return rows


def _queue(province_code: str, now: date, failed: tuple | None) -> list[QueueItem]:
    """Every submission waiting for the city (drafts and steps, read in one query) with the forms
    this user may use; ``failed`` = (step id, or ("draft", id), action, form) keeps a refused form."""
    language = _language()
    queue = []
    # oldest submission first; on the same day, the units in Vietnamese alphabetical order
    submissions = sorted(draft_queries.pending_submissions({province_code}),
                         key=lambda s: (s.submitted_on or date.max, vi_sort_key(s.unit.name), s.anchor))
    # the kinds of which the city approved a version, per preparation (the guards of its own steps read them)
    approved = {entry["preparation_id"]: frozenset(entry["approved"])
                for entry in draft_queries.province_stages(province_code)}
    for submission in submissions:
        unit, draft, step = submission.unit, submission.draft, submission.step
        step_title = submission.definition.step(step.key).title(language) if step is not None else None
        offered = set() if draft is not None else set(
            UnitFacts(step.preparation, on=now, approved_kinds=approved.get(step.preparation_id, frozenset()),
                      definition=submission.definition).offered(current_user, step))
        forms = {}
        for action in DECISIONS.values():
            if draft is not None:
                allowed, key = permissions.can_review_drafts(current_user, unit), ("draft", draft.id)
            else:
                allowed, key = action in offered, step.id
            if not allowed:
                continue
            if failed and failed[0] == key and failed[1] is action:
                forms[action.value] = failed[2]
            elif draft is not None:
                forms[action.value] = _draft_decision_form(draft, action)
            else:
                forms[action.value] = _decision_form(step, action, now)
        if draft is not None:
            queue.append(QueueItem(submission, forms, draft_words(draft), step_title))
        else:
            kind = draft_queries.draft_kind_of_step(submission.definition, step.key)
            queue.append(QueueItem(submission, forms, step_title, step_title,
                                   kind or submission.definition.step(step.key).document, drafted=kind is not None))
    return queue


def _draft_decision_form(draft: DraftVersion, action: Action) -> StepActionForm:
    return StepActionForm(formdata=None, prefix=draft_decision_prefix(draft, action), data={"version": draft.version})


def _charts(overview: queries.ProvinceOverview, province_code: str) -> dict:
    """Tasks done by day (from the audit history), readiness over time (as recorded every night, beside
    the audit history's share of tasks done) and branch congresses by week, with their data."""
    now, campaign, readiness = overview.as_of, overview.campaign, overview.readiness
    deadline = campaign.deadline
    last_day = max(deadline.last_allowed_day, now)
    points = cumulative_by_day(queries.unit_steps_done_by_day({province_code}), campaign.starts_on,
                               max(now, campaign.starts_on))
    weeks = cumulative_by_week(queries.branches_held_by_day({province_code}), campaign.starts_on, last_day)
    averages = [(d, p) for d, p in queries.average_readiness_by_day({province_code}) if d <= points[-1].day]
    # from the first night recorded: before it there is only the history of changes
    levels = recorded_levels(averages, max(averages[0][0], points[0].day), points[-1].day) if averages else []
    days = readiness_days(points, levels, readiness.tasks.assigned)
    return {
        "progress": progress_chart(points, assigned=readiness.tasks.assigned, deadline=deadline, today=now,
                                   last=last_day),
        "progress_points": points,
        "readiness_over_time": readiness_chart(days, deadline=deadline, today=now, last=last_day),
        "readiness_days": days,
        "branches": branches_chart(weeks, total=readiness.branches_total, deadline=deadline, today=now),
        "branch_weeks": weeks,
    }


@web.get("/dashboard")
@login_required
def dashboard():
    return dashboard_page(_province_code())


@web.post("/dashboard/approvals/<int:step_id>")
@login_required
@idempotent
def decide(step_id: int):
    """Approve or return one submission from the queue."""
    action = _decision()
    step = db.session.get(Step, step_id)
    if step is None or step.branch_id is not None:
        abort(404)
    unit = step.preparation.unit
    _city_reader_of(unit)
    if not permissions.can_take_action(current_user, unit, action):
        abort(403)
    step_def = step.preparation.definition().step(step.key)
    title = step_def.title(_language())
    form = StepActionForm(prefix=decision_prefix(step, action))
    anchor = f"approval-{step.id}"
    if not _valid_decision(form, action):
        return _refused(unit, step, action, form, title, anchor)
    try:
        transition(step, action=action, actor=current_user, version=form.version.data,
                   on=form.on.data if action is Action.APPROVE else None, note=form.note.data)
    except Conflict:
        db.session.rollback()
        if repeats_last_transition(step, action=action, actor=current_user, version=form.version.data):
            flash(already_done(title), "info")
            return redirect(url_for("web.dashboard", **_kept_args(), _anchor="approvals"))
        return conflict_page(db.session.get(Step, step_id), title, action)
    except OperationError as exc:
        if exc.status == 403:
            raise
        db.session.rollback()
        form.form_errors.append(describe(exc.code, exc.params))
        return _refused(unit, step, action, form, title, anchor, reason=describe(exc.code, exc.params))
    db.session.commit()
    return _decided(action, title, unit)


@web.post("/dashboard/approvals/drafts/<int:draft_id>")
@login_required
@idempotent
def decide_draft(draft_id: int):
    """Approve or return one submitted draft version from the queue (its approval step follows)."""
    action = _decision()
    draft = db.session.get(DraftVersion, draft_id) if 0 < draft_id < 2**31 else None
    if draft is None:
        abort(404)
    unit = draft.unit
    _city_reader_of(unit)
    if not permissions.can_review_drafts(current_user, unit):
        abort(403)
    form = StepActionForm(prefix=draft_decision_prefix(draft, action))
    if not _valid_decision(form, action):
        return _draft_refused(draft, action, form)
    what = draft_words(draft)
    try:
        draft_operations.review_version(draft, verdict=action.value, text=form.note.data, actor=current_user,
                                        expected=form.version.data)
    except OperationError as exc:
        if exc.status == 403:
            raise
        db.session.rollback()
        reason = describe(exc.code, exc.params)
        if isinstance(exc, Conflict):  # decided or changed by someone else first: the queue as it is now
            message = gettext("“%(step)s” of %(unit)s was not changed: %(reason)s", step=what, unit=unit.name,
                              reason=reason)
            return dashboard_page(unit.province_code, status=409, problem=Problem(message, "approvals"))
        form.form_errors.append(reason)
        return _draft_refused(draft, action, form, reason=reason)
    db.session.commit()
    return _decided(action, what, unit)


def _decision() -> Action:
    """The city's decision a queue form posts (approve or return); 400 for anything else."""
    action = DECISIONS.get(request.form.get("action", ""))
    if action is None:
        abort(400)
    return action


def _city_reader_of(unit) -> None:
    if not is_city_user(current_user) or not permissions.can_read_unit(current_user, unit):
        abort(403)


def _valid_decision(form: StepActionForm, action: Action) -> bool:
    """The form is valid, and a return gives the reason the unit will read."""
    valid = form.validate_on_submit()
    if valid and action is Action.RETURN and not form.note.data:
        form.note.errors.append(gettext("Give the reason for returning it: the unit will read it."))
        valid = False
    return valid


def _decided(action: Action, what: str, unit):
    if action is Action.APPROVE:
        flash(gettext("Approved “%(step)s” of %(unit)s.", step=what, unit=unit.name), "success")
    else:
        flash(gettext("Returned “%(step)s” to %(unit)s.", step=what, unit=unit.name), "success")
    return redirect(url_for("web.dashboard", **_kept_args(), _anchor="approvals"))


def _draft_refused(draft: DraftVersion, action: Action, form: StepActionForm, reason: str | None = None):
    unit, what = draft.unit, draft_words(draft)
    message = (gettext("“%(step)s” of %(unit)s was not changed: %(reason)s", step=what, unit=unit.name,
                       reason=reason) if reason else
               gettext("“%(step)s” of %(unit)s was not changed: correct the form below.", step=what,
                       unit=unit.name))
    return dashboard_page(unit.province_code, status=422, failed=(("draft", draft.id), action, form),
                          problem=Problem(message, f"approval-draft-{draft.id}"))


def _refused(unit, step: Step, action: Action, form: StepActionForm, title: str, anchor: str,
             reason: str | None = None):
    message = (gettext("“%(step)s” of %(unit)s was not changed: %(reason)s", step=title, unit=unit.name,
                       reason=reason) if reason else
               gettext("“%(step)s” of %(unit)s was not changed: correct the form below.", step=title,
                       unit=unit.name))
    return dashboard_page(unit.province_code, status=422, failed=(step.id, action, form),
                          problem=Problem(message, anchor))


def conflict_page(step: Step, title: str, tried: Action):
    """409: someone decided or changed the step first. Show it as it is now, and the way on."""
    unit = step.preparation.unit
    last = db.session.execute(
        db.select(AuditRecord).where(*step_records(step))
        .order_by(AuditRecord.id.desc()).limit(1)).scalar_one_or_none()
    now = today()
    forms = {}
    if step.state == "submitted":
        offered = UnitFacts(step.preparation, on=now).offered(current_user, step)
        forms = {a.value: _decision_form(step, a, now) for a in DECISIONS.values() if a in offered}
    who = people([last.actor])(last.actor) if last is not None else None
    return render_template("dashboard/conflict.html", step=step, unit=unit, title=title, tried=tried,
                           last=last, who=who, forms=forms, today=now, kept_args=_kept_args()), 409

"""Pages of a unit's drafts: upload and download versions, compare two side by side, run comment
rounds, submit to the city; the city comments, approves, returns or records an exception.

Every page is of one preparation (the unit in one campaign): the one in the campaign ``?campaign=``
names (404 when the unit is not in it), else in the campaign the request shows; its links and
forms keep the ``?campaign=`` the page was opened with. A refused form comes back on its page
with the reason and the operation's status (4xx); nothing is written. Every write goes through
congress.drafts.operations and is committed here, once.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user, login_required

from congress.accounts import permissions
from congress.audit.words import people
from congress.clock import today
from congress.drafts import diff, operations, storage
from congress.drafts import queries as drafts
from congress.drafts.messages import (
    AUDIENCE_LABELS,
    REVIEW_LABELS,
    STATUS_LABELS,
    in_words,
)
from congress.drafts.models import AUDIENCES, DRAFT_KINDS, CommentRound, DraftReview, DraftVersion
from congress.errors import OperationError, Unprocessable
from congress.extensions import db
from congress.idempotency import idempotent
from congress.messages import approver_words, describe, document_title
from congress.progress.models import Preparation
from congress.text import vi_sort_key
from congress.units.models import Unit

from . import web
from .common import readable_unit
from .forms import RoundDatesForm


@dataclass(frozen=True)
class Problem:
    message: str
    anchor: str | None = None


kind_title = document_title


def _problem(exc: OperationError, anchor: str | None = None) -> Problem:
    db.session.rollback()
    return Problem(describe(exc.code, exc.params), anchor)


def kept_campaign(prep: Preparation) -> dict[str, int]:
    """The query string that keeps a drafts page's links on its campaign: the one the request named."""
    return {"campaign": prep.campaign_id} if request.args.get("campaign") else {}


def _common(unit: Unit, prep: Preparation) -> dict:
    return {"unit": unit, "prep": prep, "kept": kept_campaign(prep), "kind_title": kind_title,
            "status_labels": in_words(STATUS_LABELS, prep),
            "audience_labels": AUDIENCE_LABELS, "review_labels": in_words(REVIEW_LABELS, prep), "audiences": AUDIENCES,
            "draft_kinds": drafts.unit_kinds(prep), "gated_kinds": drafts.gated_kinds(prep),
            "can_edit": permissions.can_edit_drafts(current_user, unit),
            "can_submit": permissions.can_submit_drafts(current_user, unit),
            "can_review": permissions.can_review_drafts(current_user, unit),
            "max_upload_mb": storage.limit_mb()}


# --- reading ---------------------------------------------------------------------------------------

def index_page(unit: Unit, prep: Preparation, *, status: int = 200, problem: Problem | None = None):
    exceptions = drafts.exceptions(prep)
    return render_template("drafts/index.html", stages=drafts.stages(prep), exceptions=exceptions,
                           missing=drafts.missing_approvals(prep), rounds=drafts.rounds(prep),
                           person=people(e.actor for e in exceptions.values()),
                           problem=problem, **_common(unit, prep)), status


@web.get("/units/<code>/drafts")
@login_required
def drafts_index(code: str):
    unit = readable_unit(code)
    return index_page(unit, drafts.shown_preparation(unit))


def kind_page(unit: Unit, prep: Preparation, kind: str, *, status: int = 200, problem: Problem | None = None,
              refused_round: RoundDatesForm | None = None):
    versions = drafts.versions(prep, kind)

    def round_form(number: int) -> RoundDatesForm:
        """The form of a new comment round on draft ``number``: the refused one as it was sent."""
        if refused_round is not None and refused_round.number == number:
            return refused_round
        return RoundDatesForm(number=number, data={"starts_on": today()})

    submittable = {v.number for v in versions if operations.submission_refusal(v, versions) is None}
    person = people([v.actor for v in versions] + [r.actor for v in versions for r in v.reviews])
    return render_template("drafts/kind.html", kind=kind, versions=versions, stage=drafts.stages(prep)[kind],
                           submittable=submittable, person=person,
                           round_form=round_form, problem=problem, **_common(unit, prep)), status


@web.get("/units/<code>/drafts/<kind>")
@login_required
def drafts_kind(code: str, kind: str):
    unit = readable_unit(code)
    prep = drafts.shown_preparation(unit)
    return kind_page(unit, prep, drafts.kind_or_404(kind, prep))


@web.get("/units/<code>/drafts/<kind>/<int:number>/file")
@login_required
def draft_file(code: str, kind: str, number: int):
    unit = readable_unit(code)
    prep = drafts.shown_preparation(unit)
    return storage.send(drafts.version_or_404(prep, drafts.kind_or_404(kind, prep), number))


def _number_arg(name: str) -> int | None:
    value = request.args.get(name, "")
    if not value:
        return None
    if not value.isdigit() or len(value) > 6:
        raise Unprocessable("invalid_field", {"field": name, "problem": "1, 2, 3 …"})
    return int(value)


@web.get("/units/<code>/drafts/<kind>/compare")
@login_required
def drafts_compare(code: str, kind: str):
    unit = readable_unit(code)
    prep = drafts.shown_preparation(unit)
    drafts.kind_or_404(kind, prep)
    old_number, new_number = _number_arg("from"), _number_arg("to")
    if old_number is None or new_number is None:
        return kind_page(unit, prep, kind, status=422,
                         problem=Problem(gettext("Choose two versions to compare."), "compare"))
    old, new = drafts.version_or_404(prep, kind, old_number), drafts.version_or_404(prep, kind, new_number)
    try:
        rows = diff.compare_versions(old, new)
    except OperationError as exc:
        return kind_page(unit, prep, kind, status=exc.status, problem=_problem(exc, "compare"))
    return render_template("drafts/compare.html", kind=kind, old=old, new=new, rows=rows,
                           counts=diff.summary(rows), **_common(unit, prep))


def round_page(unit: Unit, prep: Preparation, found: CommentRound, *, status: int = 200,
               problem: Problem | None = None, bulk: str = ""):
    return render_template("drafts/round.html", round=found, version=found.draft,
                           totals=drafts.totals(found.comments), problem=problem, bulk=bulk,
                           **_common(unit, prep)), status


@web.get("/units/<code>/drafts/rounds/<int:round_id>")
@login_required
def drafts_round(code: str, round_id: int):
    unit = readable_unit(code)
    prep = drafts.shown_preparation(unit)
    return round_page(unit, prep, drafts.round_or_404(prep, round_id))


@web.get("/units/<code>/drafts/rounds/<int:round_id>/summary.docx")
@login_required
def round_summary(code: str, round_id: int):
    unit = readable_unit(code)
    prep = drafts.shown_preparation(unit)
    return storage.send_summary(drafts.round_or_404(prep, round_id))


# --- writing ---------------------------------------------------------------------------------------

@web.post("/units/<code>/drafts")
@login_required
@idempotent
def upload_draft(code: str):
    unit = readable_unit(code)
    prep = drafts.shown_preparation(unit)
    kind = request.form.get("kind", "")
    back_to_kind = request.form.get("from") == "kind" and kind in drafts.unit_kinds(prep)
    try:
        filename, content, note = storage.from_request()
        version = operations.upload_version(unit, kind, filename=filename, content=content, note=note,
                                            actor=current_user, prep=prep)
    except OperationError as exc:
        if back_to_kind:
            return kind_page(unit, prep, kind, status=exc.status, problem=_problem(exc, "upload"))
        return index_page(unit, prep, status=exc.status, problem=_problem(exc, "upload"))
    db.session.commit()
    if version.repeated:
        flash(gettext("This file is already %(document)s, draft %(number)s: nothing new was kept.",
                      document=kind_title(kind), number=version.number), "info")
    else:
        flash(gettext("Uploaded: %(document)s, draft %(number)s.", document=kind_title(kind),
                      number=version.number), "success")
    return redirect(url_for("web.drafts_kind", code=unit.code, kind=kind, **kept_campaign(prep)))


def _form_version() -> int | None:
    value = request.form.get("version", "")
    return int(value) if value.isdigit() and len(value) < 10 else None


@web.post("/units/<code>/drafts/<kind>/<int:number>/submit")
@login_required
@idempotent
def submit_draft(code: str, kind: str, number: int):
    unit = readable_unit(code)
    prep = drafts.shown_preparation(unit)
    version = drafts.version_or_404(prep, drafts.kind_or_404(kind, prep), number)
    try:
        operations.submit_version(version, actor=current_user, note=request.form.get("note"),
                                  expected=_form_version())
    except OperationError as exc:
        return kind_page(unit, prep, kind, status=exc.status, problem=_problem(exc, f"version-{number}"))
    db.session.commit()
    flash(gettext("Draft %(number)s was submitted to %(approver)s.", number=number, approver=approver_words()),
          "success")
    return redirect(url_for("web.drafts_kind", code=unit.code, kind=kind, _anchor=f"version-{number}",
                            **kept_campaign(prep)))


@web.post("/units/<code>/drafts/<kind>/<int:number>/review")
@login_required
@idempotent
def review_draft(code: str, kind: str, number: int):
    unit = readable_unit(code)
    prep = drafts.shown_preparation(unit)
    version = drafts.version_or_404(prep, drafts.kind_or_404(kind, prep), number)
    verdict = request.form.get("verdict", "")
    try:
        operations.review_version(version, verdict=verdict, text=request.form.get("text"), actor=current_user,
                                  expected=_form_version())
    except OperationError as exc:
        return kind_page(unit, prep, kind, status=exc.status, problem=_problem(exc, f"version-{number}"))
    db.session.commit()
    flash({"approve": gettext("Draft %(number)s was approved.", number=number),
           "return": gettext("Draft %(number)s was returned to the unit.", number=number)}.get(
        verdict, gettext("The comment was recorded.")), "success")
    return redirect(url_for("web.drafts_kind", code=unit.code, kind=kind, _anchor=f"version-{number}",
                            **kept_campaign(prep)))


@web.post("/units/<code>/drafts/<kind>/<int:number>/rounds")
@login_required
@idempotent
def open_round(code: str, kind: str, number: int):
    unit = readable_unit(code)
    prep = drafts.shown_preparation(unit)
    version = drafts.version_or_404(prep, drafts.kind_or_404(kind, prep), number)
    form = RoundDatesForm(request.form, number=number)
    if not form.validate():
        problem = Problem(gettext("The comment round was not opened: %(reason)s", reason=" ".join(form.problems())),
                          f"round-{number}")
        return kind_page(unit, prep, kind, status=422, problem=problem, refused_round=form)
    try:
        found = operations.open_round(version, audiences=request.form.getlist("audiences"),
                                      starts_on=form.starts_on.data, ends_on=form.ends_on.data, actor=current_user)
    except OperationError as exc:
        return kind_page(unit, prep, kind, status=exc.status, problem=_problem(exc, f"round-{number}"),
                         refused_round=form)
    db.session.commit()
    flash(gettext("The comment round was opened."), "success")
    return redirect(url_for("web.drafts_round", code=unit.code, round_id=found.id, **kept_campaign(prep)))


@web.post("/units/<code>/drafts/rounds/<int:round_id>/comments")
@login_required
@idempotent
def add_comments(code: str, round_id: int):
    unit = readable_unit(code)
    prep = drafts.shown_preparation(unit)
    found = drafts.round_or_404(prep, round_id)
    bulk = request.form.get("bulk", "")
    try:
        if request.form.get("mode") == "bulk":
            entries = operations.parse_comment_lines(bulk)
        else:
            count = request.form.get("count", "1").strip() or "1"
            if not count.isdigit() or len(count) > 6:
                raise Unprocessable("comment_count_invalid", {"line": 1})
            entries = [operations.CommentEntry(request.form.get("audience", ""), int(count),
                                               request.form.get("text"))]
        made = operations.add_comments(found, entries, actor=current_user)
    except OperationError as exc:
        return round_page(unit, prep, found, status=exc.status, problem=_problem(exc, "comments"), bulk=bulk)
    db.session.commit()
    flash(gettext("%(count)s comment entry(ies) recorded.", count=len(made)), "success")
    return redirect(url_for("web.drafts_round", code=unit.code, round_id=found.id, **kept_campaign(prep)))


@web.post("/units/<code>/drafts/rounds/<int:round_id>/close")
@login_required
@idempotent
def close_round(code: str, round_id: int):
    unit = readable_unit(code)
    prep = drafts.shown_preparation(unit)
    found = drafts.round_or_404(prep, round_id)
    try:
        closed = operations.close_round(found, actor=current_user, expected=_form_version())
    except OperationError as exc:
        return round_page(unit, prep, found, status=exc.status, problem=_problem(exc))
    db.session.commit()
    if closed.step_refusal is None:
        flash(gettext("The comment round was closed."), "success")
    else:
        flash(gettext("The comment round was closed; the step could not be completed yet: %(reason)s",
                      reason=describe(closed.step_refusal.code, closed.step_refusal.params)), "warning")
    return redirect(url_for("web.drafts_round", code=unit.code, round_id=found.id, **kept_campaign(prep)))


@web.post("/units/<code>/drafts/exception")
@login_required
@idempotent
def record_exception(code: str):
    unit = readable_unit(code)
    prep = drafts.shown_preparation(unit)
    kind = request.form.get("kind", "")
    try:
        operations.record_exception(unit, kind, reason=request.form.get("reason"), actor=current_user, prep=prep)
    except OperationError as exc:
        return index_page(unit, prep, status=exc.status, problem=_problem(exc, "gate"))
    db.session.commit()
    flash(gettext("The exception was recorded."), "success")
    return redirect(url_for("web.drafts_index", code=unit.code, _anchor="gate", **kept_campaign(prep)))


# --- shown on other pages --------------------------------------------------------------------------

@web.app_template_global()
def draft_verdicts(prep: Preparation) -> list[tuple[DraftVersion, DraftReview]]:
    """The city's latest verdict on each draft kind of the preparation (one query), for the unit's page."""
    rows = db.session.execute(
        db.select(DraftVersion, DraftReview).join(DraftReview, DraftReview.draft_id == DraftVersion.id)
        .where(DraftVersion.preparation_id == prep.id, DraftReview.action.in_(("approve", "return")))
        .order_by(DraftReview.id.desc())).all()
    latest: dict[str, tuple[DraftVersion, DraftReview]] = {}
    for version, review in rows:
        latest.setdefault(version.kind, (version, review))
    return [latest[k] for k in drafts.unit_kinds(prep) if k in latest]


@web.app_template_global()
def draft_campaign_args(prep: Preparation) -> dict[str, int]:
    """For a link to the drafts from another page: the ``?campaign=`` it was opened with (see kept_campaign)."""
    return kept_campaign(prep)


@web.app_template_global()
def document_stages(province_code: str) -> list[dict]:
    """Each unit of the province with a draft in the round shown: the stage of every draft kind
    and the campaign they are of (one query), the units in Vietnamese alphabetical order."""
    return sorted(drafts.province_stages(province_code), key=lambda entry: (vi_sort_key(entry["name"]), entry["code"]))


@web.app_template_global()
def draft_kind_title(kind: str) -> str:
    return kind_title(kind)


@web.app_template_global()
def draft_kind_keys() -> tuple[str, ...]:
    return DRAFT_KINDS


@web.app_template_test("intersecting")
def _intersecting(found, kinds) -> bool:
    """Whether a unit's draft stages name one of these kinds."""
    return any(kind in found for kind in kinds)


@web.app_template_global()
def draft_status_labels() -> dict:
    """The stages in words, naming the approver of the workflow the request shows (a page that shows
    many calls it once)."""
    return in_words(STATUS_LABELS)

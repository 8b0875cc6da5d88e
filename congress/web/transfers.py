"""Spreadsheets in and out: the import page (upload, a preview whose reading shows its progress,
confirm or drop), the templates, and the "Tải Excel / CSV" downloads of the lists the pages show.
"""
from __future__ import annotations

from datetime import date

from flask import Response, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from congress.accounts import permissions
from congress.audit.models import AuditRecord
from congress.clock import today
from congress.dashboard.matrix import MatrixParams, build_matrix, due_soon, overdue_items
from congress.errors import Conflict, NotFound, Unprocessable
from congress.extensions import db
from congress.formatting import short_date
from congress.idempotency import idempotent
from congress.messages import STATE_LABELS, current_approver, describe
from congress.papers.names import content_disposition
from congress.progress import campaigns, queries
from congress.progress.models import Preparation
from congress.text import vi_sort_key
from congress.transfers import exporting, importing
from congress.transfers.models import IMPORT_KINDS, ImportBatch, ImportRow
from congress.units.models import UNIT_KINDS, Unit
from workflows.rules import State

from . import web
from .common import preparation_or_404, readable_unit

KIND_LABELS = {"units": _l("Units"), "branches": _l("Branches"), "progress": _l("Step progress")}
STATE_LABELS_IMPORT = {"queued": _l("waiting"), "reading": _l("reading"), "previewed": _l("ready to confirm"),
                       "applying": _l("being applied"), "applied": _l("applied"), "failed": _l("failed"),
                       "cancelled": _l("dropped")}
STATUS_LABELS = {"new": _l("new"), "updated": _l("updated"), "unchanged": _l("unchanged"),
                 "warning": _l("warning"), "error": _l("error")}
ROWS_PER_PAGE = 200


def download(made: exporting.Made) -> Response:
    response = Response(made.content, content_type=made.mimetype)  # the type says its charset once
    response.headers["Content-Disposition"] = content_disposition(made.filename)
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _format(fmt: str) -> str:
    if fmt not in exporting.FORMATS:
        abort(404)
    return fmt


def describe_problem(problem: dict) -> str:
    params = dict(problem.get("params") or {})
    for key in ("current", "target"):
        if params.get(key) in State._value2member_map_:
            params[key] = str(STATE_LABELS[State(params[key])])
    return describe(problem["code"], params)


@web.app_template_global("may_import")
def may_import() -> bool:
    """Whether the signed-in user may import anything (the pages link to the import page)."""
    return current_user.is_authenticated and bool(_importable_kinds())


@web.app_template_filter("import_problem")
def _import_problem(problem: dict) -> str:
    return describe_problem(problem)


@web.app_template_filter("import_value")
def _import_value(value, field: str) -> str:
    """A staged value as the page shows it: dates as 20/8/2025 (they are kept as 2025-08-20)."""
    if value is None:
        return "—"
    if field.endswith("_on") and isinstance(value, str):
        try:
            return short_date(date.fromisoformat(value))
        except ValueError:
            return value
    return str(value)


# --- importing ---------------------------------------------------------------------------------

def _importable_kinds() -> list[str]:
    return [kind for kind in IMPORT_KINDS if permissions.can_import(current_user, kind)]


@web.get("/transfers")
@login_required
def transfers():
    kinds = _importable_kinds()
    if not kinds:
        abort(403)
    batches = db.session.execute(db.select(ImportBatch).filter_by(user_id=current_user.id)
                                 .order_by(ImportBatch.id.desc()).limit(10)).scalars().all()
    return render_template("transfers/index.html", kinds=kinds, kind_labels=KIND_LABELS, batches=batches,
                           state_labels=STATE_LABELS_IMPORT, campaign=campaigns.chosen_campaign(),
                           max_rows=importing.max_rows(), max_mb=importing.max_bytes() // (1024 * 1024))


@web.post("/transfers")
@login_required
@idempotent
def upload_import():
    kind = request.form.get("kind", "")
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise Unprocessable("import_missing_file")
    with upload.stream:
        content = upload.stream.read(importing.max_bytes() + 1)
    batch = importing.start_import(kind, upload.filename, content, current_user, campaigns.chosen_campaign())
    db.session.commit()
    importing.start(current_app._get_current_object(), batch.id)
    return redirect(url_for("web.import_preview", token=batch.token))


@web.get("/transfers/<token>")
@login_required
def import_preview(token: str):
    return _preview_page(importing.batch_for(token, current_user))


def _preview_page(batch: ImportBatch, *, problem: str | None = None, status: int = 200):
    shown = request.args.get("status") if request.args.get("status") in STATUS_LABELS else None
    page = max(1, min(request.args.get("page", 1, type=int) or 1, 10**6))
    rows, pages = [], 1
    if batch.shown_state in ("previewed", "applied"):
        query = db.select(ImportRow).where(ImportRow.batch_id == batch.id)
        if shown:
            query = query.where(ImportRow.status == shown)
        count = db.session.execute(db.select(db.func.count()).select_from(query.subquery())).scalar_one()
        pages = max(1, -(-count // ROWS_PER_PAGE))
        rows = db.session.execute(query.order_by(ImportRow.number).offset((page - 1) * ROWS_PER_PAGE)
                                  .limit(ROWS_PER_PAGE)).scalars().all()
    error = describe(batch.shown_error, batch.error_params or {}) if batch.shown_error else None
    from .units import FIELD_LABELS

    return render_template("transfers/preview.html", batch=batch, rows=rows, page=page, pages=pages,
                           field_labels=FIELD_LABELS, state_words=STATE_LABELS,
                           shown=shown, status_labels=STATUS_LABELS, kind_labels=KIND_LABELS,
                           counts=batch.counts or {}, error=error, problem=problem), status


@web.get("/transfers/<token>.json")
@login_required
def import_status(token: str):
    batch = importing.batch_for(token, current_user)
    state = batch.shown_state
    return jsonify({"state": state, "done": batch.shown_done, "total": batch.total, "percent": batch.percent,
                    "error": describe(batch.shown_error, batch.error_params or {}) if batch.shown_error else None})


@web.post("/transfers/<token>/confirm")
@login_required
@idempotent
def confirm_import(token: str):
    batch = importing.batch_for(token, current_user)
    batch_id = batch.id
    accept = request.form.get(importing.ACCEPT_FIELD) == "1"
    try:
        counts = importing.confirm(batch, current_user, accept_completed_changes=accept)
    except (Conflict, Unprocessable) as exc:
        db.session.rollback()
        importing.note_refusal(batch_id, exc)
        db.session.commit()
        return _preview_page(db.session.get(ImportBatch, batch_id), problem=describe(exc.code, exc.params),
                             status=exc.status)
    db.session.commit()
    if counts is None:
        importing.start_apply(current_app._get_current_object(), batch_id, accept)
        flash(gettext("The import is being applied: this page shows its progress."), "info")
    else:
        flash(gettext("Imported: %(new)s new, %(updated)s updated, %(unchanged)s unchanged.", new=counts["new"],
                      updated=counts["updated"], unchanged=counts["unchanged"]), "success")
    return redirect(url_for("web.import_preview", token=token))


@web.post("/transfers/<token>/cancel")
@login_required
@idempotent
def cancel_import(token: str):
    batch = importing.batch_for(token, current_user)
    importing.cancel(batch, current_user)
    db.session.commit()
    flash(gettext("The import was dropped; nothing was changed."), "info")
    return redirect(url_for("web.transfers"))


@web.get("/transfers/templates/<kind>.<fmt>")
@login_required
def import_template(kind: str, fmt: str):
    if kind not in IMPORT_KINDS:
        raise NotFound("import_unknown_kind", {"kind": kind[:20]})
    if not permissions.can_import(current_user, kind):
        abort(403)
    return download(exporting.write(exporting.template(kind), _format(fmt), exporting.template_name(kind)))


# --- exports of the dashboard's lists ----------------------------------------------------------

DASHBOARD_EXPORTS = ("matrix", "overdue", "due-soon", "approvals")


@web.get("/dashboard/export/<name>.<fmt>")
@login_required
def dashboard_export(name: str, fmt: str):
    from .dashboard import _province_code

    if name not in DASHBOARD_EXPORTS:
        abort(404)
    fmt = _format(fmt)
    province_code = _province_code()
    if name == "approvals":
        # oldest submission first; on the same day, the units in Vietnamese alphabetical order
        pending = sorted(queries.pending_approvals({province_code}),
                         key=lambda p: (p.step.submitted_on or date.max, vi_sort_key(p.unit.name), p.step.id))
        table = exporting.approvals_table(pending)
        return download(exporting.write(table, fmt, f"Chờ {current_approver().vi} - {province_code}"))
    overview = queries.province_overview({province_code})
    if overview.campaign is None:
        abort(404)
    definition = overview.campaign.unit_definition()
    now = overview.as_of
    if name == "matrix":
        params = MatrixParams.from_args(request.args, definition.phases)
        matrix = build_matrix(overview.rows, definition, params, now)
        facts = {row.unit.id: {f.key: f for f in row.steps} for row in overview.rows}
        table = exporting.matrix_table(matrix, facts, now)
        stem = f"Tiến độ đại hội - {overview.province.name if overview.province else province_code}"
    elif name == "overdue":
        table, stem = exporting.overdue_table(overdue_items(overview.rows, definition, now)), "Quá hạn"
    else:
        table, stem = exporting.due_soon_table(due_soon(overview.rows, definition, now)), "Đến hạn 7 ngày"
    return download(exporting.write(table, fmt, f"{stem} - {now.strftime('%d-%m-%Y')}"))


@web.get("/provinces/<code>/units.<fmt>")
@login_required
def province_units_export(code: str, fmt: str):
    from .papers import readable_province

    province = readable_province(code)
    fmt = _format(fmt)
    units = db.session.execute(db.select(Unit).filter_by(province_code=code).where(Unit.kind.in_(UNIT_KINDS))
                               .order_by(Unit.code)).scalars().all()
    dates = dict(db.session.execute(
        db.select(Preparation.unit_id, Preparation.congress_on).join(Unit, Unit.id == Preparation.unit_id)
        .where(Unit.province_code == code).order_by(Preparation.id)).all())
    return download(exporting.write(exporting.units_table(units, dates), fmt, f"Đơn vị - {province.name}"))


# --- exports of a unit's lists -----------------------------------------------------------------

UNIT_EXPORTS = ("branches", "progress", "history")


@web.get("/units/<code>/export/<name>.<fmt>")
@login_required
def unit_export(code: str, name: str, fmt: str):
    if name not in UNIT_EXPORTS:
        abort(404)
    fmt = _format(fmt)
    unit = readable_unit(code)
    prep = preparation_or_404(unit)
    branches = queries.unit_branches(prep)
    if name == "branches":
        table = exporting.branches_table(unit, branches)
        stem = f"Chi bộ - {unit.name}"
    elif name == "progress":
        unit_def = prep.definition()
        branch_def = prep.branch_definition()
        table = exporting.progress_table(unit, queries.unit_steps(prep), queries.branch_steps(prep), branches,
                                         {s.key: s.title_vi for s in unit_def.steps},
                                         {s.key: s.title_vi for s in branch_def.steps})
        stem = f"Tiến độ - {unit.name}"
    else:
        from .units import _history_entries, history_shown

        records = db.session.execute(
            db.select(AuditRecord).where(*history_shown(unit, prep))
            .order_by(AuditRecord.at.desc(), AuditRecord.id.desc())).scalars().all()
        table = exporting.history_table(_history_entries(records, prep))
        stem = f"Lịch sử - {unit.name}"
    return download(exporting.write(table, fmt, f"{stem} - {today().strftime('%d-%m-%Y')}"))

"""Spreadsheet imports in the API: upload (multipart/form-data), follow the reading and read the
preview, confirm (all or nothing) or drop. The same operations as the /transfers pages."""
from __future__ import annotations

from datetime import UTC, datetime

from flask import current_app, jsonify, request
from flask_login import current_user

from congress.errors import OperationError, Unprocessable
from congress.extensions import db
from congress.idempotency import idempotent
from congress.messages import describe
from congress.progress import campaigns
from congress.transfers import importing
from congress.transfers.models import IMPORT_KINDS, IMPORT_STATES, ROW_STATUSES, ImportBatch, ImportRow

from .views import api, check_fields, json_body, login_required

ROWS_PER_PAGE = 200


def _problem(problem: dict) -> dict:
    from congress.web.transfers import describe_problem

    return {"code": problem["code"], "message": describe_problem(problem), "error": bool(problem.get("error"))}


def _utc(moment: datetime) -> datetime:
    """SQLite hands back the stored UTC instant without its zone."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def row_json(row: ImportRow) -> dict:
    return {"number": row.number, "status": row.status, "target": row.target, "values": row.values,
            "changes": row.changes, "problems": [_problem(p) for p in row.problems or []]}


def batch_json(batch: ImportBatch, with_rows: bool = False) -> dict:
    body = {"token": batch.token, "kind": batch.kind, "filename": batch.filename, "state": batch.shown_state,
            "done": batch.shown_done, "total": batch.total, "percent": batch.percent, "counts": batch.counts,
            "error": {"code": batch.shown_error, "message": describe(batch.shown_error, batch.error_params or {})}
            if batch.shown_error else None,
            "created_at": _utc(batch.created_at).isoformat(),
            "campaign": {"id": batch.campaign.id, "name": batch.campaign.name_vi} if batch.campaign else None}
    if with_rows:
        status = request.args.get("status")
        if status and status not in ROW_STATUSES:
            raise Unprocessable("unknown_filter", {"field": "status", "value": status[:20]})
        page = request.args.get("page", "1")
        if not page.isdigit() or int(page) < 1:
            raise Unprocessable("invalid_field", {"field": "page", "problem": "1, 2, 3 …"})
        query = db.select(ImportRow).where(ImportRow.batch_id == batch.id)
        if status:
            query = query.where(ImportRow.status == status)
        rows = db.session.execute(query.order_by(ImportRow.number).offset((int(page) - 1) * ROWS_PER_PAGE)
                                  .limit(ROWS_PER_PAGE + 1)).scalars().all()
        body["rows"] = [row_json(r) for r in rows[:ROWS_PER_PAGE]]
        body["next_page"] = int(page) + 1 if len(rows) > ROWS_PER_PAGE else None
    return body


@api.post("/imports")
@login_required
@idempotent
def start_import():
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise Unprocessable("import_missing_file")
    with upload.stream:
        content = upload.stream.read(importing.max_bytes() + 1)
    requested = request.form.get("campaign") or request.args.get("campaign")
    campaign = campaigns.campaign_or_404(requested, current_user) if requested else None
    batch = importing.start_import(request.form.get("kind", ""), upload.filename, content, current_user, campaign)
    db.session.commit()
    batch_id = batch.id
    importing.start(current_app._get_current_object(), batch_id)
    db.session.expire_all()
    return jsonify(batch_json(db.session.get(ImportBatch, batch_id))), 201


@api.get("/imports/<token>")
@login_required
def get_import(token: str):
    return jsonify(batch_json(importing.batch_for(token, current_user), with_rows=True))


@api.post("/imports/<token>/confirm")
@login_required
@idempotent
def confirm_import(token: str):
    body = json_body()
    check_fields(body, {importing.ACCEPT_FIELD})
    accept = body.get(importing.ACCEPT_FIELD, False)
    if not isinstance(accept, bool):
        raise Unprocessable("invalid_field", {"field": importing.ACCEPT_FIELD, "problem": "true / false"})
    batch = importing.batch_for(token, current_user)
    batch_id = batch.id
    try:
        counts = importing.confirm(batch, current_user, accept_completed_changes=accept)
    except OperationError as exc:
        db.session.rollback()
        importing.note_refusal(batch_id, exc)
        db.session.commit()
        raise
    db.session.commit()
    if counts is not None:
        return jsonify(batch_json(batch))
    importing.start_apply(current_app._get_current_object(), batch_id, accept)
    return jsonify(batch_json(db.session.get(ImportBatch, batch_id))), 202


@api.post("/imports/<token>/cancel")
@login_required
@idempotent
def drop_import(token: str):
    check_fields(json_body(), set())
    batch = importing.batch_for(token, current_user)
    importing.cancel(batch, current_user)
    db.session.commit()
    return jsonify(batch_json(batch))


# --- the OpenAPI document ------------------------------------------------------------------

def openapi_schemas() -> dict:
    from .openapi import DATETIME, INTEGER, STRING, enum_of, nullable, obj

    problem = obj({"code": STRING, "message": STRING,
                   "error": {"type": "boolean", "description": "An error (the row is refused), else a warning."}},
                  ["code", "message", "error"])
    row = obj({
        "number": {**INTEGER, "description": "The row's number as the spreadsheet program shows it."},
        "status": enum_of(ROW_STATUSES),
        "target": {**nullable(STRING), "description": "The unit, branch or step the row is about."},
        "values": {"type": "object", "description": "The row's cleaned values (dates YYYY-MM-DD)."},
        "changes": {**nullable({"type": "object"}), "description": "Each field that will change: [old, new]."},
        "problems": {"type": "array", "items": problem},
    }, ["number", "status", "target", "values", "changes", "problems"])
    batch = obj({
        "token": STRING, "kind": enum_of(IMPORT_KINDS), "filename": STRING, "state": enum_of(IMPORT_STATES),
        "done": {**INTEGER, "description": "Rows read so far."},
        "total": {**INTEGER, "description": "Rows in the file (an estimate while reading)."},
        "percent": {"type": "integer", "minimum": 0, "maximum": 100},
        "counts": nullable(obj({s: INTEGER for s in ROW_STATUSES}, list(ROW_STATUSES))),
        "error": nullable(obj({"code": STRING, "message": STRING}, ["code", "message"])),
        "created_at": DATETIME,
        "campaign": {**nullable(obj({"id": INTEGER, "name": STRING}, ["id", "name"])),
                     "description": "The campaign the rows apply to (its round's preparations); null: each "
                                    "unit's newest open preparation."},
    }, ["token", "kind", "filename", "state", "done", "total", "percent", "counts", "error", "created_at",
        "campaign"],
        description="An uploaded spreadsheet: its reading, then its preview.")
    preview = obj({**batch["properties"], "rows": {"type": "array", "items": row},
                   "next_page": {**nullable(INTEGER), "description": "The next page of rows, if any."}},
                  batch["required"] + ["rows", "next_page"])
    upload = obj({"kind": enum_of(IMPORT_KINDS), "file": {"type": "string", "contentMediaType":
                                                          "application/octet-stream"},
                  "campaign": {**INTEGER, "description": "The campaign the rows apply to: its units' preparations "
                                                         "and branches in that campaign's round (GET /campaigns). "
                                                         "Without it, each unit's newest open preparation."}},
                 ["kind", "file"])
    confirmation = obj({importing.ACCEPT_FIELD: {
        "type": "boolean", "default": False,
        "description": "Accepts what the preview names: completed steps the import reopens or re-dates (the "
                       "warnings `import_reopens_completed_step` and `import_redates_completed_step`). Without it, "
                       "such an import is refused (422 `import_completed_changes_unconfirmed`)."}}, [],
        description="The confirmation of an import; {} when the preview names no completed step.")
    return {"ImportBatch": batch, "ImportPreview": preview, "ImportUpload": upload,
            "ImportDecision": obj({}, [], description="An empty object: {}."), "ImportConfirmation": confirmation}


def openapi_parameters() -> dict:
    from .openapi import STRING, enum_of

    return {
        "ImportToken": {"name": "token", "in": "path", "required": True, "schema": STRING,
                        "description": "The import's token, from the upload's answer."},
        "ImportStatus": {"name": "status", "in": "query", "required": False, "schema": enum_of(ROW_STATUSES),
                         "description": "Only rows with this result."},
        "ImportPage": {"name": "page", "in": "query", "required": False,
                       "schema": {"type": "integer", "minimum": 1, "default": 1},
                       "description": "A page of 200 rows."},
    }


def openapi_paths() -> dict:
    from .openapi import WRITE_ERRORS, _created, _operation, ref

    upload = _created(_operation(
        "startImport", "Upload a spreadsheet to import (units: admin; branches and progress: a unit's leader "
        "or staff, city staff, admin)",
        "multipart/form-data with `kind` (units, branches or progress) and `file` (.xlsx or .csv in the "
        "layout of the templates at /transfers/templates/<kind>.xlsx). The file is read in the background: "
        "follow `state` and `percent` with GET /imports/{token}. A file that cannot be read ends in state "
        "`failed` with its `error` (not a spreadsheet, wrong columns, too many rows …). Nothing is changed "
        "until the import is confirmed.", "ImportBatch", "The import, queued or already read.",
        WRITE_ERRORS, tags=["imports"], write=True))
    upload["requestBody"] = {"required": True, "content": {"multipart/form-data": {"schema": ref("ImportUpload")}}}
    return {
        "/imports": {"post": upload},
        "/imports/{token}": {"get": _operation(
            "getImport", "An import: its progress and the preview of its rows",
            "Every row marked new, updated, unchanged, warning or error, with its changes and the reasons. "
            "Only the uploader sees an import.", "ImportPreview", "The import.",
            ("401", "404", "422"), tags=["imports"], params=("ImportToken", "ImportStatus", "ImportPage"))},
        "/imports/{token}/cancel": {"post": _operation(
            "dropImport", "Drop an import that was not applied", "Its staged rows are deleted; nothing else "
            "changes.", "ImportBatch", "The dropped import.", WRITE_ERRORS, tags=["imports"],
            params=("ImportToken",), body="ImportDecision", write=True)},
        "/imports/{token}/confirm": {"post": _accepted(_operation(
            "confirmImport", "Apply an import, all rows or none",
            "Refused at once while a row has an error (`import_has_errors`), while it is being applied "
            "(`import_being_applied`) or once applied (`import_already_applied`). An import that reopens or "
            "re-dates completed steps (named in the preview's warnings) needs `accept_completed_changes: true`, "
            "else 422 `import_completed_changes_unconfirmed`. The rows are then applied in the background, in "
            "one transaction: 202 with `state` `applying`; follow `done` of `total` with GET /imports/{token} "
            "until `state` is `applied`, or `previewed` again with the `error` that refused it and nothing "
            "changed (`import_stale` when what a row changes was changed since the preview, "
            "`import_completed_changes_differ` when the completed steps are no longer those of the preview, "
            "`import_row_refused` naming the row). Every change is audited, and the import as one "
            "`import.apply` record with its counts.", "ImportBatch", "The applied import (a server set to apply "
            "imports at once).", WRITE_ERRORS, tags=["imports"], params=("ImportToken",), body="ImportConfirmation",
            write=True))},
    }


def _accepted(operation: dict) -> dict:
    """An operation that may also answer 202 Accepted: the work goes on in the background."""
    ok = operation["responses"]["200"]
    return {**operation, "responses": {**operation["responses"], "202": {
        **ok, "description": "Accepted: being applied in the background; GET the import to follow it."}}}

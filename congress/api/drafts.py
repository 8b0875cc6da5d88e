"""Drafts of a unit's congress documents in the API: versions (upload, download, compare), comment
rounds, submission to the city and its verdict, and the exception to the congress gate.

Every call is of one preparation (the unit in one campaign): the unit's in the campaign
``?campaign=`` names (404 when the unit is not in it), else in the campaign the request shows.
Uploads are multipart/form-data (``file``, optional ``note``); every other write is JSON.
"""
from __future__ import annotations

from datetime import UTC, datetime

from flask import jsonify, url_for
from flask_login import current_user

from congress.drafts import diff, operations, storage
from congress.drafts import queries as drafts
from congress.drafts.messages import AUDIENCE_LABELS, DRAFT_MESSAGES  # noqa: F401  (registers the messages)
from congress.drafts.models import AUDIENCES, DRAFT_KINDS, REVIEW_ACTIONS, STATUSES
from congress.errors import Unprocessable
from congress.extensions import db
from congress.idempotency import idempotent
from congress.messages import describe
from workflows.documents import DOCUMENT_KINDS

from .views import (
    api,
    check_fields,
    json_body,
    login_required,
    parse_date,
    parse_int,
    parse_text,
    query_int,
    readable_unit,
    required,
)

# --- shapes --------------------------------------------------------------------------------------

def _iso(value):
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)  # SQLite drops the zone; the column holds UTC
    return value.isoformat() if value is not None else None


def version_json(version) -> dict:
    unit = version.unit
    return {
        "kind": version.kind, "number": version.number, "format": version.format, "size": version.size,
        "sha256": version.sha256, "original_name": version.original_name, "note": version.note,
        "uploaded_on": _iso(version.uploaded_on), "uploaded_at": _iso(version.uploaded_at), "actor": version.actor,
        "status": version.status,
        "submitted_on": _iso(version.submitted_on), "decided_on": _iso(version.decided_on),
        "verdict_reason": version.verdict_reason, "version": version.version,
        "file": url_for("web.draft_file", code=unit.code, kind=version.kind, number=version.number,
                        campaign=version.preparation.campaign_id),
        "reviews": [{"action": r.action, "text": r.text, "on": _iso(r.on), "actor": r.actor}
                    for r in version.reviews],
        "rounds": [r.id for r in version.rounds],
    }


def round_json(found) -> dict:
    version = found.draft
    return {
        "id": found.id, "kind": version.kind, "number": version.number, "audiences": list(found.audiences),
        "starts_on": _iso(found.starts_on), "ends_on": _iso(found.ends_on), "state": found.state,
        "closed_on": _iso(found.closed_on), "version": found.version,
        "totals": drafts.totals(found.comments),
        "comments": [{"audience": c.audience, "count": c.count, "text": c.text, "actor": c.actor}
                     for c in found.comments],
        "summary": url_for("web.round_summary", code=version.unit.code, round_id=found.id,
                           campaign=found.draft.preparation.campaign_id),
    }


def _version(code: str, kind: str, number: int):
    unit = readable_unit(code)
    prep = drafts.shown_preparation(unit)
    return drafts.version_or_404(prep, drafts.kind_or_404(kind, prep), number)


def _round(code: str, round_id: int):
    unit = readable_unit(code)
    return drafts.round_or_404(drafts.shown_preparation(unit), round_id)


# --- reads ---------------------------------------------------------------------------------------

@api.get("/units/<code>/drafts")
@login_required
def list_drafts(code: str):
    unit = readable_unit(code)
    prep = drafts.shown_preparation(unit)
    stages = drafts.stages(prep)
    excepted = drafts.exceptions(prep)
    return jsonify({
        "unit_code": unit.code, "campaign_id": prep.campaign_id,
        "kinds": [{"kind": kind, "title": DOCUMENT_KINDS[kind].title_vi, "title_en": DOCUMENT_KINDS[kind].title_en,
                   "stage": stage.stage, "approved_number": stage.approved.number if stage.approved else None,
                   "exception": ({"reason": excepted[kind].reason, "actor": excepted[kind].actor}
                                 if kind in excepted else None),
                   "versions": [version_json(v) for v in stage.versions]}
                  for kind, stage in stages.items()],
        "rounds": [{"id": r.id, "kind": r.draft.kind, "number": r.draft.number, "state": r.state}
                   for r in drafts.rounds(prep)],
        "congress_missing_approvals": drafts.missing_approvals(prep),
    })


@api.get("/units/<code>/drafts/<kind>/versions/<int:number>")
@login_required
def get_draft(code: str, kind: str, number: int):
    return jsonify(version_json(_version(code, kind, number)))


@api.get("/units/<code>/drafts/<kind>/compare")
@login_required
def compare_drafts(code: str, kind: str):
    unit = readable_unit(code)
    prep = drafts.shown_preparation(unit)
    drafts.kind_or_404(kind, prep)
    old_number, new_number = query_int("from"), query_int("to")
    if old_number is None or new_number is None:
        raise Unprocessable("field_required", {"field": "from" if old_number is None else "to"})
    rows = diff.compare_versions(drafts.version_or_404(prep, kind, old_number),
                                 drafts.version_or_404(prep, kind, new_number))
    return jsonify({"kind": kind, "from": old_number, "to": new_number, "counts": diff.summary(rows),
                    "rows": [{"kind": r.kind, "left_no": r.left_no, "right_no": r.right_no,
                              "left": [{"text": p.text, "marked": p.marked} for p in r.left],
                              "right": [{"text": p.text, "marked": p.marked} for p in r.right]} for r in rows]})


@api.get("/units/<code>/drafts/rounds/<int:round_id>")
@login_required
def get_round(code: str, round_id: int):
    return jsonify(round_json(_round(code, round_id)))


# --- writes --------------------------------------------------------------------------------------

@api.post("/units/<code>/drafts/<kind>/versions")
@login_required
@idempotent
def upload_draft(code: str, kind: str):
    unit = readable_unit(code)
    prep = drafts.shown_preparation(unit)
    filename, content, note = storage.from_request()
    version = operations.upload_version(unit, kind, filename=filename, content=content, note=note,
                                        actor=current_user, prep=prep)
    db.session.commit()
    if version.repeated:  # the file is already the latest version: that version, nothing new
        return jsonify({**version_json(version), "repeated": True})
    return jsonify(version_json(version)), 201


@api.post("/units/<code>/drafts/<kind>/versions/<int:number>/submit")
@login_required
@idempotent
def submit_draft(code: str, kind: str, number: int):
    version = _version(code, kind, number)
    body = json_body()
    check_fields(body, {"note", "version"})
    operations.submit_version(version, actor=current_user, note=parse_text(body.get("note"), "note"),
                              expected=parse_int(body.get("version"), "version"))
    db.session.commit()
    return jsonify(version_json(version))


@api.post("/units/<code>/drafts/<kind>/versions/<int:number>/reviews")
@login_required
@idempotent
def review_draft(code: str, kind: str, number: int):
    version = _version(code, kind, number)
    body = json_body()
    check_fields(body, {"verdict", "text", "version"})
    verdict = required(body, "verdict")
    operations.review_version(version, verdict=verdict if isinstance(verdict, str) else "",
                              text=parse_text(body.get("text"), "text", 4000), actor=current_user,
                              expected=parse_int(body.get("version"), "version"))
    db.session.commit()
    return jsonify(version_json(version))


@api.post("/units/<code>/drafts/<kind>/versions/<int:number>/rounds")
@login_required
@idempotent
def open_round(code: str, kind: str, number: int):
    version = _version(code, kind, number)
    body = json_body()
    check_fields(body, {"audiences", "starts_on", "ends_on"})
    audiences = required(body, "audiences")
    if not isinstance(audiences, list) or not all(isinstance(a, str) for a in audiences):
        raise Unprocessable("invalid_field", {"field": "audiences", "problem": ", ".join(AUDIENCES)})
    starts_on = parse_date(required(body, "starts_on"), "starts_on")
    ends_on = parse_date(required(body, "ends_on"), "ends_on")
    if starts_on is None or ends_on is None:
        raise Unprocessable("field_required", {"field": "starts_on" if starts_on is None else "ends_on"})
    found = operations.open_round(version, audiences=audiences, starts_on=starts_on, ends_on=ends_on,
                                  actor=current_user)
    db.session.commit()
    return jsonify(round_json(found)), 201


@api.post("/units/<code>/drafts/rounds/<int:round_id>/comments")
@login_required
@idempotent
def add_comments(code: str, round_id: int):
    found = _round(code, round_id)
    body = json_body()
    check_fields(body, {"comments"})
    items = required(body, "comments")
    if not isinstance(items, list) or not items or len(items) > 2000:
        raise Unprocessable("comments_required")
    entries = []
    for line, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise Unprocessable("comment_line_invalid", {"line": line})
        check_fields(item, {"audience", "count", "text"})
        audience = required(item, "audience")
        count = item.get("count", 1)
        if isinstance(count, bool) or not isinstance(count, int):
            raise Unprocessable("comment_count_invalid", {"line": line})
        entries.append(operations.CommentEntry(audience if isinstance(audience, str) else "", count,
                                               parse_text(item.get("text"), "text", operations.COMMENT_LIMIT)))
    operations.add_comments(found, entries, actor=current_user)
    db.session.commit()
    return jsonify(round_json(found)), 201


@api.post("/units/<code>/drafts/rounds/<int:round_id>/close")
@login_required
@idempotent
def close_round(code: str, round_id: int):
    found = _round(code, round_id)
    body = json_body()
    check_fields(body, {"version"})
    closed = operations.close_round(found, actor=current_user, expected=parse_int(body.get("version"), "version"))
    db.session.commit()
    refusal = closed.step_refusal
    return jsonify({**round_json(found), "step_completed": refusal is None,
                    "step_refusal": describe(refusal.code, refusal.params) if refusal else None})


@api.post("/units/<code>/drafts/<kind>/exception")
@login_required
@idempotent
def record_exception(code: str, kind: str):
    unit = readable_unit(code)
    prep = drafts.shown_preparation(unit)
    drafts.kind_or_404(kind, prep)
    body = json_body()
    check_fields(body, {"reason"})
    found = operations.record_exception(unit, kind, reason=parse_text(required(body, "reason"), "reason"),
                                        actor=current_user, prep=prep)
    db.session.commit()
    return jsonify({"kind": found.kind, "reason": found.reason, "actor": found.actor,
                    "at": _iso(found.at)}), 201


# --- the OpenAPI description of these paths --------------------------------------------------------

def openapi_schemas() -> dict:
    from .openapi import DATE, DATETIME, INTEGER, STRING, enum_of, nullable, obj, ref

    review = obj({"action": enum_of(REVIEW_ACTIONS), "text": nullable(STRING), "on": DATE, "actor": STRING},
                 ["action", "text", "on", "actor"])
    version = obj({
        "kind": enum_of(DRAFT_KINDS), "number": {"type": "integer", "minimum": 1},
        "format": enum_of(("docx", "pdf")), "size": INTEGER, "sha256": STRING,
        "original_name": {**STRING, "description": "The uploaded file's name, kept only to show it."},
        "note": nullable(STRING), "uploaded_on": DATE, "uploaded_at": DATETIME, "actor": STRING,
        "status": enum_of(STATUSES),
        "submitted_on": nullable(DATE), "decided_on": nullable(DATE), "verdict_reason": nullable(STRING),
        "version": {**INTEGER, "description": "Send it back with submit/reviews to refuse a stale write."},
        "file": {**STRING, "description": "Where to download the file (a page of the web app; a safe, readable "
                                             "name)."},
        "reviews": {"type": "array", "items": review}, "rounds": {"type": "array", "items": INTEGER},
        "repeated": {"type": "boolean", "description": "Only in the answer to an upload whose file is already "
                                                       "the latest version of its kind: true, and that version "
                                                       "is the answer (nothing new was kept)."},
    }, ["kind", "number", "format", "size", "sha256", "original_name", "note", "uploaded_on", "uploaded_at", "actor",
        "status", "submitted_on", "decided_on", "verdict_reason", "version", "file", "reviews", "rounds"],
        description="One numbered draft of a document kind of a unit in one campaign.")
    comment = obj({"audience": enum_of(AUDIENCES), "count": {"type": "integer", "minimum": 1},
                   "text": nullable(STRING), "actor": STRING}, ["audience", "count", "text", "actor"])
    a_round = obj({
        "id": INTEGER, "kind": enum_of(DRAFT_KINDS), "number": INTEGER,
        "audiences": {"type": "array", "items": enum_of(AUDIENCES)}, "starts_on": DATE, "ends_on": DATE,
        "state": enum_of(("open", "closed")), "closed_on": nullable(DATE), "version": INTEGER,
        "totals": {"type": "object", "additionalProperties": INTEGER,
                   "description": "Comments received per audience."},
        "comments": {"type": "array", "items": comment},
        "summary": {**STRING, "description": "Where to download the compiled summary (.docx, a web page)."},
    }, ["id", "kind", "number", "audiences", "starts_on", "ends_on", "state", "closed_on", "version", "totals",
        "comments", "summary"])
    closed = obj({
        **a_round["properties"],
        "step_completed": {"type": "boolean", "description": "Whether the comment_round step completed."},
        "step_refusal": {**nullable(STRING), "description": "Why the step could not complete, in words."},
    }, a_round["required"] + ["step_completed", "step_refusal"])
    kind_entry = obj({
        "kind": enum_of(DRAFT_KINDS), "title": STRING, "title_en": STRING,
        "stage": enum_of(("none",) + STATUSES), "approved_number": nullable(INTEGER),
        "exception": nullable(obj({"reason": STRING, "actor": STRING}, ["reason", "actor"])),
        "versions": {"type": "array", "items": ref("DraftVersion")},
    }, ["kind", "title", "title_en", "stage", "approved_number", "exception", "versions"])
    piece = obj({"text": STRING, "marked": {"type": "boolean"}}, ["text", "marked"])
    return {
        "DraftVersion": version,
        "DraftReviewEvent": review,
        "CommentRound": a_round,
        "ClosedCommentRound": closed,
        "UnitDrafts": obj({
            "unit_code": STRING,
            "campaign_id": {**INTEGER, "description": "The campaign whose drafts these are (?campaign=)."},
            "kinds": {"type": "array", "items": kind_entry},
            "rounds": {"type": "array", "items": obj({"id": INTEGER, "kind": enum_of(DRAFT_KINDS), "number": INTEGER,
                                                      "state": enum_of(("open", "closed"))},
                                                     ["id", "kind", "number", "state"])},
            "congress_missing_approvals": {"type": "array", "items": enum_of(DRAFT_KINDS),
                                           "description": "Documents the city has not approved (and no "
                                                          "exception covers): the congress cannot be marked held."},
        }, ["unit_code", "campaign_id", "kinds", "rounds", "congress_missing_approvals"]),
        "DraftComparison": obj({
            "kind": enum_of(DRAFT_KINDS), "from": INTEGER, "to": INTEGER,
            "counts": obj({k: INTEGER for k in ("same", "added", "removed", "changed")},
                          ["same", "added", "removed", "changed"]),
            "rows": {"type": "array", "items": obj({
                "kind": enum_of(("same", "added", "removed", "changed")), "left_no": nullable(INTEGER),
                "right_no": nullable(INTEGER), "left": {"type": "array", "items": piece},
                "right": {"type": "array", "items": piece}}, ["kind", "left_no", "right_no", "left", "right"])},
        }, ["kind", "from", "to", "counts", "rows"]),
        "DraftUpload": obj({"file": {"type": "string", "contentMediaType": "application/octet-stream",
                                     "description": "The .docx or .pdf (checked by its content)."},
                            "note": STRING}, ["file"]),
        "DraftSubmitRequest": obj({"note": STRING, "version": INTEGER}, []),
        "DraftReviewRequest": obj({"verdict": enum_of(("comment", "approve", "return")),
                                   "text": {**STRING, "description": "The comment, or the reasons of a return "
                                                                     "(required for both)."},
                                   "version": INTEGER}, ["verdict"]),
        "CommentRoundRequest": obj({"audiences": {"type": "array", "items": enum_of(AUDIENCES), "minItems": 1},
                                    "starts_on": DATE, "ends_on": DATE}, ["audiences", "starts_on", "ends_on"]),
        "CommentsRequest": obj({"comments": {"type": "array", "minItems": 1, "maxItems": 2000, "items": obj({
            "audience": enum_of(AUDIENCES), "count": {"type": "integer", "minimum": 1, "default": 1},
            "text": STRING}, ["audience"])}}, ["comments"]),
        "CloseRoundRequest": obj({"version": INTEGER}, []),
        "ApprovalExceptionRequest": obj({"reason": STRING}, ["reason"]),
        "ApprovalException": obj({"kind": enum_of(DRAFT_KINDS), "reason": STRING, "actor": STRING, "at": DATETIME},
                                 ["kind", "reason", "actor", "at"]),
    }


def openapi_parameters() -> dict:
    return {
        "DraftCampaign": {"name": "campaign", "in": "query", "required": False, "schema": {"type": "integer"},
                          "description": "The campaign whose drafts (the unit's preparation in it): 404 if the "
                                         "unit is not in it or it is not within your reach. Default: the one your "
                                         "account last chose, else the unit's newest open one."},
        "DraftKind": {"name": "kind", "in": "path", "required": True, "schema": {"type": "string",
                      "enum": list(DRAFT_KINDS)}, "description": "A document kind drafted in versions."},
        "DraftNumber": {"name": "number", "in": "path", "required": True,
                        "schema": {"type": "integer", "minimum": 1}, "description": "The draft's number (lần N)."},
        "RoundId": {"name": "round_id", "in": "path", "required": True, "schema": {"type": "integer"}},
        "CompareFrom": {"name": "from", "in": "query", "required": True, "schema": {"type": "integer"},
                        "description": "The older version's number."},
        "CompareTo": {"name": "to", "in": "query", "required": True, "schema": {"type": "integer"},
                      "description": "The newer version's number."},
    }


def openapi_paths() -> dict:
    from .openapi import READ_ERRORS, WRITE_ERRORS, _created, _operation

    read = ("UnitCode", "DraftCampaign")
    one = ("UnitCode", "DraftKind", "DraftNumber", "DraftCampaign")
    rounds = ("UnitCode", "RoundId", "DraftCampaign")
    kind = ("UnitCode", "DraftKind", "DraftCampaign")
    upload = _created(_operation(
        "uploadDraft", "Upload a new draft (the unit's leader or staff)",
        "multipart/form-data with `file` (.docx or .pdf, checked by content: not the name) and an optional "
        "`note`. It becomes the next numbered version of the kind; a file that is already the latest version "
        "(the same content) is answered with that version (200, `repeated: true`). Refused with nothing "
        "stored: an empty file (`upload_empty`), a file over the limit (413 `upload_too_large`, 20 MB unless "
        "configured), another type (`upload_wrong_type`), a macro-enabled document (`upload_macros`), a damaged file "
        "(`upload_corrupted`), a zip bomb (`upload_zip_bomb`), a PDF with no pages (`upload_pdf_no_pages`), an "
        "encrypted one (`upload_pdf_encrypted`), one with active content such as scripts, opening actions or "
        "embedded files (`upload_pdf_active`, naming what was found), one too complex to check "
        "(`upload_pdf_too_complex`). The first version of the political report or "
        "the self-review starts its drafting step. Audited.", "DraftVersion", "The new version.",
        WRITE_ERRORS, tags=["drafts"], params=kind, write=True))
    upload["requestBody"] = {"required": True, "content": {"multipart/form-data": {"schema": ref_("DraftUpload")}}}
    upload["responses"]["200"] = {
        "description": "The file is already the latest version of the kind (the same content): that version, "
                       "with `repeated: true`; nothing new is kept or audited.",
        "content": {"application/json": {"schema": ref_("DraftVersion")}}}
    upload["responses"]["413"] = {"description": "The file is over the size limit: `upload_too_large`.",
                                  "content": {"application/json": {"schema": ref_("Error")}}}
    return {
        "/units/{code}/drafts": {"get": _operation(
            "listDrafts", "A unit's drafts", "Every draft kind with its versions (newest first), its stage "
            "(none, draft, submitted, returned, approved), the city's exceptions, the comment rounds, and the "
            "documents the congress still needs the city's approval of.", "UnitDrafts", "The drafts.",
            READ_ERRORS, tags=["drafts"], params=read)},
        "/units/{code}/drafts/{kind}/versions": {"post": upload},
        "/units/{code}/drafts/{kind}/versions/{number}": {"get": _operation(
            "getDraft", "One draft version", "With the city's comments and verdicts.", "DraftVersion",
            "The version.", READ_ERRORS, tags=["drafts"], params=one)},
        "/units/{code}/drafts/{kind}/compare": {"get": _operation(
            "compareDrafts", "Compare two versions paragraph by paragraph",
            "Paragraphs aligned side by side (same, added, removed, changed), changed words marked. Both "
            "versions must be .docx (`compare_needs_docx`).", "DraftComparison", "The comparison.",
            ("401", "403", "404", "422"), tags=["drafts"], params=kind + ("CompareFrom", "CompareTo"))},
        "/units/{code}/drafts/{kind}/versions/{number}/submit": {"post": _operation(
            "submitDraft", "Submit a version to the city (the unit's leader)",
            "A draft or returned version; refused while another version of the kind waits for a verdict "
            "(`draft_already_submitted`). Submitting the political report submits the documents_approval step, "
            "the personnel plan the personnel_plan step. Audited.", "DraftVersion", "The version.",
            WRITE_ERRORS, tags=["drafts"], params=one, body="DraftSubmitRequest", write=True)},
        "/units/{code}/drafts/{kind}/versions/{number}/reviews": {"post": _operation(
            "reviewDraft", "The city comments, approves or returns (city leader or staff)",
            "`comment` any time (text required); `approve` or `return` (reasons required) a submitted version. "
            "The matching step is approved or returned with it. Audited.", "DraftVersion", "The version.",
            WRITE_ERRORS, tags=["drafts"], params=one, body="DraftReviewRequest", write=True)},
        "/units/{code}/drafts/{kind}/versions/{number}/rounds": {"post": _created(_operation(
            "openCommentRound", "Open a comment round on a version (the unit's leader or staff)",
            "Audiences among cadres, members, branch_secretaries, fatherland_front, residents; one open round "
            "per version. Audited.", "CommentRound", "The round.", WRITE_ERRORS, tags=["drafts"], params=one,
            body="CommentRoundRequest", write=True))},
        "/units/{code}/drafts/rounds/{round_id}": {"get": _operation(
            "getCommentRound", "A comment round", "Its audiences, dates, comments and totals.", "CommentRound",
            "The round.", READ_ERRORS, tags=["drafts"], params=rounds)},
        "/units/{code}/drafts/rounds/{round_id}/comments": {"post": _created(_operation(
            "addComments", "Record comments received (one or many)",
            "Each item: an audience asked in the round, how many comments it stands for (default 1) and the "
            "text of a notable one. All or none. Audited.", "CommentRound", "The round.", WRITE_ERRORS,
            tags=["drafts"], params=rounds, body="CommentsRequest", write=True))},
        "/units/{code}/drafts/rounds/{round_id}/close": {"post": _operation(
            "closeCommentRound", "Close a comment round",
            "Completes the unit's comment_round step when its prerequisites allow (else `step_refusal` says "
            "why). Audited.", "ClosedCommentRound", "The closed round.", WRITE_ERRORS, tags=["drafts"],
            params=rounds, body="CloseRoundRequest", write=True)},
        "/units/{code}/drafts/{kind}/exception": {"post": _created(_operation(
            "recordApprovalException", "Let the congress go ahead without the city's approval (city staff)",
            "For political_report or personnel_submission, with a reason; once per campaign and kind. Audited.",
            "ApprovalException", "The exception.", WRITE_ERRORS, tags=["drafts"], params=kind,
            body="ApprovalExceptionRequest", write=True))},
    }


def ref_(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


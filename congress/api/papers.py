"""The document set of a unit in the API: what exists and what was issued; issuing a number.
The files themselves are downloads of the web pages (/units/<code>/papers/<kind>.docx)."""
from __future__ import annotations

from flask import jsonify, url_for
from flask_login import current_user

from congress.errors import NotFound, Unprocessable
from congress.extensions import db
from congress.idempotency import idempotent
from congress.papers import generate, operations
from congress.papers.messages import PAPER_MESSAGES  # noqa: F401  (registers the messages)
from congress.papers.models import PaperIssue
from congress.progress import operations as progress_ops

from .views import (
    api,
    check_fields,
    json_body,
    login_required,
    parse_date,
    parse_version,
    plausible,
    preparation_of,
    readable_unit,
    required,
)


def issue_json(issue: PaperIssue) -> dict:
    return {"id": issue.id, "kind": issue.kind, "issued_on": issue.issued_on.isoformat(), "actor": issue.actor,
            "numbers": [{"part": n.part, "number": n.number, "symbol": n.symbol, "abbreviation": n.abbreviation,
                         "issuer": n.issuer, "term": n.term} for n in issue.numbers]}


@api.get("/units/<code>/papers")
@login_required
def list_unit_papers(code: str):
    unit = readable_unit(code)
    prep = preparation_of(unit)
    issues: dict[str, list[PaperIssue]] = {}
    for issue in db.session.execute(db.select(PaperIssue).filter_by(unit_id=unit.id, preparation_id=prep.id)
                                    .order_by(PaperIssue.id.desc())).scalars():
        issues.setdefault(issue.kind, []).append(issue)
    kinds = []
    campaign = {"campaign": prep.campaign_id}
    for kind in generate.unit_kinds(prep):  # the campaign's document set
        info = generate.kind_info(kind)
        kinds.append({"kind": kind, "abbreviation": info.abbreviation, "title": info.title_vi,
                      "title_en": info.title_en, "dated": info.dated,
                      "docx": url_for("web.unit_paper", code=unit.code, kind=kind, fmt="docx", **campaign),
                      "pdf": url_for("web.unit_paper", code=unit.code, kind=kind, fmt="pdf", **campaign),
                      "issues": [issue_json(i) for i in issues.get(kind, [])]})
    return jsonify({"unit_code": unit.code, "campaign_id": prep.campaign_id, "kinds": kinds,
                    "signers": signers_json(prep), "zip": url_for("web.unit_papers_zip", code=unit.code, **campaign)})


@api.post("/units/<code>/papers/<kind>/issue")
@login_required
@idempotent
def issue_unit_paper(code: str, kind: str):
    unit = readable_unit(code)
    prep = preparation_of(unit)
    body = json_body()
    check_fields(body, {"issued_on"})
    if not plausible(kind, 40):
        raise NotFound("paper_kind_not_found", {"kind": kind[:40]})
    issue = operations.issue_document(unit, kind, current_user, on=parse_date(body.get("issued_on"), "issued_on"),
                                      prep=prep)
    db.session.commit()
    return jsonify(issue_json(issue)), 201


def _name(body: dict, field: str) -> str | None:
    value = required(body, field)
    if value is not None and not isinstance(value, str):
        raise Unprocessable("invalid_field", {"field": field, "problem": "text or null"})
    return value


@api.put("/units/<code>/signers")
@login_required
@idempotent
def put_signers(code: str):
    """Who signs the unit committee's documents (printed under "BÍ THƯ" / "PHÓ BÍ THƯ")."""
    unit = readable_unit(code)
    prep = preparation_of(unit)
    body = json_body()
    check_fields(body, {"version", "secretary", "deputy"})
    version = parse_version(body)
    progress_ops.set_signers(prep, actor=current_user, version=version, secretary=_name(body, "secretary"),
                             deputy=_name(body, "deputy"))
    db.session.commit()
    return jsonify(signers_json(prep))


def signers_json(prep) -> dict:
    return {"secretary": prep.secretary_name, "deputy": prep.deputy_secretary_name, "version": prep.version}

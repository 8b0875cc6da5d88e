"""Every write of the papers domain: issuing numbers, uploading templates, download jobs.
Each checks, changes, flushes and audits in the caller's transaction (the caller commits)."""
from __future__ import annotations

import hashlib
import secrets
from datetime import date

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from congress import idempotency
from congress.accounts import permissions
from congress.audit.operations import record
from congress.clock import today, utcnow
from congress.errors import Conflict, Forbidden, NotFound, Unprocessable
from congress.extensions import db
from congress.units.models import Province, Unit

from . import dating, generate, numbering, templates, wordfiles
from .context import UNIT_PLACEHOLDERS
from .models import PaperIssue, PaperJob, PaperNumber, PaperTemplate

FORMATS = ("docx", "pdf")


def issue_document(unit: Unit, kind: str, actor, on: date | None = None, *, campaign=None, prep=None) -> PaperIssue:
    """Issue a unit's document in a preparation (``prep``, else the unit's in ``campaign``, else
    the one the request shows): take the next number(s) of its sequence and date it.

    Numbers count per issuer (the committee, or the congress), per type, per term from 01; a
    number once taken is never given again, even if the issue is
    superseded by a later one. On PostgreSQL a transaction-scoped advisory lock makes two
    simultaneous issues take turns; the unique constraint refuses anything that slips through.
    Called twice under one request key, it gives the first issue again rather than a second
    number (a repeated click is answered before it gets here: congress.idempotency).
    """
    if not permissions.can_issue_papers(actor, unit):
        raise Forbidden("paper_issue_forbidden")
    info = generate.kind_info(kind)
    prep = generate.preparation_for(unit, campaign, prep)
    if info is None or kind not in generate.unit_kinds(prep):
        raise NotFound("paper_kind_not_found", {"kind": kind[:40]})
    if prep is None:
        raise NotFound("not_enrolled", {"code": unit.code})
    earlier = idempotency.earlier_effect(("paper.issue", unit.id, kind))
    if earlier is not None and (issued := db.session.get(PaperIssue, earlier)) is not None:
        return issued
    issued_on = dating.issue_day(info, prep, on, today())
    source = generate.source_for(unit.province_code, kind, generate.workflow_key(prep), prep)
    issuer = numbering.ISSUER_SYMBOLS[generate.effective_issuer(source.issuer, unit)]
    series = numbering.series_for(source.issuer, info.abbreviation)
    term = prep.campaign.term
    issue = PaperIssue(unit_id=unit.id, preparation_id=prep.id, kind=kind, issued_on=issued_on,
                       issued_at=utcnow(), actor_id=getattr(actor, "id", None),
                       actor=getattr(actor, "username", str(actor)))
    db.session.add(issue)
    numbering.lock_sequence(unit.id, issuer, term, series)
    first = numbering.next_number(unit.id, issuer, term, series)
    for part in range(1, source.parts + 1):
        db.session.add(PaperNumber(issue=issue, unit_id=unit.id, part=part, issuer=issuer,
                                   abbreviation=info.abbreviation, term=term, series=series,
                                   number=first + part - 1))
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise Conflict("paper_number_taken") from None
    symbols = [n.symbol for n in issue.numbers]
    record(action="paper.issue", entity="paper", actor=actor, entity_key=f"{unit.code}/{kind}",
           unit_id=unit.id, new={"kind": kind, "numbers": symbols, "issued_on": issue.issued_on,
                                 "campaign": prep.campaign.name_vi})
    idempotency.remember_effect(("paper.issue", unit.id, kind), issue.id)
    return issue


# --- uploaded Word templates ---------------------------------------------------------------------

def template_kinds(workflow: str) -> list[str]:
    """The kinds a Word template may be uploaded for, for the units of a workflow: its document
    set (a kind without a text template too: the Word file is then its only one)."""
    from congress.progress.definitions import definitions

    definition = definitions().get(workflow)
    return [k for k in definition.documents if k in generate.DOCUMENT_KINDS] if definition else []


def upload_template(province: Province, kind: str, filename: str, content: bytes, actor,
                    workflow: str = generate.DEFAULT_WORKFLOW) -> PaperTemplate:
    """Keep an admin's Word template for one kind of the units of one province that follow
    ``workflow``, after checking it whole.

    Refused (and nothing changes) when the kind is not in the workflow's document set, the file
    is not a .docx, is broken, carries macros, or uses a placeholder or filter the unit documents
    do not know.
    """
    if not permissions.can_manage_templates(actor):
        raise Forbidden("template_forbidden")
    if kind not in template_kinds(workflow):
        raise NotFound("paper_kind_not_found", {"kind": kind[:40]})
    try:
        problems = wordfiles.check(content, set(UNIT_PLACEHOLDERS))
    except templates.TemplateError as exc:
        raise Unprocessable(getattr(exc, "code", "template_broken"),
                            {"detail": "; ".join(exc.problems)[:300]}) from None
    if problems:
        raise Unprocessable("template_unknown_placeholders", {"problems": "; ".join(problems[:20])})
    digest = hashlib.sha256(content).hexdigest()
    existing = db.session.execute(db.select(PaperTemplate).filter_by(
        province_code=province.code, workflow=workflow, kind=kind)).scalar_one_or_none()
    old = {"filename": existing.filename, "sha256": existing.sha256} if existing else None
    if existing is None:
        existing = PaperTemplate(province_code=province.code, workflow=workflow, kind=kind)
        db.session.add(existing)
    existing.filename = wordfiles.sanitize_filename(filename)
    existing.content = content
    existing.sha256 = digest
    existing.uploaded_at = utcnow()
    existing.uploaded_by = getattr(actor, "username", str(actor))
    db.session.flush()
    record(action="paper_template.upload", entity="paper_template", actor=actor,
           entity_key=_template_key(province, workflow, kind), old=old,
           new={"filename": existing.filename, "sha256": digest, "bytes": len(content), "workflow": workflow})
    return existing


def _template_key(province: Province, workflow: str, kind: str) -> str:
    """"31/congress_plan" for the commune party congress (as before workflows had templates),
    "31/province_congress/congress_plan" for another workflow's."""
    if workflow == generate.DEFAULT_WORKFLOW:
        return f"{province.code}/{kind}"
    return f"{province.code}/{workflow}/{kind}"


def remove_template(province: Province, kind: str, actor, workflow: str = generate.DEFAULT_WORKFLOW) -> None:
    """Go back to the built-in template of a kind for a province's units of one workflow."""
    if not permissions.can_manage_templates(actor):
        raise Forbidden("template_forbidden")
    existing = db.session.execute(db.select(PaperTemplate).filter_by(
        province_code=province.code, workflow=workflow, kind=kind)).scalar_one_or_none()
    if existing is None:
        raise NotFound("template_not_found", {"kind": kind[:40]})
    old = {"filename": existing.filename, "sha256": existing.sha256}
    db.session.delete(existing)
    db.session.flush()
    record(action="paper_template.remove", entity="paper_template", actor=actor,
           entity_key=_template_key(province, workflow, kind), old=old)


# --- province-wide downloads ---------------------------------------------------------------------

def province_preparations(province: Province, campaign):
    """The preparations of a campaign whose units are in the province (a select, for one query)."""
    from congress.progress.models import Preparation

    return (db.select(Preparation).join(Unit, Unit.id == Preparation.unit_id)
            .where(Preparation.campaign_id == campaign.id, Unit.province_code == province.code))


def province_kinds(province: Province, campaign) -> list[str]:
    """The kinds of a campaign's document set that can be made for the province's units: its unit
    workflow's (the version the campaign pinned), with a template (two queries)."""
    definition = campaign_definition(campaign)
    if definition is None:
        return []
    return generate.workflow_kinds(definition, generate.uploaded_kinds(province.code, definition.key))


def campaign_definition(campaign):
    """The unit workflow a campaign runs: the version it pinned, else the one on disk."""
    from congress.progress.definitions import definitions
    from congress.progress.models import WorkflowVersion

    version_id = getattr(campaign, "unit_workflow_version_id", None)
    if version_id:
        version = db.session.get(WorkflowVersion, version_id)
        if version is not None:
            return version.definition()
    return definitions().get(campaign.unit_workflow)


def start_province_job(province: Province, kind: str, fmt: str, actor, campaign=None) -> PaperJob:
    """A job row for one kind for every unit of a province in one campaign (default: the
    province's campaign the request shows); bundles.run builds the ZIP.

    Heavy work, so only roles that may (permissions.can_start_province_jobs). At most one job per
    kind, format, province and campaign is queued or running: a second request gets that job, with
    ``joined`` set (nothing is written). A job whose worker died (its heartbeat stopped) is failed
    first, so it never holds the place. Writers take turns: on PostgreSQL a transaction-scoped
    advisory lock on the kind, format, province and campaign; on SQLite the first UPDATE takes the
    database's write lock. The partial unique index refuses anything that slips through.
    """
    if not permissions.can_start_province_jobs(actor, province.code):
        raise Forbidden("paper_job_forbidden")
    campaign = campaign or province_campaign(province)
    if campaign is None:
        raise NotFound("campaign_not_found", {"id": ""})
    if kind not in province_kinds(province, campaign):
        raise NotFound("paper_kind_not_found", {"kind": kind[:40]})
    if fmt not in FORMATS:
        raise Unprocessable("invalid_field", {"field": "format", "problem": "docx, pdf"})
    now = utcnow()
    _lock_job_key(province.code, campaign.id, kind, fmt)
    from .sweep import fail_dead_jobs

    fail_dead_jobs(now, province_code=province.code, campaign_id=campaign.id, kind=kind, format=fmt)
    running = db.session.execute(db.select(PaperJob).where(
        PaperJob.province_code == province.code, PaperJob.campaign_id == campaign.id, PaperJob.kind == kind,
        PaperJob.format == fmt, PaperJob.state.in_(PaperJob.MOVING_STATES))
        .order_by(PaperJob.id).limit(1)).scalar_one_or_none()
    if running is not None:
        running.joined = True
        return running
    job = PaperJob(token=secrets.token_hex(16), province_code=province.code, campaign_id=campaign.id, kind=kind,
                   format=fmt, state="queued", total=0, done=0, created_by_id=getattr(actor, "id", None),
                   created_at=now, updated_at=now, heartbeat_at=now)
    db.session.add(job)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise Conflict("paper_job_running") from None
    job.joined = False
    record(action="paper_job.start", entity="paper_job", actor=actor, entity_key=job.token,
           new={"province": province.code, "kind": kind, "format": fmt, "campaign": campaign.name_vi})
    return job


def province_campaigns(province: Province) -> list:
    """The campaigns with units in the province: open ones first, newest first (one query)."""
    from congress.progress.models import Campaign, Preparation

    enrolled = (sa.select(Preparation.campaign_id).join(Unit, Unit.id == Preparation.unit_id)
                .where(Unit.province_code == province.code))
    found = list(db.session.execute(db.select(Campaign).where(
        sa.or_(Campaign.province_code == province.code, Campaign.id.in_(enrolled)))).scalars())
    found.sort(key=lambda c: (getattr(c, "status", "open") != "open", -c.starts_on.toordinal(), -c.id))
    return found


def province_campaign(province: Province, requested=None, found: list | None = None):
    """The campaign a province's documents page shows: ``requested`` (its id) when it has units
    in the province (NotFound otherwise), else the campaign the request shows when it does, else
    the province's newest open campaign."""
    found = province_campaigns(province) if found is None else found
    if requested not in (None, ""):
        chosen = next((c for c in found if str(c.id) == str(requested)), None)
        if chosen is None:
            raise NotFound("campaign_not_found", {"id": str(requested)[:20]})
        return chosen
    try:
        from congress.progress.campaigns import chosen_campaign
    except ImportError:  # before campaigns could be chosen
        chosen_campaign = None
    shown = chosen_campaign() if chosen_campaign else None
    if shown is not None and any(c.id == shown.id for c in found):
        return next(c for c in found if c.id == shown.id)
    return found[0] if found else None


def _lock_job_key(province_code: str, campaign_id: int, kind: str, fmt: str) -> None:
    if db.session.get_bind().dialect.name != "postgresql":
        return
    digest = hashlib.sha256(f"paper-job/{province_code}/{campaign_id}/{kind}/{fmt}".encode()).digest()
    db.session.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"),
                       {"key": int.from_bytes(digest[:8], "big", signed=True)})

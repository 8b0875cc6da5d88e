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
from congress.progress import queries
from congress.units.models import Province, Unit

from . import dating, generate, numbering, templates, wordfiles
from .context import UNIT_PLACEHOLDERS
from .models import PaperIssue, PaperJob, PaperNumber, PaperTemplate

FORMATS = ("docx", "pdf")


def issue_document(unit: Unit, kind: str, actor, on: date | None = None) -> PaperIssue:
    """Issue a unit's document: take the next number(s) of its sequence and date it.

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
    if info is None or kind not in generate.unit_kinds():
        raise NotFound("paper_kind_not_found", {"kind": kind[:40]})
    prep = queries.unit_preparation(unit)
    if prep is None:
        raise NotFound("not_enrolled", {"code": unit.code})
    earlier = idempotency.earlier_effect(("paper.issue", unit.id, kind))
    if earlier is not None and (issued := db.session.get(PaperIssue, earlier)) is not None:
        return issued
    issued_on = dating.issue_day(info, prep, on, today())
    source = generate.source_for(unit.province_code, kind)
    issuer = numbering.ISSUER_SYMBOLS[source.issuer]
    series = numbering.series_for(source.issuer, info.abbreviation)
    term = prep.campaign.term
    issue = PaperIssue(unit_id=unit.id, kind=kind, issued_on=issued_on, issued_at=utcnow(),
                       actor_id=getattr(actor, "id", None), actor=getattr(actor, "username", str(actor)))
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
           unit_id=unit.id, new={"kind": kind, "numbers": symbols, "issued_on": issue.issued_on})
    idempotency.remember_effect(("paper.issue", unit.id, kind), issue.id)
    return issue


# --- uploaded Word templates ---------------------------------------------------------------------

def upload_template(province: Province, kind: str, filename: str, content: bytes, actor) -> PaperTemplate:
    """Keep an admin's Word template for one kind of one province, after checking it whole.

    Refused (and nothing changes) when it is not a .docx, is broken, carries macros, or uses a
    placeholder or filter the unit documents do not know.
    """
    if not permissions.can_manage_templates(actor):
        raise Forbidden("template_forbidden")
    if kind not in generate.unit_kinds():
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
        province_code=province.code, kind=kind)).scalar_one_or_none()
    old = {"filename": existing.filename, "sha256": existing.sha256} if existing else None
    if existing is None:
        existing = PaperTemplate(province_code=province.code, kind=kind)
        db.session.add(existing)
    existing.filename = wordfiles.sanitize_filename(filename)
    existing.content = content
    existing.sha256 = digest
    existing.uploaded_at = utcnow()
    existing.uploaded_by = getattr(actor, "username", str(actor))
    db.session.flush()
    record(action="paper_template.upload", entity="paper_template", actor=actor,
           entity_key=f"{province.code}/{kind}", old=old,
           new={"filename": existing.filename, "sha256": digest, "bytes": len(content)})
    return existing


def remove_template(province: Province, kind: str, actor) -> None:
    """Go back to the built-in template of a kind for a province."""
    if not permissions.can_manage_templates(actor):
        raise Forbidden("template_forbidden")
    existing = db.session.execute(db.select(PaperTemplate).filter_by(
        province_code=province.code, kind=kind)).scalar_one_or_none()
    if existing is None:
        raise NotFound("template_not_found", {"kind": kind[:40]})
    old = {"filename": existing.filename, "sha256": existing.sha256}
    db.session.delete(existing)
    db.session.flush()
    record(action="paper_template.remove", entity="paper_template", actor=actor,
           entity_key=f"{province.code}/{kind}", old=old)


# --- province-wide downloads ---------------------------------------------------------------------

def start_province_job(province: Province, kind: str, fmt: str, actor) -> PaperJob:
    """A job row for one kind for every unit of a province; bundles.run builds the ZIP.

    Heavy work, so only roles that may (permissions.can_start_province_jobs). At most one job per
    kind, format and province is queued or running: a second request gets that job, with
    ``joined`` set (nothing is written). A job whose worker died (its heartbeat stopped) is failed
    first, so it never holds the place. Writers take turns: on PostgreSQL a transaction-scoped
    advisory lock on the kind, format and province; on SQLite the first UPDATE takes the
    database's write lock. The partial unique index refuses anything that slips through.
    """
    if not permissions.can_start_province_jobs(actor, province.code):
        raise Forbidden("paper_job_forbidden")
    if kind not in generate.unit_kinds():
        raise NotFound("paper_kind_not_found", {"kind": kind[:40]})
    if fmt not in FORMATS:
        raise Unprocessable("invalid_field", {"field": "format", "problem": "docx, pdf"})
    now = utcnow()
    _lock_job_key(province.code, kind, fmt)
    from .sweep import fail_dead_jobs

    fail_dead_jobs(now, province_code=province.code, kind=kind, format=fmt)
    running = db.session.execute(db.select(PaperJob).where(
        PaperJob.province_code == province.code, PaperJob.kind == kind, PaperJob.format == fmt,
        PaperJob.state.in_(PaperJob.MOVING_STATES)).order_by(PaperJob.id).limit(1)).scalar_one_or_none()
    if running is not None:
        running.joined = True
        return running
    job = PaperJob(token=secrets.token_hex(16), province_code=province.code, kind=kind, format=fmt,
                   state="queued", total=0, done=0, created_by_id=getattr(actor, "id", None),
                   created_at=now, updated_at=now, heartbeat_at=now)
    db.session.add(job)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise Conflict("paper_job_running") from None
    job.joined = False
    record(action="paper_job.start", entity="paper_job", actor=actor, entity_key=job.token,
           new={"province": province.code, "kind": kind, "format": fmt})
    return job


def _lock_job_key(province_code: str, kind: str, fmt: str) -> None:
    if db.session.get_bind().dialect.name != "postgresql":
        return
    digest = hashlib.sha256(f"paper-job/{province_code}/{kind}/{fmt}".encode()).digest()
    db.session.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"),
                       {"key": int.from_bytes(digest[:8], "big", signed=True)})

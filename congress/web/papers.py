"""Downloads of the congress document set: a unit's documents (.docx, PDF, ZIP), issuing their
numbers, one kind for a whole province (a background job whose page shows its progress), the
city's progress report (.docx, .xlsx) and the admin's Word templates."""
from __future__ import annotations

from datetime import date

from flask import Response, abort, current_app, flash, jsonify, redirect, render_template, request, send_file, url_for
from flask_babel import gettext
from flask_login import current_user, login_required

from congress.accounts import permissions
from congress.clock import today
from congress.errors import NotFound, Unprocessable
from congress.extensions import db
from congress.idempotency import idempotent
from congress.messages import describe, document_title
from congress.papers import bundles, convert, generate, limits, operations, report
from congress.papers.context import UNIT_PLACEHOLDERS
from congress.papers.messages import Unavailable
from congress.papers.models import PaperJob, PaperTemplate
from congress.papers.names import content_disposition
from congress.units.models import Province

from . import web
from .common import preparation_or_404, readable_unit
from .forms import ReportDayForm, field_problem

web.add_app_template_global(document_title, "document_title")

FORMATS = ("docx", "pdf")


def download(made: generate.Made) -> Response:
    response = Response(made.content, mimetype=made.mimetype)
    response.headers["Content-Disposition"] = content_disposition(made.filename)
    response.headers["Cache-Control"] = "private, no-store"
    return response


def as_pdf(made: generate.Made) -> generate.Made:
    """The PDF of a document, made within one of the host's conversion slots (limits)."""
    try:
        pdf = limits.to_pdf(made.content, wait=limits.download_wait())
    except convert.ConversionError as exc:
        raise Unavailable(exc.code, {"detail": exc.detail[:200]}) from None
    return generate.Made(made.filename.rsplit(".", 1)[0] + ".pdf", pdf, generate.PDF)


def _kind_or_404(kind: str) -> str:
    if kind not in generate.unit_kinds():
        raise NotFound("paper_kind_not_found", {"kind": kind[:40]})
    return kind


def _draft_number() -> int | None:
    value = request.args.get("draft_no", "")
    if not value:
        return None
    if not value.isdigit() or not 1 <= int(value) <= 99:
        raise Unprocessable("invalid_field", {"field": "draft_no", "problem": "1–99"})
    return int(value)


def readable_province(code: str) -> Province:
    province = db.session.get(Province, code) if len(code) == 2 else None
    if province is None:
        abort(404)
    if not permissions.can_read_province(current_user, code):
        abort(403)
    return province


# --- a unit's documents --------------------------------------------------------------------------

@web.get("/units/<code>/papers")
@login_required
def unit_papers(code: str):
    """The downloads live on the unit's documents page."""
    return redirect(url_for("web.documents", code=code), code=301)


@web.get("/units/<code>/papers/<kind>.<fmt>")
@login_required
def unit_paper(code: str, kind: str, fmt: str):
    unit = readable_unit(code)
    preparation_or_404(unit)
    if fmt not in FORMATS:
        abort(404)
    made = generate.unit_paper(unit, _kind_or_404(kind), draft=request.args.get("draft") == "1",
                               draft_number=_draft_number())
    return download(as_pdf(made) if fmt == "pdf" else made)


@web.get("/units/<code>/papers.zip")
@login_required
def unit_papers_zip(code: str):
    unit = readable_unit(code)
    preparation_or_404(unit)
    fmt = request.args.get("format", "docx")
    if fmt not in FORMATS:
        raise Unprocessable("invalid_field", {"field": "format", "problem": "docx, pdf"})
    try:
        return download(bundles.unit_zip(unit, fmt))
    except convert.ConversionError as exc:
        raise Unavailable(exc.code, {"detail": exc.detail[:200]}) from None


@web.post("/units/<code>/papers/<kind>/issue")
@login_required
@idempotent
def issue_unit_paper(code: str, kind: str):
    unit = readable_unit(code)
    issue = operations.issue_document(unit, _kind_or_404(kind), current_user)
    db.session.commit()
    flash(gettext("Issued: %(numbers)s.", numbers=", ".join(n.symbol for n in issue.numbers)), "success")
    return redirect(url_for("web.documents", code=unit.code))


# --- a province: one kind for every unit, the progress report, templates -------------------------

@web.get("/provinces/<code>/papers")
@login_required
def province_papers(code: str):
    return papers_page(readable_province(code), ReportDayForm(data={"as_of": today()}))


def papers_page(province: Province, report_form: ReportDayForm, *, status: int = 200,
                problem: str | None = None):
    code = province.code
    uploaded = {t.kind: t for t in db.session.execute(
        db.select(PaperTemplate).filter_by(province_code=code)).scalars()}
    # the province's latest jobs, whoever started them: one may follow (and download) another's
    jobs = db.session.execute(db.select(PaperJob).filter_by(province_code=code)
                              .order_by(PaperJob.id.desc()).limit(10)).scalars().all()
    return render_template("papers/province.html", province=province, report_form=report_form, problem=problem,
                           kinds=[(k, generate.kind_info(k)) for k in generate.unit_kinds()],
                           uploaded=uploaded, jobs=jobs, placeholders=UNIT_PLACEHOLDERS,
                           can_manage=permissions.can_manage_templates(current_user),
                           can_start_jobs=permissions.can_start_province_jobs(current_user, code),
                           keep_hours=_keep_hours(),
                           pdf_available=convert.available()), status


@web.post("/provinces/<code>/papers/jobs")
@login_required
@idempotent
def start_province_job(code: str):
    province = readable_province(code)
    job = operations.start_province_job(province, request.form.get("kind", ""),
                                        request.form.get("format", "docx"), current_user)
    db.session.commit()
    if job.joined:  # one job per kind, format and province: this request follows the running one
        flash(gettext("This document is already being made for the province (the same format): this is "
                      "that job, and its ZIP will be yours too."), "info")
    else:
        bundles.start(current_app._get_current_object(), job.id)
    return redirect(url_for("web.paper_job", token=job.token))


def _keep_hours() -> str:
    hours = float(current_app.config.get("PAPERS_JOB_HOURS", 24))
    return f"{hours:g}"


def _job(token: str) -> PaperJob:
    job = db.session.execute(db.select(PaperJob).filter_by(token=token[:32])).scalar_one_or_none()
    if job is None or not permissions.can_read_province(current_user, job.province_code):
        raise NotFound("job_not_found")
    return job


@web.get("/papers/jobs/<token>")
@login_required
def paper_job(token: str):
    job = _job(token)
    state, ended = job.shown_state, None
    if state == "expired":
        ended = describe("job_expired", {"hours": _keep_hours()})
    elif state == "failed" and job.shown_error == "worker_stopped":
        ended = describe("worker_stopped")
    from congress.units.models import Province

    province = db.session.get(Province, job.province_code)
    return render_template("papers/job.html", job=job, info=generate.kind_info(job.kind), province=province,
                           keep_hours=_keep_hours(), ended=ended)


@web.get("/papers/jobs/<token>.json")
@login_required
def paper_job_status(token: str):
    job = _job(token)
    state = job.shown_state
    error = job.shown_error if state == "failed" else None
    message = describe(error) if error == "worker_stopped" else None
    return jsonify({"state": state, "done": job.done, "total": job.total, "percent": job.percent,
                    "error": error, "message": message,
                    "expires_at": job.expires_at.isoformat() if job.expires_at and state == "done" else None,
                    "download": url_for("web.paper_job_download", token=job.token) if job.state == "done" else None})


@web.get("/papers/jobs/<token>/download")
@login_required
def paper_job_download(token: str):
    job = _job(token)
    if job.state == "expired":
        raise limits.Expired("job_expired", {"hours": _keep_hours()})
    if job.state != "done" or not job.path:
        raise NotFound("job_not_ready")
    path = bundles.jobs_folder() / job.path
    if not path.is_file():
        raise NotFound("job_not_found")
    response = send_file(path, mimetype=bundles.ZIP)
    response.headers["Content-Disposition"] = content_disposition(bundles.job_filename(job))
    return response


def report_day(form: ReportDayForm) -> date | None:
    """The day the report is asked for (today when left empty); None when the field is refused,
    with the reason on the field."""
    form.validate()
    if form.as_of.errors:
        return None
    day, now = form.as_of.data or today(), today()
    if day > now:
        form.as_of.errors.append(field_problem(form.as_of, describe("date_in_future", {"on": day, "today": now})))
        return None
    return day


@web.get("/provinces/<code>/progress-report.<fmt>")
@login_required
def progress_report(code: str, fmt: str):
    province = readable_province(code)
    if fmt != "xlsx" and fmt not in FORMATS:
        abort(404)
    form = ReportDayForm(request.args)
    as_of = report_day(form)
    if as_of is None:
        # the page again, with the typed day and why it was refused beside it
        return papers_page(province, form, status=422, problem=" ".join(form.as_of.errors))
    if fmt == "xlsx":
        return download(report.xlsx(province, as_of))
    made = report.docx(province, as_of)
    return download(as_pdf(made) if fmt == "pdf" else made)


@web.post("/provinces/<code>/paper-templates/<kind>")
@login_required
@idempotent
def upload_paper_template(code: str, kind: str):
    province = readable_province(code)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise Unprocessable("template_missing")
    with upload.stream:
        content = upload.read()
    operations.upload_template(province, _kind_or_404(kind), upload.filename, content, current_user)
    db.session.commit()
    return redirect(url_for("web.province_papers", code=code))


@web.post("/provinces/<code>/paper-templates/<kind>/delete")
@login_required
@idempotent
def remove_paper_template(code: str, kind: str):
    province = readable_province(code)
    operations.remove_template(province, _kind_or_404(kind), current_user)
    db.session.commit()
    return redirect(url_for("web.province_papers", code=code))

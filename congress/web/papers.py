"""Downloads of the congress document set: a unit's documents (.docx, PDF, ZIP), issuing their
numbers, one kind for a whole province (a background job whose page shows its progress), the
city's progress report (.docx, .xlsx) and the admin's Word templates.

Each is of one campaign: a unit's documents are those of its preparation (``?campaign=``, else the
campaign the request shows), listed from its workflow's document set; a kind outside that set is
a 404 saying so. The province's page, its ZIPs and its Word templates are of one campaign too
(``?campaign=``, else the one the request shows, else the province's newest open one)."""
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
from congress.papers import bundles, convert, generate, limits, operations, report, templates
from congress.papers.context import UNIT_PLACEHOLDERS
from congress.papers.messages import Unavailable
from congress.papers.models import PaperJob, PaperTemplate
from congress.papers.names import content_disposition
from congress.progress import queries
from congress.units.models import Province

from . import web
from .common import readable_unit
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


def _kind_or_404(kind: str, prep=None, kinds: list[str] | None = None) -> str:
    """A kind of the preparation's document set (``kinds``, else its workflow's); 404 with a
    message for an unknown kind, and for one the set does not have."""
    info = generate.kind_info(kind)
    if info is None or info is generate.PROGRESS_REPORT:
        raise NotFound("paper_kind_not_found", {"kind": kind[:40]})
    if kind not in (kinds if kinds is not None else generate.unit_kinds(prep)):
        definition = generate.definition_of(prep)
        workflow = (definition.title_en if _english() else definition.title_vi) if definition else ""
        raise NotFound("paper_kind_not_in_set", {"kind": document_title(info), "workflow": workflow})
    return kind


def _english() -> bool:
    from congress.formatting import language

    return language() == "en"


def _campaign_asked():
    """The campaign ``?campaign=`` (or the form's ``campaign``) names, within the user's reach;
    None when none is named."""
    requested = request.values.get("campaign", "")
    if not requested:
        return None
    from congress.progress.models import Campaign

    campaign = db.session.get(Campaign, int(requested)) if requested.isdigit() and len(requested) < 10 else None
    if campaign is None:
        raise NotFound("campaign_not_found", {"id": requested[:20]})
    return campaign


def unit_preparation_or_404(unit):
    """The unit's preparation in the campaign asked for, else in the one the request shows."""
    campaign = _campaign_asked()
    prep = queries.unit_preparation(unit, campaign) if campaign else queries.unit_preparation(unit)
    if prep is None:
        abort(404)
    return prep


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
    prep = unit_preparation_or_404(unit)
    if fmt not in FORMATS:
        abort(404)
    uploaded = generate.uploaded_kinds(unit.province_code, generate.workflow_key(prep))
    kinds = generate.unit_kinds(prep, uploaded=uploaded)
    made = generate.unit_paper(unit, _kind_or_404(kind, prep, kinds), draft=request.args.get("draft") == "1",
                               draft_number=_draft_number(), prep=prep, uploaded=uploaded)
    return download(as_pdf(made) if fmt == "pdf" else made)


@web.get("/units/<code>/papers.zip")
@login_required
def unit_papers_zip(code: str):
    unit = readable_unit(code)
    prep = unit_preparation_or_404(unit)
    fmt = request.args.get("format", "docx")
    if fmt not in FORMATS:
        raise Unprocessable("invalid_field", {"field": "format", "problem": "docx, pdf"})
    try:
        return download(bundles.unit_zip(unit, fmt, prep=prep))
    except convert.ConversionError as exc:
        raise Unavailable(exc.code, {"detail": exc.detail[:200]}) from None


@web.post("/units/<code>/papers/<kind>/issue")
@login_required
@idempotent
def issue_unit_paper(code: str, kind: str):
    unit = readable_unit(code)
    prep = unit_preparation_or_404(unit)
    issue = operations.issue_document(unit, _kind_or_404(kind, prep), current_user, prep=prep)
    db.session.commit()
    flash(gettext("Issued: %(numbers)s.", numbers=", ".join(n.symbol for n in issue.numbers)), "success")
    campaign = request.values.get("campaign")
    return redirect(url_for("web.documents", code=unit.code, **({"campaign": campaign} if campaign else {})))


# --- a province: one kind for every unit, the progress report, templates -------------------------

@web.get("/provinces/<code>/papers")
@login_required
def province_papers(code: str):
    return papers_page(readable_province(code), ReportDayForm(data={"as_of": today()}))


def province_campaign_or_404(province: Province, found: list | None = None):
    """The campaign the province's documents page works on (see operations.province_campaign)."""
    campaign = operations.province_campaign(province, request.values.get("campaign") or None, found)
    if campaign is None:
        abort(404)
    return campaign


def papers_page(province: Province, report_form: ReportDayForm, *, status: int = 200,
                problem: str | None = None):
    code = province.code
    campaigns = operations.province_campaigns(province)
    campaign = operations.province_campaign(province, request.values.get("campaign") or None, campaigns)
    definition = operations.campaign_definition(campaign) if campaign is not None else None
    uploaded = {t.kind: t for t in db.session.execute(
        db.select(PaperTemplate).filter_by(province_code=code, workflow=definition.key)).scalars()} \
        if definition is not None else {}
    kinds = generate.workflow_kinds(definition, set(uploaded)) if definition is not None else []
    uploadable = [k for k in definition.documents if k in generate.DOCUMENT_KINDS] if definition else []
    # the campaign's latest jobs in the province, whoever started them: one may follow (and download) another's
    jobs = db.session.execute(db.select(PaperJob).filter_by(province_code=code, campaign_id=campaign.id)
                              .order_by(PaperJob.id.desc()).limit(10)).scalars().all() if campaign else []
    return render_template("papers/province.html", province=province, report_form=report_form, problem=problem,
                           campaign=campaign, campaigns=campaigns, definition=definition,
                           kinds=[(k, generate.kind_info(k)) for k in kinds],
                           uploadable=[(k, generate.kind_info(k), k in kinds) for k in uploadable],
                           uploaded=uploaded, jobs=jobs, placeholders=UNIT_PLACEHOLDERS,
                           builtin={k: templates.has_builtin(k, definition.key) for k in uploadable},
                           kind_titles=generate.DOCUMENT_KINDS, language="en" if _english() else "vi",
                           can_manage=permissions.can_manage_templates(current_user),
                           can_start_jobs=permissions.can_start_province_jobs(current_user, code),
                           keep_hours=_keep_hours(),
                           pdf_available=convert.available()), status


@web.post("/provinces/<code>/papers/jobs")
@login_required
@idempotent
def start_province_job(code: str):
    province = readable_province(code)
    campaign = province_campaign_or_404(province)
    job = operations.start_province_job(province, request.form.get("kind", ""),
                                        request.form.get("format", "docx"), current_user, campaign=campaign)
    db.session.commit()
    if job.joined:  # one job per kind, format, province and campaign: this request follows the running one
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
    from congress.progress.models import Campaign
    from congress.units.models import Province

    province = db.session.get(Province, job.province_code)
    campaign = db.session.get(Campaign, job.campaign_id) if job.campaign_id else None
    return render_template("papers/job.html", job=job, info=generate.kind_info(job.kind), province=province,
                           campaign=campaign, language="en" if _english() else "vi", keep_hours=_keep_hours(),
                           ended=ended)


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


def _template_workflow(province: Province) -> tuple[str, object]:
    """(workflow key, campaign) of the Word template a form uploads or removes: the workflow of
    the campaign it names (else the page's)."""
    campaign = province_campaign_or_404(province)
    definition = operations.campaign_definition(campaign)
    if definition is None:
        abort(404)
    return definition.key, campaign


def _template_kind_or_404(kind: str, workflow: str) -> str:
    if kind not in operations.template_kinds(workflow):
        info = generate.kind_info(kind)
        if info is None or info is generate.PROGRESS_REPORT:
            raise NotFound("paper_kind_not_found", {"kind": kind[:40]})
        from congress.progress.definitions import definitions

        definition = definitions().get(workflow)
        title = (definition.title_en if _english() else definition.title_vi) if definition else workflow
        raise NotFound("paper_kind_not_in_set", {"kind": document_title(info), "workflow": title})
    return kind


@web.post("/provinces/<code>/paper-templates/<kind>")
@login_required
@idempotent
def upload_paper_template(code: str, kind: str):
    province = readable_province(code)
    workflow, campaign = _template_workflow(province)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise Unprocessable("template_missing")
    with upload.stream:
        content = upload.read()
    operations.upload_template(province, _template_kind_or_404(kind, workflow), upload.filename, content,
                               current_user, workflow=workflow)
    db.session.commit()
    return redirect(url_for("web.province_papers", code=code, campaign=campaign.id))


@web.post("/provinces/<code>/paper-templates/<kind>/delete")
@login_required
@idempotent
def remove_paper_template(code: str, kind: str):
    province = readable_province(code)
    workflow, campaign = _template_workflow(province)
    operations.remove_template(province, _template_kind_or_404(kind, workflow), current_user, workflow=workflow)
    db.session.commit()
    return redirect(url_for("web.province_papers", code=code, campaign=campaign.id))

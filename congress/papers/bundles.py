"""ZIPs: every document of a unit in one campaign (made in the request), and one kind for every
unit of a province in one campaign (long work: a PaperJob row built in a background thread,
polled by its page).

Names inside a ZIP are Vietnamese in NFC with the UTF-8 flag set (zipfile sets it for any
non-ASCII name), without characters Windows refuses.
"""
from __future__ import annotations

import io
import logging
import os
import threading
import zipfile
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from flask import Flask, current_app

from congress.background import Heartbeat
from congress.clock import utcnow
from congress.extensions import db
from congress.text import vi_sort_key
from congress.units.models import Unit

from . import generate, limits
from .models import PaperJob
from .names import safe_filename

log = logging.getLogger(__name__)
ZIP = "application/zip"
JOBS = PaperJob.__table__


def _pdf_name(filename: str) -> str:
    return filename.rsplit(".", 1)[0] + ".pdf"


def unit_zip(unit: Unit, fmt: str = "docx", *, campaign=None, prep=None) -> generate.Made:
    """Every document of a unit's document set in a preparation (``prep``, else the unit's in
    ``campaign``, else the one the request shows), each in its current state (issued, else a
    draft)."""
    prep = generate.preparation_for(unit, campaign, prep)
    uploaded = generate.uploaded_kinds(unit.province_code, generate.workflow_key(prep)) if prep else None
    made = [generate.unit_paper(unit, kind, prep=prep, uploaded=uploaded)
            for kind in generate.unit_kinds(prep, uploaded=uploaded)]
    files = {m.filename: m.content for m in made}
    if fmt == "pdf":
        pdfs = limits.to_pdf_many({m.filename: m.content for m in made}, wait=limits.download_wait())
        files = {_pdf_name(name): pdf for name, pdf in pdfs.items()}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return generate.Made(unit_zip_name(unit, fmt), buffer.getvalue(), ZIP)


def unit_zip_name(unit: Unit, fmt: str) -> str:
    """"Văn kiện đại hội (Word) - Phường Tứ Minh.zip", "(PDF)": the two downloads are told apart."""
    return safe_filename(f"Văn kiện đại hội ({'PDF' if fmt == 'pdf' else 'Word'}) - {unit.name}", "zip")


def jobs_folder() -> Path:
    folder = Path(current_app.config.get("PAPERS_FOLDER") or os.path.join(current_app.instance_path, "papers"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def job_filename(job: PaperJob) -> str:
    info = generate.kind_info(job.kind)
    province = job.province_code
    from congress.units.models import Province

    found = db.session.get(Province, province)
    return safe_filename(f"{info.title_vi} - {found.name if found else province}", "zip")


def start(app: Flask, job_id: int) -> None:
    """Run a job: in a thread, or at once when PAPERS_JOBS_INLINE is set (tests, CLI)."""
    if app.config.get("PAPERS_JOBS_INLINE"):
        run(app, job_id)
        return
    thread = threading.Thread(target=run, args=(app, job_id), name=f"paper-job-{job_id}", daemon=True)
    thread.start()


class Abandoned(RuntimeError):
    """The job's row is no longer running (the sweep failed it): its work is thrown away."""


def _update_running(job_id: int, **values) -> None:
    """Change the job's row if it is still running (else Abandoned), and commit."""
    now = utcnow()
    changed = db.session.execute(sa.update(JOBS).where(JOBS.c.id == job_id, JOBS.c.state == "running")
                                 .values(updated_at=now, heartbeat_at=now, **values)).rowcount
    db.session.commit()
    if not changed:
        raise Abandoned(job_id)


def run(app: Flask, job_id: int) -> None:
    """Build the ZIP of a job, committing its progress (and a heartbeat) after every unit (or
    batch of PDFs). The job is claimed by one UPDATE from queued to running, so it runs once."""
    with app.app_context():
        now = utcnow()
        claimed = db.session.execute(sa.update(JOBS).where(JOBS.c.id == job_id, JOBS.c.state == "queued")
                                     .values(state="running", heartbeat_at=now, updated_at=now)).rowcount
        db.session.commit()
        if not claimed:
            db.session.remove()
            return
        job = db.session.get(PaperJob, job_id)
        kind, fmt, token = job.kind, job.format, job.token
        preps = sorted(_job_preparations(job), key=lambda p: (vi_sort_key(p.unit.name), p.unit.code))
        relative = f"{token}.zip"
        target = jobs_folder() / relative
        partial = target.with_suffix(".part")
        try:
            with Heartbeat(app, JOBS, job_id, ("running",)):
                _update_running(job_id, total=len(preps), done=0)
                uploaded = (generate.uploaded_kinds(job.province_code, generate.workflow_key(preps[0]))
                            if preps else set())
                with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
                    batch: dict[str, bytes] = {}
                    for done, prep in enumerate(preps, 1):
                        made = generate.unit_paper(prep.unit, kind, prep=prep, uploaded=uploaded)
                        if fmt == "pdf":
                            batch[made.filename] = made.content
                            if len(batch) >= 10:
                                _write_pdfs(archive, batch)
                                batch = {}
                        else:
                            archive.writestr(made.filename, made.content)
                        _update_running(job_id, done=done)
                    if batch:
                        _write_pdfs(archive, batch)
                partial.replace(target)
                finished = utcnow()
                hours = float(app.config.get("PAPERS_JOB_HOURS", 24))
                _update_running(job_id, state="done", path=relative, finished_at=finished,
                                expires_at=finished + timedelta(hours=hours))
        except Abandoned:
            log.warning("paper job %s was failed while it ran (no heartbeat): its ZIP is thrown away", job_id)
            db.session.rollback()
            partial.unlink(missing_ok=True)
            target.unlink(missing_ok=True)
        except Exception as exc:  # the page must learn that the job stopped, and why
            log.exception("paper job %s failed", job_id)
            db.session.rollback()
            partial.unlink(missing_ok=True)
            try:
                _update_running(job_id, state="failed", finished_at=utcnow(),
                                error=getattr(exc, "code", None) or type(exc).__name__)
            except Abandoned:
                pass
        finally:
            db.session.remove()


def _job_preparations(job: PaperJob) -> list:
    """The preparations a job covers: its campaign's in its province (a job from before jobs had
    campaigns: each unit's of the province, as then)."""
    from congress.progress import queries
    from congress.progress.models import Preparation

    if job.campaign_id is None:
        units = db.session.execute(db.select(Unit).filter_by(province_code=job.province_code)).scalars()
        return [p for p in (queries.unit_preparation(u) for u in units) if p is not None]
    return list(db.session.execute(
        db.select(Preparation).join(Unit, Unit.id == Preparation.unit_id)
        .where(Preparation.campaign_id == job.campaign_id, Unit.province_code == job.province_code)).scalars())


def _write_pdfs(archive: zipfile.ZipFile, batch: dict[str, bytes]) -> None:
    for name, pdf in limits.to_pdf_many(batch, wait=limits.FOREVER).items():
        archive.writestr(_pdf_name(name), pdf)

"""ZIPs: every document of a unit (made in the request), and one kind for every unit of a
province (long work: a PaperJob row built in a background thread, polled by its page).

Names inside a ZIP are Vietnamese in NFC with the UTF-8 flag set (zipfile sets it for any
non-ASCII name), without characters Windows refuses.
"""
from __future__ import annotations

import io
import logging
import os
import threading
import zipfile
from pathlib import Path

from flask import Flask, current_app

from congress.clock import utcnow
from congress.extensions import db
from congress.text import vi_sort_key
from congress.units.models import Unit

from . import convert, generate
from .models import PaperJob
from .names import safe_filename

log = logging.getLogger(__name__)
ZIP = "application/zip"


def _pdf_name(filename: str) -> str:
    return filename.rsplit(".", 1)[0] + ".pdf"


def unit_zip(unit: Unit, fmt: str = "docx") -> generate.Made:
    """Every document of a unit, each in its current state (issued, else a draft)."""
    made = [generate.unit_paper(unit, kind) for kind in generate.unit_kinds()]
    files = {m.filename: m.content for m in made}
    if fmt == "pdf":
        pdfs = convert.to_pdf_many({m.filename: m.content for m in made})
        files = {_pdf_name(name): pdf for name, pdf in pdfs.items()}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return generate.Made(safe_filename(f"Văn kiện đại hội - {unit.name}", "zip"), buffer.getvalue(), ZIP)


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


def run(app: Flask, job_id: int) -> None:
    """Build the ZIP of a job, committing its progress after every unit (or batch of PDFs)."""
    with app.app_context():
        job = db.session.get(PaperJob, job_id)
        if job is None or job.state not in ("queued",):
            return
        units = sorted(db.session.execute(db.select(Unit).filter_by(province_code=job.province_code)).scalars(),
                       key=lambda u: (vi_sort_key(u.name), u.code))
        job.state, job.total, job.done, job.updated_at = "running", len(units), 0, utcnow()
        db.session.commit()
        relative = f"{job.token}.zip"
        target = jobs_folder() / relative
        partial = target.with_suffix(".part")
        try:
            with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
                batch: dict[str, bytes] = {}
                for unit in units:
                    made = generate.unit_paper(unit, job.kind)
                    if job.format == "pdf":
                        batch[made.filename] = made.content
                        if len(batch) >= 10:
                            _write_pdfs(archive, batch)
                            batch = {}
                    else:
                        archive.writestr(made.filename, made.content)
                    job.done += 1
                    job.updated_at = utcnow()
                    db.session.commit()
                if batch:
                    _write_pdfs(archive, batch)
            partial.replace(target)
            job.state, job.path, job.finished_at = "done", relative, utcnow()
        except Exception as exc:  # the page must learn that the job stopped, and why
            log.exception("paper job %s failed", job_id)
            db.session.rollback()
            partial.unlink(missing_ok=True)
            job = db.session.get(PaperJob, job_id)
            job.state, job.finished_at = "failed", utcnow()
            job.error = getattr(exc, "code", None) or type(exc).__name__
        job.updated_at = utcnow()
        db.session.commit()
        db.session.remove()


def _write_pdfs(archive: zipfile.ZipFile, batch: dict[str, bytes]) -> None:
    for name, pdf in convert.to_pdf_many(batch).items():
        archive.writestr(_pdf_name(name), pdf)

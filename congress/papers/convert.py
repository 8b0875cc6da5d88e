"""PDF through LibreOffice headless: each conversion with its own profile, output folder and timeout.

LibreOffice keeps a user profile that two running instances cannot share; a conversion that
reused the default one would fail or wait while another runs. So every call gets a fresh
temporary folder holding the profile (``-env:UserInstallation=file:///...``), the input and the
output, and is killed with its whole process group when it overruns its time.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from flask import current_app, has_app_context

#: seconds for one document; a batch gets this plus a little per extra document
DEFAULT_TIMEOUT = 120
PER_EXTRA_DOCUMENT = 10
#: documents per LibreOffice run: a run given a few hundred files has been seen to stop after
#: about 240 of them, exiting 0 without the rest
MAX_BATCH = 100


class ConversionError(RuntimeError):
    """LibreOffice is missing, failed or overran its time. ``code``: libreoffice_missing,
    conversion_failed or conversion_timeout."""

    def __init__(self, code: str, detail: str = ""):
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail


def soffice() -> str | None:
    """The LibreOffice program: PAPERS_SOFFICE if set, else soffice or libreoffice on the PATH."""
    configured = current_app.config.get("PAPERS_SOFFICE") if has_app_context() else None
    return configured or shutil.which("soffice") or shutil.which("libreoffice")


def available() -> bool:
    return soffice() is not None


def _timeout(count: int) -> float:
    base = current_app.config.get("PAPERS_PDF_TIMEOUT", DEFAULT_TIMEOUT) if has_app_context() else DEFAULT_TIMEOUT
    return base + PER_EXTRA_DOCUMENT * max(0, count - 1)


def to_pdf(docx: bytes) -> bytes:
    """One .docx as PDF."""
    return to_pdf_many({"document": docx})["document"]


def to_pdf_many(documents: dict[str, bytes]) -> dict[str, bytes]:
    """Several .docx as PDF in one LibreOffice run (one start-up for all), or one run per
    MAX_BATCH of them. Keys are plain names without extension, unique; the result has the same
    keys."""
    program = soffice()
    if program is None:
        raise ConversionError("libreoffice_missing", "install LibreOffice (libreoffice-writer-nogui)")
    if len(documents) <= MAX_BATCH:
        return _convert(program, documents)
    keys = list(documents)
    result = {}
    for start in range(0, len(keys), MAX_BATCH):
        result.update(_convert(program, {key: documents[key] for key in keys[start:start + MAX_BATCH]}))
    return result


def _convert(program: str, documents: dict[str, bytes]) -> dict[str, bytes]:
    """One LibreOffice run, in a folder of its own (profile, input, output), timed."""
    if not documents:
        return {}
    with tempfile.TemporaryDirectory(prefix="congress-pdf-") as work:
        work_dir = Path(work)
        sources, outputs = work_dir / "in", work_dir / "out"
        sources.mkdir()
        outputs.mkdir()
        names = {}
        for index, (key, content) in enumerate(documents.items()):
            path = sources / f"d{index:04d}.docx"  # ASCII names: LibreOffice and the locale need not agree
            path.write_bytes(content)
            names[key] = path
        command = [program, f"-env:UserInstallation={(work_dir / 'profile').as_uri()}", "--headless",
                   "--invisible", "--nodefault", "--nolockcheck", "--nologo", "--norestore",
                   "--convert-to", "pdf:writer_pdf_Export", "--outdir", str(outputs),
                   *[str(p) for p in names.values()]]
        env = {**os.environ, "HOME": str(work_dir), "TMPDIR": str(work_dir)}
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                                   cwd=work, start_new_session=True)
        try:
            _, stderr = process.communicate(timeout=_timeout(len(documents)))
        except subprocess.TimeoutExpired:
            _kill(process)
            raise ConversionError("conversion_timeout", f"after {_timeout(len(documents)):.0f} s") from None
        finally:
            if process.poll() is None:
                _kill(process)
        result = {}
        for key, path in names.items():
            pdf = outputs / (path.stem + ".pdf")
            if not pdf.exists():
                detail = stderr.decode("utf-8", "replace").strip()[-500:]
                raise ConversionError("conversion_failed", detail or f"exit status {process.returncode}")
            result[key] = pdf.read_bytes()
        return result


def _kill(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        process.communicate(timeout=10)  # reap it and close its pipes
    except subprocess.TimeoutExpired:
        process.wait()

"""Caps on the heavy work of the document set: how many LibreOffice conversions run at once.

A conversion takes a slot first: one of PAPERS_MAX_CONVERSIONS lock files in PAPERS_LOCKS_FOLDER,
held with flock(2) for as long as LibreOffice runs. A flock is held per open file, so the slots
are shared by the threads of a process and by every worker process of the host (gunicorn's, the
embedded server's, the CLI's), and the kernel lets go of it when its process dies, even by
SIGKILL: a crash never leaves a slot taken. The cap is per host, where the CPU and memory are.

A download waits PAPERS_CONVERSION_WAIT seconds for a slot and is then told to try again (503
``conversion_busy``); a province-wide job waits as long as it takes, beating its heartbeat.
convert.py does the conversion itself; its callers go through ``to_pdf`` and ``to_pdf_many`` here.
"""
from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l

from congress.errors import OperationError
from congress.messages import MESSAGES

from . import convert

#: seconds between two looks at the slots while all of them are taken
POLL_SECONDS = 0.1
#: a caller that waits for a slot as long as it takes
FOREVER = None

MESSAGES.update({
    "conversion_busy": _l("Every PDF conversion of the server is busy at the moment. Try again in a minute, "
                          "or download the .docx."),
    "paper_job_forbidden": _l("Only the city's leaders and staff (or an admin) may make a document for every "
                              "unit of the province."),
    "job_expired": _l("This ZIP was removed %(hours)s hours after it was made, as every finished ZIP is. "
                      "Make it again on the province's documents page."),
    "paper_job_running": _l("The same document is being made for the province at this moment: open it from the "
                            "province's documents page."),
    "worker_stopped": _l("The server process making this ZIP stopped (a restart or a crash). Start it again on "
                         "the province's documents page."),
})


class Expired(OperationError):
    """A finished ZIP the sweep removed (410)."""
    status = 410
    code = "job_expired"


def max_conversions() -> int:
    return max(1, int(current_app.config.get("PAPERS_MAX_CONVERSIONS") or 1))


def locks_folder() -> Path:
    folder = Path(current_app.config.get("PAPERS_LOCKS_FOLDER") or os.path.join(current_app.instance_path, "locks"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _take(folder: Path, slots: int):
    """An open, locked slot file, or None when every slot is taken."""
    for index in range(slots):
        handle = open(folder / f"conversion-{index}.lock", "a+")  # noqa: SIM115  (held while converting)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            continue
        return handle
    return None


@contextmanager
def conversion_slot(wait: float | None = FOREVER) -> Iterator[None]:
    """Hold one of the host's conversion slots for the body; wait up to ``wait`` seconds for one
    (None: as long as it takes), then raise ConversionError("conversion_busy")."""
    folder, slots = locks_folder(), max_conversions()
    deadline = None if wait is None else time.monotonic() + wait
    while (handle := _take(folder, slots)) is None:
        if deadline is not None and time.monotonic() >= deadline:
            raise convert.ConversionError("conversion_busy", f"{slots} conversions running")
        time.sleep(POLL_SECONDS)
    try:
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


def download_wait() -> float:
    return float(current_app.config.get("PAPERS_CONVERSION_WAIT", 30))


def to_pdf_many(documents: dict[str, bytes], wait: float | None = FOREVER) -> dict[str, bytes]:
    """convert.to_pdf_many within a conversion slot (without LibreOffice it fails at once)."""
    if not documents or not convert.available():
        return convert.to_pdf_many(documents)
    with conversion_slot(wait):
        return convert.to_pdf_many(documents)


def to_pdf(docx: bytes, wait: float | None = FOREVER) -> bytes:
    """One .docx as PDF, within a conversion slot."""
    if not convert.available():
        return convert.to_pdf(docx)
    with conversion_slot(wait):
        return convert.to_pdf(docx)

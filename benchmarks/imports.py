"""A large branch import, through the pages as an office uses them: upload a CSV of new branches of
one unit, follow the reading to the preview, confirm, follow the background confirmation to the end.

Taken at two sizes (the documented limit, 20,000 rows, and a quarter of it, each into a unit of
its own): the time per row at both says whether the import grows linearly with its rows. While the
rows are confirmed, someone else signs in, again and again: how many were answered, and how
slowly, is reported for the larger import.
The import runs on a copy of the benchmark database (benchmarks.database.scratch), which is
dropped afterwards.
"""
from __future__ import annotations

import csv
import io
import threading
import time
from dataclasses import dataclass, field

from congress import create_app
from congress.extensions import db
from congress.seeding.demo import DEMO_PASSWORD

from .measures import REFERENCE_DAY, UNIT, Result, web_client

ROWS = 20_000
#: an import of 20,000 rows may take at most this long to read and preview, and to confirm
LIMIT_SECONDS = 120
#: the larger import's time per row may be at most this multiple of the smaller's (linear: about 1)
MAX_GROWTH = 1.5
HEADINGS = ["Mã đơn vị", "Mã chi bộ", "Tên chi bộ", "Loại", "Bí thư", "Số đảng viên", "Ngày đại hội",
            "Ngày đã đại hội", "Số đại biểu", "Bí thư mới"]


#: the unit the smaller import goes to (the larger one goes to UNIT): each into a unit of its usual size
OTHER_UNIT = "11311"


def branch_file(rows: int, unit: str = UNIT) -> bytes:
    """``rows`` new branches of ``unit``, as an office would paste them under the template."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADINGS)
    for i in range(rows):
        writer.writerow([unit, "", f"Chi bộ Tổ dân phố số {i + 1}", "Chi bộ", f"Nguyễn Văn {i + 1}", 15 + i % 40,
                         "2025-08-20", "", "", ""])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


@dataclass
class Imported:
    rows: int
    reading_seconds: float
    confirming_seconds: float
    #: sign-ins attempted during the confirmation: (HTTP status, seconds) each
    sign_ins: list[tuple[int, float]] = field(default_factory=list)

    @property
    def per_row_ms(self) -> float:
        return 1000 * (self.reading_seconds + self.confirming_seconds) / self.rows


def _app(url: str):
    return create_app({"SQLALCHEMY_DATABASE_URI": url, "CONGRESS_TODAY": REFERENCE_DAY, "SECRET_KEY": "benchmark",
                       "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False, "TRANSFERS_JOBS_INLINE": False},
                      mode="testing")


def _follow(client, token: str, moving: tuple[str, ...], seconds: float = 1800) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        response = client.get(f"/transfers/{token}.json")
        status = response.get_json()
        if status is None:
            raise RuntimeError(f"import {token}: HTTP {response.status_code} {response.get_data(as_text=True)[:200]}")
        if status["state"] not in moving:
            return status
        time.sleep(0.2)
    raise RuntimeError(f"import {token} still {status['state']} after {seconds:.0f} s")


def import_once(app, rows: int, unit: str) -> Imported:
    """One import of ``rows`` new branches of ``unit``, with someone signing in meanwhile."""
    client = web_client(app, "admin")
    started = time.monotonic()
    response = client.post("/transfers", data={"kind": "branches", "file": (io.BytesIO(branch_file(rows, unit)),
                                                                            "chi-bo.csv")},
                           content_type="multipart/form-data")
    if response.status_code != 302:
        raise RuntimeError(f"upload: {response.status_code} {response.get_data(as_text=True)[:300]}")
    token = response.headers["Location"].rsplit("/", 1)[-1]
    status = _follow(client, token, ("queued", "reading"))
    if status["state"] != "previewed":
        raise RuntimeError(f"preview: {status}")
    read = time.monotonic()
    found = Imported(rows, read - started, 0.0)
    stop = threading.Event()
    others = threading.Thread(target=_sign_in_meanwhile, args=(app, stop, found.sign_ins), daemon=True)
    response = client.post(f"/transfers/{token}/confirm", data={"accept_completed_changes": "1"})
    if response.status_code != 302:
        raise RuntimeError(f"confirm: {response.status_code} {response.get_data(as_text=True)[:300]}")
    others.start()
    status = _follow(client, token, ("applying",))
    found.confirming_seconds = time.monotonic() - read
    stop.set()
    others.join(timeout=60)
    if status["state"] != "applied":
        raise RuntimeError(f"confirmation: {status}")
    return found


def _sign_in_meanwhile(app, stop: threading.Event, seen: list[tuple[int, float]]) -> None:
    """Someone else signs in, again and again, until the confirmation is done."""
    while not stop.is_set():
        client = app.test_client()
        started = time.monotonic()
        response = client.post("/login", data={"username": "thanhuy.vanphong", "password": DEMO_PASSWORD})
        seen.append((response.status_code, time.monotonic() - started))
        time.sleep(0.2)


def run(url: str, rows: int = ROWS, log=print) -> list[Result]:
    app = _app(url)
    log(f"  branch import, {rows // 4:,} rows …")
    small = import_once(app, rows // 4, OTHER_UNIT)
    log(f"  branch import, {rows:,} rows …")
    large = import_once(app, rows, UNIT)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    growth = large.per_row_ms / small.per_row_ms
    answered = [seconds for status, seconds in large.sign_ins if status == 302]
    refused = len(large.sign_ins) - len(answered)
    slowest = max((seconds for _, seconds in large.sign_ins), default=0.0)
    return [
        Result(f"branch import, {rows:,} rows: read and preview", None, figure=f"{large.reading_seconds:.1f} s",
               note=f"≤ {LIMIT_SECONDS} s", met=large.reading_seconds <= LIMIT_SECONDS,
               details=[f"{small.rows:,} rows: {small.reading_seconds:.1f} s"]),
        Result(f"branch import, {rows:,} rows: confirm (background)", None,
               figure=f"{large.confirming_seconds:.1f} s", note=f"≤ {LIMIT_SECONDS} s",
               met=large.confirming_seconds <= LIMIT_SECONDS,
               details=[f"{small.rows:,} rows: {small.confirming_seconds:.1f} s"]),
        Result("branch import: time per row, 4× the rows", None, figure=f"{growth:.2f}×",
               note=f"≤ {MAX_GROWTH:g}× (linear)", met=growth <= MAX_GROWTH,
               details=[f"{small.per_row_ms:.2f} ms per row at {small.rows:,}, {large.per_row_ms:.2f} ms at "
                        f"{large.rows:,}"]),
        Result(f"sign-ins answered while {rows:,} rows are confirmed", None,
               figure=f"{len(answered)}/{len(large.sign_ins)}", note="all", met=bool(large.sign_ins) and not refused,
               details=[f"slowest sign-in {slowest:.1f} s" + (f"; {refused} not answered with a redirect: "
                                                             + ", ".join(sorted({str(s) for s, _ in large.sign_ins
                                                                                 if s != 302})) if refused else "")]),
    ]

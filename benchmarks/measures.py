"""The measures taken inside one process, through the application's own request handling.

Pages and API calls go through Flask's test client: routing, sign-in, permissions, queries,
templates and JSON are all measured; the network and the HTTP server are not (the throughput
measure in benchmarks/throughput.py goes through gunicorn). Each page is followed by its
hand-written SQL (benchmarks/handwritten.py), timed the same number of times on the same database.
"""
from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa

from congress import create_app
from congress.extensions import db
from congress.seeding.demo import DEMO_PASSWORD

from . import handwritten
from .database import BENCH_DIR
from .timing import Timing, measure

HAIPHONG = "31"
#: the unit of the demo accounts tuminh.*
UNIT = "10891"
#: the document measured (one kind of every Hải Phòng unit for the ZIP)
DOCUMENT_KIND = "congress_plan"
#: the branch step the write measures reopen and complete
FLIPPED_STEP = "report"
REFERENCE_DAY = date(2025, 8, 5)


@dataclass
class Result:
    name: str
    timing: Timing | None
    sql: Timing | None = None
    #: (limit in ms, or None) and the most the page may take as a multiple of the SQL (or None)
    limit_ms: float | None = None
    max_ratio: float | None = None
    note: str = ""
    #: for the throughput line: the figure and its unit, and whether it met its target
    figure: str | None = None
    met: bool | None = None
    details: list[str] = field(default_factory=list)

    @property
    def ratio(self) -> float | None:
        if self.timing is None or self.sql is None or not self.sql.median_ms:
            return None
        return self.timing.median_ms / self.sql.median_ms

    @property
    def target_met(self) -> bool | None:
        if self.met is not None:
            return self.met
        if self.timing is None or (self.limit_ms is None and self.max_ratio is None):
            return None
        ok = self.limit_ms is None or self.timing.median_ms <= self.limit_ms
        if self.max_ratio is not None and self.ratio is not None:
            ok = ok and self.ratio <= self.max_ratio
        return ok

    @property
    def target(self) -> str:
        parts = []
        if self.limit_ms is not None:
            parts.append(f"≤ {self.limit_ms / 1000:g} s" if self.limit_ms >= 1000 else f"≤ {self.limit_ms:g} ms")
        if self.max_ratio is not None:
            parts.append(f"≤ {self.max_ratio:g}× SQL")
        return ", ".join(parts)


def bench_app(url: str):
    """The application on the benchmark database, as a server would run it (not in testing mode).

    CSRF is off so the benchmark can post forms without reading them first; jobs run inline so
    the time of a province-wide ZIP is measured in the request that asks for it.
    """
    return create_app({"SQLALCHEMY_DATABASE_URI": url, "CONGRESS_TODAY": REFERENCE_DAY,
                       "SECRET_KEY": "benchmark", "WTF_CSRF_ENABLED": False, "PAPERS_JOBS_INLINE": True,
                       "PAPERS_FOLDER": str(BENCH_DIR / "papers")}, mode="testing")


def web_client(app, username: str):
    client = app.test_client()
    response = client.post("/login", data={"username": username, "password": DEMO_PASSWORD})
    if response.status_code != 302:
        raise RuntimeError(f"cannot sign in as {username}: {response.status_code}")
    return client


def bearer(app, username: str) -> dict[str, str]:
    from congress.accounts.models import User
    from congress.accounts.operations import create_token

    with app.app_context():
        user = db.session.execute(db.select(User).filter_by(username=username)).scalar_one()
        _, plain = create_token(user, "benchmark")
        db.session.commit()
    return {"Authorization": f"Bearer {plain}"}


def flippable_steps(app, count: int) -> list[tuple[str, int, dict]]:
    """(branch code, version, request body) for ``count`` writes to branches' "report" steps.

    A done report is reopened (with a reason), an open one completed: every run finds work, and
    two runs leave the data as they found it. Open ones come first, so a run undoes the last.
    """
    from congress.progress.models import Step
    from congress.units.models import Branch

    with app.app_context():
        rows = db.session.execute(
            sa.select(Branch.code, Step.version, Step.state).join(Step, Step.branch_id == Branch.id)
            .where(Step.key == FLIPPED_STEP, Step.state.in_(("in_progress", "done")))
            .order_by(Step.state.desc(), Branch.code).limit(count)).all()
        db.session.remove()
    if len(rows) < count:
        raise RuntimeError(f"only {len(rows)} branch steps to write to; ask for fewer writes")
    return [(code, version, {"action": "complete", "version": version} if state == "in_progress"
             else {"action": "reopen", "version": version, "note": "Kiểm tra lại báo cáo kết quả"})
            for code, version, state in rows]


def _ok(response, status: int = 200):
    if response.status_code != status:
        raise RuntimeError(f"{response.request.path}: {response.status_code} "
                           f"{response.get_data(as_text=True)[:300]}")
    return response


def measure_or_fail(name: str, action, runs: int) -> Timing | str:
    """The timing, or why the measure could not be taken (the others still are)."""
    try:
        return measure(action, runs)
    except Exception as exc:  # a page that fails is reported in the table, not a stopped run
        return f"failed: {str(exc).splitlines()[0][:80]}"


def run(url: str, runs: int, log=print) -> list[Result]:
    app = bench_app(url)
    with app.app_context():
        from congress.progress.definitions import definitions

        definition = definitions()["commune_congress"]
        engine = db.engine
    city = web_client(app, "thanhuy.vanphong")
    unit_staff = web_client(app, "tuminh.vanphong")
    city_api = bearer(app, "thanhuy.vanphong")
    admin_api = bearer(app, "admin")
    api = app.test_client()

    def sql(work):
        def action():
            with engine.connect() as conn:
                work(conn)
        return action

    results = []
    log("  Hải Phòng dashboard …")
    page = measure_or_fail("dashboard", lambda: _ok(city.get(f"/dashboard?province={HAIPHONG}")), runs)
    query = measure(sql(lambda c: handwritten.dashboard(c, definition, HAIPHONG, REFERENCE_DAY)), runs)
    results.append(Result("Hải Phòng dashboard (page)", page if isinstance(page, Timing) else None, query,
                          limit_ms=300, max_ratio=2, note="" if isinstance(page, Timing) else page))

    log("  Hải Phòng readiness API …")
    page = measure(lambda: _ok(api.get(f"/api/v1/readiness?province={HAIPHONG}", headers=city_api)), runs)
    query = measure(sql(lambda c: handwritten.readiness(c, definition, [HAIPHONG], REFERENCE_DAY)), runs)
    results.append(Result("Hải Phòng readiness API", page, query, limit_ms=300, max_ratio=2))

    log("  national readiness API …")
    slow_runs = max(3, runs // 2)
    page = measure(lambda: _ok(api.get("/api/v1/readiness", headers=admin_api)), slow_runs)
    query = measure(sql(lambda c: handwritten.readiness(c, definition, None, REFERENCE_DAY)), slow_runs)
    results.append(Result("national readiness API (all units)", page, query, limit_ms=300, max_ratio=2))

    log("  unit page …")
    page = measure(lambda: _ok(unit_staff.get(f"/units/{UNIT}")), runs)
    query = measure(sql(lambda c: handwritten.unit_page(c, UNIT)), runs)
    results.append(Result(f"unit page /units/{UNIT}", page, query, limit_ms=50))

    log("  step transitions …")
    steps = iter(flippable_steps(app, runs + 1))

    def transition():
        code, _, body = next(steps)
        _ok(api.post(f"/api/v1/branches/{code}/steps/{FLIPPED_STEP}/transitions", headers=admin_api, json=body))
    results.append(Result("step transition (API, one request)", measure(transition, runs)))

    log("  one document …")
    page = measure(lambda: _ok(unit_staff.get(f"/units/{UNIT}/papers/{DOCUMENT_KIND}.docx")), runs)
    results.append(Result("one document (.docx)", page, limit_ms=100))

    log("  ZIP of one kind for every unit of Hải Phòng …")

    def province_zip(fmt: str):
        response = _ok(city.post(f"/provinces/{HAIPHONG}/papers/jobs",
                                 data={"kind": DOCUMENT_KIND, "format": fmt}), 302)
        token = response.headers["Location"].rsplit("/", 1)[-1]
        if not re.fullmatch(r"[0-9a-f]{32}", token):
            raise RuntimeError(f"unexpected job address {response.headers['Location']}")
        _ok(city.get(f"/papers/jobs/{token}/download"))
    results.append(Result("ZIP of one kind, 114 units (.docx)", measure(lambda: province_zip("docx"),
                                                                        max(2, runs // 5)), limit_ms=10_000))
    if shutil.which("soffice"):
        log("  the same ZIP as PDF (LibreOffice) …")
        results.append(Result("ZIP of one kind, 114 units (PDF)", measure(lambda: province_zip("pdf"), 1)))
    else:
        log("  the PDF ZIP is not measured: LibreOffice (soffice) is not installed")
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    return results

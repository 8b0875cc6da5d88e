"""Test fixtures: a real database per test (SQLite, or PostgreSQL when DATABASE_URL says so).

Each kind of starting data (empty, base = Hải Phòng units enrolled, demo = with the demo data)
is built once per run as a template; every test gets its own copy (a file copy on SQLite,
CREATE DATABASE ... TEMPLATE on PostgreSQL), so tests never see each other's writes.
"""
from __future__ import annotations

import os
import shutil
import uuid
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import has_app_context
from flask.testing import FlaskClient
from sqlalchemy.engine import make_url

from congress import create_app
from congress.extensions import db

#: The reference date of the demo data and of every test ("today" in Asia/Ho_Chi_Minh).
TODAY = date(2025, 8, 5)
IN_CI = os.environ.get("CI", "").lower() == "true"
#: the server .ci/run's PostgreSQL pass uses
CI_POSTGRESQL = ("127.0.0.1", 5432)


def needs_postgresql(backend: str, what: str) -> None:
    """For a test that only means something on PostgreSQL. On a PostgreSQL run, nothing; on a
    SQLite run, a skip, because the PostgreSQL run carries the test; but under CI=true the skip
    stands only while that server is reachable (without it the PostgreSQL run would never
    happen), otherwise the test fails."""
    if backend == "postgresql":
        return
    if IN_CI:
        import socket

        try:
            socket.create_connection(CI_POSTGRESQL, timeout=3).close()
        except OSError as exc:
            pytest.fail(f"{what} needs PostgreSQL, unreachable under CI at {CI_POSTGRESQL}: {exc}")
    pytest.skip(f"{what} runs on PostgreSQL (set DATABASE_URL); the PostgreSQL run carries it")
DEMO_PASSWORD = "daihoi-2025"


def _is_postgres(url: str | None) -> bool:
    return bool(url) and url.split(":", 1)[0] in ("postgres", "postgresql", "postgresql+psycopg")


class Databases:
    """Creates, copies and drops the test databases of one run."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.url = os.environ.get("DATABASE_URL")
        self.backend = "postgresql" if _is_postgres(self.url) else "sqlite"
        self.templates: dict[str, str] = {}
        self.run_id = uuid.uuid4().hex[:8]
        self.counter = 0
        if self.backend == "postgresql":
            self.server = make_url(self.url.replace("postgres://", "postgresql://", 1)).set(
                drivername="postgresql+psycopg")
            self.admin = sa.create_engine(self.server.set(database="postgres"),
                                          isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
            try:
                with self.admin.connect() as conn:
                    conn.execute(sa.text("SELECT 1"))
            except sa.exc.OperationalError as exc:
                pytest.exit(f"DATABASE_URL is set but PostgreSQL cannot be reached: {exc}", returncode=3)

    def _pg_url(self, name: str) -> str:
        return self.server.set(database=name).render_as_string(hide_password=False)

    def _new_name(self, kind: str) -> str:
        self.counter += 1
        return f"congress_t_{self.run_id}_{kind}_{self.counter}"

    def template(self, kind: str, builder) -> str:
        if kind in self.templates:
            return self.templates[kind]
        if self.backend == "sqlite":
            url = f"sqlite:///{self.workdir / f'template-{kind}.db'}"
        else:
            name = self._new_name(f"tpl_{kind}")
            with self.admin.connect() as conn:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
            url = self._pg_url(name)
        app = make_test_app(url)
        with app.app_context():
            from flask_migrate import upgrade

            upgrade()
            builder(app)
            db.session.commit()
            db.session.remove()
            for engine in db.engines.values():
                engine.dispose()
        self.templates[kind] = url
        return url

    def copy(self, template_url: str) -> str:
        if self.backend == "sqlite":
            source = make_url(template_url).database
            self.counter += 1
            target = self.workdir / f"test-{self.counter}.db"
            shutil.copyfile(source, target)
            return f"sqlite:///{target}"
        template_name = make_url(template_url).database
        name = self._new_name("db")
        with self.admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{template_name}"'))
        return self._pg_url(name)

    def drop(self, url: str) -> None:
        if self.backend == "sqlite":
            path = Path(make_url(url).database)
            for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
                leftover.unlink(missing_ok=True)
            return
        with self.admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))

    def close(self) -> None:
        if self.backend == "postgresql":
            for url in self.templates.values():
                self.drop(url)
            self.admin.dispose()


class IsolatedClient(FlaskClient):
    """A test client whose every request runs in its own application context, as on a server.

    The fixtures keep an application context open for the test body; without this, a request
    would reuse it: the same ``g`` (Flask-Login would keep the first request's user for every
    later request, whoever sends it) and the same database session (a test would see writes a
    request never committed).
    """

    def open(self, *args, **kwargs):
        if self.preserve_context:
            return super().open(*args, **kwargs)
        try:
            with self.application.app_context():
                return super().open(*args, **kwargs)
        finally:
            if has_app_context():  # the test's own session must not keep what it read before
                db.session.expire_all()


def make_test_app(url: str, **config):
    settings = {"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "CONGRESS_TODAY": TODAY,
                "SECRET_KEY": "test-secret", "SERVER_NAME": None}
    settings.update(config)
    app = create_app(settings, mode="testing")
    app.test_client_class = IsolatedClient
    return app


def build_empty(app) -> None:
    pass


def build_base(app) -> None:
    from congress.seeding.seed import seed

    seed(["31"], demo=False)


def build_demo(app) -> None:
    from congress.seeding.seed import seed

    seed(["31"], demo=True)


BUILDERS = {"empty": build_empty, "base": build_base, "demo": build_demo}


@pytest.fixture(scope="session")
def databases(tmp_path_factory):
    found = Databases(tmp_path_factory.mktemp("databases"))
    yield found
    found.close()


@pytest.fixture
def make_app(databases):
    """Factory: an app on a fresh copy of a template ('empty', 'base' or 'demo')."""
    made = []

    def factory(kind: str = "demo", **config):
        url = databases.copy(databases.template(kind, BUILDERS[kind]))
        app = make_test_app(url, **config)
        made.append((app, url))
        return app

    yield factory
    for app, url in made:
        with app.app_context():
            db.session.remove()
            for engine in db.engines.values():
                engine.dispose()
        databases.drop(url)


@pytest.fixture
def app(make_app):
    """The Hải Phòng demo: 114 units with branches, progress and the demo accounts."""
    app = make_app("demo")
    with app.app_context():
        yield app


@pytest.fixture
def no_nights(app):
    """The demo without the nightly readiness snapshots of its history (the seed records every
    night from the campaign's start): for a test that records its own nights, or none."""
    from congress.notices.models import ReadinessSnapshot

    db.session.execute(sa.delete(ReadinessSnapshot))
    db.session.commit()
    return app


@pytest.fixture
def base_app(make_app):
    """Hải Phòng's 114 units enrolled in the campaign, no branches, no accounts."""
    app = make_app("base")
    with app.app_context():
        yield app


@pytest.fixture
def empty_app(make_app):
    """A migrated, empty database."""
    app = make_app("empty")
    with app.app_context():
        yield app


@pytest.fixture
def web_app(make_app):
    """The demo, with imports read and previewed at once (no background job)."""
    app = make_app("demo", TRANSFERS_JOBS_INLINE=True)
    with app.app_context():
        yield app


@pytest.fixture
def files(app, tmp_path):
    """A folder of this test's own for uploaded drafts."""
    app.config["FILES_FOLDER"] = str(tmp_path / "files")
    return tmp_path / "files"


@pytest.fixture
def client(app):
    return app.test_client()


class ApiClient:
    """A test client that authenticates with a bearer token."""

    def __init__(self, app, token: str):
        self.client = app.test_client()
        self.headers = {"Authorization": f"Bearer {token}"}

    def _call(self, method, url, **kwargs):
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return getattr(self.client, method)(url, headers=headers, **kwargs)

    def get(self, url, **kw):
        return self._call("get", url, **kw)

    def post(self, url, **kw):
        return self._call("post", url, **kw)

    def put(self, url, **kw):
        return self._call("put", url, **kw)

    def patch(self, url, **kw):
        return self._call("patch", url, **kw)

    def delete(self, url, **kw):
        return self._call("delete", url, **kw)


@pytest.fixture
def make_user():
    """Factory: create an account (role, unit code or province code) in the current app."""
    from congress.accounts.operations import add_user
    from congress.units.models import Province, Unit

    def factory(username: str, role: str, unit: str | None = None, province: str | None = None,
                password: str = DEMO_PASSWORD):
        unit_obj = db.session.execute(db.select(Unit).filter_by(code=unit)).scalar_one() if unit else None
        province_obj = db.session.get(Province, province) if province else None
        user = add_user(username, role=role, password=password, unit=unit_obj, province=province_obj)
        db.session.commit()
        return user

    return factory


@pytest.fixture
def api_as(make_user):
    """Factory: an ApiClient for a new (or existing) user of the given role and scope."""
    from flask import current_app

    from congress.accounts.models import User
    from congress.accounts.operations import create_token

    def factory(role: str, unit: str | None = None, province: str | None = None, username: str | None = None):
        username = username or f"{role}-{unit or province or 'all'}"
        user = db.session.execute(db.select(User).filter_by(username=username)).scalar_one_or_none()
        if user is None:
            user = make_user(username, role, unit=unit, province=province)
        _, plain = create_token(user, "test")
        db.session.commit()
        return ApiClient(current_app._get_current_object(), plain)

    return factory


# --- PDF: LibreOffice and poppler ---------------------------------------------------------------

#: lines a test wants shown in the run's summary (the PDF tests: pages per kind, embedded fonts)
SUMMARY: list[str] = []


def pytest_terminal_summary(terminalreporter):
    if SUMMARY:
        terminalreporter.section("papers as PDF")
        for line in SUMMARY:
            terminalreporter.write_line(line)


def require_libreoffice() -> str:
    """LibreOffice's program (in an app context); without it a skip locally, a failure under CI=true."""
    from congress.papers import convert

    if not convert.available():
        if IN_CI:
            pytest.fail("LibreOffice is not installed: .ci/run installs libreoffice-writer-nogui")
        pytest.skip("LibreOffice is not installed (apt-get install libreoffice-writer-nogui)")
    return convert.soffice()


@pytest.fixture
def libreoffice(app):
    """LibreOffice's program; without it a skip locally, a failure under CI=true."""
    return require_libreoffice()


@pytest.fixture
def poppler():
    """poppler's pdftotext, which reads a PDF's pages as printed; without it a skip locally, a
    failure under CI=true."""
    program = shutil.which("pdftotext")
    if program is None:
        if IN_CI:
            pytest.fail("pdftotext is not installed: apt-get install poppler-utils")
        pytest.skip("pdftotext is not installed (apt-get install poppler-utils)")
    return program

"""The benchmark databases: built and seeded once, kept apart from the application's own."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from congress import PROJECT_ROOT

BENCH_DIR = PROJECT_ROOT / "instance" / "bench"
DEFAULT_POSTGRESQL = "postgresql://postgres@127.0.0.1:5432/postgres"
#: the units each scale seeds
EXPECTED_UNITS = {"haiphong": 114, "national": 3321}
#: the demo's reference day: the figures are computed as of it
TODAY = "2025-08-05"


@dataclass
class BenchDatabase:
    backend: str
    scale: str
    url: str
    #: seconds the seed took when this database was built (None if unknown)
    seed_seconds: float | None
    counts: dict[str, int]


def _pg_server(base_url: str):
    return make_url(base_url.replace("postgres://", "postgresql://", 1)).set(drivername="postgresql+psycopg")


def database_url(backend: str, scale: str, postgresql_url: str) -> str:
    if backend == "sqlite":
        BENCH_DIR.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{BENCH_DIR / f'{scale}.db'}"
    return _pg_server(postgresql_url).set(database=f"congress_bench_{scale}").render_as_string(
        hide_password=False)


def _counts(url: str) -> dict[str, int]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return {table: conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
                    for table in ("units", "branches", "steps", "audit_records")}
    except sa.exc.SQLAlchemyError:
        return {}
    finally:
        engine.dispose()


def _drop(backend: str, url: str, postgresql_url: str) -> None:
    if backend == "sqlite":
        Path(make_url(url).database).unlink(missing_ok=True)
        return
    admin = sa.create_engine(_pg_server(postgresql_url), isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


def _create(backend: str, url: str, postgresql_url: str) -> None:
    if backend == "sqlite":
        return
    admin = sa.create_engine(_pg_server(postgresql_url), isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{make_url(url).database}"'))
    admin.dispose()


def app_environment(url: str) -> dict[str, str]:
    """The environment of the commands and servers the benchmark starts."""
    return {**os.environ, "DATABASE_URL": url, "CONGRESS_TODAY": TODAY, "PYTHONPATH": str(PROJECT_ROOT),
            "CONGRESS_LOCALE": "en"}


def _flask(url: str, *args: str, mode: str = "embedded") -> None:
    """Run one `flask --app congress` command on the benchmark database."""
    env = {**app_environment(url), "CONGRESS_MODE": mode, "SECRET_KEY": "benchmark"}
    subprocess.run([sys.executable, "-m", "flask", "--app", "congress", *args], env=env, cwd=PROJECT_ROOT,
                   check=True)


def prepare(backend: str, scale: str, postgresql_url: str = DEFAULT_POSTGRESQL, *, reseed: bool = False,
            echo=print) -> BenchDatabase:
    """The seeded benchmark database of a backend and scale; built (and timed) when missing."""
    url = database_url(backend, scale, postgresql_url)
    marker = BENCH_DIR / f"{backend}-{scale}.json"
    counts = {} if reseed else _counts(url)
    if counts.get("units") == EXPECTED_UNITS[scale] and counts.get("audit_records"):
        _flask(url, "db", "upgrade")  # the code may be newer than the database
        seconds = json.loads(marker.read_text())["seed_seconds"] if marker.exists() else None
        return BenchDatabase(backend, scale, url, seconds, counts)
    echo(f"building the {scale} database on {backend} …")
    _drop(backend, url, postgresql_url)
    _create(backend, url, postgresql_url)
    _flask(url, "db", "upgrade")
    started = time.monotonic()
    # the documented command; embedded mode gives the demo accounts their known password
    _flask(url, "seed", "--scale", scale, *(["--all", "--demo"] if scale == "national" else []))
    seconds = time.monotonic() - started
    if backend == "postgresql":
        engine = sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
        with engine.connect() as conn:
            conn.execute(sa.text("VACUUM ANALYZE"))
        engine.dispose()
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps({"seed_seconds": round(seconds, 1)}))
    return BenchDatabase(backend, scale, url, seconds, _counts(url))


@contextmanager
def scratch(bench: BenchDatabase, postgresql_url: str = DEFAULT_POSTGRESQL) -> Iterator[str]:
    """A copy of a benchmark database for measures that change it (a large import), dropped after."""
    if bench.backend == "sqlite":
        source = Path(make_url(bench.url).database)
        copy = source.with_name(f"{source.stem}-scratch.db")
        shutil.copyfile(source, copy)
        try:
            yield f"sqlite:///{copy}"
        finally:
            copy.unlink(missing_ok=True)
        return
    name = f"{make_url(bench.url).database}_scratch"
    url = _pg_server(postgresql_url).set(database=name).render_as_string(hide_password=False)
    _drop("postgresql", url, postgresql_url)
    admin = sa.create_engine(_pg_server(postgresql_url), isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{make_url(bench.url).database}"'))
    admin.dispose()
    try:
        yield url
    finally:
        _drop("postgresql", url, postgresql_url)

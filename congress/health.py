"""Readiness for a load balancer: may this process take requests now?

``/healthz`` (in congress/web/auth.py) answers as long as the process runs. ``/readyz`` also
asks the database: it must answer, and its schema must be at the newest migration, so a host
whose database is unreachable, or that was started before ``db upgrade`` ran, is taken out of
the pool instead of serving errors. Both are open to anyone (a load balancer has no account)
and say nothing beyond ready or not and why.
"""
from __future__ import annotations

from functools import lru_cache

import sqlalchemy as sa
from flask import Blueprint, Flask, current_app, jsonify

from congress.extensions import db

health = Blueprint("health", __name__)


@lru_cache(maxsize=4)
def head_revisions(directory: str) -> frozenset[str]:
    """The newest revision(s) of the migrations shipped with this code."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", directory)
    return frozenset(ScriptDirectory.from_config(config).get_heads())


def database_revisions() -> frozenset[str]:
    """The revision(s) the database says it is at (empty when it was never migrated)."""
    rows = db.session.execute(sa.text("SELECT version_num FROM alembic_version")).scalars()
    return frozenset(rows)


def readiness() -> tuple[dict, int]:
    expected = head_revisions(current_app.extensions["migrate"].directory)
    try:
        try:
            db.session.execute(sa.text("SELECT 1"))
        except sa.exc.SQLAlchemyError:
            db.session.rollback()
            return {"status": "unavailable", "reason": "database_unreachable"}, 503
        try:
            current = database_revisions()
        except sa.exc.SQLAlchemyError:  # no alembic_version table: never migrated
            db.session.rollback()
            current = frozenset()
    finally:
        db.session.close()  # give the connection back: a probe every few seconds must not hold one
    if current != expected:
        return {"status": "unavailable", "reason": "migrations_pending",
                "database": sorted(current), "expected": sorted(expected)}, 503
    return {"status": "ready", "revision": sorted(current)}, 200


@health.get("/readyz")
def readyz():
    body, status = readiness()
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response, status


def init_app(app: Flask) -> None:
    app.register_blueprint(health)

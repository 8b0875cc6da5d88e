"""The workflow definitions the application runs with, and their stored versions."""
from __future__ import annotations

import sys

from flask import Flask, current_app

from congress.clock import utcnow
from congress.extensions import db
from congress.progress.models import WorkflowVersion
from workflows.loader import DEFINITIONS_DIR, DefinitionError, WorkflowDefinition, load_all


def check_definitions(app: Flask) -> None:
    """Load and validate every definition at start-up; refuse to start on any problem."""
    directory = app.config.get("CONGRESS_WORKFLOWS_DIR", DEFINITIONS_DIR)
    try:
        app.extensions["congress_workflows"] = load_all(directory)
    except DefinitionError as exc:
        print("The workflow definitions have problems:", file=sys.stderr)
        for line in exc.problems:
            print("  " + line, file=sys.stderr)
        raise


def definitions() -> dict[str, WorkflowDefinition]:
    return current_app.extensions["congress_workflows"]


def current_version(key: str) -> WorkflowVersion:
    """The stored version matching the definition on disk, stored now if it is new.

    Units already created keep pointing at their own version: a changed YAML adds a new
    revision and never rewrites the old one.
    """
    definition = definitions()[key]
    checksum = definition.checksum
    found = db.session.execute(
        db.select(WorkflowVersion).filter_by(key=key, checksum=checksum)).scalar_one_or_none()
    if found is not None:
        return found
    last = db.session.execute(
        db.select(db.func.max(WorkflowVersion.revision)).filter_by(key=key)).scalar() or 0
    version = WorkflowVersion(key=key, revision=last + 1, declared_version=definition.version,
                              checksum=checksum, source=definition.source,
                              body=_json_ready(definition.raw), created_at=utcnow())
    db.session.add(version)
    db.session.flush()
    return version


def _json_ready(value):
    """YAML may give dates; the stored snapshot is plain JSON."""
    from datetime import date

    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_ready(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return value

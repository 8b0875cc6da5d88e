"""Full backup and restore: one ZIP archive with every table and every uploaded file.

The archive holds ``manifest.json`` (format, schema revision, per table its row count and
SHA-256, per file its size and SHA-256), ``data/<table>.jsonl`` (one JSON object per row, in
primary-key order; dates, date-times and bytes encoded from the column's type so that they come
back identical) and ``files/...`` (the FILES_FOLDER tree). It is generic over db.metadata: every
table any package declares is covered.

A restore goes into an empty database migrated to the same revision; it checks every checksum
before writing, inserts with Core in dependency order (the audit table is append-only in the
ORM) in one transaction, then moves PostgreSQL's sequences past the restored ids.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import zipfile
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path, PurePosixPath

import sqlalchemy as sa
from flask import current_app

from congress.clock import utcnow
from congress.errors import Unprocessable
from congress.extensions import db

FORMAT = "congress-backup/1"
MANIFEST = "manifest.json"
BATCH = 1000


class BackupError(Unprocessable):
    code = "backup_invalid"


# --- values ----------------------------------------------------------------------------------

def _kind(column: sa.Column) -> str:
    column_type = column.type
    if isinstance(column_type, sa.TypeDecorator):
        column_type = column_type.impl_instance
    if isinstance(column_type, sa.DateTime):
        return "datetime"
    if isinstance(column_type, sa.Date):
        return "date"
    if isinstance(column_type, sa.LargeBinary):
        return "bytes"
    if isinstance(column_type, sa.Numeric) and not isinstance(column_type, sa.Float):
        return "decimal"
    return "plain"


def encode(kind: str, value):
    if value is None:
        return None
    if kind in ("datetime", "date"):
        return value.isoformat()
    if kind == "bytes":
        return base64.b64encode(bytes(value)).decode("ascii")
    if kind == "decimal":
        return str(value)
    return value


def decode(kind: str, value):
    if value is None:
        return None
    if kind == "datetime":
        return datetime.fromisoformat(value)
    if kind == "date":
        return date.fromisoformat(value)
    if kind == "bytes":
        return base64.b64decode(value)
    if kind == "decimal":
        return Decimal(value)
    return value


# --- what is in the database -------------------------------------------------------------------

def schema_revision() -> str | None:
    inspector = sa.inspect(db.engine)
    if not inspector.has_table("alembic_version"):
        return None
    return db.session.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def present_tables() -> list[sa.Table]:
    """The tables of db.metadata that exist in the database, parents before children."""
    existing = set(sa.inspect(db.engine).get_table_names())
    return [t for t in db.metadata.sorted_tables if t.name in existing]


def files_folder() -> Path | None:
    folder = current_app.config.get("FILES_FOLDER")
    return Path(folder) if folder else None


# --- export ------------------------------------------------------------------------------------

def export_all(target: str | os.PathLike) -> dict:
    """Write the archive to ``target`` (through a temporary name, so a failure leaves no half file)."""
    target = Path(target)
    partial = target.with_name(target.name + ".part")
    manifest = {"format": FORMAT, "revision": schema_revision(), "created_at": utcnow().isoformat(),
                "dialect": db.engine.dialect.name, "tables": [], "files": []}
    try:
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
            with db.engine.connect() as connection:
                for table in present_tables():
                    manifest["tables"].append(_export_table(archive, connection, table))
            folder = files_folder()
            if folder is not None and folder.is_dir():
                for path in sorted(p for p in folder.rglob("*") if p.is_file()):
                    relative = path.relative_to(folder).as_posix()
                    digest = hashlib.sha256()
                    with path.open("rb") as source, archive.open(f"files/{relative}", "w", force_zip64=True) as out:
                        for block in iter(lambda: source.read(1 << 20), b""):
                            digest.update(block)
                            out.write(block)
                    manifest["files"].append({"path": relative, "size": path.stat().st_size,
                                              "sha256": digest.hexdigest()})
            archive.writestr(MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1))
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    return manifest


def _export_table(archive: zipfile.ZipFile, connection, table: sa.Table) -> dict:
    kinds = {c.name: _kind(c) for c in table.columns}
    order = list(table.primary_key.columns) or list(table.columns)
    digest = hashlib.sha256()
    count = 0
    result = connection.execution_options(stream_results=True, yield_per=BATCH).execute(
        sa.select(table).order_by(*order))
    with archive.open(f"data/{table.name}.jsonl", "w", force_zip64=True) as out:
        for row in result:
            mapping = row._mapping
            line = json.dumps({name: encode(kinds[name], mapping[name]) for name in kinds},
                              ensure_ascii=False, separators=(",", ":")) + "\n"
            data = line.encode("utf-8")
            digest.update(data)
            out.write(data)
            count += 1
    return {"name": table.name, "rows": count, "sha256": digest.hexdigest()}


# --- restore -----------------------------------------------------------------------------------

def read_manifest(archive: zipfile.ZipFile) -> dict:
    try:
        manifest = json.loads(archive.read(MANIFEST))
    except (KeyError, ValueError):
        raise BackupError("backup_invalid", {"detail": "manifest.json"}) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError("backup_invalid", {"detail": "format"})
    return manifest


def _verify(archive: zipfile.ZipFile, member: str, expected: str) -> None:
    digest = hashlib.sha256()
    try:
        with archive.open(member) as source:
            for block in iter(lambda: source.read(1 << 20), b""):
                digest.update(block)
    except KeyError:
        raise BackupError("backup_invalid", {"detail": member}) from None
    if digest.hexdigest() != expected:
        raise BackupError("backup_checksum", {"member": member})


def _safe_relative(path: str) -> PurePosixPath:
    relative = PurePosixPath(path)
    if relative.is_absolute() or ".." in relative.parts or not relative.parts:
        raise BackupError("backup_invalid", {"detail": path})
    return relative


def import_all(source: str | os.PathLike) -> dict:
    """Restore an archive into this (empty, migrated) database; returns the manifest."""
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError):
        raise BackupError("backup_invalid", {"detail": "zip"}) from None
    with archive:
        manifest = read_manifest(archive)
        revision = schema_revision()
        if manifest.get("revision") != revision:
            raise BackupError("backup_revision", {"archive": manifest.get("revision"), "database": revision})
        tables = {t.name: t for t in present_tables()}
        listed = [entry["name"] for entry in manifest["tables"]]
        unknown = [name for name in listed if name not in tables]
        if unknown:
            raise BackupError("backup_unknown_tables", {"tables": unknown})
        filled = [name for name, table in tables.items()
                  if db.session.execute(sa.select(sa.literal(1)).select_from(table).limit(1)).first()]
        db.session.rollback()
        if filled:
            raise BackupError("backup_not_empty", {"tables": filled})
        for entry in manifest["tables"]:
            _verify(archive, f"data/{entry['name']}.jsonl", entry["sha256"])
        for entry in manifest["files"]:
            _safe_relative(entry["path"])
            _verify(archive, f"files/{entry['path']}", entry["sha256"])
        folder = files_folder()
        if manifest["files"] and folder is None:
            raise BackupError("backup_no_files_folder")
        counts = {entry["name"]: entry["rows"] for entry in manifest["tables"]}
        with db.engine.begin() as connection:
            for table in db.metadata.sorted_tables:
                if table.name in counts:
                    written = _restore_table(archive, connection, table)
                    if written != counts[table.name]:
                        raise BackupError("backup_checksum", {"member": table.name})
            if connection.dialect.name == "postgresql":
                _reset_sequences(connection, [tables[name] for name in counts])
        for entry in manifest["files"]:
            destination = folder.joinpath(*_safe_relative(entry["path"]).parts)
            destination.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(f"files/{entry['path']}") as source_file, destination.open("wb") as out:
                for block in iter(lambda: source_file.read(1 << 20), b""):
                    out.write(block)
    return manifest


def _restore_table(archive: zipfile.ZipFile, connection, table: sa.Table) -> int:
    kinds = {c.name: _kind(c) for c in table.columns}
    count = 0
    batch: list[dict] = []
    with archive.open(f"data/{table.name}.jsonl") as source:
        for raw in source:
            item = json.loads(raw)
            batch.append({name: decode(kinds[name], item.get(name)) for name in kinds})
            if len(batch) >= BATCH:
                connection.execute(table.insert(), batch)
                count += len(batch)
                batch = []
    if batch:
        connection.execute(table.insert(), batch)
        count += len(batch)
    return count


def _reset_sequences(connection, tables: list[sa.Table]) -> None:
    """Move each serial column's sequence past the highest restored id."""
    for table in tables:
        for column in table.primary_key.columns:
            if not isinstance(column.type, sa.Integer) or column.autoincrement is False:
                continue
            sequence = connection.execute(sa.text("SELECT pg_get_serial_sequence(:t, :c)"),
                                          {"t": table.name, "c": column.name}).scalar()
            if not sequence:
                continue
            connection.execute(sa.text(
                f'SELECT setval(:s, COALESCE((SELECT MAX("{column.name}") FROM "{table.name}"), 1), '
                f'(SELECT MAX("{column.name}") FROM "{table.name}") IS NOT NULL)'), {"s": sequence})

"""Full backup and restore: one ZIP archive with every table and every uploaded file.

The archive holds ``manifest.json`` (format, schema revision, per table its row count and
SHA-256, per file its size and SHA-256), ``manifest.sig`` (the HMAC-SHA256 of the manifest's
bytes with CONGRESS_BACKUP_KEY, in hex: as the manifest carries every member's hash, it signs
the whole archive), ``data/<table>.jsonl`` (one JSON object per row, in primary-key order;
dates, date-times and bytes encoded from the column's type so that they come back identical)
and ``files/...`` (the FILES_FOLDER tree). It is generic over db.metadata: every table any
package declares is covered. Without a key an archive is made unsigned, except in production,
where export refuses.

A restore takes any file and refuses, with one sentence, whatever is not such an archive: the
signature is checked first (an unsigned archive, or one this installation has no key to check,
only with ``allow_unsigned``), then the manifest's shape, the members (no unsafe, doubled,
missing or unlisted name), the revision and the tables; the uploaded files are copied into a
staging folder and checked against their size and hash; then every table is read line by line
(no line longer than :func:`line_limit`), each line checked against its table's columns and
types and hashed, and inserted with Core in dependency order (the audit table is append-only in
the ORM) in one transaction, which also moves PostgreSQL's sequences past the restored ids and
puts the staged files in place. Any refusal rolls the transaction back and removes the files it
placed: the database stays empty, FILES_FOLDER as it was.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import re
import shutil
import tempfile
import zipfile
import zlib
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path, PurePosixPath

import sqlalchemy as sa
from flask import current_app

from congress.clock import utcnow
from congress.errors import NO_ROOM, StorageFull, Unprocessable
from congress.extensions import db

FORMAT = "congress-backup/1"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
BATCH = 1000
BLOCK = 1 << 20
#: the longest line a table's JSON-lines may have, unless a row may carry an uploaded file
#: (see line_limit)
MAX_LINE = 8 * 1024 * 1024
#: the largest manifest read (a few hundred bytes per uploaded file)
MAX_MANIFEST = 64 * 1024 * 1024
SHA256 = re.compile(r"[0-9a-f]{64}")
#: what reading a damaged member raises (bad CRC or header, cut deflate stream, unknown method)
DAMAGED = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, ValueError)
INTEGERS = (-(1 << 63), (1 << 63) - 1)


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
    if isinstance(column_type, sa.Float):
        return "float"
    if isinstance(column_type, sa.Numeric):
        return "decimal"
    if isinstance(column_type, sa.Boolean):
        return "boolean"
    if isinstance(column_type, sa.Integer):
        return "integer"
    if isinstance(column_type, sa.String):
        return "text"
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
    """The column's value from its JSON form; ValueError or TypeError when it is not one."""
    if value is None:
        return None
    if kind == "datetime":
        return datetime.fromisoformat(_text(value))
    if kind == "date":
        return date.fromisoformat(_text(value))
    if kind == "bytes":
        return base64.b64decode(_text(value), validate=True)
    if kind == "decimal":
        return Decimal(_text(value))
    if kind == "integer":
        if type(value) is not int or not INTEGERS[0] <= value <= INTEGERS[1]:
            raise TypeError("not a whole number")
    elif kind == "float":
        if type(value) not in (int, float):
            raise TypeError("not a number")
    elif kind == "boolean":
        if type(value) is not bool:
            raise TypeError("not true or false")
    elif kind == "text":
        _text(value)
    return value


def _text(value) -> str:
    if not isinstance(value, str):
        raise TypeError("not text")
    return value


# --- signatures --------------------------------------------------------------------------------

def backup_key() -> bytes | None:
    key = current_app.config.get("BACKUP_KEY")
    return key.encode("utf-8") if key else None


def sign(manifest: bytes, key: bytes) -> bytes:
    return hmac.new(key, manifest, hashlib.sha256).hexdigest().encode("ascii")


# --- what is in the database -------------------------------------------------------------------

def schema_revision() -> str | None:
    inspector = sa.inspect(db.engine)
    if not inspector.has_table("alembic_version"):
        return None
    return db.session.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


#: tables derived from the others, computed again after a restore rather than kept in an archive
DERIVED_TABLES = {"unit_readiness"}


def present_tables() -> list[sa.Table]:
    """The tables of db.metadata that exist in the database, parents before children, but the
    derived ones."""
    existing = set(sa.inspect(db.engine).get_table_names()) - DERIVED_TABLES
    return [t for t in db.metadata.sorted_tables if t.name in existing]


def files_folder() -> Path | None:
    folder = current_app.config.get("FILES_FOLDER")
    return Path(folder) if folder else None


def line_limit() -> int:
    """The longest line a restore reads: MAX_LINE, or more where one row may carry a whole
    uploaded file (an import's spreadsheet, a Word template: at most the request body limit,
    base64 makes it 4/3 as long)."""
    body = int(current_app.config.get("MAX_CONTENT_LENGTH") or 0)
    return max(MAX_LINE, body * 4 // 3 + 64 * 1024)


# --- export ------------------------------------------------------------------------------------

def export_all(target: str | os.PathLike) -> dict:
    """Write the archive to ``target`` (through a temporary name, so a failure leaves no half file);
    signed with BACKUP_KEY, which production requires."""
    key = backup_key()
    if key is None and current_app.config.get("CONGRESS_MODE") == "production":
        raise BackupError("backup_key_missing")
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
                        for block in iter(lambda: source.read(BLOCK), b""):
                            digest.update(block)
                            out.write(block)
                    manifest["files"].append({"path": relative, "size": path.stat().st_size,
                                              "sha256": digest.hexdigest()})
            raw = json.dumps(manifest, ensure_ascii=False, indent=1).encode("utf-8")
            archive.writestr(MANIFEST, raw)
            if key is not None:
                archive.writestr(SIGNATURE, sign(raw, key))
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    manifest["signed"] = key is not None
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


# --- restore: the archive's outline ------------------------------------------------------------

def _open(source) -> zipfile.ZipFile:
    try:
        archive = zipfile.ZipFile(source)
    except (*DAMAGED, OSError):
        raise BackupError("backup_not_zip") from None
    names = archive.namelist()
    seen: set[str] = set()
    for info in archive.infolist():
        name = info.filename
        if name.startswith("/") or "\\" in name or ".." in name.split("/"):
            archive.close()
            raise BackupError("backup_unsafe_path", {"path": name})
        if name in seen:
            archive.close()
            raise BackupError("backup_duplicate_member", {"member": name})
        if info.flag_bits & 0x1:
            archive.close()
            raise BackupError("backup_damaged", {"member": name, "detail": "encrypted"})
        seen.add(name)
    if MANIFEST not in names:
        archive.close()
        raise BackupError("backup_no_manifest")
    return archive


def _read_small(archive: zipfile.ZipFile, member: str, limit: int) -> bytes | None:
    """A small member whole, None when it is longer than ``limit``."""
    try:
        with archive.open(member) as source:
            data = source.read(limit + 1)
    except (*DAMAGED, OSError) as exc:
        raise BackupError("backup_damaged", {"member": member, "detail": _reason(exc)}) from None
    return None if len(data) > limit else data


def _reason(exc: Exception) -> str:
    return (str(exc) or type(exc).__name__).splitlines()[0][:200]


def _check_signature(archive: zipfile.ZipFile, raw: bytes, allow_unsigned: bool) -> None:
    key = backup_key()
    signed = SIGNATURE in archive.namelist()
    if signed and key is not None:
        signature = _read_small(archive, SIGNATURE, 1024)
        if signature is None or not hmac.compare_digest(signature.strip(), sign(raw, key)):
            raise BackupError("backup_signature_wrong")
    elif not allow_unsigned:
        raise BackupError("backup_cannot_verify" if signed else "backup_unsigned")


def read_manifest(archive: zipfile.ZipFile, allow_unsigned: bool = False) -> dict:
    """The manifest, its signature checked, its shape checked: refused with a message otherwise."""
    raw = _read_small(archive, MANIFEST, MAX_MANIFEST)
    if raw is None:
        raise BackupError("backup_manifest_invalid", {"detail": f"larger than {MAX_MANIFEST >> 20} MB"})
    _check_signature(archive, raw, allow_unsigned)
    try:
        manifest = json.loads(raw)
    except (ValueError, RecursionError):
        raise BackupError("backup_manifest_invalid", {"detail": "not JSON"}) from None
    if not isinstance(manifest, dict):
        raise BackupError("backup_manifest_invalid", {"detail": "not a JSON object"})
    if manifest.get("format") != FORMAT:
        raise BackupError("backup_invalid", {"detail": f"format {str(manifest.get('format'))[:40]!r}"})
    revision = manifest.get("revision")
    if revision is not None and not isinstance(revision, str):
        raise BackupError("backup_manifest_invalid", {"detail": "revision"})
    _check_entries(manifest, "tables", {"name": str, "rows": int, "sha256": str}, "name")
    _check_entries(manifest, "files", {"path": str, "size": int, "sha256": str}, "path")
    paths = {entry["path"] for entry in manifest["files"]}
    for entry in manifest["files"]:
        relative = _safe_relative(entry["path"])
        for parent in list(relative.parents)[:-1]:
            if str(parent) in paths:
                raise BackupError("backup_manifest_invalid",
                                  {"detail": f"files: {parent} is both a file and a folder"})
    return manifest


def _check_entries(manifest: dict, field: str, shape: dict[str, type], key: str) -> None:
    entries = manifest.get(field)
    if not isinstance(entries, list):
        raise BackupError("backup_manifest_invalid", {"detail": f"{field} is not a list"})
    seen: set[str] = set()
    for number, entry in enumerate(entries):
        where = f"{field}[{number}]"
        if not isinstance(entry, dict):
            raise BackupError("backup_manifest_invalid", {"detail": f"{where} is not an object"})
        for name, expected in shape.items():
            value = entry.get(name)
            if type(value) is not expected or (expected is int and value < 0):
                raise BackupError("backup_manifest_invalid", {"detail": f"{where}.{name}"})
        if not SHA256.fullmatch(entry["sha256"]):
            raise BackupError("backup_manifest_invalid", {"detail": f"{where}.sha256"})
        if entry[key] in seen:
            raise BackupError("backup_manifest_invalid", {"detail": f"{field}: {entry[key]} twice"})
        seen.add(entry[key])


def _safe_relative(path: str) -> PurePosixPath:
    """A listed file's place under FILES_FOLDER: relative, no "..", written as plainly as it reads."""
    relative = PurePosixPath(path)
    if relative.is_absolute() or ".." in path.split("/") or "\\" in path:
        raise BackupError("backup_unsafe_path", {"path": path})
    if not relative.parts or str(relative) != path or "\x00" in path:
        raise BackupError("backup_manifest_invalid", {"detail": f"files: {path!r}"})
    return relative


def _check_members(archive: zipfile.ZipFile, manifest: dict) -> None:
    listed = {MANIFEST, SIGNATURE} | {f"data/{entry['name']}.jsonl" for entry in manifest["tables"]} | {
        f"files/{entry['path']}" for entry in manifest["files"]}
    unlisted = [name for name in archive.namelist() if name not in listed]
    if unlisted:
        raise BackupError("backup_unlisted_member", {"member": unlisted[0]})
    missing = sorted(listed - set(archive.namelist()) - {SIGNATURE})
    if missing:
        raise BackupError("backup_missing_member", {"member": missing[0]})


# --- restore -----------------------------------------------------------------------------------

def import_all(source: str | os.PathLike, allow_unsigned: bool = False) -> dict:
    """Restore an archive into this (empty, migrated) database; returns the manifest.

    ``allow_unsigned`` takes an archive without a signature, or whose signature this
    installation has no key to check; a signature that does not match is refused all the same."""
    with _open(source) as archive:
        manifest = read_manifest(archive, allow_unsigned)
        revision = schema_revision()
        if manifest["revision"] != revision:
            raise BackupError("backup_revision", {"archive": manifest["revision"], "database": revision})
        tables = {t.name: t for t in present_tables()}
        listed = [entry["name"] for entry in manifest["tables"]]
        unknown = [name for name in listed if name not in tables]
        if unknown:
            raise BackupError("backup_unknown_tables", {"tables": unknown})
        missing = [name for name in tables if name not in listed]
        if missing:
            raise BackupError("backup_manifest_invalid", {"detail": f"tables: {', '.join(missing)} missing"})
        _check_members(archive, manifest)
        filled = [name for name, table in tables.items()
                  if db.session.execute(sa.select(sa.literal(1)).select_from(table).limit(1)).first()]
        db.session.rollback()
        if filled:
            raise BackupError("backup_not_empty", {"tables": filled})
        folder = files_folder()
        if manifest["files"] and folder is None:
            raise BackupError("backup_no_files_folder")
        entries = {entry["name"]: entry for entry in manifest["tables"]}
        staging = _stage_files(archive, manifest["files"], folder) if manifest["files"] else None
        placed: list[Path] = []
        try:
            with db.engine.begin() as connection:
                for table in db.metadata.sorted_tables:
                    if table.name in entries:
                        written = _restore_table(archive, connection, table, entries[table.name]["sha256"])
                        if written != entries[table.name]["rows"]:
                            raise BackupError("backup_row_count", {"table": table.name, "found": written,
                                                                   "expected": entries[table.name]["rows"]})
                if connection.dialect.name == "postgresql":
                    _reset_sequences(connection, [tables[name] for name in entries])
                if staging is not None:
                    _place_files(staging, manifest["files"], folder, placed)
        except BaseException:
            for path in placed:
                path.unlink(missing_ok=True)
            raise
        finally:
            if staging is not None:
                shutil.rmtree(staging, ignore_errors=True)
    from congress.progress import stored

    stored.rebuild()  # derived, not kept in the archive
    db.session.commit()
    return manifest


def _lines(archive: zipfile.ZipFile, member: str, table: str):
    """The member's lines, numbered from 1, none longer than line_limit() read whole."""
    limit = line_limit()
    number = 0
    try:
        with archive.open(member) as source:
            while True:
                raw = source.readline(limit + 1)
                if not raw:
                    return
                number += 1
                if len(raw) > limit:
                    raise BackupError("backup_line_too_long", {"table": table, "line": number,
                                                               "limit": limit >> 20})
                yield number, raw
    except (*DAMAGED, OSError) as exc:
        raise BackupError("backup_damaged", {"member": member, "detail": _reason(exc)}) from None


def _row(table: sa.Table, kinds: dict[str, str], number: int, raw: bytes) -> dict:
    """One line as a row of ``table``: a JSON object with exactly its columns, each of its type."""
    where = {"table": table.name, "line": number}
    try:
        item = json.loads(raw)
    except (ValueError, RecursionError):
        item = None
    if not isinstance(item, dict):
        raise BackupError("backup_line_not_json", where)
    unknown = sorted(set(item) - set(kinds))
    if unknown:
        raise BackupError("backup_unknown_columns", {**where, "columns": unknown})
    missing = [name for name in kinds if name not in item]
    if missing:
        raise BackupError("backup_missing_columns", {**where, "columns": missing})
    row = {}
    for name, kind in kinds.items():
        column = table.columns[name]
        if item[name] is None and not column.nullable:
            raise BackupError("backup_empty_value", {**where, "column": name})
        try:
            row[name] = decode(kind, item[name])
        except (ValueError, TypeError, binascii.Error, InvalidOperation):
            raise BackupError("backup_bad_value", {**where, "column": name, "type": str(column.type)}) from None
    return row


def _restore_table(archive: zipfile.ZipFile, connection, table: sa.Table, sha256: str) -> int:
    """Insert the table's lines in batches; the lines' hash must be the manifest's."""
    kinds = {c.name: _kind(c) for c in table.columns}
    member = f"data/{table.name}.jsonl"
    digest = hashlib.sha256()
    count = 0
    batch: list[dict] = []
    for number, raw in _lines(archive, member, table.name):
        digest.update(raw)
        batch.append(_row(table, kinds, number, raw))
        if len(batch) >= BATCH:
            _insert(connection, table, batch, number)
            count += len(batch)
            batch = []
    if digest.hexdigest() != sha256:
        raise BackupError("backup_checksum", {"member": member})
    if batch:
        _insert(connection, table, batch, count + len(batch))
        count += len(batch)
    return count


def _insert(connection, table: sa.Table, batch: list[dict], last: int) -> None:
    try:
        connection.execute(table.insert(), batch)
    except sa.exc.SQLAlchemyError as exc:
        detail = _reason(getattr(exc, "orig", None) or exc)
        raise BackupError("backup_rows_refused", {"table": table.name, "first": last - len(batch) + 1,
                                                  "last": last, "detail": detail}) from None


def _stage_files(archive: zipfile.ZipFile, entries: list[dict], folder: Path) -> Path:
    """Copy the listed files into a staging folder inside FILES_FOLDER, each checked against
    its size and hash; a file already in FILES_FOLDER must hold the same bytes."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".restore-", dir=folder))
    except OSError as exc:
        raise _unwritable(exc) from None
    try:
        for entry in entries:
            member = f"files/{entry['path']}"
            copy = staging.joinpath(*_safe_relative(entry["path"]).parts)
            digest, size = hashlib.sha256(), 0
            try:
                copy.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(member) as source, copy.open("wb") as out:
                    for block in iter(lambda: source.read(BLOCK), b""):
                        size += len(block)
                        if size > entry["size"]:
                            break
                        digest.update(block)
                        out.write(block)
            except DAMAGED as exc:
                raise BackupError("backup_damaged", {"member": member, "detail": _reason(exc)}) from None
            except OSError as exc:
                raise _unwritable(exc) from None
            if size != entry["size"] or digest.hexdigest() != entry["sha256"]:
                raise BackupError("backup_checksum", {"member": member})
            existing = folder.joinpath(*_safe_relative(entry["path"]).parts)
            if existing.exists() and (not existing.is_file() or _sha256(existing) != entry["sha256"]):
                raise BackupError("backup_file_exists", {"path": entry["path"]})
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return staging


def _place_files(staging: Path, entries: list[dict], folder: Path, placed: list[Path]) -> None:
    """Move the staged files into place; ``placed`` gets each one moved, to be removed on failure
    (a file that was there already, with the same bytes, is left as it is)."""
    for entry in entries:
        parts = _safe_relative(entry["path"]).parts
        destination = folder.joinpath(*parts)
        if destination.exists():
            continue
        try:
            destination.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging.joinpath(*parts), destination)
        except OSError as exc:
            raise _unwritable(exc) from None
        placed.append(destination)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        for block in iter(lambda: source.read(BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def _unwritable(exc: OSError) -> Exception:
    if exc.errno in NO_ROOM:
        return StorageFull()
    return BackupError("backup_files_unwritable", {"detail": _reason(exc)})


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

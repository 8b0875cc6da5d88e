"""Full backup and restore: the demo database restored into an empty one is identical, table by
table and row by row (the audit log included); damaged archives and non-empty databases are
refused before anything is written; the flask commands."""
from __future__ import annotations

import json
import zipfile

import pytest
import sqlalchemy as sa

from congress.audit.operations import record
from congress.extensions import db
from congress.transfers import backup


def every_row() -> dict[str, list[tuple]]:
    """Every table's rows in primary-key order."""
    rows = {}
    for table in backup.present_tables():
        order = list(table.primary_key.columns) or list(table.columns)
        rows[table.name] = [tuple(r) for r in db.session.execute(sa.select(table).order_by(*order)).all()]
    return rows


@pytest.fixture
def files(tmp_path):
    source = tmp_path / "files-source"
    (source / "drafts" / "10891").mkdir(parents=True)
    (source / "drafts" / "10891" / "bao-cao-chinh-tri.docx").write_bytes(b"PK\x03\x04 draft bytes \x00\xff")
    (source / "readme.txt").write_text("Tệp đã tải lên", encoding="utf-8")
    return source


def test_backup_of_the_demo_restores_to_an_identical_database(make_app, tmp_path, files):
    archive = tmp_path / "backup.zip"
    demo = make_app("demo", FILES_FOLDER=str(files))
    with demo.app_context():
        expected = every_row()
        manifest = backup.export_all(archive)
    assert expected["audit_records"] and expected["branches"] and expected["steps"]
    assert {t["name"]: t["rows"] for t in manifest["tables"]}["audit_records"] == len(expected["audit_records"])
    assert manifest["revision"] and len(manifest["files"]) == 2
    restored_files = tmp_path / "files-restored"
    empty = make_app("empty", FILES_FOLDER=str(restored_files))
    with empty.app_context():
        backup.import_all(archive)
        db.session.expire_all()
        assert every_row() == expected
        # the sequences moved on: new rows get fresh ids (PostgreSQL), no clash with restored ones
        entry = record(action="test.after_restore", entity="test")
        db.session.commit()
        assert entry.id == max(r[0] for r in expected["audit_records"]) + 1
    draft = restored_files / "drafts" / "10891" / "bao-cao-chinh-tri.docx"
    assert draft.read_bytes() == b"PK\x03\x04 draft bytes \x00\xff"
    assert (restored_files / "readme.txt").read_text(encoding="utf-8") == "Tệp đã tải lên"


def test_restore_refuses_a_database_that_is_not_empty(app, tmp_path):
    archive = tmp_path / "backup.zip"
    backup.export_all(archive)
    before = every_row()
    with pytest.raises(backup.BackupError) as refused:
        backup.import_all(archive)
    assert refused.value.code == "backup_not_empty" and "units" in refused.value.params["tables"]
    assert every_row() == before


def _tampered(source, target, member, change):
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(target, "w") as copy:
        for item in original.infolist():
            data = original.read(item.filename)
            copy.writestr(item, change(data) if item.filename == member else data)


def test_restore_refuses_a_damaged_or_foreign_archive_and_writes_nothing(make_app, tmp_path):
    archive = tmp_path / "backup.zip"
    demo = make_app("demo")
    with demo.app_context():
        backup.export_all(archive)
    damaged = tmp_path / "damaged.zip"
    _tampered(archive, damaged, "data/units.jsonl", lambda data: data.replace("Tứ Minh".encode(), "Tứ Mình".encode()))
    other_revision = tmp_path / "other.zip"

    with zipfile.ZipFile(archive) as original:
        manifest = json.loads(original.read(backup.MANIFEST))
    manifest["revision"] = "0001_initial"
    older = json.dumps(manifest).encode()
    signed_older = tmp_path / "signed-older.zip"  # made, and signed, at another revision
    _tampered(archive, signed_older, backup.MANIFEST, lambda data: older)
    with demo.app_context():
        signature = backup.sign(older, backup.backup_key())
    _tampered(signed_older, other_revision, backup.SIGNATURE, lambda data: signature)
    not_zip = tmp_path / "not.zip"
    not_zip.write_bytes(b"hello")
    empty = make_app("empty")
    with empty.app_context():
        for path, code in ((damaged, "backup_checksum"), (other_revision, "backup_revision"),
                           (not_zip, "backup_not_zip")):
            with pytest.raises(backup.BackupError) as refused:
                backup.import_all(path)
            assert refused.value.code == code
        assert not any(every_row().values())


def test_a_restore_failing_midway_leaves_the_database_empty(make_app, tmp_path, monkeypatch):
    archive = tmp_path / "backup.zip"
    with make_app("demo").app_context():
        backup.export_all(archive)
    empty = make_app("empty")
    with empty.app_context():
        original = backup._restore_table

        def failing(archive_file, connection, table, *rest):
            if table.name == "steps":
                raise RuntimeError("the disk is full")
            return original(archive_file, connection, table, *rest)

        monkeypatch.setattr(backup, "_restore_table", failing)
        with pytest.raises(RuntimeError):
            backup.import_all(archive)
        assert not any(every_row().values())


def test_the_export_and_import_commands(make_app, tmp_path):
    archive = tmp_path / "demo-backup.zip"
    demo = make_app("demo")
    with demo.app_context():
        expected = every_row()
    result = demo.test_cli_runner().invoke(args=["export", "--all", str(archive)])
    assert result.exit_code == 0, result.output
    assert "tables" in result.output and archive.is_file()
    missing_flag = demo.test_cli_runner().invoke(args=["export", str(archive)])
    assert missing_flag.exit_code == 2 and "--all" in missing_flag.output
    refused = demo.test_cli_runner().invoke(args=["import", "--all", str(archive)])
    assert refused.exit_code == 1 and "không trống" in refused.output
    empty = make_app("empty")
    result = empty.test_cli_runner().invoke(args=["import", "--all", str(archive)])
    assert result.exit_code == 0, result.output
    with empty.app_context():
        assert every_row() == expected

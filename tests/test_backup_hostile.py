"""Restore with any archive: a malformed, damaged, forged or hostile archive is refused with one
sentence (no traceback) and leaves the database and FILES_FOLDER as they were; long lines are
refused without being read whole; every file is checked against its hash; archives are signed
with CONGRESS_BACKUP_KEY."""
from __future__ import annotations

import hashlib
import hmac
import json
import random
import tracemalloc
import warnings
import zipfile

import pytest

from congress.config import from_environment
from congress.messages import describe
from congress.transfers import backup
from tests.test_transfers_backup import every_row

KEY = "0123456789abcdef" * 4
OTHER_KEY = "fedcba9876543210" * 4


def sign(manifest: bytes, key: str) -> bytes:
    return hmac.new(key.encode(), manifest, hashlib.sha256).hexdigest().encode("ascii")


@pytest.fixture
def made(make_app, tmp_path):
    """An archive of the base data (114 units) with two uploaded files, signed with KEY."""
    source = tmp_path / "files-source"
    (source / "ab").mkdir(parents=True)
    (source / "ab" / "abcdef").write_bytes(b"draft bytes \x00\xff")
    (source / "readme.txt").write_text("Tệp đã tải lên", encoding="utf-8")
    archive = tmp_path / "backup.zip"
    with make_app("base", BACKUP_KEY=KEY, FILES_FOLDER=str(source)).app_context():
        backup.export_all(archive)
    return archive


@pytest.fixture
def restored(tmp_path):
    return tmp_path / "files-restored"


@pytest.fixture
def target(make_app, restored):
    """The empty database an archive is restored into, with the same key."""
    return make_app("empty", BACKUP_KEY=KEY, FILES_FOLDER=str(restored))


def members(archive) -> dict[str, bytes]:
    with zipfile.ZipFile(archive) as source:
        return {name: source.read(name) for name in source.namelist()}


def write(target, items: dict[str, bytes] | list[tuple[str, bytes]]) -> None:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # a name twice, on purpose
        for name, data in (items.items() if isinstance(items, dict) else items):
            out.writestr(name, data)


def forge(source, target, *, tables=None, files=None, manifest=None, drop=(), extra=(), key=KEY):
    """A copy of ``source`` with ``tables`` (name → JSON lines) and ``files`` (path → bytes)
    replaced and their hashes and counts recomputed, ``manifest`` applied to the manifest (a dict
    to change, or returning bytes to store instead), the members ``drop`` left out and ``extra``
    (name, bytes) added; signed with ``key`` (None: unsigned), as someone holding the key would."""
    items = members(source)
    document = json.loads(items[backup.MANIFEST])
    for name, data in (tables or {}).items():
        items[f"data/{name}.jsonl"] = data
        for entry in document["tables"]:
            if entry["name"] == name:
                entry["sha256"] = hashlib.sha256(data).hexdigest()
                entry["rows"] = data.count(b"\n")
    for path, data in (files or {}).items():
        items[f"files/{path}"] = data
        for entry in document["files"]:
            if entry["path"] == path:
                entry["sha256"], entry["size"] = hashlib.sha256(data).hexdigest(), len(data)
    edited = manifest(document) if manifest else None
    raw = edited if isinstance(edited, bytes) else json.dumps(document).encode()
    items[backup.MANIFEST] = raw
    items.pop(backup.SIGNATURE, None)
    if key:
        items[backup.SIGNATURE] = sign(raw, key)
    for name in drop:
        items.pop(name)
    write(target, [*items.items(), *extra])
    return target


def refused(app, archive, code, *flags) -> dict:
    """Restore ``archive`` into ``app`` directly and through the command: refused with ``code``,
    one line and no traceback; the database empty and no file written. Returns the params."""
    with app.app_context():
        with pytest.raises(backup.BackupError) as error:
            backup.import_all(archive, allow_unsigned="--unsigned" in flags)
        assert error.value.code == code, error.value.params
        assert not any(every_row().values())
    result = app.test_cli_runner().invoke(args=["import", "--all", *flags, str(archive)])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output and result.output.startswith("Error: ")
    assert result.output.count("\n") == 1, result.output
    with app.app_context():
        assert not any(every_row().values())
        folder = backup.files_folder()
    assert not folder.exists() or not [p for p in folder.rglob("*") if p.is_file()]
    return error.value.params


def unit_lines(archive) -> list[bytes]:
    return members(archive)["data/units.jsonl"].splitlines(keepends=True)


# --- not an archive, damaged archives ----------------------------------------------------------

def test_a_file_that_is_not_a_zip_or_is_truncated_is_refused(made, target, tmp_path):
    for name, data in (("hello.zip", b"hello"), ("empty.zip", b""),
                       ("truncated.zip", made.read_bytes()[: made.stat().st_size // 2])):
        path = tmp_path / name
        path.write_bytes(data)
        refused(target, path, "backup_not_zip")


def test_a_zip_without_a_manifest_is_refused(made, target, tmp_path):
    items = members(made)
    del items[backup.MANIFEST]
    write(tmp_path / "no-manifest.zip", items)
    refused(target, tmp_path / "no-manifest.zip", "backup_no_manifest")


def test_a_damaged_member_is_refused(made, target, tmp_path):
    data = bytearray(made.read_bytes())
    with zipfile.ZipFile(made) as archive:
        info = archive.getinfo("data/units.jsonl")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra) + 200
    data[start:start + 16] = bytes(16)
    damaged = tmp_path / "damaged.zip"
    damaged.write_bytes(bytes(data))
    code = None
    with target.app_context():
        with pytest.raises(backup.BackupError) as error:
            backup.import_all(damaged)
        code = error.value.code
    assert code in ("backup_damaged", "backup_line_not_json", "backup_checksum")
    refused(target, damaged, code)


def test_flipped_bytes_anywhere_are_refused_with_a_message_or_restore_nothing_wrong(make_app, tmp_path):
    """An archive of an empty database (so that a restore that succeeds can run again) with one
    byte changed at a time, all over it: a message every time it is refused, never another error."""
    source = tmp_path / "files-source"
    source.mkdir()
    (source / "one.txt").write_bytes(b"one file")
    archive = tmp_path / "empty.zip"
    with make_app("empty", BACKUP_KEY=KEY, FILES_FOLDER=str(source)).app_context():
        backup.export_all(archive)
    original = archive.read_bytes()
    app = make_app("empty", BACKUP_KEY=KEY, FILES_FOLDER=str(tmp_path / "restored"))
    flipped = tmp_path / "flipped.zip"
    chance = random.Random(20250805)
    with app.app_context():
        for position in sorted(chance.sample(range(len(original)), 150)):
            data = bytearray(original)
            data[position] ^= 1 << chance.randrange(8)
            flipped.write_bytes(bytes(data))
            try:
                backup.import_all(flipped)
            except backup.BackupError as refused:  # refused is fine: with a message a person reads
                assert describe(refused.code, refused.params)
            assert not any(every_row().values())


# --- the manifest ------------------------------------------------------------------------------

def _set(path, value):
    def change(document):
        *parents, last = path
        node = document
        for key in parents:
            node = node[key]
        if value is KeyError:
            del node[last]
        else:
            node[last] = value
    return change


@pytest.mark.parametrize("change, code", [
    (lambda d: b"{not json", "backup_manifest_invalid"),
    (lambda d: b"\xff\xfe", "backup_manifest_invalid"),
    (lambda d: b"[1, 2]", "backup_manifest_invalid"),
    (_set(["format"], "another-app/1"), "backup_invalid"),
    (_set(["tables"], {"units": 1}), "backup_manifest_invalid"),
    (_set(["files"], "none"), "backup_manifest_invalid"),
    (_set(["tables", 0, "sha256"], KeyError), "backup_manifest_invalid"),
    (_set(["tables", 0, "rows"], "114"), "backup_manifest_invalid"),
    (_set(["tables", 0, "rows"], -1), "backup_manifest_invalid"),
    (_set(["tables", 0, "rows"], True), "backup_manifest_invalid"),
    (_set(["tables", 0, "name"], ["units"]), "backup_manifest_invalid"),
    (_set(["tables", 0, "sha256"], "not a hash"), "backup_manifest_invalid"),
    (_set(["tables", 0], "units"), "backup_manifest_invalid"),
    (_set(["files", 0, "size"], "12"), "backup_manifest_invalid"),
    (_set(["files", 0, "sha256"], "0" * 63), "backup_manifest_invalid"),
    (_set(["revision"], 12), "backup_manifest_invalid"),
    (lambda d: d["tables"].append(dict(d["tables"][0])), "backup_manifest_invalid"),
    (lambda d: d["tables"].pop(), "backup_manifest_invalid"),
    (lambda d: d["files"].append(dict(d["files"][0])), "backup_manifest_invalid"),
    (lambda d: d["tables"].append({"name": "secrets", "rows": 0, "sha256": "0" * 64}), "backup_unknown_tables"),
], ids=["not-json", "not-utf8", "a-list", "format", "tables-not-a-list", "files-not-a-list", "missing-key",
        "rows-text", "rows-negative", "rows-bool", "name-list", "sha-not-hex", "entry-not-object",
        "size-text", "sha-short", "revision-number", "table-twice", "table-missing", "file-twice",
        "unknown-table"])
def test_a_malformed_manifest_is_refused(made, target, tmp_path, change, code):
    refused(target, forge(made, tmp_path / "forged.zip", manifest=change), code)


@pytest.mark.parametrize("path", ["../../etc/cron.d/evil", "/etc/cron.d/evil", "ab/../../evil", "ab//abcdef",
                                  "ab/./abcdef", "", "ab/abcdef/inner"])
def test_a_file_path_outside_the_folder_or_not_plain_is_refused(made, target, tmp_path, path):
    def outside(document):
        document["files"].append({"path": path, "size": 4, "sha256": hashlib.sha256(b"evil").hexdigest()})

    forged = forge(made, tmp_path / "forged.zip", manifest=outside, extra=[(f"files/{path}", b"evil")])
    refused(target, forged, "backup_unsafe_path" if path.startswith(("/", "..", "ab/..")) else
            "backup_manifest_invalid")
    assert not (tmp_path / "evil").exists() and not (tmp_path.parent / "evil").exists()


def test_a_member_with_an_unsafe_name_twice_or_not_listed_is_refused(made, target, tmp_path):
    assert refused(target, forge(made, tmp_path / "a.zip", extra=[("../evil", b"x")]),
                   "backup_unsafe_path")["path"] == "../evil"
    assert refused(target, forge(made, tmp_path / "b.zip", extra=[("/tmp/evil", b"x")]),
                   "backup_unsafe_path")["path"] == "/tmp/evil"
    assert refused(target, forge(made, tmp_path / "c.zip", extra=[("files/extra.txt", b"x")]),
                   "backup_unlisted_member")["member"] == "files/extra.txt"
    assert refused(target, forge(made, tmp_path / "d.zip", extra=[("data/units.jsonl", b"")]),
                   "backup_duplicate_member")["member"] == "data/units.jsonl"


def test_a_member_the_manifest_lists_but_the_archive_lacks_is_refused(made, target, tmp_path):
    assert refused(target, forge(made, tmp_path / "a.zip", drop=["data/units.jsonl"]),
                   "backup_missing_member")["member"] == "data/units.jsonl"
    assert refused(target, forge(made, tmp_path / "b.zip", drop=["files/readme.txt"]),
                   "backup_missing_member")["member"] == "files/readme.txt"


# --- the lines of a table ----------------------------------------------------------------------

def _unit(**change) -> bytes:
    row = {"id": 1, "code": "10891", "name": "Phường Tứ Minh", "kind": "ward", "province_code": "31", "members": 5}
    row.update(change)
    return json.dumps({k: v for k, v in row.items() if v is not KeyError}, ensure_ascii=False).encode() + b"\n"


@pytest.mark.parametrize("line, code, column", [
    (b"{\"id\": 1,\n", "backup_line_not_json", None),
    (b"\xff\xfe\n", "backup_line_not_json", None),
    (b"[1, 2, 3]\n", "backup_line_not_json", None),
    (b"\"units\"\n", "backup_line_not_json", None),
    (b"[" * 100_000 + b"\n", "backup_line_not_json", None),
    (_unit(is_admin=True), "backup_unknown_columns", None),
    (_unit(members=KeyError), "backup_missing_columns", None),
    (_unit(members="five"), "backup_bad_value", "members"),
    (_unit(members=True), "backup_bad_value", "members"),
    (_unit(members=2.5), "backup_bad_value", "members"),
    (_unit(members=10 ** 30), "backup_bad_value", "members"),
    (_unit(id="1"), "backup_bad_value", "id"),
    (_unit(name=17), "backup_bad_value", "name"),
    (_unit(name=None), "backup_empty_value", "name"),
], ids=["cut", "not-utf8", "list", "string", "nested", "unknown-column", "missing-column", "text-for-integer",
        "bool-for-integer", "float-for-integer", "huge-integer", "text-id", "number-for-text", "null-name"])
def test_a_line_that_is_not_a_row_of_its_table_is_refused(made, target, tmp_path, line, code, column):
    lines = unit_lines(made)
    lines.insert(2, line)
    params = refused(target, forge(made, tmp_path / "forged.zip", tables={"units": b"".join(lines)}), code)
    assert params["table"] == "units" and params["line"] == 3
    if column:
        assert params["column"] == column


def test_bad_dates_and_bytes_are_refused(made, target, tmp_path):
    branch = {"id": 1, "code": "CB01", "campaign_id": 1, "unit_id": 1, "name": "Chi bộ 1", "kind": "residential",
              "members": 3,
              "secretary": None, "planned_on": "2025-08-01", "held_on": None, "delegates": None,
              "new_secretary": None, "version": 1}
    for column, value in (("planned_on", "31/02/2025"), ("planned_on", 20250801), ("held_on", "2025-02-30")):
        line = json.dumps({**branch, column: value}).encode() + b"\n"
        params = refused(target, forge(made, tmp_path / "forged.zip", tables={"branches": line}), "backup_bad_value")
        assert (params["table"], params["line"], params["column"]) == ("branches", 1, column)


def test_rows_the_database_refuses_are_refused_with_the_table_named(made, target, tmp_path):
    lines = unit_lines(made)
    twice = forge(made, tmp_path / "twice.zip", tables={"units": b"".join(lines + lines[:1])})
    assert refused(target, twice, "backup_rows_refused")["table"] == "units"
    orphan = json.dumps({"id": 1, "code": "CB01", "campaign_id": 1, "unit_id": 999999, "name": "Chi bộ",
                         "kind": "residential",
                         "members": 3, "secretary": None, "planned_on": None, "held_on": None, "delegates": None,
                         "new_secretary": None, "version": 1}).encode() + b"\n"
    forged = forge(made, tmp_path / "orphan.zip", tables={"branches": orphan})
    assert refused(target, forged, "backup_rows_refused")["table"] == "branches"


def test_a_row_count_that_differs_from_the_manifest_is_refused(made, target, tmp_path):
    forged = forge(made, tmp_path / "forged.zip", manifest=lambda d: d["tables"][
        [t["name"] for t in d["tables"]].index("units")].update(rows=113))
    assert refused(target, forged, "backup_row_count")["table"] == "units"


def test_a_line_longer_than_the_limit_is_refused_without_reading_it_whole(make_app, made, restored, tmp_path):
    """One line of 50 MB, streamed into the archive: refused once the limit is passed, naming the
    table and the line, with memory well under the line's size."""
    long_line = tmp_path / "long.zip"
    items = members(made)
    document = json.loads(items[backup.MANIFEST])
    digest = hashlib.sha256()
    with zipfile.ZipFile(long_line, "w", zipfile.ZIP_DEFLATED) as out:
        for name, data in items.items():
            if name not in (backup.MANIFEST, backup.SIGNATURE, "data/units.jsonl"):
                out.writestr(name, data)
        first = unit_lines(made)[0]
        with out.open("data/units.jsonl", "w", force_zip64=True) as member:
            head = first[:-2] + b',"name_long":"'
            for block in (first, head):
                digest.update(block)
                member.write(block)
            chunk = b"x" * (1 << 20)
            for _ in range(50):
                digest.update(chunk)
                member.write(chunk)
            digest.update(b'"}\n')
            member.write(b'"}\n')
        for entry in document["tables"]:
            if entry["name"] == "units":
                entry.update(rows=2, sha256=digest.hexdigest())
        raw = json.dumps(document).encode()
        out.writestr(backup.MANIFEST, raw)
        out.writestr(backup.SIGNATURE, sign(raw, KEY))
    app = make_app("empty", BACKUP_KEY=KEY, FILES_FOLDER=str(restored), MAX_CONTENT_LENGTH=1 << 20)
    with app.app_context():
        assert backup.line_limit() == backup.MAX_LINE
        tracemalloc.start()
        try:
            with pytest.raises(backup.BackupError) as error:
                backup.import_all(long_line)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert error.value.code == "backup_line_too_long"
    assert (error.value.params["table"], error.value.params["line"]) == ("units", 2)
    assert peak < backup.MAX_LINE + (16 << 20) < 50 << 20
    refused(app, long_line, "backup_line_too_long")


# --- uploaded files ----------------------------------------------------------------------------

def test_a_file_whose_bytes_do_not_match_its_hash_is_refused(made, target, tmp_path):
    items = members(made)
    items["files/readme.txt"] = b"something else"
    write(tmp_path / "changed.zip", items)
    assert refused(target, tmp_path / "changed.zip", "backup_checksum")["member"] == "files/readme.txt"
    longer = forge(made, tmp_path / "longer.zip", manifest=lambda d: d["files"][0].update(size=3))
    assert refused(target, longer, "backup_checksum")["member"].startswith("files/")


def test_a_file_already_in_the_folder_with_other_content_is_refused(made, target, restored, tmp_path):
    (restored / "ab").mkdir(parents=True)
    (restored / "ab" / "abcdef").write_bytes(b"another file")
    with target.app_context():
        with pytest.raises(backup.BackupError) as error:
            backup.import_all(made)
        assert not any(every_row().values())
    assert error.value.code == "backup_file_exists" and error.value.params["path"] == "ab/abcdef"
    assert (restored / "ab" / "abcdef").read_bytes() == b"another file"
    assert not (restored / "readme.txt").exists()
    assert [p.name for p in restored.iterdir()] == ["ab"]


def test_files_are_not_left_behind_when_the_database_part_fails(made, target, restored, tmp_path):
    orphan = json.dumps({"id": 1, "code": "CB01", "campaign_id": 1, "unit_id": 999999, "name": "Chi bộ",
                         "kind": "residential",
                         "members": 3, "secretary": None, "planned_on": None, "held_on": None, "delegates": None,
                         "new_secretary": None, "version": 1}).encode() + b"\n"
    refused(target, forge(made, tmp_path / "orphan.zip", tables={"branches": orphan}), "backup_rows_refused")
    assert not restored.exists() or not any(restored.iterdir())


# --- signatures --------------------------------------------------------------------------------

def test_a_forged_archive_with_an_admin_added_is_refused(make_app, tmp_path, restored):
    archive = tmp_path / "demo.zip"
    with make_app("demo", BACKUP_KEY=KEY).app_context():
        backup.export_all(archive)
    items = members(archive)
    users = items["data/users.jsonl"].splitlines(keepends=True)
    row = json.loads(users[0])
    top = max(json.loads(line)["id"] for line in users)
    row.update(id=top + 1, username="intruder", role="admin", unit_id=None, province_code=None, active=True)
    edited = b"".join(users) + json.dumps(row).encode() + b"\n"
    # the attacker recomputes every hash in the manifest but cannot sign it without the key
    target = make_app("empty", BACKUP_KEY=KEY, FILES_FOLDER=str(restored))
    refused(target, forge(archive, tmp_path / "forged.zip", tables={"users": edited}, key=OTHER_KEY),
            "backup_signature_wrong")
    # even when told to take unsigned archives: a signature that does not match is never taken
    refused(target, forge(archive, tmp_path / "forged.zip", tables={"users": edited}, key=OTHER_KEY),
            "backup_signature_wrong", "--unsigned")
    forged = forge(archive, tmp_path / "kept.zip", tables={"users": edited}, key=None)
    items = members(forged)
    write(forged, {**items, backup.SIGNATURE: members(archive)[backup.SIGNATURE]})
    refused(target, forged, "backup_signature_wrong")


def test_an_unsigned_archive_is_restored_only_with_the_unsigned_flag(made, target, tmp_path, restored):
    unsigned = forge(made, tmp_path / "unsigned.zip", key=None)
    refused(target, unsigned, "backup_unsigned")
    result = target.test_cli_runner().invoke(args=["import", "--all", "--unsigned", str(unsigned)])
    assert result.exit_code == 0, result.output
    with target.app_context():
        assert len(every_row()["units"]) == 114
    assert (restored / "readme.txt").read_text(encoding="utf-8") == "Tệp đã tải lên"


def test_a_signed_archive_without_a_key_to_check_it(made, make_app, tmp_path):
    app = make_app("empty", BACKUP_KEY=None, FILES_FOLDER=str(tmp_path / "restored"))
    refused(app, made, "backup_cannot_verify")
    with app.app_context():
        backup.import_all(made, allow_unsigned=True)
        assert len(every_row()["units"]) == 114


def test_the_import_help_says_what_unsigned_means(target):
    result = target.test_cli_runner().invoke(args=["import", "--help"])
    assert "--unsigned" in result.output and "CONGRESS_BACKUP_KEY" in result.output


def test_export_refuses_to_make_an_unsigned_archive_in_production(make_app, tmp_path):
    app = make_app("base", BACKUP_KEY=None, CONGRESS_MODE="production")
    result = app.test_cli_runner().invoke(args=["export", "--all", str(tmp_path / "backup.zip")])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    assert "CONGRESS_BACKUP_KEY" in result.output and "Traceback" not in result.output
    assert not list(tmp_path.glob("backup.zip*"))
    development = make_app("base", BACKUP_KEY=None)
    result = development.test_cli_runner().invoke(args=["export", "--all", str(tmp_path / "backup.zip")])
    assert result.exit_code == 0 and "unsigned" in result.output
    assert backup.SIGNATURE not in members(tmp_path / "backup.zip")


def test_the_signature_covers_the_manifest_bytes(made):
    items = members(made)
    assert hmac.compare_digest(items[backup.SIGNATURE], sign(items[backup.MANIFEST], KEY))


def test_the_backup_key_setting(monkeypatch, tmp_path):
    monkeypatch.setenv("SECRET_KEY", "s" * 64)
    monkeypatch.setenv("CONGRESS_BACKUP_KEY", KEY)
    assert from_environment(str(tmp_path), "production")["BACKUP_KEY"] == KEY
    monkeypatch.setenv("CONGRESS_BACKUP_KEY", "short")
    with pytest.raises(ValueError, match="CONGRESS_BACKUP_KEY"):
        from_environment(str(tmp_path), "production")
    monkeypatch.delenv("CONGRESS_BACKUP_KEY")
    assert from_environment(str(tmp_path), "production")["BACKUP_KEY"] is None
    # tests: one key for the whole process, so that one test app's archive restores into another
    assert from_environment(str(tmp_path), "testing")["BACKUP_KEY"] == \
        from_environment(str(tmp_path), "testing")["BACKUP_KEY"]


def test_an_archive_zipfile_cannot_read_is_refused_with_a_message(tmp_path, monkeypatch):
    """zipfile raises NotImplementedError for what it does not support (a damaged version field,
    "zip file version 10.9"): that is a damaged archive, said in a sentence, not a traceback."""
    def unsupported(*args, **kwargs):
        raise NotImplementedError("zip file version 10.9")

    archive = tmp_path / "odd.zip"
    archive.write_bytes(b"PK\x05\x06" + b"\0" * 18)
    monkeypatch.setattr(backup.zipfile, "ZipFile", unsupported)
    with pytest.raises(backup.BackupError) as refused:
        backup.import_all(archive)
    assert refused.value.code == "backup_not_zip"

"""Spreadsheet imports: reading, the preview of every kind of row, confirming all or nothing,
staleness, bad files, permissions, and the round trip export -> import."""
from __future__ import annotations

import csv
import io
import re
import unicodedata
import zipfile
from datetime import date

import pytest
import sqlalchemy as sa
from openpyxl import Workbook, load_workbook

from congress.accounts.models import User
from congress.audit.models import AuditRecord
from congress.extensions import db
from congress.progress import queries
from congress.progress.models import Step
from congress.transfers import exporting, importing
from congress.transfers.models import ImportBatch, ImportRow
from congress.units.models import Branch, Province, Unit
from tests.steps import approve_draft
from tests.test_web import login

TU_MINH, HONG_BANG = "10891", "11311"
BRANCH_HEADINGS = ["Mã đơn vị", "Mã chi bộ", "Tên chi bộ", "Loại", "Bí thư", "Số đảng viên", "Ngày đại hội",
                   "Ngày đã đại hội", "Số đại biểu", "Bí thư mới"]


# --- helpers -----------------------------------------------------------------------------------

def xlsx(rows: list[list], formulas: dict[tuple[int, int], str] | None = None) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    for (r, c), formula in (formulas or {}).items():
        sheet.cell(row=r, column=c).value = formula
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def csv_bytes(rows: list[list], delimiter: str = ",") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter).writerows(rows)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def user(username: str) -> User:
    return db.session.execute(db.select(User).filter_by(username=username)).scalar_one()


def unit_of(code: str) -> Unit:
    return db.session.execute(db.select(Unit).filter_by(code=code)).scalar_one()


def staged(kind: str, filename: str, content: bytes, actor: User) -> ImportBatch:
    """Upload and read a file at once (the job runs inline)."""
    from flask import current_app

    batch = importing.start_import(kind, filename, content, actor)
    db.session.commit()
    batch_id = batch.id
    importing.run(current_app._get_current_object(), batch_id)
    db.session.expire_all()
    return db.session.get(ImportBatch, batch_id)


def rows_of(batch: ImportBatch) -> dict[int, ImportRow]:
    return {r.number: r for r in db.session.execute(
        db.select(ImportRow).filter_by(batch_id=batch.id)).scalars()}


def codes_of(row: ImportRow) -> list[str]:
    return [p["code"] for p in row.problems or []]


def branch_facts(unit_code: str) -> list[tuple]:
    unit = unit_of(unit_code)
    return [(b.code, b.name, b.kind, b.secretary, b.members, b.planned_on, b.held_on, b.delegates,
             b.new_secretary) for b in queries.unit_branches(unit)]


def step_facts(unit_code: str) -> list[tuple]:
    unit = unit_of(unit_code)
    prep = queries.unit_preparation(unit)
    branch_codes = {b.id: b.code for b in queries.unit_branches(unit)}
    steps = db.session.execute(db.select(Step).filter_by(preparation_id=prep.id)).scalars()
    return sorted((branch_codes.get(s.branch_id, ""), s.key, s.state, s.started_on, s.submitted_on, s.approved_on,
                   s.completed_on) for s in steps)


def database_state() -> dict:
    """Every row of the tables an import touches, to show that nothing changed."""
    tables = ("branches", "steps", "units", "preparations", "audit_records")
    return {name: sorted(tuple(str(v) for v in row) for row in db.session.execute(
        sa.select(db.metadata.tables[name])).all()) for name in tables}


@pytest.fixture
def web_app(make_app):
    app = make_app("demo", TRANSFERS_JOBS_INLINE=True)
    with app.app_context():
        yield app


class Signed:
    """A signed-in test client that sends the form's CSRF token with every POST."""

    def __init__(self, app, username):
        self.client = app.test_client()
        assert login(self.client, username).status_code == 302
        page = self.client.get("/units/10891").get_data(as_text=True) or ""
        found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
        if found is None:
            page = self.client.get("/dashboard").get_data(as_text=True)
            found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
        self.token = found.group(1)

    def get(self, *args, **kwargs):
        return self.client.get(*args, **kwargs)

    def post(self, url, data=None, **kwargs):
        return self.client.post(url, data={**(data or {}), "csrf_token": self.token}, **kwargs)


def signed_in(app, username):
    return Signed(app, username)


def upload(client, kind: str, filename: str, content: bytes):
    return client.post("/transfers", data={"kind": kind, "file": (io.BytesIO(content), filename)},
                       content_type="multipart/form-data")


def token_of(response) -> str:
    return re.search(r"/transfers/([0-9a-f]{32})", response.headers["Location"]).group(1)


# --- the preview -------------------------------------------------------------------------------

def test_preview_marks_every_kind_of_row(app):
    app.config["TRANSFERS_JOBS_INLINE"] = True
    unit = unit_of(TU_MINH)
    first, second = queries.unit_branches(unit)[:2]
    nfd_name = unicodedata.normalize("NFD", "Chi bộ Thôn Mới Lập")
    rows = [
        ["Danh sách chi bộ phường Tứ Minh"],  # a title above the heading row, as offices write
        BRANCH_HEADINGS,
        [TU_MINH, first.code, first.name, "chi bộ", first.secretary, first.members, first.planned_on,
         first.held_on, first.delegates, first.new_secretary],                                     # 3 unchanged
        [TU_MINH, second.code, second.name, "", "Nguyễn Văn Mới", "", "", "", "", ""],             # 4 updated
        [TU_MINH, "", "Chi bộ Khu dân cư số 99", "chi bộ", "Trần Thị B", "31", "12/08/2025", "", "", ""],  # 5 new,
        # not yet held: it reopens the unit's completed step (every branch held), a warning that names it
        [TU_MINH, "", nfd_name, "chi bộ", "", "12", "", "", "", ""],                                # 6 warning
        ["99999", "", "Chi bộ ma", "", "", "", "", "", "", ""],                                     # 7 unknown unit
        [TU_MINH, "", "Chi bộ Tương Lai", "", "", "", "", "20/08/2025", "", ""],                  # 8 future date
        [TU_MINH, "", "Chi bộ Khu dân cư số 99", "", "", "", "", "", "", ""],                     # 9 duplicate
        [TU_MINH, "", "Chi bộ Số Sai", "", "", "ba mươi", "", "", "", ""],                         # 10 bad number
        [TU_MINH, "", "Chi bộ <script>alert(1)</script>", "", "", "", "", "", "", ""],             # 11 hostile text
        [TU_MINH, "", "Chi bộ Công Thức", "", "", "", "", "", "", ""],                             # 12 formula
    ]
    content = xlsx(rows, formulas={(12, 6): "=SUM(1,2)"})
    batch = staged("branches", "chi-bo.xlsx", content, user("tuminh.vanphong"))
    assert batch.state == "previewed", (batch.error, batch.error_params)
    found = rows_of(batch)
    assert found[3].status == "unchanged"
    assert found[4].status == "updated" and found[4].changes == {"secretary": [second.secretary, "Nguyễn Văn Mới"]}
    assert found[5].status == "warning" and found[5].values["planned_on"] == "2025-08-12"
    assert codes_of(found[5]) == ["import_reopens_completed_step"]
    assert found[5].problems[0]["params"]["step"] == "branch_congresses"
    assert found[6].status == "warning" and codes_of(found[6]) == ["import_not_nfc"]
    assert found[6].values["name"] == unicodedata.normalize("NFC", nfd_name)
    assert found[7].status == "error" and codes_of(found[7]) == ["import_unknown_unit"]
    assert found[8].status == "error" and codes_of(found[8]) == ["date_in_future"]
    assert found[9].status == "error" and codes_of(found[9]) == ["import_duplicate_row"]
    assert found[10].status == "error" and codes_of(found[10]) == ["import_bad_number"]
    assert found[11].status == "new" and found[11].values["name"] == "Chi bộ <script>alert(1)</script>"
    assert found[12].status == "error" and codes_of(found[12]) == ["import_formula"]
    assert batch.counts == {"new": 1, "updated": 1, "unchanged": 1, "warning": 2, "error": 5}
    assert importing.completed_changes(batch) == 1


def test_preview_page_shows_reasons_escaped_and_refuses_to_confirm_with_errors(web_app):
    client = signed_in(web_app, "tuminh.vanphong")
    content = csv_bytes([BRANCH_HEADINGS, [TU_MINH, "", "Chi bộ <b>đậm</b>", "", "", "", "", "", "", ""],
                         ["12345", "", "Chi bộ X", "", "", "", "", "", "", ""]])
    response = upload(client, "branches", "ds.csv", content)
    assert response.status_code == 302
    page = client.get(response.headers["Location"])
    html = page.get_data(as_text=True)
    assert "Chi bộ &lt;b&gt;đậm&lt;/b&gt;" in html and "<b>đậm</b>" not in html
    assert "12345" in html and "không tồn tại" in html
    before = database_state()
    refused = client.post(f"/transfers/{token_of(response)}/confirm")
    assert refused.status_code == 422
    assert database_state() == before


# --- confirming ----------------------------------------------------------------------------------

def test_confirm_applies_all_rows_in_one_audited_event(web_app):
    client = signed_in(web_app, "tuminh.vanphong")
    unit = unit_of(TU_MINH)
    branch = queries.unit_branches(unit)[0]
    before_count = len(queries.unit_branches(unit))
    content = csv_bytes([BRANCH_HEADINGS,
                         [TU_MINH, branch.code, branch.name, "", "Lê Văn Sửa", "44", "", "", "", ""],
                         [TU_MINH, "", "Chi bộ Trường Mới", "chi bộ", "Phạm Thị C", "9", "15/08/2025", "", "", ""]],
                        delimiter=";")
    response = upload(client, "branches", "sua.csv", content)
    token = token_of(response)
    # the new branch, not yet held, reopens Tứ Minh's completed step: confirmed only with the preview's box
    before = database_state()
    refused = client.post(f"/transfers/{token}/confirm")
    assert refused.status_code == 422 and "đánh dấu ô chấp nhận" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert database_state() == before
    done = client.post(f"/transfers/{token}/confirm", data={"accept_completed_changes": "1"})
    assert done.status_code == 302
    db.session.expire_all()
    branches = {b.name: b for b in queries.unit_branches(unit)}
    assert len(branches) == before_count + 1
    assert branches[branch.name].secretary == "Lê Văn Sửa" and branches[branch.name].members == 44
    added = branches["Chi bộ Trường Mới"]
    assert added.planned_on == date(2025, 8, 15)
    steps = db.session.execute(db.select(Step).filter_by(branch_id=added.id)).scalars().all()
    assert steps, "a new branch gets its workflow steps"
    event = db.session.execute(db.select(AuditRecord).filter_by(action="import.apply")).scalar_one()
    assert event.entity_key == token and event.unit_id == unit.id
    assert event.new["new"] == 1 and event.new["updated"] == 1 and event.new["file"] == "sua.csv"
    assert event.new["warning"] == 1  # the new branch carried the warning its acceptance answered
    assert db.session.execute(db.select(AuditRecord).filter_by(action="branch.add", entity_key=added.code)).first()
    again = client.post(f"/transfers/{token}/confirm", data={"accept_completed_changes": "1"})
    assert again.status_code == 422


def test_confirm_refuses_a_stale_preview_with_409(web_app):
    from congress.units.operations import update_branch

    client = signed_in(web_app, "tuminh.vanphong")
    branch = queries.unit_branches(unit_of(TU_MINH))[0]
    content = csv_bytes([BRANCH_HEADINGS, [TU_MINH, branch.code, branch.name, "", "Người Nhập", "", "", "", "", ""]])
    token = token_of(upload(client, "branches", "a.csv", content))
    update_branch(branch, {"secretary": "Người Khác"}, actor=user("tuminh.bithu"), version=branch.version)
    db.session.commit()
    before = database_state()
    response = client.post(f"/transfers/{token}/confirm")
    assert response.status_code == 409
    assert "thay đổi sau khi xem trước" in response.get_data(as_text=True)
    db.session.expire_all()
    assert database_state() == before
    assert db.session.get(Branch, branch.id).secretary == "Người Khác"


def test_an_import_failing_midway_leaves_the_database_as_it_was(web_app, monkeypatch):
    client = signed_in(web_app, "tuminh.vanphong")
    unit = unit_of(TU_MINH)
    branches = queries.unit_branches(unit)[:5]
    content = csv_bytes([BRANCH_HEADINGS] + [[TU_MINH, b.code, b.name, "", f"Bí thư {i}", "", "", "", "", ""]
                                             for i, b in enumerate(branches)])
    token = token_of(upload(client, "branches", "b.csv", content))
    before = database_state()
    applied = []
    original = importing.BranchApplier._one

    def failing(self, row, unit, prep, found):
        if len(applied) == 3:
            raise RuntimeError("the disk is full")
        applied.append(row.number)
        return original(self, row, unit, prep, found)

    monkeypatch.setattr(importing.BranchApplier, "_one", failing)
    response = client.post(f"/transfers/{token}/confirm")
    assert response.status_code == 500
    assert applied == [2, 3, 4]
    db.session.expire_all()
    assert database_state() == before
    assert db.session.execute(db.select(ImportBatch).filter_by(token=token)).scalar_one().state == "previewed"


def progress_rows(keys: list[str], state: str = "đang thực hiện") -> bytes:
    return csv_bytes([["Mã đơn vị", "Bước", "Trạng thái"]] + [[TU_MINH, key, state] for key in keys])


def test_a_row_refused_by_the_workflow_while_applying_changes_nothing(app):
    from tests.steps import finish_prerequisites

    app.config["TRANSFERS_JOBS_INLINE"] = True
    actor = user("tuminh.vanphong")
    prep = queries.unit_preparation(unit_of(TU_MINH))
    definition = prep.workflow_version.definition()
    # Tứ Minh waits for its congress: the steps after it cannot start, which the preview already says
    steps = {s.key: s for s in queries.unit_steps(prep)}
    open_steps = [k for k, s in steps.items() if s.state == "not_started"]
    waiting = [k for k in open_steps if any(steps[r].state != "done" for r in definition.step(k).requires)]
    assert waiting
    found = rows_of(staged("progress", "p.csv", progress_rows(open_steps), actor))
    assert {n for n, r in found.items() if codes_of(r) == ["prerequisites_incomplete"]} == {
        open_steps.index(k) + 2 for k in waiting}
    # once the congress is held, the steps after it may start
    finish_prerequisites(TU_MINH, "resolution", on=date(2025, 8, 1))
    steps = {s.key: s for s in queries.unit_steps(prep)}
    startable = [k for k, s in steps.items() if s.state == "not_started" and all(
        steps[r].state in ("done", "not_applicable") for r in definition.step(k).requires)]
    assert len(startable) >= 2
    batch = staged("progress", "p.csv", progress_rows(startable), actor)
    assert batch.counts["error"] == 0, [r.problems for r in rows_of(batch).values()]
    before = database_state()

    def refuse(*args, **kwargs):
        from congress.errors import Unprocessable

        raise Unprocessable("prerequisites_incomplete", {"steps": ["plan"]})

    original = importing.transition
    calls = []

    def second_refuses(step, **kwargs):
        calls.append(step.key)
        if len(calls) == 2:
            refuse()
        return original(step, **kwargs)

    importing.transition = second_refuses
    try:
        with pytest.raises(importing.Unprocessable) as refused:
            importing.apply_batch(batch, actor)
    finally:
        importing.transition = original
    assert refused.value.code == "import_row_refused" and refused.value.params["row"] == 3
    db.session.rollback()
    assert database_state() == before


# --- bad files ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("filename", "content", "code"), [
    ("anh.xlsx", b"\x89PNG\r\n\x1a\n" + b"\x00" * 200, "import_not_spreadsheet"),
    ("cu.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 200, "import_old_excel"),
    ("hong.xlsx", b"PK\x03\x04 broken zip", "import_not_spreadsheet"),
    ("sai-cot.csv", "Họ tên,Tuổi\nA,3\n".encode(), "import_missing_columns"),
    ("latin1.csv", b"M\xe3 \xf0\xf4n v\xec,T\xean chi b\xf4\n10891,Chi b\xf4 \xd0\xf4ng\n", "import_csv_encoding"),
    ("trong.csv", "\ufeffMã đơn vị,Tên chi bộ\n".encode(), "import_no_rows"),
])
def test_bad_files_get_a_clear_error_and_change_nothing(app, filename, content, code):
    before = database_state()
    batch = staged("branches", filename, content, user("tuminh.vanphong"))
    assert batch.state == "failed" and batch.error == code
    assert db.session.execute(db.select(ImportRow).filter_by(batch_id=batch.id)).first() is None
    assert database_state() == before


def test_100000_junk_rows_are_refused_at_the_limit(app):
    junk = "Mã đơn vị,Tên chi bộ\n" + "".join(f"x{i},rác {i}\n" for i in range(100_000))
    batch = staged("branches", "rac.csv", junk.encode(), user("tuminh.vanphong"))
    assert batch.state == "failed" and batch.error == "import_too_many_rows"
    assert batch.error_params == {"limit": importing.DEFAULT_MAX_ROWS}
    assert batch.done <= importing.DEFAULT_MAX_ROWS
    assert db.session.execute(db.select(ImportRow).filter_by(batch_id=batch.id)).first() is None


def test_upload_limits_and_page_errors(web_app):
    web_app.config["TRANSFERS_MAX_BYTES"] = 1000
    client = signed_in(web_app, "tuminh.vanphong")
    assert upload(client, "branches", "big.csv", b"x" * 2000).status_code == 422
    assert upload(client, "branches", "empty.csv", b"").status_code == 422
    assert client.post("/transfers", data={"kind": "branches"}).status_code == 422
    response = upload(client, "branches", "anh.png", b"\x89PNG\r\n\x1a\n\x00\x00")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "không phải là bảng tính" in page


# --- permissions ---------------------------------------------------------------------------------

def test_who_may_import(web_app):
    viewer = signed_in(web_app, "xem.tuminh")
    assert viewer.get("/transfers").status_code == 403
    assert upload(viewer, "branches", "a.csv", b"x").status_code == 403
    staff = signed_in(web_app, "tuminh.vanphong")
    assert staff.get("/transfers").status_code == 200
    assert upload(staff, "units", "u.csv", b"x").status_code == 403
    assert staff.get("/transfers/templates/units.xlsx").status_code == 403
    assert staff.get("/transfers/templates/branches.xlsx").status_code == 200
    content = csv_bytes([BRANCH_HEADINGS, [HONG_BANG, "", "Chi bộ Lạ", "", "", "", "", "", "", ""]])
    token = token_of(upload(staff, "branches", "khac.csv", content))
    row = db.session.execute(db.select(ImportRow).join(ImportBatch).filter(ImportBatch.token == token)).scalar_one()
    assert codes_of(row) == ["import_unit_out_of_scope"]
    other = signed_in(web_app, "hongbang.vanphong")
    assert other.get(f"/transfers/{token}").status_code == 404
    assert other.post(f"/transfers/{token}/confirm").status_code == 404
    city = signed_in(web_app, "thanhuy.vanphong")
    token = token_of(upload(city, "branches", "tp.csv", content))
    assert city.post(f"/transfers/{token}/confirm").status_code == 302
    db.session.expire_all()
    assert "Chi bộ Lạ" in [b.name for b in queries.unit_branches(unit_of(HONG_BANG))]
    assert signed_in(web_app, "thanhuy.lanhdao").get("/transfers").status_code == 403


def test_template_is_an_xlsx_the_importer_reads(web_app):
    client = signed_in(web_app, "admin")
    for kind in ("units", "branches", "progress"):
        response = client.get(f"/transfers/templates/{kind}.xlsx")
        assert response.status_code == 200
        sheet = load_workbook(io.BytesIO(response.data)).active
        assert sheet.freeze_panes == "A2"
        headings = [c.value for c in sheet[1]]
        assert "Mã đơn vị" in headings


# --- round trips -----------------------------------------------------------------------------------

def test_round_trip_branches_and_progress_into_a_fresh_database(make_app, make_user):
    demo = make_app("demo")
    with demo.app_context():
        unit = unit_of(TU_MINH)
        prep = queries.unit_preparation(unit)
        branches = queries.unit_branches(unit)
        branch_file = exporting.write(exporting.branches_table(unit, branches), "xlsx", "b").content
        progress_file = exporting.write(exporting.progress_table(
            unit, queries.unit_steps(prep), queries.branch_steps(prep), branches, {}, {}), "csv", "p").content
        expected_branches = branch_facts(TU_MINH)
        expected_steps = step_facts(TU_MINH)
        congress_on = prep.congress_on
    base = make_app("base", TRANSFERS_JOBS_INLINE=True)
    with base.app_context():
        admin = make_user("quantri", "admin")
        prep = queries.unit_preparation(unit_of(TU_MINH))
        prep.congress_on = congress_on  # the unit's own date, which branch due dates count from
        db.session.commit()
        batch = staged("branches", "b.xlsx", branch_file, admin)
        assert batch.counts["error"] == 0 and batch.counts["new"] == len(expected_branches)
        importing.apply_batch(batch, admin)
        db.session.commit()
        assert branch_facts(TU_MINH) == expected_branches
        # the steps the city approved through a draft: refused until the city approved a version of it
        batch = staged("progress", "p.csv", progress_file, admin)
        refused = {r.target: codes_of(r) for r in rows_of(batch).values() if r.status == "error"}
        assert refused[f"{TU_MINH}/documents_approval"] == refused[f"{TU_MINH}/personnel_plan"] == [
            "approval_needs_approved_draft"]
        # and the steps after them, which wait for them
        assert all(codes in (["approval_needs_approved_draft"], ["prerequisites_incomplete"])
                   for codes in refused.values())
        with pytest.raises(importing.Unprocessable) as with_errors:
            importing.apply_batch(batch, admin)
        assert with_errors.value.code == "import_has_errors"
        db.session.rollback()
        assert step_facts(TU_MINH) != expected_steps
        for kind in ("political_report", "personnel_submission"):
            approve_draft(TU_MINH, kind, on=date(2025, 7, 15))
        batch = staged("progress", "p.csv", progress_file, admin)
        problems = {r.number: r.problems for r in rows_of(batch).values() if r.status == "error"}
        assert not problems
        importing.apply_batch(batch, admin)
        db.session.commit()
        assert step_facts(TU_MINH) == expected_steps
        again = staged("progress", "p.csv", progress_file, admin)
        assert again.counts["new"] == again.counts["updated"] == again.counts["error"] == 0


def test_round_trip_units_and_a_3321_unit_import_with_progress(base_app, make_user, monkeypatch):
    from congress.seeding import reference

    base_app.config["TRANSFERS_JOBS_INLINE"] = True
    admin = make_user("quantri", "admin")
    db.session.execute(sa.insert(Province.__table__), [{"code": c, "name": n} for c, n in reference.provinces().items()
                                                        if c != "31"])
    db.session.commit()
    units = [(u.code, u.name, u.kind, u.province_code) for u in reference.units()]
    assert len(units) == 3321
    rows = [["Mã đơn vị", "Tên đơn vị", "Loại", "Mã tỉnh"]] + [
        [code, name, exporting.UNIT_KIND_WORDS[kind], province] for code, name, kind, province in units]
    progress = []
    original = importing._stage

    def watched(batch, classifier, chunk):
        original(batch, classifier, chunk)
        progress.append((batch.done, batch.total))

    monkeypatch.setattr(importing, "_stage", watched)
    batch = staged("units", "ca-nuoc.xlsx", xlsx(rows), admin)
    assert batch.state == "previewed", batch.error
    assert batch.counts == {"new": 3321 - 114, "updated": 0, "unchanged": 114, "warning": 0, "error": 0}
    assert len(progress) == 7 and progress[0] == (500, 3321) and progress[-1][0] == 3321
    importing.apply_batch(batch, admin)
    db.session.commit()
    assert db.session.execute(sa.select(sa.func.count(Unit.id))).scalar_one() == 3321
    exported = exporting.write(exporting.units_table(
        db.session.execute(db.select(Unit).order_by(Unit.code)).scalars().all(), {}), "csv", "u").content
    again = staged("units", "u.csv", exported, admin)
    assert again.counts == {"new": 0, "updated": 0, "unchanged": 3321, "warning": 0, "error": 0}


def test_import_job_status_reports_progress(web_app):
    client = signed_in(web_app, "tuminh.vanphong")
    content = csv_bytes([BRANCH_HEADINGS, [TU_MINH, "", "Chi bộ Mới", "", "", "", "", "", "", ""]])
    token = token_of(upload(client, "branches", "a.csv", content))
    status = client.get(f"/transfers/{token}.json").get_json()
    assert status["state"] == "previewed" and status["percent"] == 100 and status["done"] == 1
    dropped = client.post(f"/transfers/{token}/cancel")
    assert dropped.status_code == 302
    assert db.session.execute(db.select(ImportBatch).filter_by(token=token)).scalar_one().state == "cancelled"


def test_unit_import_reads_a_units_list_and_refuses_moves(base_app, make_user):
    base_app.config["TRANSFERS_JOBS_INLINE"] = True
    admin = make_user("quantri", "admin")
    content = csv_bytes([["Mã đơn vị", "Tên đơn vị", "Số đảng viên", "Mã tỉnh", "Ngày đại hội"],
                         [TU_MINH, "Phường Tứ Minh", "1.234", "31", "20/08/2025"],
                         [HONG_BANG, "Phường Hồng Bàng", "", "01", ""],
                         ["1234", "Xã Thiếu Số", "", "31", ""]])
    batch = staged("units", "u.csv", content, admin)
    found = rows_of(batch)
    assert found[2].status == "updated"
    assert found[2].changes == {"members": [None, 1234], "congress_on": [None, "2025-08-20"]}
    assert codes_of(found[3]) == ["province_not_found"] or "import_unit_moves" in codes_of(found[3])
    assert "import_new_unit_needs" in codes_of(found[4])  # 01234 does not exist: a new unit needs a kind


def test_zip_upload_that_is_not_a_workbook(app):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "not a workbook")
    batch = staged("branches", "a.xlsx", buffer.getvalue(), user("tuminh.vanphong"))
    assert batch.error == "import_not_spreadsheet"



def test_the_file_is_read_in_the_background_and_the_page_follows_it(make_app):
    import time

    app = make_app("demo")  # no TRANSFERS_JOBS_INLINE: a thread reads the file, as on a server
    with app.app_context():
        client = signed_in(app, "tuminh.vanphong")
        exported = client.get(f"/units/{TU_MINH}/export/progress.csv").data.decode("utf-8-sig")
        rows = list(csv.reader(io.StringIO(exported)))
        waiting = next(i for i, r in enumerate(rows) if r[1] == "" and r[3] == "chưa bắt đầu")
        rows[waiting][3] = "đang thực hiện"
        token = token_of(upload(client, "progress", "tien-do.csv", csv_bytes(rows)))
        page = client.get(f"/transfers/{token}").get_data(as_text=True)
        assert "transfers.js" in page or "Xác nhận nhập" in page  # still reading, or already read
        for _ in range(300):
            status = client.get(f"/transfers/{token}.json").get_json()
            if status["state"] not in ("queued", "reading"):
                break
            time.sleep(0.1)
        assert status == {"state": "previewed", "done": len(rows) - 1, "total": len(rows) - 1, "percent": 100,
                          "error": None}
        page = client.get(f"/transfers/{token}?status=updated").get_data(as_text=True)
        assert "chưa bắt đầu → đang thực hiện" in page and "transfers.js" not in page
        assert client.post(f"/transfers/{token}/confirm").status_code == 302
        for _ in range(300):  # applied in the background too
            status = client.get(f"/transfers/{token}.json").get_json()
            if status["state"] != "applying":
                break
            time.sleep(0.1)
        assert status["state"] == "applied"
        db.session.expire_all()
        step = db.session.execute(db.select(Step).filter_by(
            preparation_id=queries.unit_preparation(unit_of(TU_MINH)).id, branch_id=None,
            key=rows[waiting][2])).scalar_one()
        assert step.state == "in_progress"


def test_names_that_differ_only_by_their_diacritics_are_two_branches(app):
    content = csv_bytes([BRANCH_HEADINGS, [TU_MINH, "", "Chi bộ Thôn Đông", "", "", "", "", "", "", ""],
                         [TU_MINH, "", "Chi bộ Thôn Đồng", "", "", "", "", "", "", ""],
                         [TU_MINH, "", "chi bộ  thôn đồng", "", "", "", "", "", "", ""]])
    found = rows_of(staged("branches", "a.csv", content, user("tuminh.vanphong")))
    # two branches (the first, not yet held, reopens the unit's completed step), then a duplicate
    assert [found[n].status for n in (2, 3, 4)] == ["warning", "new", "error"]
    assert codes_of(found[2]) == ["import_reopens_completed_step"]
    assert codes_of(found[4]) == ["import_duplicate_row"]

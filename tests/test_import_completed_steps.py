"""Imports and hand edits never silently change a completed step, and the preview runs the checks
the confirmation runs.

In the demo, phường Tứ Minh's 105 branches have all held their congress (the last on 19/7/2025), so
its step "Hoàn thành đại hội các chi bộ, đảng bộ trực thuộc" (branch_congresses) completed on 19/7,
and "Phân bổ và bầu đại biểu dự đại hội" (delegates, which requires it) on 29/7.
"""
from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from congress.audit.models import AuditRecord
from congress.errors import Unprocessable
from congress.extensions import db
from congress.progress import queries
from congress.progress.models import Step
from congress.transfers import importing
from congress.units import operations as unit_ops
from congress.units.models import Branch
from tests.test_transfers import (
    BRANCH_HEADINGS,
    HONG_BANG,
    TU_MINH,
    codes_of,
    csv_bytes,
    database_state,
    rows_of,
    signed_in,
    staged,
    token_of,
    unit_of,
    upload,
    user,
)
from tests.test_web import login

ROLL_UP = "Hoàn thành đại hội các chi bộ, đảng bộ trực thuộc"
DELEGATES = "Phân bổ và bầu đại biểu dự đại hội"


def unit_step(key: str, code: str = TU_MINH) -> Step:
    db.session.expire_all()
    prep = queries.unit_preparation(unit_of(code))
    return db.session.execute(db.select(Step).filter_by(preparation_id=prep.id, branch_id=None, key=key)).scalar_one()


def branch_row(name: str, held_on: str = "") -> list:
    return [TU_MINH, "", name, "chi bộ", "Nguyễn Thị Lan", "12", "", held_on, "", ""]


def branch_file(*rows: list) -> bytes:
    return csv_bytes([BRANCH_HEADINGS, *rows])


def branch_count(code: str = TU_MINH) -> int:
    return len(queries.unit_branches(unit_of(code)))


def test_the_demo_unit_has_its_roll_up_and_its_dependent_done(app):
    roll_up, delegates = unit_step("branch_congresses"), unit_step("delegates")
    assert (roll_up.state, roll_up.completed_on) == ("done", date(2025, 7, 19))
    assert (delegates.state, delegates.completed_on) == ("done", date(2025, 7, 29))


# --- 4. the import -------------------------------------------------------------------------------

def test_the_preview_names_the_completed_step_an_added_branch_reopens(web_app):
    client = signed_in(web_app, "tuminh.vanphong")
    before = database_state()
    response = upload(client, "branches", "moi.csv", branch_file(branch_row("Chi bộ Khu đô thị mới")))
    db.session.expire_all()
    assert database_state() == before  # the preview ran the confirmation and took it back
    token = token_of(response)
    batch = importing.batch_for(token, user("tuminh.vanphong"))
    assert importing.completed_changes(batch) == 1 and batch.counts["error"] == 0
    row = rows_of(batch)[2]
    assert row.status == "warning" and codes_of(row) == ["import_reopens_completed_step"]
    page = client.get(f"/transfers/{token}").get_data(as_text=True)
    assert f"Nhập dòng này sẽ mở lại bước đã hoàn thành “{ROLL_UP}” của Phường Tứ Minh" in page
    assert "hoàn thành ngày 19/7/2025" in page
    assert 'name="accept_completed_changes"' in page
    assert "Mở lại bước đã hoàn thành hoặc đổi ngày hoàn thành như bản xem trước nêu" in page

    refused = client.post(f"/transfers/{token}/confirm")
    assert refused.status_code == 422
    assert "đánh dấu ô chấp nhận" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert database_state() == before and unit_step("branch_congresses").state == "done"

    done = client.post(f"/transfers/{token}/confirm", data={"accept_completed_changes": "1"})
    assert done.status_code == 302
    step = unit_step("branch_congresses")
    assert (step.state, step.completed_on) == ("in_progress", None)
    reopened = db.session.execute(db.select(AuditRecord).filter_by(
        action="step.auto_reopen", entity_key=f"{TU_MINH}/branch_congresses")).scalar_one()
    assert reopened.actor == "tuminh.vanphong"
    assert branch_count() == 106


def test_a_branch_already_held_before_the_dependent_re_dates_the_step_only_when_accepted(web_app):
    actor = user("tuminh.vanphong")
    batch = staged("branches", "b.csv", branch_file(branch_row("Chi bộ Tổ dân phố 30", "20/07/2025")), actor)
    row = rows_of(batch)[2]
    assert codes_of(row) == ["import_redates_completed_step"] and importing.completed_changes(batch) == 1
    assert row.problems[0]["params"]["completed_on"] == "19/7/2025"
    assert row.problems[0]["params"]["new_on"] == "20/7/2025"
    with pytest.raises(Unprocessable) as refused:
        importing.apply_batch(batch, actor)
    assert refused.value.code == "import_completed_changes_unconfirmed"
    db.session.rollback()
    importing.apply_batch(batch, actor, accept_completed_changes=True)
    db.session.commit()
    assert (unit_step("branch_congresses").state, unit_step("branch_congresses").completed_on) == (
        "done", date(2025, 7, 20))


def test_a_re_completion_after_a_finished_dependent_is_refused_in_the_preview(web_app):
    client = signed_in(web_app, "tuminh.vanphong")
    response = upload(client, "branches", "muon.csv", branch_file(branch_row("Chi bộ Tổ dân phố 31", "01/08/2025")))
    token = token_of(response)
    batch = importing.batch_for(token, user("tuminh.vanphong"))
    assert batch.counts["error"] == 1
    row = rows_of(batch)[2]
    assert row.status == "error" and codes_of(row) == ["completed_after_dependent"]
    page = client.get(f"/transfers/{token}").get_data(as_text=True)
    assert f"Bước “{ROLL_UP}” không thể hoàn thành ngày 1/8/2025" in page
    assert f"“{DELEGATES}”" in page and "29/7/2025" in page
    before = database_state()
    assert client.post(f"/transfers/{token}/confirm", data={"accept_completed_changes": "1"}).status_code == 422
    db.session.expire_all()
    assert database_state() == before


def test_the_acceptance_covers_what_the_preview_named_and_nothing_else(web_app):
    actor = user("tuminh.vanphong")
    batch = staged("branches", "b.csv", branch_file(branch_row("Chi bộ Khu A")), actor)
    assert importing.completed_changes(batch) == 1
    # after the preview, the step was reopened by hand: accepting the preview accepts nothing now
    branch = queries.unit_branches(unit_of(TU_MINH))[0]
    unit_ops.update_branch(branch, {"held_on": None}, actor=user("tuminh.bithu"), version=branch.version,
                           confirm_reopen=True)
    db.session.commit()
    with pytest.raises(importing.Conflict) as refused:
        importing.apply_batch(batch, actor, accept_completed_changes=True)
    assert refused.value.code == "import_completed_changes_differ"
    db.session.rollback()
    assert branch_count() == 105


def test_an_import_without_consequences_needs_no_acceptance(web_app):
    actor = user("tuminh.vanphong")
    branch = queries.unit_branches(unit_of(TU_MINH))[0]
    row = [TU_MINH, branch.code, branch.name, "", "Trần Văn Mới", "", "", "", "", ""]
    batch = staged("branches", "b.csv", branch_file(row), actor)
    assert importing.completed_changes(batch) == 0 and rows_of(batch)[2].status == "updated"
    importing.apply_batch(batch, actor)
    db.session.commit()
    assert db.session.get(Branch, branch.id).secretary == "Trần Văn Mới"


# --- 4. the same rule by hand --------------------------------------------------------------------

def test_adding_a_branch_by_hand_to_a_unit_whose_branches_are_all_held_needs_a_confirmation(app):
    actor = user("tuminh.vanphong")
    before = database_state()
    with pytest.raises(Unprocessable) as refused:
        unit_ops.add_branch(unit_of(TU_MINH), {"name": "Chi bộ Khu B", "kind": "chi_bo"}, actor=actor)
    assert refused.value.code == "completed_step_reopen" and refused.value.params["step"] == "branch_congresses"
    db.session.rollback()  # as every caller does with a refused operation
    assert database_state() == before
    branch = unit_ops.add_branch(unit_of(TU_MINH), {"name": "Chi bộ Khu B", "kind": "chi_bo"}, actor=actor,
                                 confirm_reopen=True)
    db.session.commit()
    assert branch.code == f"{TU_MINH}-106" and unit_step("branch_congresses").state == "in_progress"


def test_a_branch_already_held_is_added_without_reopening(app):
    actor = user("tuminh.vanphong")
    unit_ops.add_branch(unit_of(TU_MINH), {"name": "Chi bộ Khu C", "kind": "chi_bo", "held_on": date(2025, 7, 19)},
                        actor=actor)
    db.session.commit()
    step = unit_step("branch_congresses")
    assert (step.state, step.completed_on) == ("done", date(2025, 7, 19))


def test_the_api_and_the_page_refuse_it_in_words(app, api_as):
    staff = api_as("unit_staff", unit=TU_MINH, username="tuminh.vanphong")
    response = staff.post(f"/api/v1/units/{TU_MINH}/branches", json={"name": "Chi bộ Khu D"})
    assert response.status_code == 422 and response.json["error"] == "completed_step_reopen"
    assert f"mở lại bước “{ROLL_UP}” của Phường Tứ Minh, đã hoàn thành ngày 19/7/2025" in response.json["message"]
    client = app.test_client()
    assert login(client, "tuminh.vanphong").status_code == 302
    html = client.get(f"/units/{TU_MINH}/branches").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    page = client.post(f"/units/{TU_MINH}/branches/new", data={"new-csrf_token": token, "new-name": "Chi bộ Khu D",
                                                               "new-kind": "chi_bo"})
    assert page.status_code == 422 and f"mở lại bước “{ROLL_UP}”" in page.get_data(as_text=True)
    assert branch_count() == 105


def test_taking_a_branch_congress_back_by_hand_needs_a_confirmation(app):
    actor = user("tuminh.vanphong")
    branch = queries.unit_branches(unit_of(TU_MINH))[0]
    with pytest.raises(Unprocessable) as refused:
        unit_ops.update_branch(branch, {"held_on": None}, actor=actor, version=branch.version)
    assert refused.value.code == "completed_step_reopen"
    db.session.rollback()
    assert db.session.get(Branch, branch.id).held_on is not None
    unit_ops.update_branch(branch, {"held_on": None}, actor=actor, version=branch.version, confirm_reopen=True)
    db.session.commit()
    assert unit_step("branch_congresses").state == "in_progress"


def test_a_branch_congress_recorded_later_than_a_dependent_is_refused(app):
    actor = user("tuminh.vanphong")
    fields = {"name": "Chi bộ Khu E", "kind": "chi_bo", "held_on": date(2025, 8, 1)}
    with pytest.raises(Unprocessable) as refused:
        unit_ops.add_branch(unit_of(TU_MINH), fields, actor=actor, confirm_reopen=True)
    assert refused.value.code == "completed_after_dependent"
    assert refused.value.params["step"] == "branch_congresses" and refused.value.params["steps"] == ["delegates"]
    assert refused.value.params["dependent_on"] == date(2025, 7, 29)
    db.session.rollback()
    assert branch_count() == 105
    # the branch's own steps follow the same rule: its report cannot precede its congress
    branch = next(b for b in queries.unit_branches(unit_of(TU_MINH)) if b.held_on)
    with pytest.raises(Unprocessable) as refused:
        unit_ops.update_branch(branch, {"held_on": date(2025, 8, 4)}, actor=actor, version=branch.version)
    assert refused.value.code == "completed_after_dependent" and refused.value.params["steps"] == ["report"]
    db.session.rollback()


def test_a_correction_that_keeps_the_order_is_the_units_own_to_make(app):
    actor = user("tuminh.vanphong")
    latest = max((b for b in queries.unit_branches(unit_of(TU_MINH))), key=lambda b: b.held_on)
    held = latest.held_on
    unit_ops.update_branch(latest, {"held_on": held - timedelta(days=1)}, actor=actor, version=latest.version)
    db.session.commit()
    step = unit_step("branch_congresses")
    assert step.state == "done" and step.completed_on <= held


# --- 5. the preview runs the confirmation's checks --------------------------------------------

PROGRESS_HEADINGS = ["Mã đơn vị", "Mã chi bộ", "Bước", "Trạng thái", "Ngày bắt đầu", "Ngày hoàn thành"]


def test_a_missing_prerequisite_is_an_error_in_the_preview_not_a_surprise_on_confirm(web_app):
    """Hồng Bàng's branch congresses are not all held: completing its delegates is refused."""
    client = signed_in(web_app, "hongbang.vanphong")
    content = csv_bytes([PROGRESS_HEADINGS,
                         [HONG_BANG, "", "plan", "hoàn thành", "", ""],
                         [HONG_BANG, "", "delegates", "hoàn thành", "02/08/2025", "04/08/2025"]])
    before = database_state()
    token = token_of(upload(client, "progress", "tien-do.csv", content))
    batch = importing.batch_for(token, user("hongbang.vanphong"))
    found = rows_of(batch)
    assert found[3].status == "error" and codes_of(found[3]) == ["prerequisites_incomplete"]
    assert batch.counts["error"] == 1
    page = client.get(f"/transfers/{token}").get_data(as_text=True)
    assert ROLL_UP in page
    refused = client.post(f"/transfers/{token}/confirm")
    assert refused.status_code == 422 and "bị lỗi" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert database_state() == before


def test_a_congress_date_after_the_deadline_is_an_error_in_a_units_preview(app, make_user):
    admin = make_user("quantri", "admin")
    content = csv_bytes([["Mã đơn vị", "Ngày đại hội"], [HONG_BANG, "25/08/2025"], [TU_MINH, "14/08/2025"]])
    batch = staged("units", "dv.csv", content, admin)
    found = rows_of(batch)
    assert found[2].status == "error" and codes_of(found[2]) == ["congress_after_deadline_unconfirmed"]
    assert found[3].status == "updated"

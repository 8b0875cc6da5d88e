"""Every surface offers exactly the actions the operation accepts, for every role and every step of
both shipped workflows (the unit's and its branches'), in units at different points of their
preparation: the unit page's buttons, the API's ``actions`` and what the engine lets through."""
from __future__ import annotations

from collections import Counter
from datetime import date

import pytest

from congress.accounts.models import User
from congress.extensions import db
from congress.progress.models import Preparation, Step
from congress.progress.operations import transition
from congress.units.models import Unit
from tests.test_web_units import post_forms, signed_in, text
from workflows.rules import LIFECYCLE, REASON_REQUIRED, Action, State

#: Tứ Minh and Hồng Bàng (the demo's own accounts), a unit far along, a unit that has barely begun
ACCOUNTS = {  # username: (role, unit code, province code)
    "admin": ("admin", None, None),
    "thanhuy.lanhdao": ("city_leader", None, "31"),
    "thanhuy.vanphong": ("city_staff", None, "31"),
    "tuminh.bithu": ("unit_leader", "10891", None),
    "tuminh.vanphong": ("unit_staff", "10891", None),
    "hongbang.bithu": ("unit_leader", "11311", None),
    "xem.thanhpho": ("viewer", None, "31"),
    "xem.tuminh": ("viewer", "10891", None),
}
UNITS = ("10891", "11311")


def _unit(code: str) -> Unit:
    return db.session.execute(db.select(Unit).filter_by(code=code)).scalar_one()


def _steps(code: str, branches: int = 3) -> list[Step]:
    """The unit's own steps and those of its first few branches (every branch runs one workflow)."""
    prep = db.session.execute(db.select(Preparation).filter_by(unit_id=_unit(code).id)).scalar_one()
    steps = list(db.session.execute(db.select(Step).where(Step.preparation_id == prep.id)
                                    .order_by(Step.branch_id.nullsfirst(), Step.id)).scalars())
    kept = sorted({s.branch_id for s in steps if s.branch_id})[:branches]
    return [s for s in steps if s.branch_id is None or s.branch_id in kept]


def _label(step: Step) -> tuple[str | None, str]:
    return (step.branch.code if step.branch_id else None, step.key)


def accepted_by_the_operation(user: User, steps: list[Step]) -> dict[tuple, set[str]]:
    """Try every action on every step, each in a savepoint rolled back: what the engine accepts."""
    found = {}
    for step in steps:
        accepted = set()
        for action in Action:
            savepoint = db.session.begin_nested()
            try:
                transition(step, action=action, actor=user, version=step.version,
                           note="Lý do kiểm tra" if action in REASON_REQUIRED else None)
            except Exception as exc:  # noqa: BLE001 - any refusal means "not accepted"
                assert getattr(exc, "status", None) in (403, 409, 422), repr(exc)
            else:
                accepted.add(action.value)
            finally:
                savepoint.rollback()
                db.session.expire_all()
        found[_label(step)] = accepted
    return found


def offered_by_the_api(api_client, code: str) -> dict[tuple, set[str]]:
    body = api_client.get(f"/api/v1/units/{code}").json
    found = {(None, s["key"]): {a["action"] for a in s["actions"]} for s in body["steps"]}
    for branch in body["branches"]:
        for s in branch["steps"]:
            found[(branch["code"], s["key"])] = {a["action"] for a in s["actions"]}
    return found


def offered_by_the_page(client, code: str) -> dict[tuple, set[str]]:
    forms = post_forms(text(client.get(f"/units/{code}")))
    found: dict[tuple, set[str]] = {}
    for action in forms:
        parts = action.strip("/").split("/")
        if len(parts) == 5 and parts[:2] == ["units", code] and parts[2] == "steps":
            found.setdefault((None, parts[3]), set()).add(parts[4])
    return found


def _move_along(code: str) -> None:
    """A second picture of the unit: some steps submitted to the city, some done, one not applicable."""
    steps = {s.key: s for s in _steps(code) if s.branch_id is None}
    for key in ("plan", "subcommittees", "propaganda"):
        steps[key].state = State.DONE.value
        steps[key].completed_on = steps[key].completed_on or date(2025, 7, 10)
    steps["personnel_plan"].state = State.SUBMITTED.value
    steps["pilot_lessons"].state = State.NOT_APPLICABLE.value
    steps["pilot_lessons"].reason = "Không tổ chức"
    db.session.commit()


@pytest.mark.parametrize("moved", [False, True], ids=["as-seeded", "moved-along"])
def test_page_api_and_operation_agree_for_every_role_and_step(app, api_as, moved):
    if moved:
        for code in UNITS:
            _move_along(code)
    checked = 0
    for username, (role, unit_code, province) in ACCOUNTS.items():
        user = db.session.execute(db.select(User).filter_by(username=username)).scalar_one()
        assert (user.role, user.unit.code if user.unit else None) == (role, unit_code)
        api_client = api_as(role, username=username)
        page_client = signed_in(app, username)
        for code in UNITS:
            if not (role in ("admin", "city_leader", "city_staff") or province or unit_code == code):
                continue
            api = offered_by_the_api(api_client, code)
            page = offered_by_the_page(page_client, code)
            steps = _steps(code)
            accepted = accepted_by_the_operation(user, steps)
            db.session.rollback()
            api = {k: v for k, v in api.items() if k in accepted}
            assert len(api) == len(accepted)
            assert api == accepted, (username, code, {k: (api[k], accepted[k]) for k in api
                                                      if api[k] != accepted[k]})
            unit_accepted = {k: v for k, v in accepted.items() if k[0] is None and v}
            assert page == unit_accepted, (username, code, page, unit_accepted)
            checked += len(steps)
    assert checked > 300  # every step of both workflows, unit and branches, for every account


#: who may import progress, per unit: an admin, the city's staff, the unit's own leader and staff
IMPORTERS = {"10891": ("admin", "thanhuy.vanphong", "tuminh.bithu", "tuminh.vanphong"),
             "11311": ("admin", "thanhuy.vanphong", "hongbang.bithu", "hongbang.vanphong")}

def moved_by_the_operation(user: User, code: str, target: State) -> set[str]:
    """Each unit step taken to ``target`` by the lifecycle's forward run, in the sheet's order, each
    step in a savepoint as an import applies its rows: the steps the engine lets through."""
    from congress.progress.operations import definition_of
    from workflows.rules import forward_path

    moved = set()
    outer = db.session.begin_nested()
    try:
        for step in [s for s in _steps(code, branches=0)]:
            if step.state_enum is target:
                continue
            run = forward_path(step.state_enum, target, definition_of(step).approval)
            if not run:
                continue
            savepoint = db.session.begin_nested()
            try:
                for action in run:
                    transition(step, action=action, actor=user, version=step.version,
                               note="Lý do kiểm tra" if action in REASON_REQUIRED else None)
            except Exception as exc:  # noqa: BLE001 - a refusal leaves the step as it was
                assert getattr(exc, "status", None) in (403, 409, 422), repr(exc)
                savepoint.rollback()
            else:
                savepoint.commit()
                moved.add(step.key)
    finally:
        outer.rollback()
        db.session.expire_all()
    return moved


def moved_by_the_import(user: User, code: str, target: State) -> set[str]:
    """The rows of a progress sheet taking every unit step to ``target`` that the preview accepts."""
    from tests.test_transfers import csv_bytes, rows_of, staged

    steps = _steps(code, branches=0)
    rows = [["Mã đơn vị", "Bước", "Trạng thái", "Ghi chú"]]
    rows += [[code, s.key, LIFECYCLE.label(target.value, "vi"), "Lý do kiểm tra"] for s in steps]
    batch = staged("progress", "p.csv", csv_bytes(rows), user)
    found = rows_of(batch)
    return {steps[number - 2].key for number, row in found.items()
            if row.status not in ("error", "unchanged") and steps[number - 2].state_enum is not target}


def test_the_import_moves_exactly_what_the_operation_accepts(app):
    app.config["TRANSFERS_JOBS_INLINE"] = True
    _move_along("10891")  # Hồng Bàng stays as the demo has it: steps in every state
    moved = Counter()
    for target in State:
        for code, usernames in IMPORTERS.items():
            for username in usernames:
                user = db.session.execute(db.select(User).filter_by(username=username)).scalar_one()
                by_import = moved_by_the_import(user, code, target)
                by_operation = moved_by_the_operation(user, code, target)
                db.session.rollback()
                assert by_import == by_operation, (username, code, target, by_import, by_operation)
                moved[target] += len(by_import)
    # some step can be taken to each of these by someone, so the comparison is not of empty sets
    assert all(moved[s] for s in (State.APPROVED, State.DONE, State.NOT_APPLICABLE)), moved

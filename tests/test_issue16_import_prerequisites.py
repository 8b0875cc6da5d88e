"""A progress file whose preview shows no error is not refused on confirm for a missing
prerequisite: the preview runs the confirmation's checks, row by row in the file's order
(congress.transfers.importing.check_batch).

Tried: steps marked done whose prerequisites are done only by earlier (or later) rows of the same
file, a prerequisite in the file refused itself, the automatic roll-up steps (a branch's congress,
the unit's "all branches held"), unit steps whose prerequisite is that roll-up, branch steps, and
random files over units in every stage of the demo. Whenever the confirmation refuses, the preview
already said why; and once the rows it marked are taken out, the rest confirms.
"""
from __future__ import annotations

import random
from datetime import date, timedelta

import pytest

from congress.errors import OperationError
from congress.extensions import db
from congress.progress import queries
from congress.progress.actions import is_congress_step
from congress.progress.models import Step
from congress.transfers import importing
from congress.transfers.models import ImportBatch
from congress.units.models import Branch
from tests.test_transfers import BRANCH_HEADINGS, HONG_BANG, TU_MINH, codes_of, csv_bytes, rows_of, staged, unit_of

HEADINGS = ["Mã đơn vị", "Mã chi bộ", "Bước", "Trạng thái", "Ngày bắt đầu", "Ngày trình", "Ngày duyệt",
            "Ngày hoàn thành", "Ghi chú"]
TODAY = date(2025, 8, 5)
FINISHED_STATES = ("done", "not_applicable")


def day(value: date | None) -> str:
    return f"{value.day}/{value.month}/{value.year}" if value else ""


def row(unit: str, step: str, state: str, *, branch: str = "", started: date | None = None,
        submitted: date | None = None, approved: date | None = None, completed: date | None = None,
        note: str = "") -> list:
    return [unit, branch, step, state, day(started), day(submitted), day(approved), day(completed), note]


def unit_steps(code: str) -> dict[str, Step]:
    db.session.expire_all()
    return {s.key: s for s in queries.unit_steps(queries.unit_preparation(unit_of(code)))}


def definition(code: str, branch: bool = False):
    prep = queries.unit_preparation(unit_of(code))
    return (prep.branch_workflow_version if branch else prep.workflow_version).definition()


def preview(rows: list[list], actor, name: str = "tien-do.csv") -> ImportBatch:
    return staged("progress", name, csv_bytes([HEADINGS, *rows]), actor)


def errors_of(batch: ImportBatch) -> dict[int, list[str]]:
    return {n: codes_of(r) for n, r in rows_of(batch).items() if r.status == "error"}


def confirmed(batch: ImportBatch, actor, *, keep: bool = False) -> OperationError | None:
    """Confirm as the page does (accepting what the preview named); the refusal, or None. Rolled
    back unless ``keep``."""
    accept = importing.completed_changes(batch) > 0
    savepoint = db.session.begin_nested()
    try:
        importing.apply_batch(batch, actor, accept_completed_changes=accept)
    except OperationError as exc:
        savepoint.rollback()
        return exc
    if keep:
        savepoint.commit()
        db.session.commit()
    else:
        savepoint.rollback()
    return None


def check(rows: list[list], actor, *, keep: bool = False) -> ImportBatch:
    """The property: a preview without errors confirms; a confirmation refused means the preview
    showed errors (and says import_has_errors); the rows the preview accepted, alone, preview
    without errors and confirm."""
    batch = preview(rows, actor)
    errors = errors_of(batch)
    refusal = confirmed(batch, actor, keep=keep and not errors)
    if not errors:
        assert refusal is None, (refusal.code, refusal.params, rows)
        return batch
    assert refusal is not None and refusal.code == "import_has_errors", (refusal, rows)
    kept = [r for number, r in enumerate(rows, 2) if number not in errors]
    if kept:
        again = preview(kept, actor, "sua.csv")
        assert errors_of(again) == {}, (errors_of(again), kept, errors)
        assert confirmed(again, actor) is None
    return batch


@pytest.fixture
def inline(app):
    app.config["TRANSFERS_JOBS_INLINE"] = True
    return app


@pytest.fixture
def admin(inline, make_user):
    return make_user("quantri", "admin")


CHAIN_UNITS = ("11836", "10843", HONG_BANG, "10573", "10837")


def chain() -> tuple[str, str, str, date]:
    """A unit, a step of it not finished whose prerequisites are, a step not started that waits
    for that one only, and the day its prerequisites were last completed."""
    for code in CHAIN_UNITS:
        steps, flow = unit_steps(code), definition(code)

        def plain(step_def, flow=flow) -> bool:
            return not (step_def.done_when or step_def.approval or is_congress_step(flow, step_def.key))

        for first in flow.steps:
            if not plain(first) or steps[first.key].state not in ("not_started", "in_progress"):
                continue
            if not all(steps[r].state in FINISHED_STATES for r in first.requires):
                continue
            for second in flow.steps:
                if first.key in second.requires and plain(second) and steps[second.key].state == "not_started" \
                        and all(steps[r].state in FINISHED_STATES for r in second.requires if r != first.key):
                    ready = max([steps[r].completed_on or date(2025, 6, 1) for r in first.requires]
                                + [steps[first.key].started_on or date(2025, 6, 1)])
                    return code, first.key, second.key, ready
    raise AssertionError("no chain of two open steps in the demo")


# --- the cases, one by one ---------------------------------------------------------------------

@pytest.fixture
def staff_of(make_user):
    """The unit's staff account (one is made for a unit the demo gives none)."""
    from congress.accounts.models import User

    def find(code: str) -> User:
        found = db.session.execute(db.select(User).where(User.unit_id == unit_of(code).id,
                                                         User.role == "unit_staff")).scalars().first()
        return found or make_user(f"staff{code}", "unit_staff", unit=code)

    return find


def test_a_prerequisite_done_by_an_earlier_row_of_the_file(inline, staff_of):
    code, first, second, ready = chain()
    actor = staff_of(code)
    batch = check([row(code, first, "done", completed=ready + timedelta(days=1)),
                   row(code, second, "done", completed=ready + timedelta(days=2))], actor, keep=True)
    assert errors_of(batch) == {}
    steps = unit_steps(code)
    assert steps[first].state == steps[second].state == "done"


def test_a_prerequisite_done_by_a_later_row_is_an_error_in_the_preview(inline, staff_of):
    """The rows are applied in the file's order, by the preview as by the confirmation."""
    code, first, second, ready = chain()
    batch = check([row(code, second, "done", completed=ready + timedelta(days=2)),
                   row(code, first, "done", completed=ready + timedelta(days=1))], staff_of(code))
    assert errors_of(batch) == {2: ["prerequisites_incomplete"]}


def test_a_prerequisite_refused_itself_leaves_its_dependent_refused_too(inline, staff_of):
    code, first, second, ready = chain()
    # refused while reading (a day to come), then while checking (done before what it follows)
    for bad in (row(code, first, "done", completed=TODAY + timedelta(days=3)),
                row(code, first, "done", completed=ready - timedelta(days=1))):
        batch = check([bad, row(code, second, "done", completed=TODAY)], staff_of(code))
        found = errors_of(batch)
        assert set(found) == {2, 3} and found[3] == ["prerequisites_incomplete"], found


def test_a_dependent_dated_before_its_prerequisite_of_the_same_file(inline, staff_of):
    code, first, second, ready = chain()
    batch = check([row(code, first, "done", completed=ready + timedelta(days=3)),
                   row(code, second, "done", completed=ready + timedelta(days=1))], staff_of(code))
    assert errors_of(batch) == {3: ["completed_before_prerequisite"]}


def test_the_roll_up_and_the_steps_after_it(inline, staff_of):
    """Hồng Bàng's branches are not all held: its roll-up cannot be completed by hand, nor the
    delegates after it; Tứ Minh's roll-up completed by itself, so its dependent may go ahead."""
    hong_bang = staff_of(HONG_BANG)
    assert unit_steps(HONG_BANG)["branch_congresses"].state != "done"
    batch = check([row(HONG_BANG, "branch_congresses", "done", completed=date(2025, 8, 1)),
                   row(HONG_BANG, "delegates", "done", completed=date(2025, 8, 2))], hong_bang)
    assert errors_of(batch) == {2: ["rule_not_satisfied"], 3: ["prerequisites_incomplete"]}
    # a roll-up already done by its rule: marking it done again changes nothing; its dependent goes ahead
    tu_minh = staff_of(TU_MINH)
    steps = unit_steps(TU_MINH)
    assert steps["branch_congresses"].state == "done"
    dependents = [s.key for s in definition(TU_MINH).steps if "branch_congresses" in s.requires]
    rows = [row(TU_MINH, "branch_congresses", "done")]
    rows += [row(TU_MINH, key, "in_progress", started=date(2025, 8, 1)) for key in dependents
             if steps[key].state == "not_started"]
    check(rows, tu_minh)


def test_a_unit_step_after_the_roll_up_once_the_last_branch_is_held(inline, staff_of):
    """The roll-up completes when the last branch holds its congress (a branch import, applied),
    and a progress file then starts and completes the step after it; dated before the roll-up
    completed, the preview refuses it."""
    actor = staff_of(HONG_BANG)
    hold_every_branch(HONG_BANG, actor, "2/8/2025")
    batch = check([row(HONG_BANG, "delegates", "done", completed=date(2025, 8, 1))], actor)
    assert errors_of(batch) == {2: ["completed_before_prerequisite"]}
    batch = check([row(HONG_BANG, "delegates", "done", started=date(2025, 8, 3), completed=date(2025, 8, 4))],
                  actor, keep=True)
    assert errors_of(batch) == {}
    assert unit_steps(HONG_BANG)["delegates"].state == "done"


def test_branch_steps_and_their_roll_up(inline, staff_of):
    """A branch's congress step follows its date held (it cannot be completed by hand before); its
    report requires it. A branch held: its report may be completed."""
    actor = staff_of(HONG_BANG)
    prep = queries.unit_preparation(unit_of(HONG_BANG))
    steps = {b_id: {s.key: s for s in found} for b_id, found in queries.branch_steps(prep).items()}
    branches = queries.unit_branches(unit_of(HONG_BANG))
    pending = next(b for b in branches if b.held_on is None and steps[b.id]["report"].state == "not_started")
    batch = check([row(HONG_BANG, "congress", "done", branch=pending.code, completed=date(2025, 8, 1)),
                   row(HONG_BANG, "report", "done", branch=pending.code, completed=date(2025, 8, 2))], actor)
    assert errors_of(batch) == {2: ["rule_not_satisfied"], 3: ["prerequisites_incomplete"]}
    held = [b for b in branches if b.held_on is not None and steps[b.id]["congress"].state == "done"
            and steps[b.id]["report"].state != "done"]
    if held:
        branch = held[0]
        batch = check([row(HONG_BANG, "congress", "done", branch=branch.code),
                       row(HONG_BANG, "report", "done", branch=branch.code, completed=TODAY)], actor)
        assert errors_of(batch) == {}


def hold_every_branch(code: str, actor, on: str = "2/8/2025") -> None:
    """A branch import, confirmed: every branch of the unit not yet held held on ``on``."""
    pending = db.session.execute(db.select(Branch).where(Branch.unit_id == unit_of(code).id,
                                                         Branch.held_on.is_(None))).scalars().all()
    rows = [[code, b.code, b.name, "", "", "", "", on, "", ""] for b in pending]
    branches = staged("branches", "cb.csv", csv_bytes([BRANCH_HEADINGS, *rows]), actor)
    assert branches.counts["error"] == 0, {n: codes_of(r) for n, r in rows_of(branches).items()}
    assert confirmed(branches, actor, keep=True) is None
    assert unit_steps(code)["branch_congresses"].state == "done"


def test_a_prerequisite_changed_after_the_preview(inline, staff_of):
    """What no preview can foresee: between the preview and the confirmation, a branch added (not
    yet held) reopens the unit's roll-up, so the step after it can no longer start. The refusal
    marks the row, the preview then shows it, and confirming is no longer offered."""
    actor = staff_of(HONG_BANG)
    hold_every_branch(HONG_BANG, actor)
    assert unit_steps(HONG_BANG)["delegates"].state == "not_started"
    batch = preview([row(HONG_BANG, "delegates", "in_progress", started=date(2025, 8, 4))], actor)
    assert errors_of(batch) == {}
    added = staged("branches", "moi.csv", csv_bytes([BRANCH_HEADINGS, [HONG_BANG, "", "Chi bộ Mới", "chi bộ", "",
                                                                     "", "20/8/2025", "", "", ""]]), actor)
    assert confirmed(added, actor, keep=True) is None
    assert unit_steps(HONG_BANG)["branch_congresses"].state != "done"
    batch = db.session.get(ImportBatch, batch.id)
    refusal = confirmed(batch, actor)
    assert refusal is not None and refusal.code == "import_row_refused"
    assert refusal.params["cause"]["code"] == "prerequisites_incomplete"
    importing.note_refusal(batch.id, refusal)
    db.session.commit()
    assert errors_of(db.session.get(ImportBatch, batch.id)) == {2: ["prerequisites_incomplete"]}


# --- random files ----------------------------------------------------------------------------

STATES = ["done", "done", "done", "in_progress", "in_progress", "submitted", "approved", "not_applicable",
          "not_started"]


def random_file(rng: random.Random, codes: list[str]) -> list[list]:
    rows = []
    for _ in range(rng.randint(1, 12)):
        code = rng.choice(codes)
        prep = queries.unit_preparation(unit_of(code))
        branch = ""
        if rng.random() < 0.3:
            branch = rng.choice(queries.unit_branches(unit_of(code))).code
            flow = prep.branch_workflow_version.definition()
        else:
            flow = prep.workflow_version.definition()
        state = rng.choice(STATES)

        def some_day():
            return None if rng.random() < 0.4 else TODAY - timedelta(days=rng.randint(-1, 40))

        rows.append(row(code, rng.choice(flow.steps).key, state, branch=branch, started=some_day(),
                        submitted=some_day() if state in ("submitted", "approved") else None,
                        approved=some_day() if state == "approved" else None,
                        completed=some_day() if state == "done" else None,
                        note="Không tổ chức" if state == "not_applicable" and rng.random() < 0.8 else ""))
    return rows


@pytest.mark.parametrize("seed", range(6))
def test_random_files_are_refused_only_as_their_preview_said(admin, seed):
    rng = random.Random(seed)
    codes = [HONG_BANG, TU_MINH, "11836", "10573", "10843", "10837"]
    for _ in range(12):
        check(random_file(rng, codes), admin, keep=rng.random() < 0.5)

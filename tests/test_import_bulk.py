"""Large branch imports: applied in bulk (the statements grow with the chunks, not the rows), in
the background with their progress, and what a crash leaves of them swept."""
from __future__ import annotations

import time

import sqlalchemy as sa

from congress.audit.models import AuditRecord
from congress.extensions import db
from congress.progress.models import Step
from congress.transfers import importing
from congress.transfers.models import ImportBatch, ImportRow
from congress.units.models import Branch
from tests.test_queries import count_queries
from tests.test_transfers import (
    BRANCH_HEADINGS,
    TU_MINH,
    csv_bytes,
    signed_in,
    staged,
    token_of,
    unit_of,
    upload,
    user,
)


def branch_rows(count: int, *, held: int = 0, start: int = 0) -> list[list]:
    """``count`` new branches of Tứ Minh, the first ``held`` of them already through their congress."""
    return [[TU_MINH, "", f"Chi bộ Khu dân cư số {start + i}", "Chi bộ", f"Nguyễn Văn {i}", 20 + i % 30,
             "2025-07-20", "2025-07-25" if i < held else "", 15 if i < held else "", ""]
            for i in range(count)]


def statements(count: int, admin) -> tuple[int, int]:
    """The SQL statements of reading (with the preview's check) and of confirming ``count`` rows."""
    content = csv_bytes([BRANCH_HEADINGS] + branch_rows(count, start=count * 10))
    with count_queries() as reading:
        batch = staged("branches", f"b{count}.csv", content, admin)
    assert batch.state == "previewed", batch.error
    with count_queries() as confirming:
        importing.apply_batch(batch, admin, accept_completed_changes=True)
        db.session.commit()
    return len(reading), len(confirming)


def test_statements_grow_with_the_chunks_not_the_rows(app):
    admin = user("admin")
    small = statements(100, admin)
    large = statements(900, admin)  # two chunks of 500
    # a fixed number of statements per chunk: nine times the rows cost nowhere near nine times the SQL
    assert large[0] - small[0] < 120, (small, large)
    assert large[1] - small[1] < 80, (small, large)


def test_a_bulk_import_does_what_one_branch_at_a_time_does(app):
    admin = user("admin")
    unit = unit_of(TU_MINH)
    before = set(db.session.execute(sa.select(Branch.code).filter_by(unit_id=unit.id)).scalars())
    highest = max(int(code.rsplit("-", 1)[1]) for code in before)
    rows = branch_rows(700, held=3)
    batch = staged("branches", "b.csv", csv_bytes([BRANCH_HEADINGS] + rows), admin)
    assert batch.counts["new"] + batch.counts["warning"] == 700
    since = db.session.execute(sa.select(sa.func.max(AuditRecord.id))).scalar_one()
    counts = importing.apply_batch(batch, admin, accept_completed_changes=True)
    db.session.commit()
    assert counts["new"] == 700
    added = db.session.execute(sa.select(Branch).filter_by(unit_id=unit.id).where(
        Branch.code.not_in(before)).order_by(Branch.code)).scalars().all()
    # numbered on from the unit's highest code, in the file's order
    assert [b.code for b in added] == [f"{TU_MINH}-{n:03d}" for n in range(highest + 1, highest + 701)]
    assert [b.name for b in added] == [r[2] for r in rows]
    # every new branch has its workflow's steps, due dates computed
    per_branch = dict(db.session.execute(sa.select(Step.branch_id, sa.func.count(Step.id)).where(
        Step.branch_id.in_([b.id for b in added])).group_by(Step.branch_id)).all())
    assert len(per_branch) == 700 and len(set(per_branch.values())) == 1
    assert db.session.execute(sa.select(sa.func.count(Step.id)).where(
        Step.branch_id.in_([b.id for b in added]), Step.due_on.is_(None))).scalar_one() == 0
    # the held ones had their own "congress held" step completed by the rule; the unit's roll-up reopened
    held_steps = db.session.execute(sa.select(Step.state, Step.completed_on).where(
        Step.branch_id.in_([b.id for b in added[:3]]), Step.key == "congress")).all()
    assert {(s.state, str(s.completed_on)) for s in held_steps} == {("done", "2025-07-25")}
    rollup = db.session.execute(sa.select(Step).where(Step.preparation_id == _prep_id(unit.id),
                                                      Step.branch_id.is_(None), Step.key == "branch_congresses")
                                ).scalar_one()
    assert rollup.state == "in_progress"
    actions = db.session.execute(sa.select(AuditRecord.action, sa.func.count(AuditRecord.id))
                                 .where(AuditRecord.id > since).group_by(AuditRecord.action)).all()
    actions = dict(actions)
    assert actions["branch.add"] == 700
    assert actions["step.auto_complete"] == 3
    assert actions["step.auto_reopen"] == 1  # the roll-up, once, not once per branch
    assert actions["import.apply"] == 1


def _prep_id(unit_id: int) -> int:
    from congress.progress.models import Preparation

    return db.session.execute(sa.select(Preparation.id).filter_by(unit_id=unit_id)).scalar_one()


def test_a_name_taken_since_the_preview_refuses_the_whole_import(app):
    admin = user("admin")
    rows = branch_rows(600)
    batch = staged("branches", "b.csv", csv_bytes([BRANCH_HEADINGS] + rows), admin)
    from congress.units.operations import add_branch

    add_branch(unit_of(TU_MINH), {"name": rows[550][2]}, actor=admin, confirm_reopen=True)
    db.session.commit()
    count = db.session.execute(sa.select(sa.func.count(Branch.id))).scalar_one()
    try:
        importing.apply_batch(batch, admin, accept_completed_changes=True)
    except importing.Conflict as exc:
        assert exc.code == "import_stale" and exc.params["row"] == 552
    else:
        raise AssertionError("a stale row was applied")
    db.session.rollback()
    assert db.session.execute(sa.select(sa.func.count(Branch.id))).scalar_one() == count


# --- in the background ---------------------------------------------------------------------

def wait_for(batch_id: int, states: tuple[str, ...], seconds: float = 60) -> ImportBatch:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        db.session.expire_all()
        batch = db.session.get(ImportBatch, batch_id)
        if batch.state in states:
            return batch
        time.sleep(0.1)
    raise AssertionError(f"import {batch_id} stayed {batch.state}")


def test_confirming_runs_in_the_background_and_the_page_follows_it(make_app):
    app = make_app("demo", TRANSFERS_JOBS_INLINE=False)
    with app.app_context():
        client = signed_in(app, "admin")
        token = token_of(upload(client, "branches", "b.csv", csv_bytes([BRANCH_HEADINGS] + branch_rows(300))))
        batch_id = db.session.execute(sa.select(ImportBatch.id).filter_by(token=token)).scalar_one()
        wait_for(batch_id, ("previewed",))
        response = client.post(f"/transfers/{token}/confirm", data={"accept_completed_changes": "1"})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        page = client.get(f"/transfers/{token}")
        status = client.get(f"/transfers/{token}.json").get_json()
        assert status["state"] in ("applying", "applied")
        if status["state"] == "applying":
            assert "Đang áp dụng" in page.get_data(as_text=True)
        batch = wait_for(batch_id, ("applied", "previewed"))
        assert batch.state == "applied" and batch.error is None
        assert batch.counts["new"] + batch.counts["warning"] >= 300
        status = client.get(f"/transfers/{token}.json").get_json()
        assert status["state"] == "applied" and status["percent"] == 100
        # a second confirmation (a double click, a retry) changes nothing and says so
        again = client.post(f"/transfers/{token}/confirm", data={"accept_completed_changes": "1"})
        assert again.status_code in (302, 303, 422)
        assert db.session.execute(sa.select(sa.func.count(AuditRecord.id)).filter_by(
            action="import.apply")).scalar_one() == 1


def test_a_background_confirmation_refused_keeps_the_preview_and_says_why(make_app):
    from congress.units.operations import add_branch

    app = make_app("demo", TRANSFERS_JOBS_INLINE=False)
    with app.app_context():
        client = signed_in(app, "admin")
        rows = branch_rows(50)
        token = token_of(upload(client, "branches", "b.csv", csv_bytes([BRANCH_HEADINGS] + rows)))
        batch_id = db.session.execute(sa.select(ImportBatch.id).filter_by(token=token)).scalar_one()
        wait_for(batch_id, ("previewed",))
        add_branch(unit_of(TU_MINH), {"name": rows[10][2]}, actor=user("admin"), confirm_reopen=True)
        db.session.commit()
        count = db.session.execute(sa.select(sa.func.count(Branch.id))).scalar_one()
        client.post(f"/transfers/{token}/confirm", data={"accept_completed_changes": "1"})
        batch = wait_for(batch_id, ("applied", "previewed"))
        assert batch.state == "previewed" and batch.error == "import_stale"
        assert db.session.execute(sa.select(sa.func.count(Branch.id))).scalar_one() == count
        page = client.get(f"/transfers/{token}").get_data(as_text=True)
        assert "Dòng 12" in page or "dòng 12" in page
        status = client.get(f"/transfers/{token}.json").get_json()
        assert status["state"] == "previewed" and "12" in status["error"]


# --- what a crash leaves -------------------------------------------------------------------

def test_the_sweep_fails_a_reading_whose_worker_died_and_restores_an_interrupted_confirmation(app):
    from datetime import timedelta

    from congress.clock import utcnow
    from congress.transfers.sweep import sweep

    admin = user("admin")
    batch = staged("branches", "b.csv", csv_bytes([BRANCH_HEADINGS] + branch_rows(20)), admin)
    applying_id = batch.id
    long_ago = utcnow() - timedelta(minutes=30)
    reading = importing.start_import("branches", "r.csv", csv_bytes([BRANCH_HEADINGS] + branch_rows(5)), admin)
    reading.state, reading.updated_at, reading.heartbeat_at = "reading", long_ago, long_ago
    db.session.add(ImportRow(batch_id=reading.id, number=2, status="new", values={}))
    batch.state, batch.updated_at, batch.heartbeat_at = "applying", long_ago, long_ago
    fresh = importing.start_import("branches", "f.csv", csv_bytes([BRANCH_HEADINGS] + branch_rows(5)), admin)
    fresh.state, fresh.heartbeat_at = "reading", utcnow()
    db.session.commit()
    reading_id, fresh_id = reading.id, fresh.id

    result = sweep()
    assert result.created == 2, result.details
    db.session.expire_all()
    reading = db.session.get(ImportBatch, reading_id)
    assert (reading.state, reading.error, reading.content) == ("failed", "import_worker_stopped", None)
    assert db.session.execute(sa.select(sa.func.count(ImportRow.id)).filter_by(batch_id=reading_id)).scalar_one() == 0
    applying = db.session.get(ImportBatch, applying_id)
    # the confirmation's transaction died with its worker: nothing was applied, the preview stands
    assert (applying.state, applying.error) == ("previewed", "import_apply_stopped")
    assert db.session.execute(sa.select(sa.func.count(ImportRow.id)).filter_by(batch_id=applying_id)).scalar_one() == 20
    assert db.session.get(ImportBatch, fresh_id).state == "reading"
    assert sweep().created == 0

"""Each unit's readiness is stored by the write that changes it: after every kind of write the stored
rows agree with a fresh computation by the engine (flask readiness check), across a midnight too,
and the many-unit reads take them in a constant number of queries."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from congress.accounts.models import User
from congress.extensions import db
from congress.progress import campaigns, stored
from congress.progress.models import Preparation, Step, StoredReadiness
from congress.progress.queries import readiness_rows
from congress.units.models import Branch, Unit
from tests.test_api import API, UNIT, act, patch_branch
from tests.test_queries import count_queries
from workflows.rules import State


def _admin() -> User:
    return db.session.execute(db.select(User).filter_by(role="admin")).scalars().first()


def agrees() -> list:
    """Every preparation whose stored readiness differs from a fresh computation (none, if right)."""
    db.session.expire_all()
    return [(p.unit.code, p.campaign_id, why) for p, why in stored.check()]


def _stored(code: str = UNIT) -> StoredReadiness:
    db.session.expire_all()
    return db.session.execute(sa.select(StoredReadiness).join(Unit, Unit.id == StoredReadiness.unit_id)
                              .where(Unit.code == code)).scalars().one()


def _busy() -> tuple[str, Step, Branch]:
    """A unit with a step in progress and a branch not yet held, that step and that branch."""
    for step in db.session.execute(db.select(Step).join(Preparation).join(Unit).where(
            Step.branch_id.is_(None), Step.state == State.IN_PROGRESS.value).order_by(Unit.code, Step.id)).scalars():
        rule = step.preparation.workflow_version.definition().step(step.key)
        if rule.done_when or rule.approval:  # completed by a rule, or by the city's verdict
            continue
        branch = db.session.execute(db.select(Branch).where(
            Branch.unit_id == step.preparation.unit_id, Branch.held_on.is_(None))
            .order_by(Branch.code)).scalars().first()
        if branch is not None:
            return step.preparation.unit.code, step, branch
    raise AssertionError("the demo has no unit in progress")


def test_the_demo_is_stored_as_the_engine_computes_it(app):
    count = db.session.execute(sa.select(sa.func.count()).select_from(StoredReadiness)).scalar_one()
    assert count == db.session.execute(sa.select(sa.func.count()).select_from(Preparation)).scalar_one() > 100
    assert agrees() == []


def test_a_transition_stores_its_units_readiness_in_the_same_transaction(app, api_as):
    code, step, _ = _busy()
    staff = api_as("unit_staff", unit=code, username="stored.staff")
    before = _stored(code).readiness
    response = act(staff, step.key, "complete", code=code, note="xong")
    assert response.status_code == 200, response.json
    assert _stored(code).readiness != before
    assert agrees() == []


def test_a_refused_write_leaves_the_stored_readiness_as_it_was(app, api_as):
    code, step, _ = _busy()
    staff = api_as("unit_staff", unit=code, username="stored.refused")
    before = _stored(code).readiness, _stored(code).computed_at
    assert act(staff, step.key, "complete", code=code, version=step.version + 7).status_code == 409
    after = _stored(code)
    assert (after.readiness, after.computed_at) == before


def test_a_branch_congress_stores_the_units_roll_up(app, api_as):
    code, _, branch = _busy()
    staff = api_as("unit_staff", unit=code, username="stored.branch")
    held = _stored(code).readiness["branches_held"]
    response = patch_branch(staff, branch.code, held_on="2025-08-04", delegates=20)
    assert response.status_code == 200, response.json
    assert _stored(code).readiness["branches_held"] == held + 1
    assert agrees() == []


def test_deadlines_and_congress_dates_store_every_unit_they_move(app, api_as):
    city = api_as("city_staff", province="31", username="stored.city")
    assert city.put(f"{API}/units/{UNIT}/deadline", json={
        "date": "2025-08-10", "kind": "before", "version": db.session.execute(
            db.select(Preparation.version).join(Unit).where(Unit.code == UNIT)).scalar_one()}).status_code == 200
    assert agrees() == []
    prep = db.session.execute(db.select(Preparation).join(Unit).where(Unit.code == UNIT)).scalar_one()
    response = city.put(f"{API}/units/{UNIT}/congress-date", json={
        "date": "2025-08-09", "version": prep.version, "confirm": True, "reason": "Theo chỉ đạo"})
    assert response.status_code == 200, response.json
    assert agrees() == []
    from congress.progress.operations import set_campaign_deadline
    from workflows.deadlines import DeadlineKind

    campaign = db.session.get(campaigns.Campaign, prep.campaign_id)
    set_campaign_deadline(campaign, actor=_admin(), version=campaign.version, day=date(2025, 9, 15),
                          kind=DeadlineKind.BEFORE)
    db.session.commit()
    assert agrees() == []


def test_an_import_stores_every_unit_it_changes(app):
    from congress.transfers import importing
    from tests.test_transfers import BRANCH_HEADINGS, csv_bytes, staged

    rows = [[UNIT, "", f"Chi bộ Khu dân cư mới {i}", "Chi bộ", f"Nguyễn Văn {i}", 20, "2025-07-20",
             "2025-07-25" if i < 2 else "", 15 if i < 2 else "", ""] for i in range(5)]
    batch = staged("branches", "b.csv", csv_bytes([BRANCH_HEADINGS] + rows), _admin())
    assert batch.state == "previewed", batch.error
    total = _stored().readiness["branches_total"]
    importing.apply_batch(batch, _admin(), accept_completed_changes=True)
    db.session.commit()
    assert _stored().readiness["branches_total"] == total + 5
    assert agrees() == []


def test_a_campaign_started_and_its_communes_congress_store_the_province_roll_up(app):
    from congress.progress.operations import transition
    from tests.test_campaigns import _ready_to_hold, province_spec
    from workflows.rules import Action

    province = campaigns.start(province_spec(), _admin())
    db.session.commit()
    assert agrees() == []
    commune = db.session.execute(db.select(Preparation).join(Step).where(
        Preparation.campaign_id == province.child_campaign_id, Step.branch_id.is_(None),
        Step.key == "congress", Step.state != State.DONE.value).order_by(Preparation.id)).scalars().first()
    congress = _ready_to_hold(commune)
    db.session.commit()
    held = _stored("31").readiness["branches_held"]
    transition(congress, action=Action.COMPLETE, actor=_admin(), version=congress.version)
    db.session.commit()
    assert _stored("31").readiness["branches_held"] == held + 1
    assert agrees() == []
    campaigns.close_campaign(province, actor=_admin(), version=province.version)
    db.session.commit()
    assert agrees() == []


def test_a_version_migration_stores_the_units_it_moves(app):
    from congress.progress import versions
    from tests.test_workflow_versions import ACTOR, next_commune, preparations

    target = versions.add_definition(next_commune(), "next.yaml", ACTOR)
    db.session.commit()
    plan = versions.migrate(preparations(exclude_recorded="archive"), target, actor=ACTOR, confirm=True)
    db.session.commit()
    assert plan.applied
    assert agrees() == []


def test_a_restored_database_stores_its_readiness_anew(make_app, tmp_path):
    from congress.transfers import backup

    archive = tmp_path / "backup.zip"
    demo = make_app("demo")
    with demo.app_context():
        backup.export_all(archive)
    empty = make_app("empty")
    with empty.app_context():
        backup.import_all(archive)
        assert db.session.execute(sa.select(sa.func.count()).select_from(StoredReadiness)).scalar_one() > 100
        assert agrees() == []


def test_the_day_turning_is_computed_on_read_and_stored_by_the_nightly_job(app):
    from congress.notices import jobs

    rows_today = {r.preparation.id: r.readiness for r in readiness_rows({"31"})}
    app.config["CONGRESS_TODAY"] = app.config["CONGRESS_TODAY"] + timedelta(days=20)
    # before the job: the stored rows are yesterday's, and a read computes today's instead
    found = [(p.unit.code, why) for p, why in stored.check()]
    assert found and all(why.startswith("computed for") for _, why in found)
    fresh = {r.preparation.id: r.readiness for r in stored.rows(
        *_all_preps(), app.config["CONGRESS_TODAY"])}
    assert {r.preparation.id: r.readiness for r in readiness_rows({"31"})} == fresh
    assert fresh != rows_today  # days left changed
    jobs.recompute_readiness()
    assert agrees() == []


def _all_preps():
    from congress.progress.models import definitions_of
    from congress.progress.queries import _preparations

    preps = _preparations({"31"})
    return preps, definitions_of({p.workflow_version_id for p in preps})


@pytest.mark.parametrize("path", ["/api/v1/readiness", "/api/v1/readiness?province=31"])
def test_the_readiness_api_reads_the_stored_rows_in_a_constant_number_of_queries(app, api_as, path):
    admin = api_as("admin", username="stored.admin")
    with count_queries() as stored_reads:
        assert admin.get(path).status_code == 200
    db.session.execute(sa.delete(StoredReadiness))
    db.session.commit()
    with count_queries() as computed:
        assert admin.get(path).status_code == 200
    # the stored read reads no step: the computation reads the steps and the branch counts
    assert not any("FROM steps" in q for q in stored_reads), stored_reads
    assert any("FROM steps" in q for q in computed)


@pytest.mark.parametrize("path", ["/api/v1/readiness", "/api/v1/readiness?province=31&kind=phuong",
                                  "/api/v1/units?province=31"])
def test_an_answer_from_the_stored_rows_is_the_answer_computed_afresh(app, api_as, path):
    admin = api_as("admin", username="stored.same")
    from_store = admin.get(path).json
    db.session.execute(sa.delete(StoredReadiness))
    db.session.commit()
    assert admin.get(path).json == from_store


def _recorded_night() -> date:
    """A past night of the demo that its snapshots recorded whole."""
    from congress.clock import today
    from congress.notices.models import ReadinessNight

    return db.session.execute(sa.select(sa.func.max(ReadinessNight.day)).where(
        ReadinessNight.day < today())).scalar_one()


@pytest.mark.parametrize("path", ["/api/v1/readiness?as_of={}", "/api/v1/units?province=31&as_of={}"])
def test_a_past_day_is_read_from_its_nightly_records_as_the_audit_log_rebuilds_it(app, api_as, path):
    from congress.notices.models import ReadinessNight

    night = _recorded_night()
    assert night is not None and night < app.config["CONGRESS_TODAY"]
    admin = api_as("admin", username="stored.night")
    with count_queries() as reads:
        recorded = admin.get(path.format(night.isoformat())).json
    # no unit's records were read: the night's record answered
    assert not any("audit_records" in q and "step" in q for q in reads), reads
    db.session.execute(sa.delete(ReadinessNight))
    db.session.commit()
    with count_queries() as rebuilt_reads:
        rebuilt = admin.get(path.format(night.isoformat())).json
    assert any("audit_records" in q for q in rebuilt_reads)
    assert recorded == rebuilt

"""Seeding: the official reference data, and the deterministic Hải Phòng demo.

The demo is checked against the engine's own rules over every step, so users can keep working
on it: nothing it writes could not have been written through the application.
"""
from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, time

import pytest
import sqlalchemy as sa

from congress import create_app
from congress.accounts.models import User
from congress.audit.models import AuditRecord
from congress.drafts.models import CommentRound, DraftVersion
from congress.extensions import db
from congress.progress.models import Campaign, Preparation, Step, WorkflowVersion
from congress.progress.operations import refresh_due_dates
from congress.progress.queries import readiness_rows
from congress.seeding import demo
from congress.seeding.seed import CAMPAIGN_STARTS_ON, seed
from congress.units.models import Branch, Province, Unit, UnitOrigin
from tests.conftest import BUILDERS, DEMO_PASSWORD, TODAY
from workflows.deadlines import LOCAL_TZ
from workflows.readiness import Risk
from workflows.rules import FINISHED, State

HAI_PHONG = "31"


def table_counts() -> dict[str, int]:
    return {t.name: db.session.execute(sa.select(sa.func.count()).select_from(t)).scalar()
            for t in db.metadata.sorted_tables}


def is_nfc(text: str) -> bool:
    return unicodedata.normalize("NFC", text) == text


def run_cli(app, *args: str):
    db.session.commit()
    result = app.test_cli_runner().invoke(args=list(args))
    db.session.rollback()
    return result


# --- reference data --------------------------------------------------------------------------

def test_hai_phong_has_its_114_units_with_their_origins(base_app):
    units = db.session.execute(db.select(Unit).filter_by(province_code=HAI_PHONG)).scalars().all()
    assert len(units) == 114
    assert Counter(u.kind for u in units) == {"phuong": 45, "xa": 67, "dac_khu": 2}
    assert all(re.fullmatch(r"\d{5}", u.code) for u in units)
    assert all(is_nfc(u.name) for u in units)
    by_name = {u.name: u for u in units}
    assert {"Đặc khu Cát Hải", "Đặc khu Bạch Long Vĩ"} <= set(by_name)
    assert by_name["Xã Cẩm Giàng"].code != by_name["Xã Cẩm Giang"].code

    an_phu = by_name["Xã An Phú"]
    assert {(o.former_name, o.share) for o in an_phu.origins} == {
        ("Xã An Phú", "full"), ("Xã An Bình", "full"), ("Xã Cộng Hòa", "partial")}
    assert db.session.execute(sa.select(sa.func.count()).select_from(UnitOrigin)).scalar() == 452
    assert db.session.get(Province, HAI_PHONG).name == "Thành phố Hải Phòng"


def test_another_province_is_loaded_with_its_codes(empty_app):
    result = run_cli(empty_app, "seed", "--province", "01")
    assert result.exit_code == 0, result.output
    assert "units +126" in result.output
    hanoi = db.session.execute(db.select(Unit).filter_by(province_code="01")).scalars().all()
    assert len(hanoi) == 126
    assert db.session.execute(db.select(Unit).filter_by(code="00070")).scalar_one().name == "Phường Hoàn Kiếm"
    assert db.session.execute(sa.select(sa.func.count()).select_from(Preparation)).scalar() == 126


def test_an_unknown_province_is_refused_and_nothing_is_written(empty_app):
    result = run_cli(empty_app, "seed", "--province", "01", "--province", "99")
    assert result.exit_code != 0
    assert "99" in result.output
    assert set(table_counts().values()) == {0}


@pytest.mark.slow
def test_all_units_of_the_country(empty_app):
    result = run_cli(empty_app, "seed", "--all")
    assert result.exit_code == 0, result.output
    assert db.session.execute(sa.select(sa.func.count()).select_from(Unit)).scalar() == 3321
    provinces = set(db.session.execute(sa.select(Unit.province_code).distinct()).scalars())
    assert provinces == set(db.session.execute(sa.select(Province.code)).scalars())
    assert len(provinces) == 34 and "01" in provinces and "96" in provinces
    codes = set(db.session.execute(sa.select(Unit.code)).scalars())
    assert "00070" in codes and all(len(c) == 5 for c in codes)

    before = table_counts()
    result = run_cli(empty_app, "seed", "--all")
    assert result.exit_code == 0, result.output
    assert "units +0" in result.output
    assert table_counts() == before


# --- the demo: shape of the data -------------------------------------------------------------

def test_every_unit_has_20_to_105_plausible_branches(app):
    branches = defaultdict(list)
    for branch in db.session.execute(db.select(Branch).order_by(Branch.code)).scalars():
        branches[branch.unit_id].append(branch)
    units = db.session.execute(db.select(Unit).filter_by(province_code=HAI_PHONG)).scalars().all()
    assert len(branches) == len(units) == 114
    for unit in units:
        own = branches[unit.id]
        assert 20 <= len(own) <= 105, unit.code
        assert [b.code for b in own] == [f"{unit.code}-{i:03d}" for i in range(1, len(own) + 1)]
        names = [b.name for b in own]
        assert len(set(names)) == len(names), unit.code
        assert all(is_nfc(n) and (n.startswith("Chi bộ ") or n.startswith("Đảng bộ bộ phận ")) for n in names)
        assert all(b.kind == ("dang_bo_bo_phan" if b.name.startswith("Đảng bộ") else "chi_bo") for b in own)
        assert unit.members == sum(b.members for b in own)
        assert 800 <= unit.members <= 5500, unit.code
        assert all(b.members >= 3 and b.secretary and is_nfc(b.secretary) for b in own)
        assert all(len(b.secretary.split()) >= 3 for b in own)
    everything = [b.name for own in branches.values() for b in own]
    for pattern in ("Chi bộ thôn ", "Chi bộ Tổ dân phố số ", "Chi bộ Trường Tiểu học ", "Chi bộ Trạm Y tế",
                    "Chi bộ Công an phường", "Chi bộ Công an xã", "Chi bộ Quân sự", "Đảng bộ bộ phận "):
        assert any(n.startswith(pattern) for n in everything), pattern
    # schools keep the names of the communes a unit was formed from
    an_phu = db.session.execute(db.select(Unit).filter_by(code="10645")).scalar_one()
    assert "Chi bộ Trường Mầm non An Bình" in {b.name for b in branches[an_phu.id]}
    total = sum(u.members for u in units)
    assert 180_000 < total < 280_000


def test_congress_dates_follow_the_hai_phong_facts(app):
    dates = dict(db.session.execute(sa.select(Unit.code, Preparation.congress_on).join(Preparation.unit)).all())
    assert dates["11413"] == date(2025, 7, 23)
    assert dates["11629"] == date(2025, 8, 9)
    assert dates["11533"] == date(2025, 8, 11)
    assert dates["11668"] == date(2025, 8, 18)
    assert all(date(2025, 7, 23) <= d <= date(2025, 8, 30) for d in dates.values())
    assert len(set(dates.values())) > 20


def test_hong_bang_must_finish_before_20_august(app):
    prep = db.session.execute(db.select(Preparation).join(Preparation.unit).filter(Unit.code == "11311")).scalar_one()
    assert (prep.deadline_on, prep.deadline_kind, prep.deadline_basis) == (
        date(2025, 8, 20), "before", "Thành ủy Hải Phòng")
    assert prep.deadline.last_allowed_day == date(2025, 8, 19)
    assert prep.congress_on <= date(2025, 8, 19)
    row = readiness_rows(unit_ids=[prep.unit_id])[0]
    assert row.readiness.deadline.last_allowed_day == date(2025, 8, 19)
    record = db.session.execute(db.select(AuditRecord).filter_by(action="deadline.set", entity_key="11311")
                                ).scalar_one()
    assert record.actor == "thanhuy.vanphong" and record.new["deadline_on"] == "2025-08-20"


def test_due_dates_are_those_the_engine_computes(app):
    for prep in db.session.execute(db.select(Preparation)).scalars().all():
        assert refresh_due_dates(prep, expire=False) == 0, prep.unit.code


def test_the_demo_shows_every_kind_of_progress(app):
    rows = readiness_rows({HAI_PHONG})
    risks = Counter(r.readiness.risk for r in rows)
    assert all(risks[risk] >= 1 for risk in Risk), risks
    assert risks[Risk.ON_TRACK] > risks[Risk.LATE] and risks[Risk.ON_TRACK] > risks[Risk.DONE]
    by_code = {r.unit.code: r for r in rows}
    assert by_code["11413"].readiness.risk is Risk.DONE

    waiting = db.session.execute(sa.select(sa.func.count()).select_from(Step).where(
        Step.state == State.SUBMITTED.value, Step.branch_id.is_(None))).scalar()
    assert waiting >= 3
    states = set(db.session.execute(sa.select(Step.state).distinct()).scalars())
    assert states == {s.value for s in State}


def test_the_pilot_and_the_early_drafts(app):
    pilot = _unit_step("11413", "pilot_lessons")
    assert pilot.state == "not_applicable" and pilot.reason
    assert _unit_step("11413", "congress").completed_on == date(2025, 7, 23)
    for code in ("10891", "10750", "10792"):
        report = _unit_step(code, "political_report")
        assert report.state == "done" and report.completed_on <= date(2025, 7, 17), code
        assert "lần 2" in report.note
    others = db.session.execute(sa.select(Step.completed_on).join(Step.preparation).join(Preparation.unit).where(
        Step.key == "pilot_lessons", Step.state == "done", Unit.code != "11413")).scalars().all()
    assert others and min(others) >= date(2025, 7, 23)


def _unit_step(code: str, key: str) -> Step:
    return db.session.execute(db.select(Step).join(Step.preparation).join(Preparation.unit).where(
        Unit.code == code, Step.key == key, Step.branch_id.is_(None))).scalar_one()


# --- the demo obeys the engine -----------------------------------------------------------------

def assert_engine_rules_hold(now: date) -> int:
    """Every step of every preparation against the rules the engine enforces; returns steps checked."""
    versions = {v.id: v.definition() for v in db.session.execute(db.select(WorkflowVersion)).scalars()}
    preps = {p.id: p for p in db.session.execute(db.select(Preparation)).scalars()}
    branches = {b.id: b for b in db.session.execute(db.select(Branch)).scalars()}
    by_unit = defaultdict(list)
    for branch in branches.values():
        by_unit[branch.unit_id].append(branch)
    steps = defaultdict(dict)
    for step in db.session.execute(db.select(Step)).scalars():
        steps[(step.preparation_id, step.branch_id)][step.key] = step
    audited = Counter(db.session.execute(sa.select(AuditRecord.entity_key).where(
        AuditRecord.entity == "step")).scalars())

    checked = 0
    for (prep_id, branch_id), group in steps.items():
        prep = preps[prep_id]
        start = prep.campaign.starts_on
        definition = versions[prep.branch_workflow_version_id if branch_id else prep.workflow_version_id]
        label = branches[branch_id].code if branch_id else prep.unit.code
        for step_def in definition.steps:
            step = group[step_def.key]
            where = f"{label}/{step.key}"
            _assert_dates_and_state(step, step_def.approval, start, now, where)
            if step.state == "done":
                for key in step_def.requires:
                    required = group[key]
                    assert State(required.state) in FINISHED, f"{where} is done before {key}"
                    if required.state == "done":
                        assert required.completed_on <= step.completed_on, f"{where} before {key}"
            assert step.version == 1 + audited[where], where
            if step_def.done_when == "all_branches_held":
                _assert_roll_up(step, by_unit[prep.unit_id], where)
            if step_def.done_when == "branch_held":
                held = branches[branch_id].held_on
                assert (step.state == "done") == (held is not None), where
                assert step.completed_on == held, where
            checked += 1
    for branch in branches.values():
        assert branch.planned_on is not None
        if branch.held_on is not None:
            assert CAMPAIGN_STARTS_ON <= branch.held_on <= now, branch.code
            assert branch.delegates and branch.delegates <= min(250, branch.members) and branch.new_secretary
    return checked


def _assert_dates_and_state(step: Step, approval: bool, start: date, now: date, where: str) -> None:
    dates = [step.started_on, step.submitted_on, step.approved_on, step.completed_on]
    for day in dates:
        assert day is None or start <= day <= now, f"{where}: {day} outside {start}..{now}"
    present = [d for d in dates if d is not None]
    assert present == sorted(present), f"{where}: dates out of order {dates}"
    started, submitted, approved, completed = dates
    state = step.state
    if state != "done" and state != "not_applicable":
        assert completed is None, where
    if state in ("submitted", "approved") or (state == "done" and approval):
        assert approval and started and submitted, where
    if state == "approved" or (state == "done" and approval):
        assert approved, where
    if state in ("not_started", "not_applicable"):
        assert started is None and submitted is None and approved is None, where
    if state == "in_progress":
        assert started and submitted is None and approved is None, where
    if state == "submitted":
        assert approved is None, where
    if state == "done":
        assert started and completed, where
        if not approval:
            assert submitted is None and approved is None, where
    if state == "not_applicable":
        assert completed is None and step.reason, where


def _assert_roll_up(step: Step, branches: list[Branch], where: str) -> None:
    held = [b.held_on for b in branches if b.held_on]
    if branches and len(held) == len(branches):
        assert step.state == "done" and step.completed_on == max(held), where
    elif held:
        assert step.state == "in_progress" and step.completed_on is None, where
    else:
        assert step.state == "not_started", where
    if held:
        assert step.started_on == min(held), where


def test_the_demo_obeys_the_engine_everywhere(app):
    checked = assert_engine_rules_hold(TODAY)
    assert checked == db.session.execute(sa.select(sa.func.count()).select_from(Step)).scalar()


def test_history_is_written_as_users_would_have(app):
    records = db.session.execute(db.select(AuditRecord).order_by(AuditRecord.id)).scalars().all()
    ids = {u.username: u.id for u in db.session.execute(db.select(User)).scalars()}
    actions = Counter(r.action for r in records)
    for action in ("step.start", "step.complete", "step.submit", "step.approve", "step.auto_start",
                   "step.auto_complete", "step.mark_not_applicable", "branch.update", "preparation.create",
                   "deadline.set", "user.add"):
        assert actions[action] > 0, action
    assert actions["preparation.create"] == 114
    dated = {"step.start": "started_on", "step.submit": "submitted_on", "step.approve": "approved_on",
             "step.complete": "completed_on", "step.auto_complete": "completed_on", "branch.update": "held_on"}
    for record in records:
        local = _as_utc(record.at).astimezone(LOCAL_TZ)
        assert local.date() <= TODAY
        if record.action == "user.add":  # the demo accounts exist before the story begins
            assert local.date() == CAMPAIGN_STARTS_ON and local.time() < time(8), record.id
            continue
        if record.action in dated:
            assert local.date().isoformat() == record.new[dated[record.action]], record.id
            assert time(9) <= local.time() < time(17), record.id
        if record.actor_id is not None:
            assert ids[record.actor] == record.actor_id
    tu_minh = {(r.actor, r.action) for r in records if r.entity_key and r.entity_key.startswith("10891")}
    assert ("tuminh.vanphong", "step.complete") in tu_minh
    assert ("tuminh.bithu", "step.submit") in tu_minh and ("thanhuy.lanhdao", "step.approve") in tu_minh
    assert all(r.actor == "seed" for r in records if r.entity_key and r.entity_key.startswith("11413")
               and r.action in ("step.start", "step.complete", "branch.update"))
    # the log reads in the order things happened within each unit
    last_seen: dict[int, datetime] = {}
    for record in records:
        if record.unit_id is not None:
            at = _as_utc(record.at)
            assert at >= last_seen.get(record.unit_id, at), record.id
            last_seen[record.unit_id] = at


def _as_utc(moment: datetime) -> datetime:
    """SQLite gives back naive UTC times, PostgreSQL aware ones."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def test_the_demo_accounts(app):
    users = {u.username: u for u in db.session.execute(db.select(User)).scalars()}
    assert set(users) >= {a[0] for a in demo.DEMO_ACCOUNTS}
    for username, role, unit_code, province_code, display_name in demo.DEMO_ACCOUNTS:
        user = users[username]
        assert user.role == role and user.display_name == display_name and is_nfc(display_name)
        assert (user.unit.code if user.unit else None) == unit_code
        if province_code:
            assert user.province_code == province_code
        assert user.check_password(DEMO_PASSWORD)
    assert demo.DEMO_PASSWORD == DEMO_PASSWORD


# --- deterministic and idempotent ----------------------------------------------------------------

def demo_digest() -> str:
    """A fingerprint of everything the demo writes, its drafts and their files included."""
    codes = dict(db.session.execute(sa.select(Unit.id, Unit.code)).all())
    branch_codes = dict(db.session.execute(sa.select(Branch.id, Branch.code)).all())
    parts = []
    parts += db.session.execute(sa.select(Unit.code, Unit.members).order_by(Unit.code)).all()
    parts += db.session.execute(sa.select(
        Branch.code, Branch.name, Branch.kind, Branch.members, Branch.secretary, Branch.planned_on,
        Branch.held_on, Branch.delegates, Branch.new_secretary, Branch.version).order_by(Branch.code)).all()
    parts += [(codes[p.unit_id], p.congress_on, p.deadline_on, p.deadline_kind, p.deadline_basis, p.version)
              for p in db.session.execute(db.select(Preparation).order_by(Preparation.id)).scalars()]
    parts += [(codes[s.preparation.unit_id], branch_codes.get(s.branch_id), s.key, s.state, s.started_on,
               s.submitted_on, s.approved_on, s.completed_on, s.due_on, s.due_kind, s.note, s.reason,
               s.version, s.updated_at)
              for s in db.session.execute(db.select(Step).order_by(Step.id)).scalars()]
    parts += [(r.at, r.actor, r.action, r.entity, r.entity_key, r.step_key, r.old, r.new, r.reason)
              for r in db.session.execute(db.select(AuditRecord).order_by(AuditRecord.id)).scalars()]
    parts += [(codes[v.unit_id], v.kind, v.number, v.sha256, v.size, v.original_name, v.note, v.uploaded_at,
               v.actor, v.status, v.submitted_on, v.decided_on, v.verdict_reason, v.version,
               [(r.action, r.text, r.on, r.at, r.actor) for r in v.reviews])
              for v in db.session.execute(db.select(DraftVersion).order_by(DraftVersion.id)).scalars()]
    parts += [(r.draft_id, r.audiences, r.starts_on, r.ends_on, r.state, r.opened_at, r.closed_on, r.version,
               [(c.audience, c.count, c.text, c.recorded_at) for c in r.comments])
              for r in db.session.execute(db.select(CommentRound).order_by(CommentRound.id)).scalars()]
    parts += db.session.execute(sa.select(User.username, User.role, User.display_name, User.unit_id,
                                          User.province_code).order_by(User.username)).all()
    text = json.dumps([list(p) for p in parts], default=str, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_the_demo_is_the_same_on_every_run(make_app):
    digests = []
    for _ in range(2):
        app = make_app("empty")
        with app.app_context():
            seed([HAI_PHONG], demo=True)
            db.session.commit()
            digests.append(demo_digest())
    assert digests[0] == digests[1]


def test_seeding_the_demo_twice_changes_nothing(app):
    before = table_counts()
    digest = demo_digest()
    result = run_cli(app, "seed", "--demo")
    assert result.exit_code == 0, result.output
    assert "units +0" in result.output and "demo account" not in result.output
    assert table_counts() == before
    assert demo_digest() == digest


def test_the_demo_completes_units_seeded_without_it(base_app):
    """``flask seed`` then ``flask seed --demo``: the enrolled, untouched units get the demo too."""
    seed([HAI_PHONG], demo=True)
    db.session.commit()
    assert db.session.execute(sa.select(sa.func.count(sa.distinct(Branch.unit_id)))).scalar() == 114
    assert db.session.execute(sa.select(sa.func.count()).select_from(AuditRecord).where(
        AuditRecord.action == "congress_date.set")).scalar() == 114
    assert_engine_rules_hold(TODAY)
    assert {r.readiness.risk for r in readiness_rows({HAI_PHONG})} == set(Risk)


def test_the_demo_for_another_province_after_hai_phong(app):
    before = db.session.execute(sa.select(sa.func.count()).select_from(User)).scalar()
    result = run_cli(app, "seed", "--province", "31", "--province", "37", "--demo")
    assert result.exit_code == 0, result.output
    ninh_binh = db.session.execute(db.select(Unit).filter_by(province_code="37")).scalars().all()
    counts = Counter(db.session.execute(sa.select(Branch.unit_id).join(Unit).where(
        Unit.province_code == "37")).scalars())
    assert len(counts) == len(ninh_binh) and all(20 <= n <= 105 for n in counts.values())
    assert db.session.execute(sa.select(sa.func.count()).select_from(User)).scalar() == before
    assert_engine_rules_hold(TODAY)
    campaign = db.session.execute(db.select(Campaign).filter_by(province_code="37")).scalar_one()
    assert campaign.deadline_on == date(2025, 8, 31)


# --- production mode -------------------------------------------------------------------------------

@pytest.fixture
def production_app(databases):
    url = databases.copy(databases.template("empty", BUILDERS["empty"]))
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "test-secret", "CONGRESS_TODAY": TODAY},
                     mode="production")
    with app.app_context():
        yield app
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()
    databases.drop(url)


def test_production_demo_accounts_get_random_passwords_shown_once(production_app):
    assert production_app.config["CONGRESS_MODE"] == "production"
    result = run_cli(production_app, "seed", "--demo")
    assert result.exit_code == 0, result.output
    shown = dict(re.findall(r"demo account (\S+) \(\w+\): password (\S+)", result.output))
    assert set(shown) == {a[0] for a in demo.DEMO_ACCOUNTS}
    assert len(set(shown.values())) == len(shown)
    for user in db.session.execute(db.select(User)).scalars():
        assert not user.check_password(DEMO_PASSWORD), user.username
        assert user.check_password(shown[user.username]), user.username
    again = run_cli(production_app, "seed", "--demo")
    assert again.exit_code == 0 and "password" not in again.output


@pytest.mark.parametrize("reference", [date(2025, 7, 12), date(2025, 8, 20), date(2026, 3, 1)])
def test_the_demo_obeys_the_engine_whatever_today_is(make_app, reference):
    """The demo is cut at "today": early in the campaign, late in it, or long after it."""
    app = make_app("empty", CONGRESS_TODAY=reference)
    with app.app_context():
        seed([HAI_PHONG], demo=True)
        db.session.commit()
        assert_engine_rules_hold(reference)
        risks = Counter(r.readiness.risk for r in readiness_rows({HAI_PHONG}))
        if reference.year == 2026:
            assert risks == {Risk.DONE: 114}
        latest = db.session.execute(sa.select(sa.func.max(AuditRecord.at))).scalar()
        assert _as_utc(latest).astimezone(LOCAL_TZ).date() <= reference

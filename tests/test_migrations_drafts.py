"""The migration that gives drafts their preparation (0021_drafts_per_campaign), on a database with
drafts: each unit's drafts go to the preparation whose workflow drafts their kind, and back down
the drafts of two preparations become one series again, on SQLite and PostgreSQL alike."""
from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from congress.extensions import db
from congress.progress import campaigns
from congress.progress.models import Campaign, Preparation
from congress.units.models import Unit

BEFORE = "0020_branches_per_campaign"
TU_MINH = "10891"
AT = datetime(2025, 8, 1, 3, tzinfo=UTC)


@pytest.fixture
def migrating(make_app, make_user):
    """The Hải Phòng units enrolled in the commune party congress; Tứ Minh also in the Fatherland
    Front's (whose workflow drafts other kinds) and in a second commune party congress."""
    app = make_app("base")
    with app.app_context():
        admin = make_user("admin.migrations", "admin")
        campaigns.start(campaigns.CampaignSpec(
            name_vi="Đại hội MTTQ cấp xã", name_en="Front congresses", term="2026–2031",
            unit_workflow="front_commune_congress", starts_on=date(2025, 8, 1), deadline_on=date(2025, 12, 31),
            unit_codes=[TU_MINH]), admin)
        campaigns.start(campaigns.CampaignSpec(
            name_vi="Đại hội Đảng bộ cấp xã, nhiệm kỳ 2030–2035", name_en="Commune party congresses, 2030–2035",
            term="2030–2035", unit_workflow="commune_congress", starts_on=date(2025, 8, 1),
            deadline_on=date(2025, 12, 31), unit_codes=[TU_MINH]), admin)
        db.session.commit()
        yield app


def _settle() -> None:
    """Nothing of the test's session stands in the way of the migration's own connection."""
    db.session.commit()
    db.session.close()


def _migrate(to: str | None = None) -> None:
    _settle()
    if to is None:
        upgrade()
    else:
        downgrade(revision=to)


def _preps() -> dict[str, int]:
    """Tứ Minh's preparations: the party's of 2025 and 2030, the Front's."""
    unit_id = db.session.execute(sa.select(Unit.id).filter_by(code=TU_MINH)).scalar_one()
    rows = db.session.execute(sa.select(Campaign.unit_workflow, Campaign.term, Preparation.id)
                              .join(Preparation, Preparation.campaign_id == Campaign.id)
                              .where(Preparation.unit_id == unit_id)).all()
    found = {("front" if workflow.startswith("front") else term): prep_id for workflow, term, prep_id in rows}
    return {"party": found["2025–2030"], "party_2030": found["2030–2035"], "front": found["front"]}


def _unit_id() -> int:
    return db.session.execute(sa.select(Unit.id).filter_by(code=TU_MINH)).scalar_one()


def _insert_old_draft(kind: str, number: int, **extra) -> int:
    """A version as the table held it before the migration (keyed by unit and kind)."""
    row = {"unit_id": _unit_id(), "kind": kind, "number": number, "format": "docx", "sha256": "0" * 64, "size": 1,
           "original_name": f"{kind}-{number}.docx", "uploaded_on": date(2025, 8, 1), "uploaded_at": AT,
           "actor": "test", "status": "draft", "version": 1, **extra}
    columns = ", ".join(row)
    db.session.execute(sa.text(f"INSERT INTO draft_versions ({columns}) VALUES "
                               f"({', '.join(':' + c for c in row)})"), row)
    return db.session.execute(sa.text("SELECT max(id) FROM draft_versions")).scalar_one()


def _constraints(table: str) -> set[tuple[str, ...]]:
    return {tuple(c["column_names"]) for c in sa.inspect(db.engine).get_unique_constraints(table)}


def test_the_drafts_before_go_to_the_preparation_that_drafts_their_kind(migrating):
    party_before = _preps()
    _migrate(BEFORE)
    report_1 = _insert_old_draft("political_report", 1)
    _insert_old_draft("political_report", 2, status="approved")
    front = _insert_old_draft("front_report", 1)
    stray = _insert_old_draft("congress_plan", 1)  # a kind no workflow drafts in versions
    db.session.execute(sa.text(
        "INSERT INTO draft_reviews (draft_id, action, text, \"on\", at, actor) "
        "VALUES (:draft, 'submit', NULL, :on, :at, 'test')"), {"draft": report_1, "on": date(2025, 8, 1), "at": AT})
    db.session.execute(sa.text(
        "INSERT INTO comment_rounds (draft_id, unit_id, audiences, starts_on, ends_on, state, opened_at, opened_by, "
        "version) VALUES (:draft, :unit, '[\"members\"]', :on, :on, 'open', :at, 'test', 1)"),
        {"draft": report_1, "unit": _unit_id(), "on": date(2025, 8, 1), "at": AT})
    db.session.execute(sa.text(
        "INSERT INTO approval_exceptions (unit_id, kind, reason, at, actor) "
        "VALUES (:unit, 'personnel_submission', 'Lý do', :at, 'test')"), {"unit": _unit_id(), "at": AT})
    _migrate()

    preps = _preps()
    assert preps == party_before
    kept = dict(db.session.execute(sa.text("SELECT id, preparation_id FROM draft_versions")).all())
    # both party campaigns draft the political report: the newest of them; the Front's report is the Front's
    assert kept[report_1] == preps["party_2030"] and kept[front] == preps["front"]
    assert kept[stray] == max(preps.values())  # no workflow drafts it: the unit's newest preparation
    assert db.session.execute(sa.text("SELECT preparation_id FROM comment_rounds")).scalar_one() == kept[report_1]
    assert db.session.execute(sa.text("SELECT preparation_id FROM approval_exceptions")).scalar_one() == \
        preps["party_2030"]
    assert ("preparation_id", "kind", "number") in _constraints("draft_versions")
    assert ("unit_id", "kind", "number") not in _constraints("draft_versions")
    assert ("preparation_id", "kind") in _constraints("approval_exceptions")
    columns = {c["name"]: c for c in sa.inspect(db.engine).get_columns("comment_rounds")}
    assert columns["preparation_id"]["nullable"] is False
    if db.engine.dialect.name == "sqlite":  # switched off for the change, enforced again after it
        assert db.session.execute(sa.text("PRAGMA foreign_keys")).scalar_one() == 1


def test_going_back_numbers_two_preparations_drafts_as_one_series(migrating):
    from congress.drafts.models import ApprovalException, DraftVersion

    preps = _preps()
    unit_id = _unit_id()
    for prep_id, numbers in ((preps["party"], (1, 2)), (preps["party_2030"], (1,))):
        for number in numbers:
            db.session.add(DraftVersion(preparation_id=prep_id, unit_id=unit_id, kind="political_report",
                                        number=number, format="docx", sha256="0" * 64, size=1,
                                        original_name=f"{prep_id}-{number}.docx", uploaded_on=date(2025, 8, 1),
                                        uploaded_at=AT, actor="test", status="draft"))
        db.session.add(ApprovalException(preparation_id=prep_id, unit_id=unit_id, kind="political_report",
                                         reason=f"lý do {prep_id}", at=AT, actor="test"))
    _migrate(BEFORE)
    rows = db.session.execute(sa.text("SELECT original_name, number FROM draft_versions ORDER BY id")).all()
    assert [tuple(r) for r in rows] == [(f"{preps['party']}-1.docx", 1), (f"{preps['party']}-2.docx", 2),
                                        (f"{preps['party_2030']}-1.docx", 3)]
    assert ("unit_id", "kind", "number") in _constraints("draft_versions")
    assert db.session.execute(sa.text("SELECT reason FROM approval_exceptions")).scalars().all() == [
        f"lý do {preps['party_2030']}"]  # the newest
    assert "preparation_id" not in {c["name"] for c in sa.inspect(db.engine).get_columns("comment_rounds")}
    _migrate()  # and up again: the one series is the newest party preparation's
    assert set(db.session.execute(sa.text("SELECT preparation_id FROM draft_versions")).scalars()) == {
        preps["party_2030"]}

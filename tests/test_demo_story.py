"""The demo tells one story: what a unit's steps say it drafted, discussed, submitted or had
approved is on its drafts tab, written as the drafts operations write it; and everything is
stamped on the demo's clock (its reference day, at the real time of day)."""
from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from congress import clock
from congress.audit.models import AuditRecord
from congress.drafts import operations, storage
from congress.drafts.models import CommentRound, DraftReview, DraftVersion, RoundComment
from congress.errors import OperationError
from congress.extensions import db
from congress.progress import operations as progress_ops
from congress.progress.models import Preparation, Step
from congress.seeding.seed import CAMPAIGN_STARTS_ON
from congress.units.models import Unit
from tests.conftest import TODAY
from tests.test_drafts import REPORT_1, REPORT_2, make_docx
from workflows.deadlines import LOCAL_TZ
from workflows.rules import Action

#: the approval steps and the document kind whose approved version each records
APPROVALS = {"documents_approval": "political_report", "personnel_plan": "personnel_submission"}
#: the steps that draft a document kind in versions
DRAFTING = {"political_report": "political_report", "self_review": "self_review_report",
            "resolution": "congress_resolution"}
DRAFT_ACTIONS = ("draft.upload", "draft.submit", "draft.approve", "draft.return", "round.open", "round.comment",
                 "round.close")


def as_utc(moment: datetime) -> datetime:
    """SQLite gives back naive UTC times, PostgreSQL aware ones."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def local_day(moment: datetime) -> date:
    return as_utc(moment).astimezone(LOCAL_TZ).date()


def unit_steps() -> dict[int, dict[str, Step]]:
    found: dict[int, dict[str, Step]] = defaultdict(dict)
    for unit_id, step in db.session.execute(sa.select(Preparation.unit_id, Step).join(Step.preparation)
                                            .where(Step.branch_id.is_(None))).all():
        found[unit_id][step.key] = step
    return found


def drafts_by_unit() -> dict[int, dict[str, list[DraftVersion]]]:
    found: dict[int, dict[str, list[DraftVersion]]] = defaultdict(lambda: defaultdict(list))
    for version in db.session.execute(db.select(DraftVersion).order_by(DraftVersion.number)).scalars():
        found[version.unit_id][version.kind].append(version)
    return found


def step_records(action: str) -> dict[tuple[int, str], list[AuditRecord]]:
    found: dict[tuple[int, str], list[AuditRecord]] = defaultdict(list)
    for record in db.session.execute(db.select(AuditRecord).filter_by(action=action, entity="step")
                                     .order_by(AuditRecord.at, AuditRecord.id)).scalars():
        if "-" not in record.entity_key.split("/", 1)[0]:  # the unit's own steps, not its branches'
            found[(record.unit_id, record.step_key)].append(record)
    return found


# --- the drafts follow the steps ------------------------------------------------------------------

def test_every_demo_unit_has_the_drafts_its_steps_imply(app):
    steps, drafts = unit_steps(), drafts_by_unit()
    rounds = defaultdict(list)
    for found in db.session.execute(db.select(CommentRound).order_by(CommentRound.id)).scalars():
        rounds[found.unit_id].append(found)
    returns = step_records("step.return")
    assert len(steps) == 114
    seen = defaultdict(int)
    for unit_id, by_key in steps.items():
        own = drafts[unit_id]
        where = db.session.get(Unit, unit_id).code
        for key, kind in DRAFTING.items():
            step = by_key[key]
            assert bool(own[kind]) == (step.state != "not_started"), (where, key, step.state)
            if own[kind]:
                assert own[kind][0].uploaded_on == step.started_on, (where, key)
                assert all(v.status == "draft" for v in own[kind] if kind not in APPROVALS.values())
            if step.state == "done":  # its last draft came with its completion
                drafted = [v for v in own[kind] if v.uploaded_on <= step.completed_on]
                assert drafted[-1].uploaded_on == step.completed_on, (where, key)
                assert len(drafted) >= 2 or key == "resolution", (where, key)
        _check_round(by_key["comment_round"], rounds[unit_id], own["political_report"], where)
        for key, kind in APPROVALS.items():
            seen[(key, by_key[key].state, bool(by_key[key].reason))] += 1
            _check_approval(by_key[key], own[kind], returns.get((unit_id, key), []), where)
    # the demo shows the stages of the approval loop: drafting, waiting, approved, done (and returns)
    assert any(returns.values())
    for state, reason in (("in_progress", False), ("submitted", False), ("approved", False), ("done", False)):
        assert sum(seen[(key, state, reason)] for key in APPROVALS) >= 1, (state, reason, dict(seen))
    assert all(seen[(key, "done", False)] >= 1 for key in APPROVALS)


def _check_round(step: Step, rounds: list[CommentRound], reports: list[DraftVersion], where: str) -> None:
    if step.state == "not_started":
        assert rounds == [], where
        return
    assert len(rounds) == 1, where
    found = rounds[0]
    assert found.draft.kind == "political_report" and found.draft in reports, where
    assert found.draft.uploaded_on <= found.starts_on == step.started_on <= found.ends_on, where
    if step.state == "done":
        assert found.state == "closed" and found.closed_on == step.completed_on, where
        assert found.comments and sum(c.count for c in found.comments) >= 5, where
        assert {c.audience for c in found.comments} == set(found.audiences), where
        assert any(c.text for c in found.comments), where
    else:
        assert step.state == "in_progress" and found.state == "open" and not found.comments, where


def _check_approval(step: Step, versions: list[DraftVersion], returns: list[AuditRecord], where: str) -> None:
    """The approval step and its kind's versions say the same thing, stage by stage."""
    statuses = [v.status for v in versions]
    returned = [v for v in versions if v.status == "returned"]
    assert [v.verdict_reason for v in returned] == [r.reason for r in returns], where
    assert [v.decided_on for v in returned] == [local_day(r.at) for r in returns], where
    if step.state == "not_started":
        assert set(statuses) <= {"draft"}, where
        if step.key == "personnel_plan":
            assert versions == [], where
    elif step.state == "in_progress":
        assert "submitted" not in statuses and "approved" not in statuses, where
        if step.reason:  # returned, not sent again yet
            assert versions[-1].status == "returned" and versions[-1].verdict_reason == step.reason, where
        else:
            assert not returned, where
    elif step.state == "submitted":
        assert statuses.count("submitted") == 1 and "approved" not in statuses, where
        pending = versions[statuses.index("submitted")]
        assert pending is versions[-1] and pending.submitted_on == step.submitted_on, where
    else:
        assert step.state in ("approved", "done"), where
        assert statuses.count("approved") == 1 and "submitted" not in statuses, where
        approved = versions[statuses.index("approved")]
        assert approved is versions[-1], where
        assert (approved.submitted_on, approved.decided_on) == (step.submitted_on, step.approved_on), where
    if step.state != "not_started" and step.key == "personnel_plan":
        assert versions and versions[0].uploaded_on == step.started_on, where


def test_the_early_drafts_are_on_the_drafts_tab(app):
    """Tứ Minh, Phú Thái and An Thành had finished draft 2 of the political report by 17/7/2025."""
    for code in ("10891", "10750", "10792"):
        unit = db.session.execute(db.select(Unit).filter_by(code=code)).scalar_one()
        numbers = db.session.execute(sa.select(DraftVersion.number).where(
            DraftVersion.unit_id == unit.id, DraftVersion.kind == "political_report",
            DraftVersion.uploaded_on <= date(2025, 7, 17))).scalars().all()
        assert 2 in numbers, code


def test_the_demo_files_are_real_word_documents(app):
    versions = db.session.execute(db.select(DraftVersion)).scalars().all()
    assert len(versions) > 300
    for version in versions:
        content = storage.read(version.sha256)
        checked = storage.check(content)
        assert (checked.format, checked.sha256, checked.size) == ("docx", version.sha256, version.size)
        assert version.format == "docx" and version.original_name.endswith(".docx")
    report = next(v for v in versions if v.kind == "political_report" and v.number == 2)
    from congress.drafts.diff import paragraphs

    text = paragraphs(storage.read(report.sha256))
    assert "BÁO CÁO CHÍNH TRỊ" in text and "DỰ THẢO LẦN 2" in text
    assert any(report.unit.name.upper() in line for line in text)


def test_the_drafts_history_is_the_one_the_operations_write(app):
    """Each draft row has its audit record at the same moment; the records have the operations' shape."""
    versions = db.session.execute(db.select(DraftVersion)).scalars().all()
    records = defaultdict(list)
    for record in db.session.execute(db.select(AuditRecord).where(AuditRecord.action.in_(DRAFT_ACTIONS))).scalars():
        records[(record.action, record.entity_key)].append(record)
    for version in versions:
        key = f"{version.unit.code}/{version.kind}/{version.number}"
        upload = records[("draft.upload", key)]
        assert len(upload) == 1 and as_utc(upload[0].at) == as_utc(version.uploaded_at), key
        assert local_day(version.uploaded_at) == version.uploaded_on and upload[0].reason == version.note
        assert upload[0].new["size"] == version.size and upload[0].actor == version.actor
        assert version.version == 1 + len(version.reviews)
        for review in version.reviews:
            found = [r for r in records[(f"draft.{review.action}", key)] if as_utc(r.at) == as_utc(review.at)]
            assert len(found) == 1 and found[0].actor == review.actor and local_day(review.at) == review.on, key
            assert found[0].reason == review.text
    for found in db.session.execute(db.select(CommentRound)).scalars():
        key = f"{found.draft.unit.code}/{found.draft.kind}/{found.draft.number}/{found.id}"
        assert len(records[("round.open", key)]) == 1
        assert len(records[("round.comment", key)]) == len(found.comments)
        assert len(records[("round.close", key)]) == (found.state == "closed")
    assert shapes(records) == operation_shapes()


def shapes(records) -> dict[str, tuple]:
    """Per action, the fields its records keep in old and new."""
    found = {}
    for (action, _), group in records.items():
        for record in group:
            found.setdefault(action, (tuple(sorted(record.old or {})), tuple(sorted(record.new or {}))))
    return found


def operation_shapes() -> dict[str, tuple]:
    """The same actions through congress.drafts.operations on a copy of the demo, in a nested
    transaction that is rolled back."""
    from congress.accounts.models import User

    people = {u.username: u for u in db.session.execute(db.select(User)).scalars()}
    unit = db.session.execute(db.select(Unit).filter_by(code="11311")).scalar_one()
    staff, leader, city = people["hongbang.vanphong"], people["hongbang.bithu"], people["thanhuy.lanhdao"]
    with db.session.begin_nested() as nested:
        first = operations.upload_version(unit, "self_review_report", filename="a.docx", content=REPORT_1,
                                          note="Ghi chú", actor=staff)
        found = operations.open_round(first, audiences=["members"], starts_on=TODAY, ends_on=TODAY, actor=staff)
        operations.add_comments(found, [operations.CommentEntry("members", 3, "Ý kiến")], actor=staff)
        operations.close_round(found, actor=staff)
        second = operations.upload_version(unit, "self_review_report", filename="b.docx", content=REPORT_2,
                                           note=None, actor=staff)
        for version, verdict in ((first, "return"), (second, "approve")):
            operations.submit_version(version, actor=leader)
            operations.review_version(version, verdict=verdict, text="Lý do" if verdict == "return" else None,
                                      actor=city)
        db.session.flush()
        made = db.session.execute(db.select(AuditRecord).where(
            AuditRecord.action.in_(DRAFT_ACTIONS), AuditRecord.actor_id.in_([staff.id, leader.id, city.id]),
            AuditRecord.entity_key.like("11311/self_review_report/%"))).scalars().all()
        found_shapes = {}
        for record in made:
            found_shapes.setdefault(record.action, (tuple(sorted(record.old or {})), tuple(sorted(record.new or {}))))
        nested.rollback()
    return found_shapes


# --- the demo's clock ---------------------------------------------------------------------------------

def test_the_clock_is_the_reference_day_at_the_real_time_of_day(app):
    before = datetime.now(UTC).astimezone(LOCAL_TZ)
    local, utc = clock.local_now(), clock.utcnow()
    after = datetime.now(UTC).astimezone(LOCAL_TZ)
    assert local.date() == TODAY == utc.astimezone(LOCAL_TZ).date() == clock.today()
    assert utc.tzinfo is UTC and abs(utc - local) < timedelta(seconds=1)
    assert before.time() <= local.timetz().replace(tzinfo=None) <= after.time() or after.date() != before.date()
    app.config["CONGRESS_TODAY"] = None
    assert abs(clock.utcnow() - datetime.now(UTC)) < timedelta(seconds=1)


def test_a_transition_today_is_recorded_on_the_demo_day(app):
    from congress.accounts.models import User

    admin = db.session.execute(db.select(User).filter_by(username="admin")).scalar_one()
    waiting = db.session.execute(db.select(Step).where(Step.branch_id.is_(None), Step.state == "not_started")
                                 .order_by(Step.id)).scalars().all()
    for step in waiting:  # the first whose prerequisites are done
        try:
            with db.session.begin_nested():
                progress_ops.transition(step, action=Action.START, actor=admin, version=step.version)
            break
        except OperationError:
            continue
    else:
        pytest.fail("no step of the demo can be started")
    version = operations.upload_version(step.preparation.unit, "congress_resolution", filename="nq.docx",
                                        content=make_docx("NGHỊ QUYẾT"), note=None, actor=admin)
    db.session.commit()
    latest = db.session.execute(db.select(AuditRecord).order_by(AuditRecord.id.desc()).limit(2)).scalars().all()
    assert {r.action for r in latest} == {"step.start", "draft.upload"}
    for record in latest:
        assert local_day(record.at) == TODAY
    assert local_day(step.updated_at) == TODAY and local_day(version.uploaded_at) == TODAY == version.uploaded_on


def test_every_demo_record_is_on_or_before_the_demo_day(app):
    days = db.session.execute(sa.select(AuditRecord.action, AuditRecord.at)).all()
    assert days and all(CAMPAIGN_STARTS_ON <= local_day(at) <= TODAY for _, at in days)
    made = [local_day(at) for action, at in days if action == "user.add"]
    assert made and set(made) == {CAMPAIGN_STARTS_ON}  # the accounts exist before the story begins
    for model, column in ((DraftVersion, DraftVersion.uploaded_at), (DraftReview, DraftReview.at),
                          (CommentRound, CommentRound.opened_at), (RoundComment, RoundComment.recorded_at)):
        moments = db.session.execute(sa.select(column)).scalars().all()
        assert moments and all(CAMPAIGN_STARTS_ON <= local_day(m) <= TODAY for m in moments), model.__name__


@pytest.mark.parametrize("reference", [date(2025, 7, 12)])
def test_early_in_the_campaign_there_are_few_drafts(make_app, reference):
    """Cut at another day, the demo's drafts follow its steps all the same."""
    from congress.seeding.seed import seed

    app = make_app("empty", CONGRESS_TODAY=reference)
    with app.app_context():
        seed(["31"], demo=True)
        db.session.commit()
        steps, drafts = unit_steps(), drafts_by_unit()
        for unit_id, by_key in steps.items():
            for key, kind in DRAFTING.items():
                assert bool(drafts[unit_id][kind]) == (by_key[key].state != "not_started")
        latest = db.session.execute(sa.select(sa.func.max(DraftVersion.uploaded_on))).scalar()
        assert latest is None or latest <= reference

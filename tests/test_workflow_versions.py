"""Workflow definitions as managed data: uploaded versions (validated with the loader's one-line
problems, stored once per content, numbered with the files' versions), their differences, and
migrating units to a new version: previewed, refused when it would lose a recorded step, applied
all or nothing, audited, and idempotent."""
from __future__ import annotations

import copy
from datetime import timedelta

import pytest
import sqlalchemy as sa
import yaml
from flask_babel import force_locale

from congress.audit.models import AuditRecord
from congress.errors import NotFound, Unprocessable
from congress.extensions import db
from congress.messages import describe
from congress.progress import versions
from congress.progress.definitions import current_version, definitions
from congress.progress.models import Campaign, Preparation, Step, WorkflowVersion
from congress.progress.operations import _due_columns, anchors_for
from congress.units.models import Branch
from congress.versions_cli import versions_cli
from tests.conftest import TODAY
from workflows.loader import DEFINITIONS_DIR, DefinitionError, load_file, parse_definition
from workflows.rules import State

COMMUNE = DEFINITIONS_DIR / "commune_congress.yaml"
BRANCH = DEFINITIONS_DIR / "branch_congress.yaml"
ACTOR = "cli:test"

SURVEY = {"key": "survey", "title": {"vi": "Khảo sát tình hình tổ chức đảng trước đại hội",
                                     "en": "Survey the party organisation before the congress"},
          "phase": "preparation", "due": {"from": "congress", "offset": -40}}
PRESS = {"key": "press_release", "title": {"vi": "Thông cáo báo chí về kết quả đại hội",
                                           "en": "Issue a press release on the congress result"},
         "phase": "after", "requires": ["congress"], "due": {"from": "congress", "offset": 3}}


def raw(path=COMMUNE) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def dump(body: dict) -> str:
    return yaml.safe_dump(body, allow_unicode=True, sort_keys=False)


def next_commune(*, drop: str | None = "archive", survey: bool = True, bump: int = 1) -> str:
    """The commune workflow one version on: a "survey" step the (finished) plan now requires, a
    press release after the congress, the delegates due a day earlier, without ``drop``."""
    body = copy.deepcopy(raw())
    body["version"] += bump
    steps = [s for s in body["steps"] if s["key"] != drop]
    for step in steps:
        if step["key"] == "plan" and survey:
            step["requires"] = ["survey"]
        if step["key"] == "delegates":
            step["due"] = {"from": "congress", "offset": -6}
    result = steps.index(next(s for s in steps if s["key"] == "result_report"))
    steps.insert(result + 1, copy.deepcopy(PRESS))
    if survey:
        steps.insert(0, copy.deepcopy(SURVEY))
    body["steps"] = steps
    return dump(body)


def counts() -> dict:
    return {"steps": db.session.execute(sa.select(sa.func.count(Step.id))).scalar_one(),
            "audit": db.session.execute(sa.select(sa.func.count(AuditRecord.id))).scalar_one(),
            "versions": db.session.execute(sa.select(sa.func.count(WorkflowVersion.id))).scalar_one(),
            "followed": sorted(db.session.execute(sa.select(
                Preparation.id, Preparation.workflow_version_id, Preparation.branch_workflow_version_id,
                Preparation.version)).all())}


def recorded_steps() -> dict:
    return {(s.preparation_id, s.branch_id, s.key): (s.state, s.started_on, s.submitted_on, s.approved_on,
                                                     s.completed_on, s.note, s.reason, s.missed_due_on)
            for s in db.session.execute(db.select(Step)).scalars() if versions.is_recorded(s)}


def campaign() -> Campaign:
    return db.session.execute(db.select(Campaign).order_by(Campaign.id)).scalars().first()


def preparations(exclude_recorded: str | None = None) -> list[Preparation]:
    """The campaign's preparations, without those whose unit step ``exclude_recorded`` is recorded."""
    preps = versions.campaign_preparations(campaign())
    if exclude_recorded is None:
        return preps
    blocked = {s.preparation_id for s in db.session.execute(db.select(Step).where(
        Step.branch_id.is_(None), Step.key == exclude_recorded)).scalars() if versions.is_recorded(s)}
    return [p for p in preps if p.id not in blocked]


def audits(action: str) -> list[AuditRecord]:
    return db.session.execute(db.select(AuditRecord).filter_by(action=action).order_by(AuditRecord.id)).scalars().all()


# --- storing definitions ------------------------------------------------------------------------

def test_an_upload_is_stored_as_the_next_revision_and_audited(app):
    first = current_version("commune_congress")
    assert first.revision == 1
    version = versions.add_definition(next_commune(), "commune_congress_v3.yaml", ACTOR)
    db.session.commit()
    declared = raw()["version"] + 1
    assert (version.key, version.revision, version.declared_version) == ("commune_congress", 2, declared)
    assert version.source == "commune_congress_v3.yaml"
    assert "survey" in version.definition().step_keys and "archive" not in version.definition().step_keys
    [entry] = audits("workflow.add")
    assert (entry.actor, entry.entity, entry.entity_key) == (ACTOR, "workflow", "commune_congress r2")
    assert entry.new == {"workflow": "commune_congress r2", "declared_version": declared,
                         "source": "commune_congress_v3.yaml"}
    assert versions.latest_version("commune_congress").id == version.id
    # the file on disk is unchanged: units enrolled from it still get r1
    assert current_version("commune_congress").id == first.id


def test_the_same_content_again_is_the_stored_revision_and_nothing_is_written(app):
    text = next_commune()
    first = versions.store_definition(text, "a.yaml", ACTOR)
    db.session.commit()
    before = counts()
    again = versions.store_definition(text, "b.yaml", ACTOR)
    reformatted = versions.store_definition(yaml.safe_dump(yaml.safe_load(text), allow_unicode=True), "c.yaml",
                                            ACTOR)
    assert first.new and not again.new and not reformatted.new
    assert again.version.id == reformatted.version.id == first.version.id
    # the shipped file's own text is the version stored from the file
    shipped = versions.store_definition(COMMUNE.read_text(encoding="utf-8"), "commune_congress.yaml", ACTOR)
    assert not shipped.new and shipped.version.revision == 1
    assert counts() == before
    assert len(audits("workflow.add")) == 1


def test_uploads_and_files_share_one_revision_sequence(app, monkeypatch):
    uploaded = versions.add_definition(next_commune(), "upload.yaml", ACTOR)
    assert uploaded.revision == 2
    changed = parse_definition(yaml.safe_load(next_commune(drop=None, bump=2)), "commune_congress.yaml")
    monkeypatch.setitem(definitions(), "commune_congress", changed)
    from_file = current_version("commune_congress")
    assert from_file.revision == 3 and from_file.declared_version == raw()["version"] + 2
    assert [v.version.revision for v in versions.stored_versions("commune_congress")] == [1, 2, 3]


def test_a_new_workflow_key_is_allowed_and_unknown_keys_are_not_found(app):
    body = raw()
    body["key"] = "youth_union_congress"
    body["version"] = 1
    version = versions.add_definition(dump(body), "youth.yaml", ACTOR)
    assert (version.key, version.revision) == ("youth_union_congress", 1)
    assert versions.latest_version("youth_union_congress").id == version.id
    assert versions.latest_version("branch_congress").revision == 1
    with pytest.raises(NotFound) as caught:
        versions.latest_version("no_such_workflow")
    assert caught.value.code == "workflow_not_found"
    with pytest.raises(NotFound) as caught:
        versions.version_of("commune_congress", 9)
    assert caught.value.code == "workflow_revision_not_found"


BAD_DEFINITIONS = {
    "yaml": "key: commune_congress\nsteps: [plan\n  - key: x\n",
    "definition": None,  # built in the test: an unknown prerequisite, phase and document, a bad due rule
    "not_a_mapping": "- just\n- a list\n",
}


@pytest.mark.parametrize("kind", sorted(BAD_DEFINITIONS))
def test_a_bad_upload_is_refused_with_the_loaders_one_line_problems(app, tmp_path, kind):
    text = BAD_DEFINITIONS[kind]
    if text is None:
        body = raw()
        body["steps"][1]["requires"] = ["nowhere"]
        body["steps"][2]["phase"] = "elsewhere"
        body["steps"][3]["document"] = "poem"
        body["steps"][4]["due"] = {"from": "tomorrow"}
        text = dump(body)
    path = tmp_path / "broken.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DefinitionError) as loaded:
        load_file(path)
    before = counts()
    with pytest.raises(Unprocessable) as refused:
        versions.add_definition(text, "broken.yaml", ACTOR)
    assert refused.value.code == "workflow_invalid"
    assert refused.value.params["problems"] == loaded.value.problems
    assert all("\n" not in line for line in refused.value.params["problems"])
    if kind == "definition":
        assert len(loaded.value.problems) >= 4
    assert counts() == before
    with app.test_request_context():
        for locale in ("vi", "en"):
            with force_locale(locale):
                message = describe(refused.value.code, refused.value.params)
                assert loaded.value.problems[0] in message
                assert "(workflow_invalid)" not in message


def test_a_stored_workflow_keeps_its_subject(app):
    body = raw(BRANCH)
    body["key"] = "commune_congress"
    with pytest.raises(Unprocessable) as refused:
        versions.add_definition(dump(body), "swap.yaml", ACTOR)
    assert refused.value.params["problems"] == [
        "swap.yaml: workflow 'commune_congress' is for a unit, not a branch"]


# --- differences ----------------------------------------------------------------------------------

def test_the_diff_names_steps_added_removed_and_changed_and_shows_the_yaml(app):
    old = current_version("commune_congress")
    body = yaml.safe_load(next_commune())
    body["phases"].append({"key": "review", "title": {"vi": "Sơ kết", "en": "Review"}})
    new = versions.add_definition(dump(body), "next.yaml", ACTOR)
    found = versions.diff_versions(old, new)
    assert (found.key, found.old_revision, found.new_revision) == ("commune_congress", 1, 2)
    assert found.steps_added == ("survey", "press_release")
    assert found.steps_removed == ("archive",)
    assert found.phases_added == ("review",) and found.phases_removed == ()
    changed = {c.key: c.fields for c in found.steps_changed}
    assert changed == {"plan": {"requires": ([], ["survey"])},
                       "delegates": {"due": ({"from": "congress", "offset": -5, "days": "calendar"},
                                             {"from": "congress", "offset": -6, "days": "calendar"})}}
    assert found.text.startswith("--- commune_congress r1\n+++ commune_congress r2")
    assert "+- key: survey" in found.text and "-- key: archive" in found.text
    assert "+- key: review" in found.text and "+    vi: Sơ kết" in found.text
    assert not found.unchanged
    assert versions.diff_versions(new, new).unchanged


def test_a_change_of_title_approval_weight_or_skippability_is_listed_by_field(app):
    old = current_version("commune_congress")
    body = raw()
    body["version"] += 1
    step = next(s for s in body["steps"] if s["key"] == "pilot_lessons")
    step.update(title={"vi": "Dự đại hội điểm", "en": "Attend the pilot congress"}, weight=2, skippable=False,
                document="congress_agenda", phase="preparation", approval=True, done_when=None)
    new = versions.add_definition(dump(body), "next.yaml", ACTOR)
    [change] = versions.diff_versions(old, new).steps_changed
    assert change.key == "pilot_lessons"
    assert set(change.fields) == {"title", "approval", "weight", "document", "phase", "skippable"}
    assert change.fields["weight"] == (1, 2)
    assert change.fields["title"][1] == {"vi": "Dự đại hội điểm", "en": "Attend the pilot congress"}


# --- migrations -----------------------------------------------------------------------------------

#: the commune steps a migration to next_commune() keeps: all but the archive
KEPT = len(raw()["steps"]) - 1


def test_a_preview_lists_what_it_adds_and_drops_and_writes_nothing(app):
    target = versions.add_definition(next_commune(), "next.yaml", ACTOR)
    db.session.commit()
    before = counts()
    preps = preparations()
    plan = versions.migrate(preps, target, actor=ACTOR, scope="unit")
    assert not plan.applied and plan.unchanged == 0 and len(plan.units) == len(preps) == 114
    for unit in plan.units:
        assert [m.key for m in unit.add] == ["survey", "press_release"]
        assert all(m.due_on is not None and m.state == State.NOT_STARTED.value for m in unit.add)
        assert [m.key for m in unit.drop] == ["archive"]
        assert unit.kept == KEPT and unit.from_version.revision == 1
    blocked = {move.owner for _, move in plan.blockers}
    assert len(blocked) == 3 and not plan.can_apply
    assert {(w.step, w.prerequisite) for _, w in plan.warnings} == {("plan", "survey")}
    assert len(plan.warnings) == 114  # every unit's plan is done, and the survey is new
    assert (plan.steps_added, plan.steps_dropped, plan.steps_kept) == (228, 114, 114 * KEPT)
    assert plan.added_past_due and all(move.due_on < TODAY for _, move in plan.added_past_due)
    assert counts() == before


def test_a_migration_that_would_drop_a_recorded_step_is_refused_and_changes_nothing(app):
    target = versions.add_definition(next_commune(), "next.yaml", ACTOR)
    db.session.commit()
    before, steps = counts(), recorded_steps()
    with pytest.raises(Unprocessable) as refused:
        versions.migrate(preparations(), target, actor=ACTOR, scope="unit", confirm=True)
    error = refused.value
    assert error.code == "migration_would_lose_steps" and error.params["count"] == 3
    assert all(label.endswith("/archive") for label in error.params["steps"])
    assert len(error.params["units"]) == 3
    db.session.rollback()
    assert counts() == before and recorded_steps() == steps
    with app.test_request_context():
        with force_locale("vi"):
            words = describe(error.code, error.params)
            assert "commune_congress r2" in words and "bước đã ghi nhận tiến độ" in words
            assert error.params["steps"][0] in words
        with force_locale("en"):
            assert "whose progress is on record" in describe(error.code, error.params)


def test_a_migration_adds_steps_keeps_recorded_ones_audits_and_runs_once(app):
    target = versions.add_definition(next_commune(), "next.yaml", ACTOR)
    db.session.commit()
    preps = preparations(exclude_recorded="archive")
    assert len(preps) == 111
    moving = {p.id for p in preps}
    before, steps = counts(), recorded_steps()
    plan = versions.migrate(preps, target, actor=ACTOR, scope="unit", confirm=True)
    db.session.commit()
    assert plan.applied and len(plan.units) == 111
    # every recorded step is still there, as it was
    assert recorded_steps() == steps
    after = counts()
    assert after["steps"] == before["steps"] + 111 * 2 - 111
    new_def = target.definition()
    for prep in db.session.execute(db.select(Preparation)).scalars():
        keys = {s.key: s for s in db.session.execute(db.select(Step).where(
            Step.preparation_id == prep.id, Step.branch_id.is_(None))).scalars()}
        if prep.id not in moving:
            assert prep.workflow_version.revision == 1 and "archive" in keys and "survey" not in keys
            continue
        assert prep.workflow_version_id == target.id
        assert set(keys) == set(new_def.step_keys)
        anchors = anchors_for(prep)
        for key in ("survey", "press_release", "delegates"):
            expected = _due_columns(new_def.step(key), anchors)
            assert (keys[key].due_on, keys[key].due_kind) == (expected["due_on"], expected["due_kind"]), key
            assert keys[key].due_on is not None
        assert keys["survey"].state == keys["press_release"].state == State.NOT_STARTED.value
    records = audits("preparation.migrate")
    assert len(records) == 111 and {r.unit_id for r in records} == {p.unit_id for p in preps}
    first = records[0]
    assert first.actor == ACTOR and first.old == {"workflow": "commune_congress r1"}
    assert first.new == {"workflow": "commune_congress r2", "steps_added": ["survey", "press_release"],
                         "steps_dropped": ["archive"]}

    # a second run finds every unit on the version already: nothing is written
    again_before = counts()
    again = versions.migrate(preparations(exclude_recorded="archive"), target, actor=ACTOR, scope="unit",
                             confirm=True)
    db.session.commit()
    assert again.units == [] and again.unchanged == 111
    assert counts() == again_before


def test_a_kept_step_keeps_its_lapse_when_its_due_date_moves_later(app):
    """The delegates due a day later: a step that let its due date pass stays overdue against it."""
    body = raw()
    body["version"] += 1
    next(s for s in body["steps"] if s["key"] == "delegates")["due"] = {"from": "congress", "offset": -2}
    target = versions.add_definition(dump(body), "later.yaml", ACTOR)
    lapsed = db.session.execute(db.select(Step).where(
        Step.branch_id.is_(None), Step.key == "delegates",
        Step.state.in_([State.NOT_STARTED.value, State.IN_PROGRESS.value]),
        Step.due_on < TODAY, Step.missed_due_on.is_(None)).order_by(Step.id)).scalars().first()
    assert lapsed is not None, "the demo has units whose delegates step is overdue"
    step_id, missed = lapsed.id, lapsed.due_on
    versions.migrate(preparations(), target, actor=ACTOR, scope="unit", confirm=True)
    db.session.commit()
    step = db.session.get(Step, step_id)
    assert step.due_on == missed + timedelta(days=3) and step.missed_due_on == missed
    assert step.due.last_allowed_day == missed
    assert any(r.step_key == "delegates" for r in audits("step.due_moved"))


def test_branch_steps_move_to_a_new_branch_version(app):
    body = raw(BRANCH)
    body["version"] += 1
    body["steps"].append({"key": "minutes", "title": {"vi": "Lưu biên bản đại hội chi bộ",
                                                      "en": "File the branch congress minutes"},
                          "phase": "after", "requires": ["congress"], "due": {"from": "branch_congress", "offset": 2}})
    target = versions.add_definition(dump(body), "branch_next.yaml", ACTOR)
    preps = preparations()
    branches = db.session.execute(sa.select(sa.func.count(Branch.id)).where(
        Branch.unit_id.in_([p.unit_id for p in preps]))).scalar_one()
    unit_steps = db.session.execute(sa.select(sa.func.count(Step.id)).where(Step.branch_id.is_(None))).scalar_one()
    before, steps = counts(), recorded_steps()
    plan = versions.migrate(preps, target, actor=ACTOR, scope="branch", confirm=True)
    db.session.commit()
    assert plan.steps_added == branches and plan.steps_dropped == 0
    assert counts()["steps"] == before["steps"] + branches
    assert db.session.execute(sa.select(sa.func.count(Step.id)).where(Step.branch_id.is_(None))).scalar_one() \
        == unit_steps
    assert recorded_steps() == steps
    minutes = db.session.execute(db.select(Step).filter_by(key="minutes")).scalars().all()
    assert len(minutes) == branches and all(s.due_on is not None for s in minutes)
    assert all(p.branch_workflow_version_id == target.id and p.workflow_version.revision == 1
               for p in db.session.execute(db.select(Preparation)).scalars())
    record = audits("preparation.migrate")[0]
    assert record.old == {"workflow": "branch_congress r1"}
    assert record.new["steps_added"] and all(label.endswith("/minutes") for label in record.new["steps_added"])


def test_a_migration_to_another_workflow_or_scope_is_refused(app):
    branch_version = current_version("branch_congress")
    with pytest.raises(Unprocessable) as refused:
        versions.plan_migration(preparations(), branch_version, scope="unit")
    assert refused.value.code == "migration_wrong_workflow"
    with pytest.raises(Unprocessable):
        versions.plan_migration(preparations(), current_version("commune_congress"), scope="branch")


def test_a_step_left_waiting_on_an_approval_the_new_version_drops_blocks_the_migration(app):
    body = raw()
    body["version"] += 1
    next(s for s in body["steps"] if s["key"] == "documents_approval")["approval"] = False
    body["drafts"]["political_report"] = {"starts": "political_report"}
    body["congress"]["needs_approved"] = ["personnel_submission"]
    target = versions.add_definition(dump(body), "no_approval.yaml", ACTOR)
    plan = versions.plan_migration(preparations(), target, scope="unit")
    stuck = db.session.execute(sa.select(sa.func.count(Step.id)).where(
        Step.branch_id.is_(None), Step.key == "documents_approval",
        Step.state.in_([State.SUBMITTED.value, State.APPROVED.value]))).scalar_one()
    assert stuck and len(plan.stranded) == stuck and not plan.blockers
    before = counts()
    with pytest.raises(Unprocessable) as refused:
        versions.migrate(preparations(), target, actor=ACTOR, scope="unit", confirm=True)
    assert refused.value.code == "migration_would_strand_steps"
    assert counts() == before


def test_a_migration_is_all_or_nothing(app, monkeypatch):
    target = versions.add_definition(next_commune(drop=None), "next.yaml", ACTOR)
    db.session.commit()
    before, steps = counts(), recorded_steps()
    calls = []

    def failing(**fields):
        calls.append(fields)
        if len(calls) == 50:
            raise RuntimeError("the audit log is unavailable")

    monkeypatch.setattr(versions, "record", failing)
    with pytest.raises(RuntimeError):
        versions.migrate(preparations(), target, actor=ACTOR, scope="unit", confirm=True)
    db.session.rollback()
    assert counts() == before and recorded_steps() == steps


# --- the command line -------------------------------------------------------------------------------

def test_the_versions_commands(app, tmp_path):
    runner = app.test_cli_runner()
    shipped = runner.invoke(versions_cli, ["add", str(COMMUNE)])
    assert shipped.exit_code == 0, shipped.output
    assert shipped.output.strip() == "commune_congress r1 (already stored)"

    upload = tmp_path / "commune_v3.yaml"
    upload.write_text(next_commune(), encoding="utf-8")
    added = runner.invoke(versions_cli, ["add", str(upload)])
    assert added.exit_code == 0, added.output
    assert added.output.strip() == "commune_congress r2 (new)"
    assert runner.invoke(versions_cli, ["add", str(upload)]).output.strip() == "commune_congress r2 (already stored)"

    broken = tmp_path / "broken.yaml"
    body = raw()
    body["steps"][1]["requires"] = ["nowhere"]
    broken.write_text(dump(body), encoding="utf-8")
    refused = runner.invoke(versions_cli, ["add", str(broken)])
    assert refused.exit_code == 1
    assert "broken.yaml: step 'subcommittees': unknown prerequisite 'nowhere'" in refused.output

    listed = runner.invoke(versions_cli, ["list", "commune_congress"])
    assert listed.exit_code == 0, listed.output
    lines = listed.output.strip().splitlines()
    assert len(lines) == 2
    declared = raw()["version"]
    assert lines[0].startswith(f"commune_congress r1\tv{declared}\tcommune_congress.yaml\t")
    assert lines[0].endswith("114 preparations")
    assert lines[1].startswith(f"commune_congress r2\tv{declared + 1}\tcommune_v3.yaml\t")
    assert lines[1].endswith("\t0 preparations")
    everything = runner.invoke(versions_cli, ["list"]).output
    assert "branch_congress r1" in everything
    assert runner.invoke(versions_cli, ["list", "nothing_here"]).exit_code == 1

    diffed = runner.invoke(versions_cli, ["diff", "commune_congress"])
    assert diffed.exit_code == 0, diffed.output
    assert diffed.output.startswith("commune_congress r1 -> r2\n")
    assert "steps added: survey, press_release" in diffed.output
    assert "steps removed: archive" in diffed.output
    assert "step plan: requires: [] -> [survey]" in diffed.output
    assert "+++ commune_congress r2" in diffed.output
    assert runner.invoke(versions_cli, ["diff", "commune_congress", "--from", "2", "--to", "2"]).output.endswith(
        "no differences\n")
    assert runner.invoke(versions_cli, ["diff", "branch_congress"]).exit_code == 1

    campaign_id = str(campaign().id)
    before = counts()
    preview = runner.invoke(versions_cli, ["migrate", "--campaign", campaign_id, "--to", "2"])
    assert preview.exit_code == 0, preview.output
    assert "114 units to move, 0 already on it" in preview.output
    assert "add 2: " in preview.output and "drop 1: " in preview.output
    assert preview.output.count("blocked: ") == 3 and "cannot be applied" in preview.output
    assert "added steps are already past their due date" in preview.output
    assert "preview only" in preview.output
    assert counts() == before
    blocked = runner.invoke(versions_cli, ["migrate", "--campaign", campaign_id, "--to", "2", "--confirm"])
    assert blocked.exit_code == 1
    assert counts() == before

    additions = tmp_path / "commune_v4.yaml"
    additions.write_text(next_commune(drop=None, bump=2), encoding="utf-8")
    assert runner.invoke(versions_cli, ["add", str(additions)]).output.strip() == "commune_congress r3 (new)"
    applied = runner.invoke(versions_cli, ["migrate", "--campaign", campaign_id, "--to", "3", "--confirm"])
    assert applied.exit_code == 0, applied.output
    assert "applied: 114 units moved to commune_congress r3" in applied.output
    db.session.expire_all()
    assert counts()["steps"] == before["steps"] + 114 * 2
    assert len(audits("preparation.migrate")) == 114
    again = runner.invoke(versions_cli, ["migrate", "--campaign", campaign_id, "--to", "3", "--confirm"])
    assert "0 units to move, 114 already on it" in again.output
    assert len(audits("preparation.migrate")) == 114
    assert runner.invoke(versions_cli, ["migrate", "--campaign", "999", "--to", "3"]).exit_code == 1
    assert runner.invoke(versions_cli, ["migrate", "--campaign", campaign_id, "--to", "9"]).exit_code == 1

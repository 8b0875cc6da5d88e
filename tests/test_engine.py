"""The engine inside the app: versions of definitions, audit, migrations, the CLI."""
import shutil
from datetime import date

import pytest
import sqlalchemy as sa

from congress.audit.models import AuditIsAppendOnly, AuditRecord
from congress.extensions import db
from congress.progress.models import Preparation, Step, WorkflowVersion
from congress.units.models import Unit
from tests.conftest import make_test_app
from workflows.loader import DEFINITIONS_DIR


def test_migrations_match_the_models(empty_app):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from congress.extensions import schema_objects_for

    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": schema_objects_for(conn.dialect.name)})
        diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_empty_database_has_every_table(empty_app):
    tables = set(sa.inspect(db.engine).get_table_names())
    assert {"provinces", "units", "unit_origins", "branches", "campaigns", "workflow_versions",
            "preparations", "steps", "users", "api_tokens", "audit_records", "alembic_version"} <= tables


def test_units_keep_their_definition_version_when_the_yaml_changes(base_app, databases, tmp_path):
    tu_minh = db.session.execute(db.select(Preparation).join(Unit).where(Unit.code == "10891")).scalar_one()
    old_version = tu_minh.workflow_version
    assert old_version.revision == 1
    assert old_version.definition().step("branch_congresses").weight == 20

    changed = tmp_path / "definitions"
    shutil.copytree(DEFINITIONS_DIR, changed)
    path = changed / "commune_congress.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("weight: 20", "weight: 30")
                    .replace("version: 1", "version: 2"), encoding="utf-8")
    edited = make_test_app(base_app.config["SQLALCHEMY_DATABASE_URI"], CONGRESS_WORKFLOWS_DIR=changed)
    with edited.app_context():
        from congress.progress.definitions import current_version
        from congress.progress.operations import enrol_units
        from congress.seeding.seed import ensure_campaign, seed_reference

        new_version = current_version("commune_congress")
        assert (new_version.revision, new_version.declared_version) == (2, 4)
        seed_reference(["01"])
        campaign, _ = ensure_campaign("01")
        hanoi = db.session.execute(db.select(Unit).where(Unit.province_code == "01").limit(2)).scalars().all()
        enrol_units(campaign, hanoi)
        db.session.commit()
        versions = dict(db.session.execute(sa.select(Unit.code, Preparation.workflow_version_id)
                                           .join(Preparation, Preparation.unit_id == Unit.id)).all())
        assert versions["10891"] == old_version.id
        assert versions[hanoi[0].code] == new_version.id
        stored = db.session.get(WorkflowVersion, old_version.id)
        assert stored.definition().step("branch_congresses").weight == 20
        assert new_version.definition().step("branch_congresses").weight == 30
        db.session.remove()
        db.engine.dispose()


def test_audit_records_cannot_be_changed_or_deleted(base_app):
    record = db.session.execute(db.select(AuditRecord).limit(1)).scalar_one()
    record.reason = "rewritten"
    with pytest.raises(AuditIsAppendOnly):
        db.session.flush()
    db.session.rollback()
    record = db.session.execute(db.select(AuditRecord).limit(1)).scalar_one()
    db.session.delete(record)
    with pytest.raises(AuditIsAppendOnly):
        db.session.flush()
    db.session.rollback()


def test_every_unit_step_has_a_due_date_from_the_campaign(base_app):
    rows = db.session.execute(sa.select(Step.key, Step.due_on, Step.due_kind).join(Preparation)
                              .join(Unit).where(Unit.code == "11311", Step.branch_id.is_(None))).all()
    due = {key: (day, kind) for key, day, kind in rows}
    assert len(due) == 17
    # no congress date planned yet: count from the campaign deadline "before 31/8" -> last day 30/8
    assert due["congress"] == (date(2025, 8, 30), "before")
    assert due["comment_round"] == (date(2025, 8, 15), "by")
    # 10 working days before Saturday 30/8: Mon 18/8 ... Fri 29/8 -> Monday 18/8
    assert due["branch_congresses"] == (date(2025, 8, 18), "by")


def test_cli_users_and_tokens(base_app):
    from congress.accounts.models import User

    runner = base_app.test_cli_runner()
    result = runner.invoke(args=["users", "add", "vp.tuminh", "--role", "unit_staff", "--unit", "10891",
                                 "--password-stdin"], input="mat-khau-dai-du\n")
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["users", "add", "x", "--role", "unit_staff", "--password-stdin"],
                           input="mat-khau-dai-du\n")
    assert result.exit_code != 0 and "--unit" in result.output
    result = runner.invoke(args=["users", "add", "y", "--role", "unit_staff", "--unit", "99999",
                                 "--password-stdin"], input="mat-khau-dai-du\n")
    assert result.exit_code != 0 and "99999" in result.output
    result = runner.invoke(args=["users", "add", "z", "--role", "admin", "--password-stdin"], input="short\n")
    assert result.exit_code != 0 and "10" in result.output
    assert db.session.execute(db.select(db.func.count()).select_from(User).where(
        User.username.in_(["x", "y", "z"]))).scalar() == 0

    user = db.session.execute(db.select(User).filter_by(username="vp.tuminh")).scalar_one()
    assert user.password_hash.startswith("scrypt:") and "mat-khau" not in user.password_hash
    assert user.check_password("mat-khau-dai-du")

    result = runner.invoke(args=["tokens", "create", "vp.tuminh", "--name", "laptop"])
    assert result.exit_code == 0
    token = result.output.strip()
    client = base_app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/units/10891", headers=headers).status_code == 200
    assert client.get("/api/v1/units/11311", headers=headers).status_code == 403
    from congress.accounts.models import ApiToken

    stored = db.session.execute(db.select(ApiToken)).scalar_one()
    assert stored.token_hash != token and token not in stored.token_hash
    listing = runner.invoke(args=["tokens", "list", "vp.tuminh"])
    assert "laptop" in listing.output and "active" in listing.output
    assert runner.invoke(args=["tokens", "revoke", str(stored.id)]).exit_code == 0
    assert client.get("/api/v1/units/10891", headers=headers).status_code == 401
    actions = db.session.execute(sa.select(AuditRecord.action).where(
        AuditRecord.action.in_(["user.add", "token.create", "token.revoke"]))).scalars().all()
    assert sorted(actions) == ["token.create", "token.revoke", "user.add"]


def test_cli_workflows_check(base_app, tmp_path):
    runner = base_app.test_cli_runner()
    ok = runner.invoke(args=["workflows", "check"])
    assert ok.exit_code == 0 and "commune_congress" in ok.output
    (tmp_path / "bad.yaml").write_text(
        "key: bad\nversion: 1\nsubject: unit\ntitle: {vi: X, en: X}\nphases: [{key: p, title: {vi: P, en: P}}]\n"
        "steps:\n  - {key: a, title: {vi: A, en: A}, phase: p, requires: [zz], document: poem}\n",
        encoding="utf-8")
    bad = runner.invoke(args=["workflows", "check", "--dir", str(tmp_path)])
    assert bad.exit_code == 1
    assert "bad.yaml: step 'a': unknown prerequisite 'zz'" in bad.output
    assert "bad.yaml: step 'a': unknown document kind 'poem'" in bad.output


def test_app_refuses_to_start_with_a_broken_definition(base_app, tmp_path):
    from workflows.loader import DefinitionError

    shutil.copytree(DEFINITIONS_DIR, tmp_path / "defs")
    path = tmp_path / "defs" / "branch_congress.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("requires: [plan]", "requires: [documents]"),
                    encoding="utf-8")
    with pytest.raises(DefinitionError) as info:
        make_test_app(base_app.config["SQLALCHEMY_DATABASE_URI"], CONGRESS_WORKFLOWS_DIR=tmp_path / "defs")
    assert "branch_congress.yaml: step 'documents': requires itself" in str(info.value)


def test_seeding_twice_changes_nothing(base_app):
    from congress.seeding.seed import seed

    def counts():
        return {t.name: db.session.execute(sa.select(sa.func.count()).select_from(t)).scalar()
                for t in db.metadata.sorted_tables}

    before = counts()
    seed(["31"])
    db.session.commit()
    assert counts() == before

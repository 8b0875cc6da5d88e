"""/readyz for load balancers, and the choices of `seed --scale`."""
import sqlalchemy as sa

from congress.extensions import db


def test_readyz_is_ready_when_the_schema_is_at_head(empty_app):
    response = empty_app.test_client().get("/readyz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ready" and body["revision"]
    assert response.headers["Cache-Control"] == "no-store"


def test_readyz_refuses_when_migrations_are_pending(empty_app):
    db.session.execute(sa.text("UPDATE alembic_version SET version_num = '0001_initial'"))
    db.session.commit()
    response = empty_app.test_client().get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["reason"] == "migrations_pending"
    assert body["database"] == ["0001_initial"] and body["expected"] != body["database"]


def test_readyz_refuses_a_database_never_migrated(empty_app):
    db.session.execute(sa.text("DROP TABLE alembic_version"))
    db.session.commit()
    response = empty_app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["reason"] == "migrations_pending"


def test_healthz_needs_no_database(empty_app):
    assert empty_app.test_client().get("/healthz").get_json() == {"status": "ok"}


def test_seed_scale_refuses_a_province_as_well(empty_app):
    result = empty_app.test_cli_runner().invoke(args=["seed", "--scale", "national", "--province", "01"])
    assert result.exit_code != 0 and "--province" in result.output
    result = empty_app.test_cli_runner().invoke(args=["seed", "--scale", "haiphong", "--all"])
    assert result.exit_code != 0 and "--all" in result.output


def test_seed_scale_haiphong_is_the_demo(empty_app):
    from congress.units.models import Branch, Unit

    result = empty_app.test_cli_runner().invoke(args=["seed", "--scale", "haiphong"])
    assert result.exit_code == 0, result.output
    assert db.session.execute(sa.select(sa.func.count(Unit.id))).scalar_one() == 114
    assert db.session.execute(sa.select(sa.func.count(Branch.id))).scalar_one() == 7049

"""The statements one step transition issues through the API (the README's "Statements per
transition"): a branch's step reads the branch with its unit, the preparation and the branch's
steps, then writes the step and its audit record; a unit's step also stores the unit's readiness."""
import sqlalchemy as sa

from congress.extensions import db
from congress.progress.models import Preparation, Step
from congress.units.models import Branch, Unit
from tests.test_queries import count_queries


def _branch_steps(count: int) -> list[tuple[str, int, dict]]:
    rows = db.session.execute(
        sa.select(Branch.code, Step.version, Step.state).join(Step, Step.branch_id == Branch.id)
        .where(Step.key == "report", Step.state.in_(("in_progress", "done")))
        .order_by(Branch.code).limit(count)).all()
    assert len(rows) == count
    return [(code, version, {"action": "complete", "version": version} if state == "in_progress"
             else {"action": "reopen", "version": version, "note": "Kiểm tra lại báo cáo kết quả"})
            for code, version, state in rows]


def _writes(statements: list[str]) -> list[str]:
    return [s.split()[0].upper() for s in statements if not s.lstrip().upper().startswith("SELECT")]


def test_a_branch_step_transition_issues_six_statements(app, api_as):
    client = api_as("admin")
    steps = _branch_steps(3)
    counts = []
    for code, _, body in steps:
        with count_queries() as statements:
            response = client.post(f"/api/v1/branches/{code}/steps/report/transitions", json=body)
        assert response.status_code == 200, response.get_json()
        counts.append(statements)
    # the first request reads the workflow definitions this process had not read yet
    for statements in counts[1:]:
        assert len(statements) == 6, statements
        assert _writes(statements) == ["UPDATE", "INSERT"], statements
        assert not any("workflow_versions" in s for s in statements)


def test_a_unit_step_transition_issues_at_most_twelve_statements(app, api_as):
    client = api_as("admin")
    rows = db.session.execute(
        sa.select(Unit.code, Step.key, Step.version).join(Preparation, Preparation.unit_id == Unit.id)
        .join(Step, Step.preparation_id == Preparation.id)
        .where(Step.branch_id.is_(None), Step.state == "done", Step.key == "plan")
        .order_by(Unit.code).limit(3)).all()
    assert len(rows) == 3
    counts = []
    for code, key, version in rows:
        with count_queries() as statements:
            response = client.post(f"/api/v1/units/{code}/steps/{key}/transitions",
                                   json={"action": "reopen", "version": version, "note": "Kiểm tra lại"})
        assert response.status_code == 200, response.get_json()
        counts.append(statements)
    for statements in counts[1:]:
        assert len(statements) <= 12, statements
        assert not any(s.lstrip().upper().startswith("SELECT WORKFLOW_VERSIONS") or
                       "FROM workflow_versions" in s for s in statements), statements
        # the step, its audit record and the unit's stored readiness
        assert _writes(statements) == ["UPDATE", "INSERT", "INSERT"], statements

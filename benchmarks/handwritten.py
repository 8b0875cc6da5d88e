"""Hand-written SQL that computes the figures a page shows, as the yardstick for the page.

Each function runs the statements a page would need if it were written straight in SQL (no
ORM, the arithmetic done by the database) and returns the rows, so the time measured is the
database's work plus fetching the results: the least a page showing the same numbers could cost.
"""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from workflows.loader import WorkflowDefinition

_UNIT_READINESS = """
WITH weights(key, weight, rollup) AS (VALUES {weights}),
scope AS (
    SELECT p.id AS prep_id, p.unit_id, p.campaign_id, COALESCE(p.deadline_on, c.deadline_on) AS deadline_on
    FROM preparations p JOIN units u ON u.id = p.unit_id JOIN campaigns c ON c.id = p.campaign_id
    {where}
),
branch_counts AS (
    SELECT b.unit_id, COUNT(*) AS total, COUNT(b.held_on) AS held
    FROM branches b JOIN scope ON scope.unit_id = b.unit_id AND scope.campaign_id = b.campaign_id
    GROUP BY b.unit_id
)
SELECT scope.unit_id,
       SUM(CASE WHEN s.state <> 'not_applicable' THEN w.weight ELSE 0 END) AS total_weight,
       SUM(CASE WHEN s.state = 'done' THEN w.weight
                WHEN s.state <> 'not_applicable' AND w.rollup = 1 AND COALESCE(bc.total, 0) > 0
                THEN w.weight * 1.0 * bc.held / bc.total ELSE 0 END) AS done_weight,
       SUM(CASE WHEN s.state = 'done' THEN 1 ELSE 0 END) AS steps_done,
       SUM(CASE WHEN s.state <> 'not_applicable' THEN 1 ELSE 0 END) AS steps_applicable,
       SUM(CASE WHEN s.state NOT IN ('done', 'not_applicable') AND s.due_on < :today THEN 1 ELSE 0 END)
           AS overdue,
       SUM(CASE WHEN s.state = 'in_progress' OR s.state = 'submitted' OR s.state = 'approved'
                THEN 1 ELSE 0 END) AS in_progress,
       MAX(scope.deadline_on) AS deadline_on,
       MAX(COALESCE(bc.total, 0)) AS branches_total, MAX(COALESCE(bc.held, 0)) AS branches_held
FROM scope
JOIN steps s ON s.preparation_id = scope.prep_id AND s.branch_id IS NULL
JOIN weights w ON w.key = s.key
LEFT JOIN branch_counts bc ON bc.unit_id = scope.unit_id
GROUP BY scope.unit_id
"""


def _weights(definition: WorkflowDefinition) -> str:
    return ", ".join(f"('{s.key}', {s.weight}, {1 if s.done_when == 'all_branches_held' else 0})"
                     for s in definition.steps)


def _scope(province_codes: list[str] | None) -> tuple[str, dict]:
    if province_codes is None:
        return "", {}
    return "WHERE u.province_code IN :provinces", {"provinces": province_codes}


def readiness(conn: sa.Connection, definition: WorkflowDefinition, province_codes: list[str] | None,
              today: date) -> list:
    """Per unit: weighted percent's parts, steps done, overdue, branches held; then the totals."""
    where, params = _scope(province_codes)
    statement = sa.text(_UNIT_READINESS.format(weights=_weights(definition), where=where)).bindparams(
        sa.bindparam("today", type_=sa.Date))
    if province_codes is not None:
        statement = statement.bindparams(sa.bindparam("provinces", expanding=True))
    rows = conn.execute(statement, {"today": today, **params}).all()
    totals = (sum(r.steps_applicable for r in rows), sum(r.steps_done for r in rows),
              sum(r.in_progress for r in rows), sum(r.overdue for r in rows),
              sum(r.branches_total for r in rows), sum(r.branches_held for r in rows))
    return [*rows, totals]


def dashboard(conn: sa.Connection, definition: WorkflowDefinition, province_code: str, today: date) -> list:
    """The dashboard's figures: readiness, the approval queue, steps done and branches held by day."""
    found = readiness(conn, definition, [province_code], today)
    found += conn.execute(sa.text("""
        SELECT s.id, s.key, s.submitted_on, s.version, u.code, u.name
        FROM steps s JOIN preparations p ON p.id = s.preparation_id JOIN units u ON u.id = p.unit_id
        WHERE s.branch_id IS NULL AND s.state = 'submitted' AND u.province_code = :province
        ORDER BY s.submitted_on, u.name, s.id"""), {"province": province_code}).all()
    day = ("date(a.at, '+7 hours')" if conn.dialect.name == "sqlite"
           else "CAST(timezone('Asia/Ho_Chi_Minh', a.at) AS DATE)")
    found += conn.execute(sa.text(f"""
        SELECT {day} AS day,
               SUM(CASE WHEN a.action IN ('step.complete', 'step.auto_complete') THEN 1 ELSE -1 END)
        FROM audit_records a JOIN units u ON u.id = a.unit_id
        WHERE a.entity = 'step'
          AND a.action IN ('step.complete', 'step.auto_complete', 'step.reopen', 'step.auto_reopen')
          AND a.entity_key = u.code || '/' || a.step_key AND u.province_code = :province
        GROUP BY {day} ORDER BY 1"""), {"province": province_code}).all()
    found += conn.execute(sa.text("""
        SELECT b.held_on, COUNT(*) FROM branches b JOIN units u ON u.id = b.unit_id
        WHERE b.held_on IS NOT NULL AND u.province_code = :province
        GROUP BY b.held_on ORDER BY b.held_on"""), {"province": province_code}).all()
    return found


def unit_page(conn: sa.Connection, unit_code: str) -> list:
    """A unit with its preparation, its steps, its branches and their steps."""
    unit = conn.execute(sa.text(
        "SELECT u.id, u.code, u.name, u.kind, u.members, p.id AS prep_id, p.congress_on, p.deadline_on "
        "FROM units u JOIN preparations p ON p.unit_id = u.id WHERE u.code = :code"), {"code": unit_code}).one()
    found: list = [unit]
    found += conn.execute(sa.text(
        "SELECT key, state, due_on, version FROM steps WHERE preparation_id = :prep AND branch_id IS NULL"),
        {"prep": unit.prep_id}).all()
    found += conn.execute(sa.text(
        "SELECT id, code, name, kind, members, secretary, planned_on, held_on, version FROM branches "
        "WHERE unit_id = :unit ORDER BY code"), {"unit": unit.id}).all()
    found += conn.execute(sa.text(
        "SELECT branch_id, key, state, due_on FROM steps WHERE preparation_id = :prep AND branch_id IS NOT NULL"),
        {"prep": unit.prep_id}).all()
    found += conn.execute(sa.text(
        "SELECT b.unit_id, COUNT(*), COUNT(b.held_on) FROM branches b WHERE b.unit_id = :unit GROUP BY b.unit_id"),
        {"unit": unit.id}).all()
    return found

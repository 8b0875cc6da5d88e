"""indexes for the city's dashboard: a partial index of the city's verdicts on units' steps (by
unit and step), so that the approval queue finds the last verdict on each submitted step without
reading the unit's whole history; the nightly readiness snapshots by unit and day (on PostgreSQL
with the campaign and the percent, read from the index alone)

Revision ID: 0024_read_indexes
Revises: 0023_snapshot_readiness
"""
import sqlalchemy as sa
from alembic import op

revision = '0024_read_indexes'
down_revision = '0023_snapshot_readiness'
branch_labels = None
depends_on = None

_ROWS = sa.text("action IN ('step.approve', 'step.return')")


def upgrade():
    op.create_index('ix_audit_records_step_verdicts', 'audit_records', ['unit_id', 'step_key'],
                    postgresql_where=_ROWS, sqlite_where=_ROWS)
    op.create_index('ix_readiness_snapshots_unit_day', 'readiness_snapshots', ['unit_id', 'day'],
                    postgresql_include=['campaign_id', 'percent'])


def downgrade():
    op.drop_index('ix_readiness_snapshots_unit_day', table_name='readiness_snapshots')
    op.drop_index('ix_audit_records_step_verdicts', table_name='audit_records')

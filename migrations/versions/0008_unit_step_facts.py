"""steps: on PostgreSQL, a partial covering index of the unit steps, so readiness reads every
unit's facts by an index-only scan (SQLite reads them through uq_steps_unit_step)

Revision ID: 0008_unit_step_facts
Revises: 0007_branch_counts
"""
import sqlalchemy as sa
from alembic import op

revision = '0008_unit_step_facts'
down_revision = '0007_branch_counts'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.create_index('ix_steps_unit_facts', 'steps', ['preparation_id', 'key'], unique=False,
                    postgresql_include=['state', 'due_on', 'due_kind', 'completed_on'],
                    postgresql_where=sa.text('branch_id IS NULL'))


def downgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.drop_index('ix_steps_unit_facts', table_name='steps')

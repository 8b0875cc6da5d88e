"""accountability: confirmed moves of dates, lateness kept on record

steps.missed_due_on / missed_due_kind: the first due date a step let pass unfinished, kept when
its due date later moves, so it stays overdue against it until it is done. On PostgreSQL the
covering index readiness reads (0008) carries them too.

Revision ID: 0010_accountability
Revises: 0009_request_keys
"""
import sqlalchemy as sa
from alembic import op

revision = '0010_accountability'
down_revision = '0009_request_keys'
branch_labels = None
depends_on = None

FACTS = ['state', 'due_on', 'due_kind', 'completed_on']


def _unit_facts_index(include: list[str]) -> None:
    op.create_index('ix_steps_unit_facts', 'steps', ['preparation_id', 'key'], unique=False,
                    postgresql_include=include, postgresql_where=sa.text('branch_id IS NULL'))


def upgrade():
    op.add_column('steps', sa.Column('missed_due_on', sa.Date(), nullable=True))
    op.add_column('steps', sa.Column('missed_due_kind', sa.String(length=6), nullable=True))
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_index('ix_steps_unit_facts', table_name='steps')
        _unit_facts_index(FACTS + ['missed_due_on', 'missed_due_kind'])


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_index('ix_steps_unit_facts', table_name='steps')
        _unit_facts_index(FACTS)
    with op.batch_alter_table('steps') as batch:
        batch.drop_column('missed_due_kind')
        batch.drop_column('missed_due_on')

"""readiness snapshots keep the whole readiness of the night (its figures, reasons and task
counts, the step facts, the planned congress), so that a past day is read from its record instead
of being rebuilt from the audit log on every request; the snapshots before it keep their figures
only, and their days are still rebuilt

Revision ID: 0023_snapshot_readiness
Revises: 0022_stored_readiness
"""
import sqlalchemy as sa
from alembic import op

revision = '0023_snapshot_readiness'
down_revision = '0022_stored_readiness'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('readiness_snapshots') as batch:
        batch.add_column(sa.Column('readiness', sa.JSON(), nullable=True))
        batch.add_column(sa.Column('steps', sa.JSON(), nullable=True))
        batch.add_column(sa.Column('congress_on', sa.Date(), nullable=True))


def downgrade():
    with op.batch_alter_table('readiness_snapshots') as batch:
        batch.drop_column('congress_on')
        batch.drop_column('steps')
        batch.drop_column('readiness')

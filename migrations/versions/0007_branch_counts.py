"""branches: index on (unit_id, held_on), so each unit's branches and those held are counted from
the index alone

Revision ID: 0007_branch_counts
Revises: 0006_accounts
"""
from alembic import op

revision = '0007_branch_counts'
down_revision = '0006_accounts'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_branches_unit_held', 'branches', ['unit_id', 'held_on'], unique=False)


def downgrade():
    op.drop_index('ix_branches_unit_held', table_name='branches')

"""lifecycle: the engine's facts

Revision ID: 0012_lifecycle
Revises: 0011_approval_loop
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision = '0012_lifecycle'
down_revision = '0011_approval_loop'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass

"""approval loop: notices of submissions and verdicts

Revision ID: 0011_approval_loop
Revises: 0010_accountability
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision = '0011_approval_loop'
down_revision = '0010_accountability'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass

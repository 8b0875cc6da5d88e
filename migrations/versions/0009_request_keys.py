"""request keys: a repeated write is answered with its first result

Revision ID: 0009_request_keys
Revises: 0008_unit_step_facts
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision = '0009_request_keys'
down_revision = '0008_unit_step_facts'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass

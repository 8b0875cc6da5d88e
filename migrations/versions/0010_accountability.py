"""accountability: confirmed moves of dates, lateness kept on record

Revision ID: 0010_accountability
Revises: 0009_request_keys
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision = '0010_accountability'
down_revision = '0009_request_keys'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass

"""paper numbers: each type of the congress's own documents counts from 01

The congress's documents were numbered in one sequence across their types (series "*"), so its
resolution could be "03-NQ/ĐH". Each type now counts alone, as a committee's do: the numbers
already issued keep their values (they are printed on signed documents) and move to their type's
series, where the next issue continues after them.

Revision ID: 0013_congress_series
Revises: 0012_lifecycle
"""
import sqlalchemy as sa
from alembic import op

revision = '0013_congress_series'
down_revision = '0012_lifecycle'
branch_labels = None
depends_on = None


def upgrade():
    op.execute(sa.text("UPDATE paper_numbers SET series = abbreviation WHERE series = '*'"))


def downgrade():
    op.execute(sa.text("UPDATE paper_numbers SET series = '*' WHERE issuer = 'ĐH'"))

"""preparations: the names of the committee's secretary and deputy secretary, printed under the
signatures of the unit's documents ("BÍ THƯ", "K/T BÍ THƯ / PHÓ BÍ THƯ")

Revision ID: 0014_signers
Revises: 0013_congress_series
"""
import sqlalchemy as sa
from alembic import op

revision = '0014_signers'
down_revision = '0013_congress_series'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('preparations', sa.Column('secretary_name', sa.String(length=80), nullable=True))
    op.add_column('preparations', sa.Column('deputy_secretary_name', sa.String(length=80), nullable=True))


def downgrade():
    with op.batch_alter_table('preparations') as batch:
        batch.drop_column('deputy_secretary_name')
        batch.drop_column('secretary_name')

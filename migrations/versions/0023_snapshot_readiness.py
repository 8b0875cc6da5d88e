"""readiness nights: beside each nightly snapshot, the whole readiness of the night (its figures,
reasons and task counts, the step facts, the planned congress), so that a past day is read from
its record instead of being rebuilt from the audit log on every request; the nights recorded
before it have none, and are still rebuilt

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
    op.create_table(
        'readiness_nights',
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('readiness', sa.JSON(), nullable=False),
        sa.Column('steps', sa.JSON(), nullable=False),
        sa.Column('congress_on', sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_readiness_nights_campaign_id_campaigns')),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_readiness_nights_unit_id_units')),
        sa.PrimaryKeyConstraint('campaign_id', 'unit_id', 'day', name=op.f('pk_readiness_nights')),
    )


def downgrade():
    op.drop_table('readiness_nights')

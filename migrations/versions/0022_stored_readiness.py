"""stored readiness: each preparation's readiness as the engine computed it for a local day, kept
beside its steps (congress.progress.stored), written by the write that changes it

The rows are filled by the first write to each preparation, by the nightly job, and by
``flask readiness rebuild``; until then a read computes the readiness as before.

Revision ID: 0022_stored_readiness
Revises: 0021_drafts_per_campaign
"""
import sqlalchemy as sa
from alembic import op

revision = '0022_stored_readiness'
down_revision = '0021_drafts_per_campaign'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'unit_readiness',
        sa.Column('preparation_id', sa.Integer(), nullable=False),
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('workflow_version_id', sa.Integer(), nullable=False),
        sa.Column('readiness', sa.JSON(), nullable=False),
        sa.Column('steps', sa.JSON(), nullable=False),
        sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_unit_readiness_campaign_id_campaigns')),
        sa.ForeignKeyConstraint(['preparation_id'], ['preparations.id'],
                                name=op.f('fk_unit_readiness_preparation_id_preparations'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_unit_readiness_unit_id_units')),
        sa.PrimaryKeyConstraint('preparation_id', name=op.f('pk_unit_readiness')),
    )
    op.create_index('ix_unit_readiness_campaign_unit', 'unit_readiness', ['campaign_id', 'unit_id'])


def downgrade():
    op.drop_index('ix_unit_readiness_campaign_unit', table_name='unit_readiness')
    op.drop_table('unit_readiness')

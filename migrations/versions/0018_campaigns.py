"""campaigns as data: a campaign's organisation, level, status, pinned workflow versions and child
campaign; campaigns without subordinate organisations; each user's chosen campaign

Existing campaigns are the party's commune-level rounds, open, pinned to the versions their units
were enrolled with.

Revision ID: 0018_campaigns
Revises: 0017_import_heartbeat
"""
import sqlalchemy as sa
from alembic import op

revision = '0018_campaigns'
down_revision = '0017_import_heartbeat'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('campaigns') as batch:
        batch.drop_constraint('uq_campaigns_province_term', type_='unique')
        batch.add_column(sa.Column('organisation', sa.String(30), nullable=False, server_default='party'))
        batch.add_column(sa.Column('level', sa.String(20), nullable=False, server_default='commune'))
        batch.add_column(sa.Column('status', sa.String(10), nullable=False, server_default='open'))
        batch.add_column(sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('unit_workflow_version_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('branch_workflow_version_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('child_campaign_id', sa.Integer(), nullable=True))
        batch.alter_column('province_code', existing_type=sa.String(2), nullable=True)
        batch.alter_column('branch_workflow', existing_type=sa.String(60), nullable=True)
        batch.create_foreign_key('fk_campaigns_unit_workflow_version', 'workflow_versions',
                                 ['unit_workflow_version_id'], ['id'])
        batch.create_foreign_key('fk_campaigns_branch_workflow_version', 'workflow_versions',
                                 ['branch_workflow_version_id'], ['id'])
        batch.create_foreign_key('fk_campaigns_child_campaign', 'campaigns', ['child_campaign_id'], ['id'])
        batch.create_unique_constraint('uq_campaigns_round', ['province_code', 'organisation', 'level', 'term'])
    # pinned to the newest version its units follow
    op.execute("UPDATE campaigns SET unit_workflow_version_id = (SELECT max(p.workflow_version_id) "
               "FROM preparations p WHERE p.campaign_id = campaigns.id), "
               "branch_workflow_version_id = (SELECT max(p.branch_workflow_version_id) "
               "FROM preparations p WHERE p.campaign_id = campaigns.id)")
    with op.batch_alter_table('preparations') as batch:
        batch.alter_column('branch_workflow_version_id', existing_type=sa.Integer(), nullable=True)
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('campaign_id', sa.Integer(), nullable=True))
        batch.create_foreign_key('fk_users_campaign', 'campaigns', ['campaign_id'], ['id'], ondelete='SET NULL')
    # a unit's nightly snapshots are its campaign's: until now every unit was in one campaign
    with op.batch_alter_table('readiness_snapshots') as batch:
        batch.add_column(sa.Column('campaign_id', sa.Integer(), nullable=True))
    op.execute("UPDATE readiness_snapshots SET campaign_id = (SELECT max(p.campaign_id) FROM preparations p "
               "WHERE p.unit_id = readiness_snapshots.unit_id)")
    op.execute("DELETE FROM readiness_snapshots WHERE campaign_id IS NULL")
    with op.batch_alter_table('readiness_snapshots') as batch:
        batch.alter_column('campaign_id', existing_type=sa.Integer(), nullable=False)
        batch.drop_constraint('uq_readiness_snapshots_unit_day', type_='unique')
        batch.create_unique_constraint('uq_readiness_snapshots_campaign_unit_day', ['campaign_id', 'unit_id', 'day'])
        batch.create_foreign_key('fk_readiness_snapshots_campaign_id_campaigns', 'campaigns', ['campaign_id'], ['id'])


def downgrade():
    with op.batch_alter_table('readiness_snapshots') as batch:
        batch.drop_constraint('fk_readiness_snapshots_campaign_id_campaigns', type_='foreignkey')
        batch.drop_constraint('uq_readiness_snapshots_campaign_unit_day', type_='unique')
        batch.drop_column('campaign_id')
        batch.create_unique_constraint('uq_readiness_snapshots_unit_day', ['unit_id', 'day'])
    with op.batch_alter_table('users') as batch:
        batch.drop_constraint('fk_users_campaign', type_='foreignkey')
        batch.drop_column('campaign_id')
    with op.batch_alter_table('campaigns') as batch:
        batch.drop_constraint('uq_campaigns_round', type_='unique')
        batch.drop_constraint('fk_campaigns_child_campaign', type_='foreignkey')
        batch.drop_constraint('fk_campaigns_branch_workflow_version', type_='foreignkey')
        batch.drop_constraint('fk_campaigns_unit_workflow_version', type_='foreignkey')
        for column in ('child_campaign_id', 'branch_workflow_version_id', 'unit_workflow_version_id',
                       'closed_at', 'status', 'level', 'organisation'):
            batch.drop_column(column)
        batch.create_unique_constraint('uq_campaigns_province_term', ['province_code', 'term'])

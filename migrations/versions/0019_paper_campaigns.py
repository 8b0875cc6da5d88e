"""papers per campaign: an issued document belongs to a unit's preparation (one campaign), an
uploaded Word template to one workflow's units, a province-wide ZIP to one campaign

The issues before it get the unit's preparation of then (each unit had one); the templates
before it served the commune party congress, the only workflow there was; the jobs before it
keep no campaign (at most one queued or running job per province, campaign, kind and format).

Revision ID: 0019_paper_campaigns
Revises: 0018_campaigns
"""
import sqlalchemy as sa
from alembic import op

revision = '0019_paper_campaigns'
down_revision = '0018_campaigns'
branch_labels = None
depends_on = None

MOVING = sa.text("state IN ('queued', 'running')")


def upgrade():
    with op.batch_alter_table('paper_issues') as batch:
        batch.add_column(sa.Column('preparation_id', sa.Integer(), nullable=True))
        batch.create_foreign_key(batch.f('fk_paper_issues_preparation_id_preparations'), 'preparations',
                                 ['preparation_id'], ['id'])
        batch.create_index(batch.f('ix_paper_issues_preparation_id'), ['preparation_id'], unique=False)
    op.execute("UPDATE paper_issues SET preparation_id = (SELECT max(p.id) FROM preparations p "
               "WHERE p.unit_id = paper_issues.unit_id)")
    with op.batch_alter_table('paper_templates') as batch:
        batch.drop_constraint('uq_paper_templates_province_kind', type_='unique')
        batch.add_column(sa.Column('workflow', sa.String(60), nullable=False, server_default='commune_congress'))
        batch.create_unique_constraint('uq_paper_templates_province_workflow_kind',
                                       ['province_code', 'workflow', 'kind'])
    op.drop_index('uq_paper_jobs_moving', table_name='paper_jobs')
    with op.batch_alter_table('paper_jobs') as batch:
        batch.add_column(sa.Column('campaign_id', sa.Integer(), nullable=True))
        batch.create_foreign_key(batch.f('fk_paper_jobs_campaign_id_campaigns'), 'campaigns',
                                 ['campaign_id'], ['id'])
    op.create_index('uq_paper_jobs_moving', 'paper_jobs', ['province_code', 'campaign_id', 'kind', 'format'],
                    unique=True, sqlite_where=MOVING, postgresql_where=MOVING)


def downgrade():
    op.drop_index('uq_paper_jobs_moving', table_name='paper_jobs')
    with op.batch_alter_table('paper_jobs') as batch:
        batch.drop_constraint(batch.f('fk_paper_jobs_campaign_id_campaigns'), type_='foreignkey')
        batch.drop_column('campaign_id')
    op.execute("UPDATE paper_jobs SET state = 'failed', error = 'worker_stopped' "
               "WHERE state IN ('queued', 'running')")
    op.create_index('uq_paper_jobs_moving', 'paper_jobs', ['province_code', 'kind', 'format'], unique=True,
                    sqlite_where=MOVING, postgresql_where=MOVING)
    op.execute("DELETE FROM paper_templates WHERE workflow <> 'commune_congress'")
    with op.batch_alter_table('paper_templates') as batch:
        batch.drop_constraint('uq_paper_templates_province_workflow_kind', type_='unique')
        batch.drop_column('workflow')
        batch.create_unique_constraint('uq_paper_templates_province_kind', ['province_code', 'kind'])
    with op.batch_alter_table('paper_issues') as batch:
        batch.drop_index(batch.f('ix_paper_issues_preparation_id'))
        batch.drop_constraint(batch.f('fk_paper_issues_preparation_id_preparations'), type_='foreignkey')
        batch.drop_column('preparation_id')

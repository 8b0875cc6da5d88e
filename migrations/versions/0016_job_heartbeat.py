"""paper jobs: the worker's heartbeat, when a finished ZIP expires, and at most one queued or
running job per kind, format and province (a partial unique index)

Jobs still queued or running when this runs belonged to processes stopped for the upgrade: they
are failed first (the user starts them again), so the unique index holds.

Revision ID: 0016_job_heartbeat
Revises: 0014_signers
"""
import sqlalchemy as sa
from alembic import op

revision = '0016_job_heartbeat'
down_revision = '0014_signers'
branch_labels = None
depends_on = None

MOVING = sa.text("state IN ('queued', 'running')")


def upgrade():
    op.add_column('paper_jobs', sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('paper_jobs', sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE paper_jobs SET state = 'failed', error = 'worker_stopped' "
               "WHERE state IN ('queued', 'running')")
    op.create_index('uq_paper_jobs_moving', 'paper_jobs', ['province_code', 'kind', 'format'], unique=True,
                    sqlite_where=MOVING, postgresql_where=MOVING)


def downgrade():
    op.drop_index('uq_paper_jobs_moving', table_name='paper_jobs')
    with op.batch_alter_table('paper_jobs') as batch:
        batch.drop_column('expires_at')
        batch.drop_column('heartbeat_at')

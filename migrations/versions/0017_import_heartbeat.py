"""imports: the worker's heartbeat, and the state of an import being applied in the background
("applying")

Imports still queued or being read when this runs belonged to processes stopped for the upgrade:
they are failed (the user uploads the file again).

Revision ID: 0017_import_heartbeat
Revises: 0016_job_heartbeat
"""
import sqlalchemy as sa
from alembic import op

revision = '0017_import_heartbeat'
down_revision = '0016_job_heartbeat'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('import_batches', sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True))
    op.execute("DELETE FROM import_rows WHERE batch_id IN "
               "(SELECT id FROM import_batches WHERE state IN ('queued', 'reading'))")
    op.execute("UPDATE import_batches SET state = 'failed', error = 'import_worker_stopped', content = NULL "
               "WHERE state IN ('queued', 'reading')")


def downgrade():
    op.execute("UPDATE import_batches SET state = 'previewed' WHERE state = 'applying'")
    with op.batch_alter_table('import_batches') as batch:
        batch.drop_column('heartbeat_at')

"""transfers: staged imports

Revision ID: 0005_transfers
Revises: 0004_notices
"""
import sqlalchemy as sa
from alembic import op

revision = '0005_transfers'
down_revision = '0004_notices'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'import_batches',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token', sa.String(length=32), nullable=False),
        sa.Column('kind', sa.String(length=12), nullable=False),
        sa.Column('filename', sa.String(length=200), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('state', sa.String(length=10), nullable=False),
        sa.Column('done', sa.Integer(), nullable=False),
        sa.Column('total', sa.Integer(), nullable=False),
        sa.Column('counts', sa.JSON(), nullable=True),
        sa.Column('error', sa.String(length=60), nullable=True),
        sa.Column('error_params', sa.JSON(), nullable=True),
        sa.Column('content', sa.LargeBinary(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_import_batches_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_import_batches')),
        sa.UniqueConstraint('token', name=op.f('uq_import_batches_token')),
    )
    with op.batch_alter_table('import_batches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_import_batches_user_id'), ['user_id'], unique=False)
    op.create_table(
        'import_rows',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('batch_id', sa.Integer(), nullable=False),
        sa.Column('number', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('problems', sa.JSON(), nullable=True),
        sa.Column('target', sa.String(length=80), nullable=True),
        sa.Column('values', sa.JSON(), nullable=False),
        sa.Column('before', sa.JSON(), nullable=True),
        sa.Column('changes', sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(['batch_id'], ['import_batches.id'], ondelete='CASCADE',
                                name=op.f('fk_import_rows_batch_id_import_batches')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_import_rows')),
        sa.UniqueConstraint('batch_id', 'number', name='uq_import_rows_batch_number'),
    )
    with op.batch_alter_table('import_rows', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_import_rows_batch_id'), ['batch_id'], unique=False)


def downgrade():
    with op.batch_alter_table('import_rows', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_import_rows_batch_id'))
    op.drop_table('import_rows')
    with op.batch_alter_table('import_batches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_import_batches_user_id'))
    op.drop_table('import_batches')

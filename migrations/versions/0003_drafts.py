"""drafts: versions, comment rounds, verdicts

Revision ID: 0003_drafts
Revises: 0002_papers
"""
import sqlalchemy as sa
from alembic import op

revision = '0003_drafts'
down_revision = '0002_papers'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('draft_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('format', sa.String(length=4), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('original_name', sa.String(length=255), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('uploaded_on', sa.Date(), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor', sa.String(length=80), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('submitted_on', sa.Date(), nullable=True),
    sa.Column('decided_on', sa.Date(), nullable=True),
    sa.Column('verdict_reason', sa.Text(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_draft_versions_actor_id_users')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_draft_versions_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_draft_versions')),
    sa.UniqueConstraint('unit_id', 'kind', 'number', name='uq_draft_versions_unit_kind_number')
    )
    op.create_index(op.f('ix_draft_versions_unit_id'), 'draft_versions', ['unit_id'], unique=False)
    op.create_table('draft_reviews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('draft_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=10), nullable=False),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('on', sa.Date(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor', sa.String(length=80), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_draft_reviews_actor_id_users')),
    sa.ForeignKeyConstraint(['draft_id'], ['draft_versions.id'], name=op.f('fk_draft_reviews_draft_id_draft_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_draft_reviews'))
    )
    op.create_index(op.f('ix_draft_reviews_draft_id'), 'draft_reviews', ['draft_id'], unique=False)
    op.create_table('comment_rounds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('draft_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('audiences', sa.JSON(), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('state', sa.String(length=8), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('opened_by', sa.String(length=80), nullable=False),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.Column('closed_by', sa.String(length=80), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['draft_id'], ['draft_versions.id'], name=op.f('fk_comment_rounds_draft_id_draft_versions')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_comment_rounds_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_comment_rounds'))
    )
    op.create_index(op.f('ix_comment_rounds_draft_id'), 'comment_rounds', ['draft_id'], unique=False)
    op.create_index(op.f('ix_comment_rounds_unit_id'), 'comment_rounds', ['unit_id'], unique=False)
    op.create_table('round_comments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('audience', sa.String(length=20), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=80), nullable=False),
    sa.ForeignKeyConstraint(['round_id'], ['comment_rounds.id'], name=op.f('fk_round_comments_round_id_comment_rounds')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_round_comments'))
    )
    op.create_index(op.f('ix_round_comments_round_id'), 'round_comments', ['round_id'], unique=False)
    op.create_table('approval_exceptions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor', sa.String(length=80), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_approval_exceptions_actor_id_users')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_approval_exceptions_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_approval_exceptions')),
    sa.UniqueConstraint('unit_id', 'kind', name='uq_approval_exceptions_unit_kind')
    )
    op.create_index(op.f('ix_approval_exceptions_unit_id'), 'approval_exceptions', ['unit_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_approval_exceptions_unit_id'), table_name='approval_exceptions')
    op.drop_table('approval_exceptions')
    op.drop_index(op.f('ix_round_comments_round_id'), table_name='round_comments')
    op.drop_table('round_comments')
    op.drop_index(op.f('ix_comment_rounds_unit_id'), table_name='comment_rounds')
    op.drop_index(op.f('ix_comment_rounds_draft_id'), table_name='comment_rounds')
    op.drop_table('comment_rounds')
    op.drop_index(op.f('ix_draft_reviews_draft_id'), table_name='draft_reviews')
    op.drop_table('draft_reviews')
    op.drop_index(op.f('ix_draft_versions_unit_id'), table_name='draft_versions')
    op.drop_table('draft_versions')

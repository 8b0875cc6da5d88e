"""branches per campaign: a unit's subordinate organisations, with their congress facts, belong to
one campaign (a later round over the same unit starts from the roster, not from its held dates);
an import applies to one campaign's round; an audit record of a step, a branch or a preparation names the campaign it was made in

The branches before it belong to the campaign of their unit's preparation that counts branches
(each unit had one), else to the unit's newest preparation's; the records before it to the
campaign of their unit's newest preparation (the one the past-day views read them for).

On SQLite a table is changed by copying it into a new one (batch mode); the steps refer to
branches, which could not be dropped with foreign keys enforced. They are switched off around the
change, outside a transaction (the only place SQLite honours it), and checked before they are
switched on again.

Revision ID: 0020_branches_per_campaign
Revises: 0019_paper_campaigns
"""
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

revision = '0020_branches_per_campaign'
down_revision = '0019_paper_campaigns'
branch_labels = None
depends_on = None


@contextmanager
def _foreign_keys_checked_after():
    """On SQLite: foreign keys off for the change, every reference checked before they are on again."""
    if op.get_bind().dialect.name != 'sqlite':
        yield
        return
    with op.get_context().autocommit_block():
        op.execute('PRAGMA foreign_keys=OFF')
    yield
    broken = op.get_bind().execute(sa.text('PRAGMA foreign_key_check')).all()
    if broken:
        raise RuntimeError(f'0020_branches_per_campaign left rows referring to nothing: {broken[:5]}')
    with op.get_context().autocommit_block():  # commits the change, then enforces the keys again
        op.execute('PRAGMA foreign_keys=ON')


def upgrade():
    with _foreign_keys_checked_after():
        _upgrade()


def downgrade():
    with _foreign_keys_checked_after():
        _downgrade()


def _upgrade():
    with op.batch_alter_table('branches') as batch:
        batch.add_column(sa.Column('campaign_id', sa.Integer(), nullable=True))
    op.execute("UPDATE branches SET campaign_id = coalesce("
               "(SELECT max(p.campaign_id) FROM preparations p WHERE p.unit_id = branches.unit_id "
               "AND p.branch_workflow_version_id IS NOT NULL), "
               "(SELECT max(p.campaign_id) FROM preparations p WHERE p.unit_id = branches.unit_id))")
    # a branch of a unit in no campaign at all was never shown nor counted: it goes with its steps
    op.execute("DELETE FROM branches WHERE campaign_id IS NULL")
    op.drop_index('ix_branches_unit_held', table_name='branches')
    with op.batch_alter_table('branches') as batch:
        batch.alter_column('campaign_id', existing_type=sa.Integer(), nullable=False)
        batch.create_foreign_key(batch.f('fk_branches_campaign_id_campaigns'), 'campaigns', ['campaign_id'], ['id'])
        batch.drop_constraint('uq_branches_code', type_='unique')
        batch.create_unique_constraint('uq_branches_campaign_code', ['campaign_id', 'code'])
    op.create_index('ix_branches_campaign_unit_held', 'branches', ['campaign_id', 'unit_id', 'held_on'])
    op.create_index('ix_branches_code', 'branches', ['code'])  # a branch is looked up by its code

    with op.batch_alter_table('import_batches') as batch:
        batch.add_column(sa.Column('campaign_id', sa.Integer(), nullable=True))
        batch.create_foreign_key(batch.f('fk_import_batches_campaign_id_campaigns'), 'campaigns',
                                 ['campaign_id'], ['id'])
    with op.batch_alter_table('audit_records') as batch:
        batch.add_column(sa.Column('campaign_id', sa.Integer(), nullable=True))
    op.execute("UPDATE audit_records SET campaign_id = (SELECT p.campaign_id FROM preparations p "
               "WHERE p.id = (SELECT max(q.id) FROM preparations q WHERE q.unit_id = audit_records.unit_id)) "
               "WHERE entity IN ('step', 'branch', 'preparation') AND unit_id IS NOT NULL")


def _downgrade():
    with op.batch_alter_table('audit_records') as batch:
        batch.drop_column('campaign_id')
    with op.batch_alter_table('import_batches') as batch:
        batch.drop_constraint(batch.f('fk_import_batches_campaign_id_campaigns'), type_='foreignkey')
        batch.drop_column('campaign_id')
    op.drop_index('ix_branches_code', table_name='branches')
    op.drop_index('ix_branches_campaign_unit_held', table_name='branches')
    # one roster per unit again: the newest campaign's (the others' branches go with their steps)
    op.execute("DELETE FROM steps WHERE branch_id IN (SELECT b.id FROM branches b WHERE b.campaign_id <> "
               "(SELECT max(c.campaign_id) FROM branches c WHERE c.unit_id = b.unit_id))")
    op.execute("DELETE FROM branches WHERE campaign_id <> "
               "(SELECT max(c.campaign_id) FROM branches c WHERE c.unit_id = branches.unit_id)")
    with op.batch_alter_table('branches') as batch:
        batch.drop_constraint('uq_branches_campaign_code', type_='unique')
        batch.drop_constraint(batch.f('fk_branches_campaign_id_campaigns'), type_='foreignkey')
        batch.drop_column('campaign_id')
        batch.create_unique_constraint('uq_branches_code', ['code'])
    op.create_index('ix_branches_unit_held', 'branches', ['unit_id', 'held_on'])

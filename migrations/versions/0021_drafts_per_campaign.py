"""drafts per campaign: a draft version, its comment rounds and an exception to the congress gate
belong to one preparation (a unit in one campaign); versions are numbered per preparation and kind,
and an exception is recorded once per preparation and kind

The drafts before it get, per unit and kind, the unit's preparation whose workflow (the stored
version's definition) drafts the kind, the newest of them when several do; when none does (a kind
an older workflow drafted), the unit's newest preparation. Until now a unit drafted each kind in
one preparation, so this is the one its drafts were for. A comment round gets its version's
preparation. Every unit with drafts is enrolled (an upload outside a campaign was refused).

Going back, the versions of one unit and kind kept by several preparations are numbered again as
one series, in the order of their preparations and numbers (the audit records keep the numbers
they were written with); of the exceptions of one unit and kind only the newest is kept.

On SQLite a table is changed by copying it into a new one (batch mode); the drafts' reviews and
rounds refer to draft_versions, which could not be dropped with foreign keys enforced. They are
switched off around the change, outside a transaction (the only place SQLite honours it), and
checked before they are switched on again.

Revision ID: 0021_drafts_per_campaign
Revises: 0020_branches_per_campaign
"""
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

revision = '0021_drafts_per_campaign'
down_revision = '0020_branches_per_campaign'
branch_labels = None
depends_on = None

#: the tables whose rows were keyed by unit and kind
KEYED = ('draft_versions', 'approval_exceptions')

preparations = sa.table('preparations', sa.column('id', sa.Integer), sa.column('unit_id', sa.Integer),
                        sa.column('workflow_version_id', sa.Integer))
workflow_versions = sa.table('workflow_versions', sa.column('id', sa.Integer), sa.column('body', sa.JSON))
draft_versions = sa.table('draft_versions', sa.column('id', sa.Integer), sa.column('unit_id', sa.Integer),
                          sa.column('kind', sa.String), sa.column('number', sa.Integer),
                          sa.column('preparation_id', sa.Integer))


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
        raise RuntimeError(f'0021_drafts_per_campaign left rows referring to nothing: {broken[:5]}')
    with op.get_context().autocommit_block():  # commits the change, then enforces the keys again
        op.execute('PRAGMA foreign_keys=ON')


def _add_preparation(table: str) -> None:
    with op.batch_alter_table(table) as batch:
        batch.add_column(sa.Column('preparation_id', sa.Integer(), nullable=True))
        batch.create_foreign_key(batch.f(f'fk_{table}_preparation_id_preparations'), 'preparations',
                                 ['preparation_id'], ['id'])
        batch.create_index(batch.f(f'ix_{table}_preparation_id'), ['preparation_id'], unique=False)


def _drop_preparation(batch, table: str) -> None:
    batch.drop_index(batch.f(f'ix_{table}_preparation_id'))
    batch.drop_constraint(batch.f(f'fk_{table}_preparation_id_preparations'), type_='foreignkey')
    batch.drop_column('preparation_id')


def _backfill() -> None:
    """Each (unit, kind) of the keyed tables gets the preparation that drafts the kind (see above)."""
    bind = op.get_bind()
    drafting: dict[int, list[tuple[int, set]]] = {}
    rows = bind.execute(sa.select(preparations.c.id, preparations.c.unit_id, workflow_versions.c.body)
                        .join(workflow_versions, workflow_versions.c.id == preparations.c.workflow_version_id)
                        .order_by(preparations.c.id))
    for prep_id, unit_id, body in rows:
        drafting.setdefault(unit_id, []).append((prep_id, set((body or {}).get('drafts') or {})))
    for table in KEYED:
        pairs = bind.execute(sa.text(f'SELECT DISTINCT unit_id, kind FROM {table}')).all()
        chosen = []
        for unit_id, kind in pairs:
            preps = drafting.get(unit_id)
            if not preps:
                continue
            found = [prep_id for prep_id, kinds in preps if kind in kinds]
            chosen.append({'prep': max(found) if found else preps[-1][0], 'unit': unit_id, 'kind': kind})
        if chosen:
            bind.execute(sa.text(f'UPDATE {table} SET preparation_id = :prep WHERE unit_id = :unit AND kind = :kind'),
                         chosen)
    op.execute('UPDATE comment_rounds SET preparation_id = (SELECT d.preparation_id FROM draft_versions d '
               'WHERE d.id = comment_rounds.draft_id)')


def upgrade():
    with _foreign_keys_checked_after():
        _upgrade()


def _upgrade():
    for table in ('draft_versions', 'comment_rounds', 'approval_exceptions'):
        _add_preparation(table)
    _backfill()
    with op.batch_alter_table('draft_versions') as batch:
        batch.alter_column('preparation_id', existing_type=sa.Integer(), nullable=False)
        batch.drop_constraint('uq_draft_versions_unit_kind_number', type_='unique')
        batch.create_unique_constraint('uq_draft_versions_preparation_kind_number',
                                       ['preparation_id', 'kind', 'number'])
    with op.batch_alter_table('comment_rounds') as batch:
        batch.alter_column('preparation_id', existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table('approval_exceptions') as batch:
        batch.alter_column('preparation_id', existing_type=sa.Integer(), nullable=False)
        batch.drop_constraint('uq_approval_exceptions_unit_kind', type_='unique')
        batch.create_unique_constraint('uq_approval_exceptions_preparation_kind', ['preparation_id', 'kind'])


def _renumber() -> None:
    """The versions of one unit and kind as one series again, from 1, in the order of their
    preparations and numbers (unchanged where one preparation kept them all)."""
    bind = op.get_bind()
    rows = bind.execute(sa.select(draft_versions.c.id, draft_versions.c.unit_id, draft_versions.c.kind,
                                  draft_versions.c.number)
                        .order_by(draft_versions.c.unit_id, draft_versions.c.kind, draft_versions.c.preparation_id,
                                  draft_versions.c.number)).all()
    changed, last, number = [], None, 0
    for version_id, unit_id, kind, old in rows:
        number = number + 1 if (unit_id, kind) == last else 1
        last = (unit_id, kind)
        if number != old:
            changed.append({'id': version_id, 'number': number})
    if changed:
        bind.execute(sa.text('UPDATE draft_versions SET number = :number WHERE id = :id'), changed)


def downgrade():
    with _foreign_keys_checked_after():
        _downgrade()


def _downgrade():
    with op.batch_alter_table('approval_exceptions') as batch:
        batch.drop_constraint('uq_approval_exceptions_preparation_kind', type_='unique')
    op.execute('DELETE FROM approval_exceptions WHERE id NOT IN '
               '(SELECT max(e.id) FROM approval_exceptions e GROUP BY e.unit_id, e.kind)')
    with op.batch_alter_table('approval_exceptions') as batch:
        _drop_preparation(batch, 'approval_exceptions')
        batch.create_unique_constraint('uq_approval_exceptions_unit_kind', ['unit_id', 'kind'])
    with op.batch_alter_table('comment_rounds') as batch:
        _drop_preparation(batch, 'comment_rounds')
    with op.batch_alter_table('draft_versions') as batch:
        batch.drop_constraint('uq_draft_versions_preparation_kind_number', type_='unique')
    _renumber()
    with op.batch_alter_table('draft_versions') as batch:
        _drop_preparation(batch, 'draft_versions')
        batch.create_unique_constraint('uq_draft_versions_unit_kind_number', ['unit_id', 'kind', 'number'])

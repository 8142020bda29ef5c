"""time entry invoice only

An invoiced entry records its invoice, not also its line: time_entry.invoice_line_id
(its foreign key, the check pairing it with invoice_id, and its partial index) is
dropped. Which entries a line bills is already stored on the line
(invoice_line.time_entry_ids, what the API shows), and releasing a line's entries finds
them by those primary keys. Stamping a draft's entries becomes one UPDATE of invoice_id
by primary key, with one foreign-key check and one index fewer per entry, instead of one
UPDATE per line.

(team_id, invoice_id) becomes partial (invoice_id IS NOT NULL): every query on it names
an invoice, and uninvoiced entries (new ones, released ones) no longer get an entry in
it. Built CONCURRENTLY under a new name before the old one is dropped, as in
b7d41e9c2a60.

Revision ID: e81b5c07d2f4
Revises: d4f2a8c61b93
Create Date: 2026-12-02 01:10:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'e81b5c07d2f4'
down_revision: str | None = 'd4f2a8c61b93'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD = 'ix_time_entry_team_id_invoice_id'
_NEW = 'ix_time_entry_team_id_invoice_id_invoiced'


def upgrade() -> None:
    op.drop_index('ix_time_entry_team_id_invoice_line_id', table_name='time_entry')
    op.drop_constraint(op.f('ck_time_entry_invoice_and_line'), 'time_entry', type_='check')
    op.drop_constraint(op.f('fk_time_entry_team_id_invoice_line_id_invoice_line'), 'time_entry', type_='foreignkey')
    op.drop_column('time_entry', 'invoice_line_id')
    with op.get_context().autocommit_block():
        op.drop_index(_NEW, table_name='time_entry', if_exists=True, postgresql_concurrently=True)
        op.create_index(
            _NEW,
            'time_entry',
            ['team_id', 'invoice_id'],
            postgresql_where=sa.text('invoice_id IS NOT NULL'),
            postgresql_concurrently=True,
        )
        op.drop_index(_OLD, table_name='time_entry', if_exists=True, postgresql_concurrently=True)


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.drop_index(_OLD, table_name='time_entry', if_exists=True, postgresql_concurrently=True)
        op.create_index(_OLD, 'time_entry', ['team_id', 'invoice_id'], postgresql_concurrently=True)
        op.drop_index(_NEW, table_name='time_entry', if_exists=True, postgresql_concurrently=True)
    op.add_column('time_entry', sa.Column('invoice_line_id', sa.Uuid(), nullable=True))
    # Each invoiced entry's line: the line of its invoice that lists it.
    op.execute(
        """
        UPDATE time_entry te SET invoice_line_id = l.id
        FROM invoice_line l CROSS JOIN LATERAL unnest(l.time_entry_ids) AS billed(id)
        WHERE te.team_id = l.team_id AND te.invoice_id = l.invoice_id AND te.id = billed.id
        """
    )
    op.create_foreign_key(op.f('fk_time_entry_team_id_invoice_line_id_invoice_line'), 'time_entry', 'invoice_line', ['team_id', 'invoice_line_id'], ['team_id', 'id'])
    op.create_check_constraint(op.f('ck_time_entry_invoice_and_line'), 'time_entry', '(invoice_id IS NULL) = (invoice_line_id IS NULL)')
    op.create_index('ix_time_entry_team_id_invoice_line_id', 'time_entry', ['team_id', 'invoice_line_id'], postgresql_where=sa.text('invoice_line_id IS NOT NULL'))

"""list and draft indexes

Every list endpoint reads one page of an index in its keyset order instead of sorting
the team's rows (a parallel sequential scan of time_entry at a million entries), the
draft finds uninvoiced billable time in a partial index, and deleting a draft's lines
checks the time_entry -> invoice_line foreign key through an index.

Built CONCURRENTLY, outside the migration's transaction: on a large time_entry a plain
CREATE INDEX would block writes (timers, entries) for the whole build. An interrupted
build leaves an invalid index behind, so each is dropped (if there) before it is built
and a rerun completes it. Indexes replaced by a longer one with the same leading columns
are dropped after their replacement exists.

Revision ID: b7d41e9c2a60
Revises: 70a8315a7664
Create Date: 2026-12-01 22:50:14.326994+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'b7d41e9c2a60'
down_revision: str | None = '70a8315a7664'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _desc(column: str) -> sa.ColumnElement:
    return sa.literal_column(f'{column} DESC')


# (name, table, columns, partial index predicate)
NEW = [
    ('ix_time_entry_team_id_started_at_id', 'time_entry', ['team_id', _desc('started_at'), _desc('id')], None),
    ('ix_time_entry_team_id_started_at_id_unbilled', 'time_entry', ['team_id', _desc('started_at'), _desc('id')], 'billable IS TRUE AND invoice_id IS NULL'),
    ('ix_time_entry_team_id_invoice_line_id', 'time_entry', ['team_id', 'invoice_line_id'], 'invoice_line_id IS NOT NULL'),
    ('ix_time_entry_move_time_entry_id_id', 'time_entry_move', ['time_entry_id', 'id'], None),
    ('ix_invoice_team_id_created_at_id', 'invoice', ['team_id', _desc('created_at'), _desc('id')], None),
    ('ix_invoice_run_team_id_created_at_id', 'invoice_run', ['team_id', _desc('created_at'), _desc('id')], None),
    ('ix_payment_team_id_paid_at_id', 'payment', ['team_id', _desc('paid_at'), _desc('id')], None),
    ('ix_activity_contact_id_occurred_at_id', 'activity', ['contact_id', _desc('occurred_at'), _desc('id')], None),
    ('ix_task_project_id_id', 'task', ['project_id', 'id'], None),
    ('ix_client_team_id_owner_id', 'client', ['team_id', 'owner_id'], None),
    ('ix_contact_team_id_owner_id', 'contact', ['team_id', 'owner_id'], None),
    ('ix_rate_team_id_id', 'rate', ['team_id', 'id'], None),
    ('ix_exchange_rate_team_id_id', 'exchange_rate', ['team_id', 'id'], None),
    ('ix_api_key_team_id_id', 'api_key', ['team_id', 'id'], None),
    ('ix_team_invitation_team_id_id', 'team_invitation', ['team_id', 'id'], None),
]

# Made redundant by the new index on the same table that starts with the same columns.
REPLACED = [
    ('ix_time_entry_move_time_entry_id', 'time_entry_move', ['time_entry_id']),
    ('ix_payment_team_id_paid_at', 'payment', ['team_id', 'paid_at']),
    ('ix_activity_contact_id_occurred_at', 'activity', ['contact_id', 'occurred_at']),
    ('ix_task_project_id', 'task', ['project_id']),
    ('ix_api_key_team_id', 'api_key', ['team_id']),
    ('ix_team_invitation_team_id', 'team_invitation', ['team_id']),
]


def _create(name: str, table: str, columns: list, where: str | None) -> None:
    op.drop_index(name, table_name=table, if_exists=True, postgresql_concurrently=True)
    op.create_index(
        name,
        table,
        columns,
        unique=False,
        postgresql_where=sa.text(where) if where else None,
        postgresql_concurrently=True,
    )


def upgrade() -> None:
    with op.get_context().autocommit_block():
        for name, table, columns, where in NEW:
            _create(name, table, columns, where)
        for name, table, _ in REPLACED:
            op.drop_index(name, table_name=table, if_exists=True, postgresql_concurrently=True)


def downgrade() -> None:
    with op.get_context().autocommit_block():
        for name, table, columns in REPLACED:
            _create(name, table, columns, None)
        for name, table, _, _ in reversed(NEW):
            op.drop_index(name, table_name=table, if_exists=True, postgresql_concurrently=True)

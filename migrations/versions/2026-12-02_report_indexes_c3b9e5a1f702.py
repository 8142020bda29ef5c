"""report indexes

Indexes for the reports (issue 15). Two covering indexes on time_entry: every entry of
a period by (team_id, started_at), and uninvoiced billable time by (team_id,
project_id), each carrying the columns the reports read, so a period's entries are an
index-only scan instead of a heap fetch per entry. And the history of a rate key by its
ids (team_id, project_id, user_id, client_id, currency, effective_from): under
row-level security the enum columns kind and scope cannot be index conditions (their
equality is not leakproof), so the unique key index only narrows to the team; this one
finds a key's rows. Built CONCURRENTLY, as in e81b5c07d2f4.

Revision ID: c3b9e5a1f702
Revises: b8d2f4a61c07
Create Date: 2026-12-02 04:50:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c3b9e5a1f702"
down_revision: str | None = "b8d2f4a61c07"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = ["user_id", "project_id", "task_id", "ended_at", "duration_seconds"]
_PERIOD = "ix_time_entry_team_id_started_at_report"
_UNBILLED = "ix_time_entry_team_id_project_id_unbilled_report"
_RATE_KEY = "ix_rate_team_id_key_effective_from"


def _drop() -> None:
    for name in (_PERIOD, _UNBILLED):
        op.drop_index(name, table_name="time_entry", if_exists=True, postgresql_concurrently=True)
    op.drop_index(_RATE_KEY, table_name="rate", if_exists=True, postgresql_concurrently=True)


def upgrade() -> None:
    with op.get_context().autocommit_block():
        _drop()
        op.create_index(
            _PERIOD,
            "time_entry",
            ["team_id", "started_at"],
            postgresql_include=[*_COLUMNS, "billable"],
            postgresql_concurrently=True,
        )
        op.create_index(
            _UNBILLED,
            "time_entry",
            ["team_id", "project_id"],
            postgresql_include=[c for c in (*_COLUMNS, "started_at") if c != "project_id"],
            postgresql_where=sa.text("billable IS TRUE AND invoice_id IS NULL"),
            postgresql_concurrently=True,
        )
        op.create_index(
            _RATE_KEY,
            "rate",
            ["team_id", "project_id", "user_id", "client_id", "currency", "effective_from"],
            postgresql_concurrently=True,
        )


def downgrade() -> None:
    with op.get_context().autocommit_block():
        _drop()

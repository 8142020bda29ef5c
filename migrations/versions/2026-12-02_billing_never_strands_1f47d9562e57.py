"""billing never strands

Issue 12, points 1-6 (money that is never billed, invoices that never settle):

- `invoice_run.failed_since`, `failure_notified_at`: a failed scheduled run stays due and
  is retried hourly; after a day of failures the team's invoicing managers are emailed
  once. Both are NULL for existing runs: a run that failed before this migration starts
  its day at its next failure.

Nullable columns without defaults: no table is rewritten.

Revision ID: 1f47d9562e57
Revises: d5f1a7c3e920
Create Date: 2026-12-02 02:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '1f47d9562e57'
down_revision: str | None = 'd5f1a7c3e920'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('invoice_run', sa.Column('failed_since', sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        'invoice_run', sa.Column('failure_notified_at', sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    op.drop_column('invoice_run', 'failure_notified_at')
    op.drop_column('invoice_run', 'failed_since')

"""billing never strands

Issue 12, points 1-6 (money that is never billed, invoices that never settle):

- `invoice_run.failed_since`, `failure_notified_at`: a failed scheduled run stays due and
  is retried hourly; after a day of failures the team's invoicing managers are emailed
  once. Both are NULL for existing runs: a run that failed before this migration starts
  its day at its next failure.
- `client_invoice_settings.anchor_day`: the day of the month a monthly schedule keeps
  (31 -> Feb 28 -> Mar 31). Existing monthly schedules take `next_run_on`'s day (one
  already clipped by a short month keeps the clipped day: the original is not recorded).

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
    op.add_column('client_invoice_settings', sa.Column('anchor_day', sa.Integer(), nullable=True))
    op.create_check_constraint(
        op.f('ck_client_invoice_settings_anchor_day'),
        'client_invoice_settings',
        'anchor_day BETWEEN 1 AND 31',
    )
    op.execute(
        "UPDATE client_invoice_settings SET anchor_day = extract(day FROM next_run_on)"
        " WHERE schedule = 'monthly' AND next_run_on IS NOT NULL"
    )
    op.add_column('invoice_run', sa.Column('failed_since', sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        'invoice_run', sa.Column('failure_notified_at', sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    op.drop_constraint(
        op.f('ck_client_invoice_settings_anchor_day'), 'client_invoice_settings', type_='check'
    )
    op.drop_column('client_invoice_settings', 'anchor_day')
    op.drop_column('invoice_run', 'failure_notified_at')
    op.drop_column('invoice_run', 'failed_since')

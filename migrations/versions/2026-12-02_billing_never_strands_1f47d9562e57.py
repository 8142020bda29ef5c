"""billing never strands

Issue 12, points 1-6 (money that is never billed, invoices that never settle):

- `invoice_run.failed_since`, `failure_notified_at`: a failed scheduled run stays due and
  is retried hourly; after a day of failures the team's invoicing managers are emailed
  once. Both are NULL for existing runs: a run that failed before this migration starts
  its day at its next failure.
- `client_invoice_settings.anchor_day`: the day of the month a monthly schedule keeps
  (31 -> Feb 28 -> Mar 31). Existing monthly schedules take `next_run_on`'s day (one
  already clipped by a short month keeps the clipped day: the original is not recorded).
- `invoice.paid_at`, with `(status = 'paid') = (paid_at IS NOT NULL)`: an invoice issued
  with a zero total is paid at once. Paid invoices take the time of their last succeeded
  payment (their update time without one); open invoices with a zero total, which could
  never be paid, become paid as of their finalization.
- `invoice_counter.last_issue_date`: numbers follow issue dates; filled with the latest
  issue date numbered in each sequence.

Nullable columns without defaults: no table is rewritten; the CHECK's validation scans
`invoice` once.

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

    op.add_column('invoice', sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True))
    op.execute("""
        UPDATE invoice i SET paid_at = coalesce(
            (SELECT max(p.paid_at) FROM payment p
             WHERE p.team_id = i.team_id AND p.invoice_id = i.id AND p.status = 'succeeded'),
            i.updated_at)
        WHERE i.status = 'paid'
    """)
    op.execute("""
        UPDATE invoice SET status = 'paid', paid_at = coalesce(finalized_at, updated_at),
            version = version + 1, updated_at = now()
        WHERE status = 'open' AND total_amount = 0
    """)
    op.create_check_constraint(
        op.f('ck_invoice_paid_at_iff_paid'), 'invoice', "(status = 'paid') = (paid_at IS NOT NULL)"
    )
    op.add_column('invoice_counter', sa.Column('last_issue_date', sa.Date(), nullable=True))
    op.execute("""
        UPDATE invoice_counter c SET last_issue_date = (
            SELECT max(i.issue_date) FROM invoice i
            WHERE i.team_id = c.team_id AND i.number IS NOT NULL
              AND i.issue_date >= make_date(c.year, 1, 1)
              AND i.issue_date < make_date(c.year + 1, 1, 1))
    """)


def downgrade() -> None:
    op.drop_column('invoice_counter', 'last_issue_date')
    op.drop_constraint(op.f('ck_invoice_paid_at_iff_paid'), 'invoice', type_='check')
    op.drop_column('invoice', 'paid_at')
    op.drop_constraint(
        op.f('ck_client_invoice_settings_anchor_day'), 'client_invoice_settings', type_='check'
    )
    op.drop_column('client_invoice_settings', 'anchor_day')
    op.drop_column('invoice_run', 'failure_notified_at')
    op.drop_column('invoice_run', 'failed_since')

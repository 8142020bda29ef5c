"""payment fx difference

A payment converts at the team's exchange rate in force on the day it was received (the
invoice's fixed rate when none is), and keeps the difference to what the invoice's rate
gives for the same amount, in the base currency: the realized FX gain (positive) or loss.
Payments made before this change were converted at their invoice's rate: their rate is
(re)set from the invoice and their difference is 0. The column has a constant default,
so adding it rewrites nothing; the backfill touches only rows whose rate differs.

Revision ID: 3cdecd73d2d8
Revises: e3d5f7a9b103
Create Date: 2026-12-02 01:20:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '3cdecd73d2d8'
down_revision: str | None = 'e3d5f7a9b103'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        'payment',
        sa.Column('fx_difference_amount', sa.BigInteger(), server_default='0', nullable=False),
    )
    op.execute(
        """
        UPDATE payment p SET exchange_rate = i.exchange_rate
        FROM invoice i
        WHERE i.team_id = p.team_id AND i.id = p.invoice_id
          AND i.exchange_rate IS NOT NULL AND p.exchange_rate <> i.exchange_rate
        """
    )


def downgrade() -> None:
    op.drop_column('payment', 'fx_difference_amount')

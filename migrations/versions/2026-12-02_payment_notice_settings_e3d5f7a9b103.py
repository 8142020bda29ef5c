"""payment notice settings

Which payment emails a team sends: to its invoicing managers on full payment, partial
payment, refund and failed payment, and receipts to the client's billing recipients.
All start on (constant defaults: adding the columns rewrites nothing); before, only full
payment and failures were told, and no receipts existed.

Revision ID: e3d5f7a9b103
Revises: e2c4d6f8a902
Create Date: 2026-12-02 11:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'e3d5f7a9b103'
down_revision: str | None = 'e2c4d6f8a902'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (
    'notify_paid',
    'notify_partial_payment',
    'notify_refund',
    'notify_payment_failed',
    'payment_receipts',
)


def upgrade() -> None:
    for name in COLUMNS:
        op.add_column(
            'team', sa.Column(name, sa.Boolean(), server_default=sa.text('true'), nullable=False)
        )


def downgrade() -> None:
    for name in reversed(COLUMNS):
        op.drop_column('team', name)

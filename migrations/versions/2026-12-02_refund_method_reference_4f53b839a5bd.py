"""refund method and reference

A refund records how the money went back (`method`: bank, cash, other, crypto, stripe)
and a reference (a transfer's or transaction's id), so a manager can record a refund
made outside any provider (of a manual or a crypto payment) and see afterwards how each
refund was made. Existing refunds went back the way their payment came: their method is
the payment's.

Revision ID: 4f53b839a5bd
Revises: 3cdecd73d2d8
Create Date: 2026-12-02 01:40:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '4f53b839a5bd'
down_revision: str | None = '3cdecd73d2d8'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

METHOD = postgresql.ENUM(name='payment_method_used', create_type=False)


def upgrade() -> None:
    op.add_column('refund', sa.Column('method', METHOD, nullable=True))
    op.add_column('refund', sa.Column('reference', sa.String(length=200), nullable=True))
    op.execute(
        """
        UPDATE refund r SET method = p.method
        FROM payment p WHERE p.team_id = r.team_id AND p.id = r.payment_id
        """
    )
    op.alter_column('refund', 'method', nullable=False)


def downgrade() -> None:
    op.drop_column('refund', 'reference')
    op.drop_column('refund', 'method')

"""billing contacts

A contact marked `billing_contact` receives its client's invoices and payment receipts;
with none marked they go to the client's own email. Every existing contact starts
unmarked (a constant default: adding the column rewrites nothing), so until someone marks
one, mail goes to clients' own emails rather than to every contact as before.

Revision ID: e1b2c3d4f501
Revises: 1f47d9562e57
Create Date: 2026-12-02 10:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'e1b2c3d4f501'
down_revision: str | None = '1f47d9562e57'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        'contact',
        sa.Column('billing_contact', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    )


def downgrade() -> None:
    op.drop_column('contact', 'billing_contact')

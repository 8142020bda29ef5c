"""team locale and bank transfer instructions

The hosted pay page (issue 16) speaks the team's language (`locale`: en or es, for
dates, amounts and words) and shows, to clients who may pay by bank transfer, how to.

Revision ID: b8d2f4a61c07
Revises: 41c02bea3053
Create Date: 2026-12-02 05:25:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b8d2f4a61c07"
down_revision: str | None = "41c02bea3053"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("team", sa.Column("locale", sa.String(5), server_default="en", nullable=False))
    op.create_check_constraint("locale", "team", "locale IN ('en', 'es')")
    op.add_column("team", sa.Column("bank_transfer_instructions", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("team", "bank_transfer_instructions")
    op.drop_constraint("locale", "team", type_="check")
    op.drop_column("team", "locale")

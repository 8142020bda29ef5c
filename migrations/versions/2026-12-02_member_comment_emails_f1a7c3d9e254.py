"""a team member can turn its conversation emails off

Issue 17: every conversation email carries an unsubscribe link. A contact's turns its
digest off (`contact_digest.unsubscribed_at`); a team member's turns off the emails of
comments on its projects and of mentions, in that team: `comment_emails_off_at` on its
membership.

Revision ID: f1a7c3d9e254
Revises: 9be207255e58
Create Date: 2026-12-02 08:25:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f1a7c3d9e254"
down_revision: str | None = "9be207255e58"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "team_membership",
        sa.Column("comment_emails_off_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_column("team_membership", "comment_emails_off_at")

"""time entry max seconds

A team's longest time entry (default a day, at most 31 days, never below the team's
minimum): longer manual entries are refused and a timer stops at this length. Adding a
column with a constant default and a CHECK that every existing row passes (the minimum is
at most a day) rewrites nothing; the CHECK's validation scan is the only cost.

Revision ID: c3e5a7f19b42
Revises: b7d41e9c2a60
Create Date: 2026-12-01 23:40:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'c3e5a7f19b42'
down_revision: str | None = 'b7d41e9c2a60'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        'team',
        sa.Column('time_entry_max_seconds', sa.Integer(), server_default='86400', nullable=False),
    )
    op.create_check_constraint(
        op.f('ck_team_max_seconds'),
        'team',
        'time_entry_max_seconds BETWEEN 60 AND 2678400'
        ' AND time_entry_max_seconds >= time_entry_min_seconds',
    )


def downgrade() -> None:
    op.drop_constraint(op.f('ck_team_max_seconds'), 'team', type_='check')
    op.drop_column('team', 'time_entry_max_seconds')

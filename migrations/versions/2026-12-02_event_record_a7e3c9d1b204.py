"""event record

One row per change, written in the change's transaction (a transactional outbox). The id
is the writing transaction's id times 2**20 plus the event's ordinal in it, so a reader
that shows only transactions older than every one in flight can resume after the last
id without missing a later commit (docs/events.md). Visibility columns (object type and
id, user, client, project) let the list apply the role table without loading objects.
Invoices get `overdue_event_at` (when `invoice.overdue` was recorded, once) and a partial
index over the open ones not yet told, for the overdue check. Row security as on every
team table: ENABLE + FORCE, `team_isolation` for the app role
and `cross_team_paths` for the connecting role (the retention job deletes across teams).

Revision ID: a7e3c9d1b204
Revises: 7b2e9c4d1a60
Create Date: 2026-12-02 02:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = 'a7e3c9d1b204'
down_revision: str | None = '7b2e9c4d1a60'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APP_ROLE = 'hourline_app'
TEAM_MATCH = "team_id = nullif(current_setting('app.team_id', true), '')::uuid"


def upgrade() -> None:
    # `invoice.overdue` is recorded once per invoice by the overdue check.
    op.add_column(
        'invoice', sa.Column('overdue_event_at', sa.DateTime(timezone=True), nullable=True)
    )
    op.create_index(
        'ix_invoice_overdue_check',
        'invoice',
        ['due_date'],
        unique=False,
        postgresql_where=sa.text("status = 'open' AND overdue_event_at IS NULL"),
    )
    op.create_table(
        'event',
        sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('team_id', sa.Uuid(), nullable=False),
        sa.Column('type', sa.String(length=60), nullable=False),
        sa.Column('object_type', sa.String(length=40), nullable=False),
        sa.Column('object_id', sa.Uuid(), nullable=True),
        sa.Column('user_id', sa.Uuid(), nullable=True),
        sa.Column('client_id', sa.Uuid(), nullable=True),
        sa.Column('project_id', sa.Uuid(), nullable=True),
        sa.Column('actor_type', sa.String(length=20), nullable=False),
        sa.Column('actor_id', sa.Uuid(), nullable=True),
        sa.Column('data', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            'created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ['team_id'], ['team.id'], name=op.f('fk_event_team_id_team'), ondelete='CASCADE'
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_event')),
    )
    op.create_index('ix_event_team_id_id', 'event', ['team_id', 'id'], unique=False)
    op.create_index('ix_event_created_at', 'event', ['created_at'], unique=False)
    op.execute('ALTER TABLE "event" ENABLE ROW LEVEL SECURITY')
    op.execute('ALTER TABLE "event" FORCE ROW LEVEL SECURITY')
    op.execute(
        f'CREATE POLICY team_isolation ON "event" TO {APP_ROLE} '
        f'USING ({TEAM_MATCH}) WITH CHECK ({TEAM_MATCH})'
    )
    op.execute(
        'CREATE POLICY cross_team_paths ON "event" TO CURRENT_USER USING (true) WITH CHECK (true)'
    )


def downgrade() -> None:
    op.drop_table('event')
    op.drop_index('ix_invoice_overdue_check', table_name='invoice')
    op.drop_column('invoice', 'overdue_event_at')

"""portal sessions

A contact's signed-in client-portal session (issue 14): its `hlp_` bearer token is kept
as a keyed hash; revoking the row, expiring it, deleting the contact (cascade) or
archiving/moving its client ends it at once. `client_id` names the client it was opened
for. Row security as on every team table: ENABLE + FORCE, `team_isolation` for the app
role and `cross_team_paths` for the connecting role (the token look-up finds the team).
Contacts get an index on their lowered address among those with portal access: a login
link request looks a person up across teams.

Revision ID: 41c02bea3053
Revises: a7e3c9d1b204
Create Date: 2026-12-02 04:22:35.113894+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '41c02bea3053'
down_revision: str | None = 'a7e3c9d1b204'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APP_ROLE = 'hourline_app'
TEAM_MATCH = "team_id = nullif(current_setting('app.team_id', true), '')::uuid"


def upgrade() -> None:
    op.create_table(
        'portal_session',
        sa.Column('contact_id', sa.Uuid(), nullable=False),
        sa.Column('client_id', sa.Uuid(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('team_id', sa.Uuid(), nullable=False),
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column(
            'created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False
        ),
        sa.Column(
            'updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ['team_id', 'client_id'],
            ['client.team_id', 'client.id'],
            name=op.f('fk_portal_session_team_id_client_id_client'),
            ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['team_id', 'contact_id'],
            ['contact.team_id', 'contact.id'],
            name=op.f('fk_portal_session_team_id_contact_id_contact'),
            ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['team_id'], ['team.id'], name=op.f('fk_portal_session_team_id_team'), ondelete='CASCADE'
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_portal_session')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_portal_session_token_hash')),
    )
    op.create_index('ix_portal_session_contact_id', 'portal_session', ['contact_id'], unique=False)
    op.create_index(
        op.f('ix_portal_session_updated_at'), 'portal_session', ['updated_at'], unique=False
    )
    op.execute('ALTER TABLE "portal_session" ENABLE ROW LEVEL SECURITY')
    op.execute('ALTER TABLE "portal_session" FORCE ROW LEVEL SECURITY')
    op.execute(
        f'CREATE POLICY team_isolation ON "portal_session" TO {APP_ROLE} '
        f'USING ({TEAM_MATCH}) WITH CHECK ({TEAM_MATCH})'
    )
    op.execute(
        'CREATE POLICY cross_team_paths ON "portal_session" TO CURRENT_USER '
        'USING (true) WITH CHECK (true)'
    )
    op.create_index(
        'ix_contact_lower_email_portal',
        'contact',
        [sa.literal_column('lower(email)')],
        unique=False,
        postgresql_where=sa.text('portal_access'),
    )


def downgrade() -> None:
    op.drop_index('ix_contact_lower_email_portal', table_name='contact')
    op.drop_table('portal_session')

"""foundation: users, teams, api keys

Revision ID: 91ee2a2f4ae1
Revises: 
Create Date: 2026-11-30 11:43:34.212181+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '91ee2a2f4ae1'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('team',
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('base_currency', sa.String(length=3), server_default='EUR', nullable=False),
    sa.Column('timezone', sa.String(length=64), server_default='UTC', nullable=False),
    sa.Column('time_entry_min_seconds', sa.Integer(), server_default='600', nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('time_entry_min_seconds BETWEEN 0 AND 86400', name=op.f('ck_team_min_seconds')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_team'))
    )
    op.create_index(op.f('ix_team_updated_at'), 'team', ['updated_at'], unique=False)
    op.create_table('user_account',
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_account'))
    )
    op.create_index(op.f('ix_user_account_updated_at'), 'user_account', ['updated_at'], unique=False)
    op.create_index('uq_user_account_email_lower', 'user_account', [sa.literal_column('lower(email)')], unique=True)
    op.create_table('api_key',
    sa.Column('team_id', sa.Uuid(), nullable=False),
    sa.Column('created_by_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.Enum('superadmin', 'org_manager', 'sales_manager', 'sales_rep', 'project_manager', 'member', name='team_role'), nullable=False),
    sa.Column('prefix', sa.String(length=12), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("role <> 'superadmin'", name=op.f('ck_api_key_not_superadmin')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_api_key_created_by_id_user_account'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_api_key_team_id_team'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_key')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_api_key_key_hash'))
    )
    op.create_index(op.f('ix_api_key_team_id'), 'api_key', ['team_id'], unique=False)
    op.create_index(op.f('ix_api_key_updated_at'), 'api_key', ['updated_at'], unique=False)
    op.create_table('auth_session',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_reason', sa.String(length=40), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_auth_session_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_auth_session'))
    )
    op.create_index(op.f('ix_auth_session_updated_at'), 'auth_session', ['updated_at'], unique=False)
    op.create_index(op.f('ix_auth_session_user_id'), 'auth_session', ['user_id'], unique=False)
    op.create_table('team_invitation',
    sa.Column('team_id', sa.Uuid(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('role', sa.Enum('superadmin', 'org_manager', 'sales_manager', 'sales_rep', 'project_manager', 'member', name='team_role'), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('invited_by_id', sa.Uuid(), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['invited_by_id'], ['user_account.id'], name=op.f('fk_team_invitation_invited_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_team_invitation_team_id_team'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_team_invitation')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_team_invitation_token_hash'))
    )
    op.create_index(op.f('ix_team_invitation_team_id'), 'team_invitation', ['team_id'], unique=False)
    op.create_index(op.f('ix_team_invitation_updated_at'), 'team_invitation', ['updated_at'], unique=False)
    op.create_index('uq_team_invitation_pending_email', 'team_invitation', ['team_id', sa.literal_column('lower(email)')], unique=True, postgresql_where=sa.text('accepted_at IS NULL AND revoked_at IS NULL'))
    op.create_table('team_membership',
    sa.Column('team_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('role', sa.Enum('superadmin', 'org_manager', 'sales_manager', 'sales_rep', 'project_manager', 'member', name='team_role'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_team_membership_team_id_team'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_team_membership_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('team_id', 'user_id', name=op.f('pk_team_membership'))
    )
    op.create_index(op.f('ix_team_membership_updated_at'), 'team_membership', ['updated_at'], unique=False)
    op.create_index(op.f('ix_team_membership_user_id'), 'team_membership', ['user_id'], unique=False)
    op.create_table('refresh_token',
    sa.Column('session_id', sa.Uuid(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['auth_session.id'], name=op.f('fk_refresh_token_session_id_auth_session'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_refresh_token')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_refresh_token_token_hash'))
    )
    op.create_index(op.f('ix_refresh_token_session_id'), 'refresh_token', ['session_id'], unique=False)
    op.create_index(op.f('ix_refresh_token_updated_at'), 'refresh_token', ['updated_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_refresh_token_updated_at'), table_name='refresh_token')
    op.drop_index(op.f('ix_refresh_token_session_id'), table_name='refresh_token')
    op.drop_table('refresh_token')
    op.drop_index(op.f('ix_team_membership_user_id'), table_name='team_membership')
    op.drop_index(op.f('ix_team_membership_updated_at'), table_name='team_membership')
    op.drop_table('team_membership')
    op.drop_index('uq_team_invitation_pending_email', table_name='team_invitation', postgresql_where=sa.text('accepted_at IS NULL AND revoked_at IS NULL'))
    op.drop_index(op.f('ix_team_invitation_updated_at'), table_name='team_invitation')
    op.drop_index(op.f('ix_team_invitation_team_id'), table_name='team_invitation')
    op.drop_table('team_invitation')
    op.drop_index(op.f('ix_auth_session_user_id'), table_name='auth_session')
    op.drop_index(op.f('ix_auth_session_updated_at'), table_name='auth_session')
    op.drop_table('auth_session')
    op.drop_index(op.f('ix_api_key_updated_at'), table_name='api_key')
    op.drop_index(op.f('ix_api_key_team_id'), table_name='api_key')
    op.drop_table('api_key')
    op.drop_index('uq_user_account_email_lower', table_name='user_account')
    op.drop_index(op.f('ix_user_account_updated_at'), table_name='user_account')
    op.drop_table('user_account')
    op.drop_index(op.f('ix_team_updated_at'), table_name='team')
    op.drop_table('team')
    sa.Enum(name='team_role').drop(op.get_bind(), checkfirst=True)

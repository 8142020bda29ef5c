"""crm and projects

Revision ID: 81c19593f450
Revises: 91ee2a2f4ae1
Create Date: 2026-11-30 11:59:04.011991+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
revision: str = '81c19593f450'
down_revision: str | None = '91ee2a2f4ae1'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('client',
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('status', sa.Enum('active', 'archived', name='client_status'), server_default='active', nullable=False),
    sa.Column('owner_id', sa.Uuid(), nullable=True),
    sa.Column('created_by_id', sa.Uuid(), nullable=True),
    sa.Column('payment_methods', postgresql.ARRAY(sa.String(length=10)), server_default=sa.text("'{}'::varchar[]"), nullable=False),
    sa.Column('hourly_rate_amount', sa.BigInteger(), nullable=True),
    sa.Column('address', sa.Text(), nullable=True),
    sa.Column('tax_id', sa.String(length=64), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('team_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("payment_methods <@ ARRAY['stripe','crypto','bank']::varchar[]", name=op.f('ck_client_payment_methods')),
    sa.CheckConstraint('hourly_rate_amount >= 0', name=op.f('ck_client_rate_not_negative')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_client_created_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['team_id', 'owner_id'], ['team_membership.team_id', 'team_membership.user_id'], name=op.f('fk_client_team_id_owner_id_team_membership'), ondelete='SET NULL (owner_id)'),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_client_team_id_team'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_client')),
    sa.UniqueConstraint('team_id', 'id', name=op.f('uq_client_team_id_id'))
    )
    op.create_index('ix_client_team_id_lower_name', 'client', ['team_id', sa.literal_column('lower(name)')], unique=False)
    op.create_index('ix_client_team_id_status', 'client', ['team_id', 'status'], unique=False)
    op.create_index(op.f('ix_client_updated_at'), 'client', ['updated_at'], unique=False)
    op.create_table('client_invoice_settings',
    sa.Column('team_id', sa.Uuid(), nullable=False),
    sa.Column('client_id', sa.Uuid(), nullable=False),
    sa.Column('schedule', sa.Enum('none', 'weekly', 'biweekly', 'monthly', name='invoice_schedule'), server_default='none', nullable=False),
    sa.Column('auto_send', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('due_days', sa.Integer(), server_default='14', nullable=False),
    sa.Column('tax_rate_bps', sa.Integer(), server_default='0', nullable=False),
    sa.Column('rounding_seconds', sa.Integer(), server_default='0', nullable=False),
    sa.Column('payment_methods', postgresql.ARRAY(sa.String(length=10)), server_default=sa.text("'{}'::varchar[]"), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('next_run_on', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("payment_methods <@ ARRAY['stripe','crypto','bank']::varchar[]", name=op.f('ck_client_invoice_settings_payment_methods')),
    sa.CheckConstraint('due_days BETWEEN 0 AND 365', name=op.f('ck_client_invoice_settings_due_days')),
    sa.CheckConstraint('rounding_seconds BETWEEN 0 AND 86400', name=op.f('ck_client_invoice_settings_rounding_seconds')),
    sa.CheckConstraint('tax_rate_bps BETWEEN 0 AND 10000', name=op.f('ck_client_invoice_settings_tax_rate_bps')),
    sa.ForeignKeyConstraint(['team_id', 'client_id'], ['client.team_id', 'client.id'], name=op.f('fk_client_invoice_settings_team_id_client_id_client'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('client_id', name=op.f('pk_client_invoice_settings'))
    )
    op.create_index(op.f('ix_client_invoice_settings_updated_at'), 'client_invoice_settings', ['updated_at'], unique=False)
    op.create_table('client_member',
    sa.Column('team_id', sa.Uuid(), nullable=False),
    sa.Column('client_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['team_id', 'client_id'], ['client.team_id', 'client.id'], name=op.f('fk_client_member_team_id_client_id_client'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['team_id', 'user_id'], ['team_membership.team_id', 'team_membership.user_id'], name=op.f('fk_client_member_team_id_user_id_team_membership'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('client_id', 'user_id', name=op.f('pk_client_member'))
    )
    op.create_index('ix_client_member_team_id_user_id', 'client_member', ['team_id', 'user_id'], unique=False)
    op.create_index(op.f('ix_client_member_updated_at'), 'client_member', ['updated_at'], unique=False)
    op.create_table('contact',
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('phone', sa.String(length=50), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=True),
    sa.Column('client_id', sa.Uuid(), nullable=True),
    sa.Column('owner_id', sa.Uuid(), nullable=True),
    sa.Column('created_by_id', sa.Uuid(), nullable=True),
    sa.Column('portal_access', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('portal_access_granted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_contacted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('team_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_contact_created_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['team_id', 'client_id'], ['client.team_id', 'client.id'], name=op.f('fk_contact_team_id_client_id_client'), ondelete='SET NULL (client_id)'),
    sa.ForeignKeyConstraint(['team_id', 'owner_id'], ['team_membership.team_id', 'team_membership.user_id'], name=op.f('fk_contact_team_id_owner_id_team_membership'), ondelete='SET NULL (owner_id)'),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_contact_team_id_team'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contact')),
    sa.UniqueConstraint('team_id', 'id', name=op.f('uq_contact_team_id_id'))
    )
    op.create_index('ix_contact_team_id_client_id', 'contact', ['team_id', 'client_id'], unique=False)
    op.create_index(op.f('ix_contact_updated_at'), 'contact', ['updated_at'], unique=False)
    op.create_index('uq_contact_team_id_lower_email', 'contact', ['team_id', sa.literal_column('lower(email)')], unique=True, postgresql_where=sa.text('email IS NOT NULL'))
    op.create_table('project',
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('client_id', sa.Uuid(), nullable=True),
    sa.Column('status', sa.Enum('active', 'archived', name='project_status'), server_default='active', nullable=False),
    sa.Column('billable', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('hourly_rate_amount', sa.BigInteger(), nullable=True),
    sa.Column('budget_seconds', sa.BigInteger(), nullable=True),
    sa.Column('created_by_id', sa.Uuid(), nullable=True),
    sa.Column('team_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('budget_seconds >= 0', name=op.f('ck_project_budget_not_negative')),
    sa.CheckConstraint('hourly_rate_amount >= 0', name=op.f('ck_project_rate_not_negative')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_project_created_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['team_id', 'client_id'], ['client.team_id', 'client.id'], name=op.f('fk_project_team_id_client_id_client')),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_project_team_id_team'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_project')),
    sa.UniqueConstraint('team_id', 'id', name=op.f('uq_project_team_id_id'))
    )
    op.create_index('ix_project_team_id_client_id', 'project', ['team_id', 'client_id'], unique=False)
    op.create_index(op.f('ix_project_updated_at'), 'project', ['updated_at'], unique=False)
    op.create_table('activity',
    sa.Column('contact_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.Enum('note', 'call', 'email', 'meeting', name='activity_kind'), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('author_id', sa.Uuid(), nullable=True),
    sa.Column('team_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['user_account.id'], name=op.f('fk_activity_author_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['team_id', 'contact_id'], ['contact.team_id', 'contact.id'], name=op.f('fk_activity_team_id_contact_id_contact'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_activity_team_id_team'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_activity'))
    )
    op.create_index('ix_activity_contact_id_occurred_at', 'activity', ['contact_id', 'occurred_at'], unique=False)
    op.create_index(op.f('ix_activity_updated_at'), 'activity', ['updated_at'], unique=False)
    op.create_table('board',
    sa.Column('project_id', sa.Uuid(), nullable=False),
    sa.Column('team_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['team_id', 'project_id'], ['project.team_id', 'project.id'], name=op.f('fk_board_team_id_project_id_project'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_board_team_id_team'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_board')),
    sa.UniqueConstraint('project_id', name=op.f('uq_board_project_id')),
    sa.UniqueConstraint('team_id', 'id', name=op.f('uq_board_team_id_id'))
    )
    op.create_index(op.f('ix_board_updated_at'), 'board', ['updated_at'], unique=False)
    op.create_table('contact_assignee',
    sa.Column('team_id', sa.Uuid(), nullable=False),
    sa.Column('contact_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['team_id', 'contact_id'], ['contact.team_id', 'contact.id'], name=op.f('fk_contact_assignee_team_id_contact_id_contact'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['team_id', 'user_id'], ['team_membership.team_id', 'team_membership.user_id'], name=op.f('fk_contact_assignee_team_id_user_id_team_membership'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('contact_id', 'user_id', name=op.f('pk_contact_assignee'))
    )
    op.create_index('ix_contact_assignee_team_id_user_id', 'contact_assignee', ['team_id', 'user_id'], unique=False)
    op.create_index(op.f('ix_contact_assignee_updated_at'), 'contact_assignee', ['updated_at'], unique=False)
    op.create_table('portal_token',
    sa.Column('contact_id', sa.Uuid(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('team_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['team_id', 'contact_id'], ['contact.team_id', 'contact.id'], name=op.f('fk_portal_token_team_id_contact_id_contact'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_portal_token_team_id_team'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_portal_token')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_portal_token_token_hash'))
    )
    op.create_index(op.f('ix_portal_token_contact_id'), 'portal_token', ['contact_id'], unique=False)
    op.create_index(op.f('ix_portal_token_updated_at'), 'portal_token', ['updated_at'], unique=False)
    op.create_table('project_member',
    sa.Column('team_id', sa.Uuid(), nullable=False),
    sa.Column('project_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('role', sa.Enum('manager', 'member', name='project_role'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['team_id', 'project_id'], ['project.team_id', 'project.id'], name=op.f('fk_project_member_team_id_project_id_project'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['team_id', 'user_id'], ['team_membership.team_id', 'team_membership.user_id'], name=op.f('fk_project_member_team_id_user_id_team_membership'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('project_id', 'user_id', name=op.f('pk_project_member'))
    )
    op.create_index('ix_project_member_team_id_user_id', 'project_member', ['team_id', 'user_id'], unique=False)
    op.create_index(op.f('ix_project_member_updated_at'), 'project_member', ['updated_at'], unique=False)
    op.create_table('project_viewer',
    sa.Column('team_id', sa.Uuid(), nullable=False),
    sa.Column('project_id', sa.Uuid(), nullable=False),
    sa.Column('contact_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['team_id', 'contact_id'], ['contact.team_id', 'contact.id'], name=op.f('fk_project_viewer_team_id_contact_id_contact'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['team_id', 'project_id'], ['project.team_id', 'project.id'], name=op.f('fk_project_viewer_team_id_project_id_project'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('project_id', 'contact_id', name=op.f('pk_project_viewer'))
    )
    op.create_index('ix_project_viewer_contact_id', 'project_viewer', ['contact_id'], unique=False)
    op.create_index(op.f('ix_project_viewer_updated_at'), 'project_viewer', ['updated_at'], unique=False)
    op.create_table('board_column',
    sa.Column('board_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.Enum('todo', 'in_progress', 'done', 'custom', name='column_kind'), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('position >= 0', name=op.f('ck_board_column_position')),
    sa.ForeignKeyConstraint(['team_id', 'board_id'], ['board.team_id', 'board.id'], name=op.f('fk_board_column_team_id_board_id_board'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_board_column_team_id_team'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_board_column')),
    sa.UniqueConstraint('board_id', 'position', deferrable=True, initially='DEFERRED', name=op.f('uq_board_column_board_id_position')),
    sa.UniqueConstraint('team_id', 'id', name=op.f('uq_board_column_team_id_id'))
    )
    op.create_index(op.f('ix_board_column_updated_at'), 'board_column', ['updated_at'], unique=False)
    op.create_index('uq_board_column_one_todo_one_done', 'board_column', ['board_id', 'kind'], unique=True, postgresql_where=sa.text("kind IN ('todo', 'done')"))
    op.create_table('task',
    sa.Column('project_id', sa.Uuid(), nullable=False),
    sa.Column('column_id', sa.Uuid(), nullable=False),
    sa.Column('title', sa.String(length=255), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('assignee_id', sa.Uuid(), nullable=True),
    sa.Column('estimate_seconds', sa.BigInteger(), nullable=True),
    sa.Column('team_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('estimate_seconds >= 0', name=op.f('ck_task_estimate_not_negative')),
    sa.CheckConstraint('position >= 0', name=op.f('ck_task_position')),
    sa.ForeignKeyConstraint(['team_id', 'assignee_id'], ['team_membership.team_id', 'team_membership.user_id'], name=op.f('fk_task_team_id_assignee_id_team_membership'), ondelete='SET NULL (assignee_id)'),
    sa.ForeignKeyConstraint(['team_id', 'column_id'], ['board_column.team_id', 'board_column.id'], name=op.f('fk_task_team_id_column_id_board_column')),
    sa.ForeignKeyConstraint(['team_id', 'project_id'], ['project.team_id', 'project.id'], name=op.f('fk_task_team_id_project_id_project'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_task_team_id_team'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_task')),
    sa.UniqueConstraint('column_id', 'position', deferrable=True, initially='DEFERRED', name=op.f('uq_task_column_id_position')),
    sa.UniqueConstraint('team_id', 'id', name=op.f('uq_task_team_id_id'))
    )
    op.create_index('ix_task_project_id', 'task', ['project_id'], unique=False)
    op.create_index(op.f('ix_task_updated_at'), 'task', ['updated_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_task_updated_at'), table_name='task')
    op.drop_index('ix_task_project_id', table_name='task')
    op.drop_table('task')
    op.drop_index('uq_board_column_one_todo_one_done', table_name='board_column', postgresql_where=sa.text("kind IN ('todo', 'done')"))
    op.drop_index(op.f('ix_board_column_updated_at'), table_name='board_column')
    op.drop_table('board_column')
    op.drop_index(op.f('ix_project_viewer_updated_at'), table_name='project_viewer')
    op.drop_index('ix_project_viewer_contact_id', table_name='project_viewer')
    op.drop_table('project_viewer')
    op.drop_index(op.f('ix_project_member_updated_at'), table_name='project_member')
    op.drop_index('ix_project_member_team_id_user_id', table_name='project_member')
    op.drop_table('project_member')
    op.drop_index(op.f('ix_portal_token_updated_at'), table_name='portal_token')
    op.drop_index(op.f('ix_portal_token_contact_id'), table_name='portal_token')
    op.drop_table('portal_token')
    op.drop_index(op.f('ix_contact_assignee_updated_at'), table_name='contact_assignee')
    op.drop_index('ix_contact_assignee_team_id_user_id', table_name='contact_assignee')
    op.drop_table('contact_assignee')
    op.drop_index(op.f('ix_board_updated_at'), table_name='board')
    op.drop_table('board')
    op.drop_index(op.f('ix_activity_updated_at'), table_name='activity')
    op.drop_index('ix_activity_contact_id_occurred_at', table_name='activity')
    op.drop_table('activity')
    op.drop_index(op.f('ix_project_updated_at'), table_name='project')
    op.drop_index('ix_project_team_id_client_id', table_name='project')
    op.drop_table('project')
    op.drop_index('uq_contact_team_id_lower_email', table_name='contact', postgresql_where=sa.text('email IS NOT NULL'))
    op.drop_index(op.f('ix_contact_updated_at'), table_name='contact')
    op.drop_index('ix_contact_team_id_client_id', table_name='contact')
    op.drop_table('contact')
    op.drop_index(op.f('ix_client_member_updated_at'), table_name='client_member')
    op.drop_index('ix_client_member_team_id_user_id', table_name='client_member')
    op.drop_table('client_member')
    op.drop_index(op.f('ix_client_invoice_settings_updated_at'), table_name='client_invoice_settings')
    op.drop_table('client_invoice_settings')
    op.drop_index(op.f('ix_client_updated_at'), table_name='client')
    op.drop_index('ix_client_team_id_status', table_name='client')
    op.drop_index('ix_client_team_id_lower_name', table_name='client')
    op.drop_table('client')
    sa.Enum(name='column_kind').drop(op.get_bind(), checkfirst=True)
    sa.Enum(name='project_role').drop(op.get_bind(), checkfirst=True)
    sa.Enum(name='activity_kind').drop(op.get_bind(), checkfirst=True)
    sa.Enum(name='project_status').drop(op.get_bind(), checkfirst=True)
    sa.Enum(name='invoice_schedule').drop(op.get_bind(), checkfirst=True)
    sa.Enum(name='client_status').drop(op.get_bind(), checkfirst=True)

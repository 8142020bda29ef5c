"""time tracking and rates

Revision ID: 4cd316525eb6
Revises: 81c19593f450
Create Date: 2026-11-30 12:03:31.362699+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '4cd316525eb6'
down_revision: str | None = '81c19593f450'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


APPEND_ONLY = (
    """
    CREATE FUNCTION time_entry_move_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'time_entry_move is append-only';
    END $$
    """,
    """
    CREATE TRIGGER time_entry_move_no_update BEFORE UPDATE ON time_entry_move
        FOR EACH ROW EXECUTE FUNCTION time_entry_move_append_only()
    """,
)


def upgrade() -> None:
    # The exclusion constraint compares uuids with `=` inside a GiST index.
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.create_table('rate',
    sa.Column('kind', sa.Enum('bill', 'cost', name='rate_kind'), nullable=False),
    sa.Column('scope', sa.Enum('team', 'member', 'client', 'project', 'project_member', name='rate_scope'), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=True),
    sa.Column('client_id', sa.Uuid(), nullable=True),
    sa.Column('project_id', sa.Uuid(), nullable=True),
    sa.Column('hourly_rate_amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('effective_from', sa.Date(), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=True),
    sa.Column('team_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("(scope = 'team' AND user_id IS NULL AND client_id IS NULL AND project_id IS NULL) OR (scope = 'member' AND user_id IS NOT NULL AND client_id IS NULL AND project_id IS NULL) OR (scope = 'client' AND user_id IS NULL AND client_id IS NOT NULL AND project_id IS NULL) OR (scope = 'project' AND user_id IS NULL AND client_id IS NULL AND project_id IS NOT NULL) OR (scope = 'project_member' AND user_id IS NOT NULL AND client_id IS NULL AND project_id IS NOT NULL)", name=op.f('ck_rate_scope_ids')),
    sa.CheckConstraint('hourly_rate_amount >= 0', name=op.f('ck_rate_amount_not_negative')),
    sa.ForeignKeyConstraint(['team_id', 'client_id'], ['client.team_id', 'client.id'], name=op.f('fk_rate_team_id_client_id_client'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['team_id', 'project_id'], ['project.team_id', 'project.id'], name=op.f('fk_rate_team_id_project_id_project'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_rate_team_id_team'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_rate_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rate'))
    )
    op.create_index('ix_rate_team_id_kind_effective_from', 'rate', ['team_id', 'kind', 'effective_from'], unique=False)
    op.create_index(op.f('ix_rate_updated_at'), 'rate', ['updated_at'], unique=False)
    op.create_index('uq_rate_key_effective_from', 'rate', ['team_id', 'kind', 'scope', 'user_id', 'client_id', 'project_id', 'currency', 'effective_from'], unique=True, postgresql_nulls_not_distinct=True)
    op.create_table('time_entry',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('project_id', sa.Uuid(), nullable=False),
    sa.Column('task_id', sa.Uuid(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('duration_seconds', sa.BigInteger(), sa.Computed('(extract(epoch FROM ended_at - started_at))::bigint', persisted=True), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('billable', sa.Boolean(), nullable=False),
    sa.Column('invoice_id', sa.Uuid(), nullable=True),
    sa.Column('created_by_id', sa.Uuid(), nullable=True),
    sa.Column('team_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    postgresql.ExcludeConstraint((sa.column('team_id'), '='), (sa.column('user_id'), '='), (sa.text("tstzrange(started_at, ended_at, '[)')"), '&&'), using='gist', name='ex_time_entry_no_overlap'),
    sa.CheckConstraint('ended_at IS NULL OR ended_at > started_at', name=op.f('ck_time_entry_ends_after_start')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_time_entry_created_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['team_id', 'project_id'], ['project.team_id', 'project.id'], name=op.f('fk_time_entry_team_id_project_id_project')),
    sa.ForeignKeyConstraint(['team_id', 'task_id'], ['task.team_id', 'task.id'], name=op.f('fk_time_entry_team_id_task_id_task'), ondelete='SET NULL (task_id)'),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_time_entry_team_id_team'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_time_entry_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_time_entry')),
    sa.UniqueConstraint('team_id', 'id', name=op.f('uq_time_entry_team_id_id'))
    )
    op.create_index('ix_time_entry_task_id', 'time_entry', ['task_id'], unique=False)
    op.create_index('ix_time_entry_team_id_invoice_id', 'time_entry', ['team_id', 'invoice_id'], unique=False)
    op.create_index('ix_time_entry_team_id_project_id_started_at', 'time_entry', ['team_id', 'project_id', 'started_at'], unique=False)
    op.create_index('ix_time_entry_team_id_user_id_started_at', 'time_entry', ['team_id', 'user_id', 'started_at'], unique=False)
    op.create_index(op.f('ix_time_entry_updated_at'), 'time_entry', ['updated_at'], unique=False)
    op.create_index('uq_time_entry_one_running', 'time_entry', ['team_id', 'user_id'], unique=True, postgresql_where=sa.text('ended_at IS NULL'))
    op.create_table('time_entry_move',
    sa.Column('time_entry_id', sa.Uuid(), nullable=False),
    sa.Column('actor_id', sa.Uuid(), nullable=True),
    sa.Column('from_project_id', sa.Uuid(), nullable=False),
    sa.Column('to_project_id', sa.Uuid(), nullable=False),
    sa.Column('reason', sa.String(length=1000), nullable=False),
    sa.Column('ip_address', postgresql.INET(), nullable=True),
    sa.Column('team_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['user_account.id'], name=op.f('fk_time_entry_move_actor_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['team_id', 'time_entry_id'], ['time_entry.team_id', 'time_entry.id'], name=op.f('fk_time_entry_move_team_id_time_entry_id_time_entry'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_time_entry_move_team_id_team'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_time_entry_move'))
    )
    op.create_index('ix_time_entry_move_time_entry_id', 'time_entry_move', ['time_entry_id'], unique=False)
    op.create_index(op.f('ix_time_entry_move_updated_at'), 'time_entry_move', ['updated_at'], unique=False)
    for statement in APPEND_ONLY:
        op.execute(statement)


def downgrade() -> None:
    op.drop_index(op.f('ix_time_entry_move_updated_at'), table_name='time_entry_move')
    op.drop_index('ix_time_entry_move_time_entry_id', table_name='time_entry_move')
    op.drop_table('time_entry_move')
    op.execute("DROP FUNCTION time_entry_move_append_only()")
    op.drop_index('uq_time_entry_one_running', table_name='time_entry', postgresql_where=sa.text('ended_at IS NULL'))
    op.drop_index(op.f('ix_time_entry_updated_at'), table_name='time_entry')
    op.drop_index('ix_time_entry_team_id_user_id_started_at', table_name='time_entry')
    op.drop_index('ix_time_entry_team_id_project_id_started_at', table_name='time_entry')
    op.drop_index('ix_time_entry_team_id_invoice_id', table_name='time_entry')
    op.drop_index('ix_time_entry_task_id', table_name='time_entry')
    op.drop_table('time_entry')
    op.drop_index('uq_rate_key_effective_from', table_name='rate', postgresql_nulls_not_distinct=True)
    op.drop_index(op.f('ix_rate_updated_at'), table_name='rate')
    op.drop_index('ix_rate_team_id_kind_effective_from', table_name='rate')
    op.drop_table('rate')
    sa.Enum(name='rate_scope').drop(op.get_bind(), checkfirst=True)
    sa.Enum(name='rate_kind').drop(op.get_bind(), checkfirst=True)

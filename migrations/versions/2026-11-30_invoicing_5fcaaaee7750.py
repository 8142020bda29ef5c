"""invoicing

Revision ID: 5fcaaaee7750
Revises: 4cd316525eb6
Create Date: 2026-11-30 12:07:47.102205+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
revision: str = '5fcaaaee7750'
down_revision: str | None = '4cd316525eb6'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('exchange_rate',
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('rate', sa.Numeric(precision=20, scale=10), nullable=False),
    sa.Column('effective_from', sa.Date(), nullable=False),
    sa.Column('team_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('rate > 0', name=op.f('ck_exchange_rate_rate_positive')),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_exchange_rate_team_id_team'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exchange_rate')),
    sa.UniqueConstraint('team_id', 'currency', 'effective_from', name=op.f('uq_exchange_rate_team_id_currency_effective_from'))
    )
    op.create_index(op.f('ix_exchange_rate_updated_at'), 'exchange_rate', ['updated_at'], unique=False)
    op.create_table('invoice_counter',
    sa.Column('team_id', sa.Uuid(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('last_value', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_invoice_counter_team_id_team'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('team_id', 'year', name=op.f('pk_invoice_counter'))
    )
    op.create_table('invoice_run',
    sa.Column('client_id', sa.Uuid(), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('trigger', sa.String(length=20), nullable=False),
    sa.Column('status', sa.Enum('done', 'empty', 'failed', name='invoice_run_status'), nullable=False),
    sa.Column('invoice_id', sa.Uuid(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('team_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['team_id', 'client_id'], ['client.team_id', 'client.id'], name=op.f('fk_invoice_run_team_id_client_id_client'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_invoice_run_team_id_team'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice_run')),
    sa.UniqueConstraint('team_id', 'client_id', 'period_start', 'period_end', name=op.f('uq_invoice_run_team_id_client_id_period_start_period_end')),
    sa.UniqueConstraint('team_id', 'id', name=op.f('uq_invoice_run_team_id_id'))
    )
    op.create_index(op.f('ix_invoice_run_updated_at'), 'invoice_run', ['updated_at'], unique=False)
    op.create_table('invoice',
    sa.Column('client_id', sa.Uuid(), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=True),
    sa.Column('status', sa.Enum('draft', 'open', 'paid', 'void', name='invoice_status'), server_default='draft', nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('issue_date', sa.Date(), nullable=True),
    sa.Column('due_date', sa.Date(), nullable=True),
    sa.Column('period_start', sa.Date(), nullable=True),
    sa.Column('period_end', sa.Date(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('discount_bps', sa.Integer(), server_default='0', nullable=False),
    sa.Column('subtotal_amount', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('discount_amount', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('tax_amount', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('total_amount', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('amount_paid', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('exchange_rate', sa.Numeric(precision=20, scale=10), nullable=True),
    sa.Column('base_currency', sa.String(length=3), nullable=True),
    sa.Column('pay_token', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('finalized_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('voided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('send_status', sa.Enum('queued', 'sent', 'failed', name='invoice_send_status'), nullable=True),
    sa.Column('send_error', sa.Text(), nullable=True),
    sa.Column('run_id', sa.Uuid(), nullable=True),
    sa.Column('created_by_id', sa.Uuid(), nullable=True),
    sa.Column('team_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("(status = 'draft' AND number IS NULL) OR (status IN ('open', 'paid') AND number IS NOT NULL) OR status = 'void'", name=op.f('ck_invoice_number_iff_issued')),
    sa.CheckConstraint('amount_paid >= 0 AND amount_paid <= total_amount', name=op.f('ck_invoice_amount_paid')),
    sa.CheckConstraint('discount_bps BETWEEN 0 AND 10000', name=op.f('ck_invoice_discount_bps')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_invoice_created_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['team_id', 'client_id'], ['client.team_id', 'client.id'], name=op.f('fk_invoice_team_id_client_id_client')),
    sa.ForeignKeyConstraint(['team_id', 'run_id'], ['invoice_run.team_id', 'invoice_run.id'], name=op.f('fk_invoice_team_id_run_id_invoice_run'), ondelete='SET NULL (run_id)'),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_invoice_team_id_team'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice')),
    sa.UniqueConstraint('pay_token', name=op.f('uq_invoice_pay_token')),
    sa.UniqueConstraint('team_id', 'id', name=op.f('uq_invoice_team_id_id'))
    )
    op.create_index('ix_invoice_team_id_client_id', 'invoice', ['team_id', 'client_id'], unique=False)
    op.create_index('ix_invoice_team_id_status', 'invoice', ['team_id', 'status'], unique=False)
    op.create_index(op.f('ix_invoice_updated_at'), 'invoice', ['updated_at'], unique=False)
    op.create_index('uq_invoice_team_id_number', 'invoice', ['team_id', 'number'], unique=True)
    op.create_table('invoice_line',
    sa.Column('invoice_id', sa.Uuid(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('time', 'manual', name='invoice_line_kind'), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=False),
    sa.Column('project_id', sa.Uuid(), nullable=True),
    sa.Column('user_id', sa.Uuid(), nullable=True),
    sa.Column('quantity_seconds', sa.BigInteger(), nullable=True),
    sa.Column('tracked_seconds', sa.BigInteger(), nullable=True),
    sa.Column('quantity', sa.Numeric(precision=14, scale=4), nullable=True),
    sa.Column('unit_amount', sa.BigInteger(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('tax_rate_bps', sa.Integer(), nullable=False),
    sa.Column('tax_amount', sa.BigInteger(), nullable=False),
    sa.Column('rate_missing', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('time_entry_ids', postgresql.ARRAY(sa.Uuid()), server_default=sa.text("'{}'::uuid[]"), nullable=False),
    sa.Column('team_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('tax_rate_bps BETWEEN 0 AND 10000', name=op.f('ck_invoice_line_tax_rate_bps')),
    sa.ForeignKeyConstraint(['team_id', 'invoice_id'], ['invoice.team_id', 'invoice.id'], name=op.f('fk_invoice_line_team_id_invoice_id_invoice'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_invoice_line_team_id_team'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice_line')),
    sa.UniqueConstraint('team_id', 'id', name=op.f('uq_invoice_line_team_id_id'))
    )
    op.create_index('ix_invoice_line_invoice_id', 'invoice_line', ['invoice_id'], unique=False)
    op.create_index(op.f('ix_invoice_line_updated_at'), 'invoice_line', ['updated_at'], unique=False)
    op.create_table('invoice_pdf',
    sa.Column('team_id', sa.Uuid(), nullable=False),
    sa.Column('invoice_id', sa.Uuid(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['team_id', 'invoice_id'], ['invoice.team_id', 'invoice.id'], name=op.f('fk_invoice_pdf_team_id_invoice_id_invoice'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('invoice_id', name=op.f('pk_invoice_pdf'))
    )
    op.add_column('team', sa.Column('invoice_prefix', sa.String(length=20), server_default='INV-', nullable=False))
    op.add_column('time_entry', sa.Column('invoice_line_id', sa.Uuid(), nullable=True))
    op.create_foreign_key(op.f('fk_time_entry_team_id_invoice_line_id_invoice_line'), 'time_entry', 'invoice_line', ['team_id', 'invoice_line_id'], ['team_id', 'id'])
    op.create_foreign_key(op.f('fk_time_entry_team_id_invoice_id_invoice'), 'time_entry', 'invoice', ['team_id', 'invoice_id'], ['team_id', 'id'])
    op.create_check_constraint(op.f('ck_time_entry_invoice_and_line'), 'time_entry', '(invoice_id IS NULL) = (invoice_line_id IS NULL)')


def downgrade() -> None:
    op.drop_constraint(op.f('ck_time_entry_invoice_and_line'), 'time_entry', type_='check')
    op.drop_constraint(op.f('fk_time_entry_team_id_invoice_id_invoice'), 'time_entry', type_='foreignkey')
    op.drop_constraint(op.f('fk_time_entry_team_id_invoice_line_id_invoice_line'), 'time_entry', type_='foreignkey')
    op.drop_column('time_entry', 'invoice_line_id')
    op.drop_column('team', 'invoice_prefix')
    op.drop_table('invoice_pdf')
    op.drop_index(op.f('ix_invoice_line_updated_at'), table_name='invoice_line')
    op.drop_index('ix_invoice_line_invoice_id', table_name='invoice_line')
    op.drop_table('invoice_line')
    op.drop_index('uq_invoice_team_id_number', table_name='invoice')
    op.drop_index(op.f('ix_invoice_updated_at'), table_name='invoice')
    op.drop_index('ix_invoice_team_id_status', table_name='invoice')
    op.drop_index('ix_invoice_team_id_client_id', table_name='invoice')
    op.drop_table('invoice')
    op.drop_index(op.f('ix_invoice_run_updated_at'), table_name='invoice_run')
    op.drop_table('invoice_run')
    op.drop_table('invoice_counter')
    op.drop_index(op.f('ix_exchange_rate_updated_at'), table_name='exchange_rate')
    op.drop_table('exchange_rate')
    sa.Enum(name='invoice_line_kind').drop(op.get_bind(), checkfirst=True)
    sa.Enum(name='invoice_send_status').drop(op.get_bind(), checkfirst=True)
    sa.Enum(name='invoice_status').drop(op.get_bind(), checkfirst=True)
    sa.Enum(name='invoice_run_status').drop(op.get_bind(), checkfirst=True)

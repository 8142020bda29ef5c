"""payments

Revision ID: 70a8315a7664
Revises: 5fcaaaee7750
Create Date: 2026-11-30 12:16:03.293022+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '70a8315a7664'
down_revision: str | None = '5fcaaaee7750'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('webhook_event',
    sa.Column('provider', sa.String(length=20), nullable=False),
    sa.Column('event_id', sa.String(length=200), nullable=False),
    sa.Column('type', sa.String(length=100), nullable=False),
    sa.Column('payload', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('handled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_event')),
    sa.UniqueConstraint('provider', 'event_id', name=op.f('uq_webhook_event_provider_event_id'))
    )
    op.create_index(op.f('ix_webhook_event_updated_at'), 'webhook_event', ['updated_at'], unique=False)
    op.create_table('checkout',
    sa.Column('invoice_id', sa.Uuid(), nullable=False),
    sa.Column('provider', sa.String(length=20), nullable=False),
    sa.Column('provider_checkout_id', sa.String(length=200), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('team_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['team_id', 'invoice_id'], ['invoice.team_id', 'invoice.id'], name=op.f('fk_checkout_team_id_invoice_id_invoice'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_checkout_team_id_team'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checkout')),
    sa.UniqueConstraint('provider', 'provider_checkout_id', name=op.f('uq_checkout_provider_provider_checkout_id'))
    )
    op.create_index('ix_checkout_invoice_id', 'checkout', ['invoice_id'], unique=False)
    op.create_index(op.f('ix_checkout_updated_at'), 'checkout', ['updated_at'], unique=False)
    op.create_table('payment',
    sa.Column('invoice_id', sa.Uuid(), nullable=False),
    sa.Column('method', sa.Enum('bank', 'cash', 'other', 'stripe', 'crypto', name='payment_method_used'), nullable=False),
    sa.Column('status', sa.Enum('succeeded', 'failed', name='payment_status'), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('refunded_amount', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('exchange_rate', sa.Numeric(precision=20, scale=10), nullable=False),
    sa.Column('base_currency', sa.String(length=3), nullable=False),
    sa.Column('base_amount', sa.BigInteger(), nullable=False),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reference', sa.String(length=200), nullable=True),
    sa.Column('provider', sa.String(length=20), nullable=True),
    sa.Column('provider_payment_id', sa.String(length=200), nullable=True),
    sa.Column('failure_reason', sa.Text(), nullable=True),
    sa.Column('created_by_id', sa.Uuid(), nullable=True),
    sa.Column('team_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('amount > 0', name=op.f('ck_payment_amount_positive')),
    sa.CheckConstraint('refunded_amount >= 0 AND refunded_amount <= amount', name=op.f('ck_payment_refunded')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_payment_created_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['team_id', 'invoice_id'], ['invoice.team_id', 'invoice.id'], name=op.f('fk_payment_team_id_invoice_id_invoice')),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_payment_team_id_team'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment')),
    sa.UniqueConstraint('team_id', 'id', name=op.f('uq_payment_team_id_id'))
    )
    op.create_index('ix_payment_team_id_invoice_id', 'payment', ['team_id', 'invoice_id'], unique=False)
    op.create_index('ix_payment_team_id_paid_at', 'payment', ['team_id', 'paid_at'], unique=False)
    op.create_index(op.f('ix_payment_updated_at'), 'payment', ['updated_at'], unique=False)
    op.create_index('uq_payment_provider_payment', 'payment', ['provider', 'provider_payment_id'], unique=True, postgresql_where=sa.text("status = 'succeeded' AND provider_payment_id IS NOT NULL"))
    op.create_table('refund',
    sa.Column('payment_id', sa.Uuid(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('provider', sa.String(length=20), nullable=True),
    sa.Column('provider_refund_id', sa.String(length=200), nullable=True),
    sa.Column('created_by_id', sa.Uuid(), nullable=True),
    sa.Column('team_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('amount > 0', name=op.f('ck_refund_amount_positive')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_refund_created_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['team_id', 'payment_id'], ['payment.team_id', 'payment.id'], name=op.f('fk_refund_team_id_payment_id_payment'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_refund_team_id_team'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_refund')),
    sa.UniqueConstraint('provider', 'provider_refund_id', name=op.f('uq_refund_provider_provider_refund_id'))
    )
    op.create_index('ix_refund_payment_id', 'refund', ['payment_id'], unique=False)
    op.create_index(op.f('ix_refund_updated_at'), 'refund', ['updated_at'], unique=False)
    op.add_column('client', sa.Column('stripe_customer_id', sa.String(length=100), nullable=True))


def downgrade() -> None:
    op.drop_column('client', 'stripe_customer_id')
    op.drop_index(op.f('ix_refund_updated_at'), table_name='refund')
    op.drop_index('ix_refund_payment_id', table_name='refund')
    op.drop_table('refund')
    op.drop_index('uq_payment_provider_payment', table_name='payment', postgresql_where=sa.text("status = 'succeeded' AND provider_payment_id IS NOT NULL"))
    op.drop_index(op.f('ix_payment_updated_at'), table_name='payment')
    op.drop_index('ix_payment_team_id_paid_at', table_name='payment')
    op.drop_index('ix_payment_team_id_invoice_id', table_name='payment')
    op.drop_table('payment')
    op.drop_index(op.f('ix_checkout_updated_at'), table_name='checkout')
    op.drop_index('ix_checkout_invoice_id', table_name='checkout')
    op.drop_table('checkout')
    op.drop_index(op.f('ix_webhook_event_updated_at'), table_name='webhook_event')
    op.drop_table('webhook_event')
    sa.Enum(name='payment_method_used').drop(op.get_bind(), checkfirst=True)
    sa.Enum(name='payment_status').drop(op.get_bind(), checkfirst=True)

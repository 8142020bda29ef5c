"""one source of payment methods

Invoice settings kept a `payment_methods` list that nothing read, next to the client's
list that checkout and the pay link read. The client's stays the one source: the
settings' column goes (the API's field now shows and writes the client's). The PDF cache
gains a fingerprint of what a render printed, so a change outside the invoice (the
client's methods, a provider configured) renders afresh; existing cached PDFs have none
and are rendered again on first use.

Revision ID: e2c4d6f8a902
Revises: e1b2c3d4f501
Create Date: 2026-12-02 10:30:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = 'e2c4d6f8a902'
down_revision: str | None = 'e1b2c3d4f501'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PAYMENT_METHODS_CHECK = "payment_methods <@ ARRAY['stripe','crypto','bank']::varchar[]"


def upgrade() -> None:
    op.drop_constraint(
        op.f('ck_client_invoice_settings_payment_methods'),
        'client_invoice_settings',
        type_='check',
    )
    op.drop_column('client_invoice_settings', 'payment_methods')
    op.add_column('invoice_pdf', sa.Column('fingerprint', sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.drop_column('invoice_pdf', 'fingerprint')
    op.add_column(
        'client_invoice_settings',
        sa.Column(
            'payment_methods',
            postgresql.ARRAY(sa.String(length=10)),
            server_default=sa.text("'{}'::varchar[]"),
            nullable=False,
        ),
    )
    op.create_check_constraint(
        op.f('ck_client_invoice_settings_payment_methods'),
        'client_invoice_settings',
        PAYMENT_METHODS_CHECK,
    )
    op.execute(
        'UPDATE client_invoice_settings s SET payment_methods = c.payment_methods'
        ' FROM client c WHERE c.team_id = s.team_id AND c.id = s.client_id'
    )

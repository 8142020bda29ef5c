import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    literal_column,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.clients.models import enum_column
from app.core.db import RecordModel, TeamScoped, team_fk


class PaymentMethodUsed(StrEnum):
    bank = "bank"
    cash = "cash"
    other = "other"
    stripe = "stripe"
    crypto = "crypto"


class PaymentStatus(StrEnum):
    succeeded = "succeeded"
    failed = "failed"


class Payment(TeamScoped, RecordModel):
    """Money received for an invoice (or a failed attempt, kept for the record)."""

    __tablename__ = "payment"
    __table_args__ = (
        UniqueConstraint("team_id", "id"),
        team_fk("invoice_id", "invoice"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("refunded_amount >= 0 AND refunded_amount <= amount", name="refunded"),
        # A provider's payment is recorded once, however often its events arrive.
        Index(
            "uq_payment_provider_payment",
            "provider",
            "provider_payment_id",
            unique=True,
            postgresql_where=text("status = 'succeeded' AND provider_payment_id IS NOT NULL"),
        ),
        Index("ix_payment_team_id_invoice_id", "team_id", "invoice_id"),
        # The list's order: newest first, keyset (paid_at, id); `from`/`to` bound paid_at.
        Index(
            "ix_payment_team_id_paid_at_id",
            "team_id",
            literal_column("paid_at").desc(),
            literal_column("id").desc(),
        ),
    )

    invoice_id: Mapped[uuid.UUID]
    method: Mapped[PaymentMethodUsed] = mapped_column(
        enum_column(PaymentMethodUsed, "payment_method_used")
    )
    status: Mapped[PaymentStatus] = mapped_column(enum_column(PaymentStatus, "payment_status"))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    refunded_amount: Mapped[int] = mapped_column(BigInteger, server_default="0")
    # The rate to the team's base currency on the day the money arrived (the team's rate
    # in force then, else the invoice's), and the amount converted with it.
    exchange_rate: Mapped[Decimal] = mapped_column(Numeric(20, 10))
    base_currency: Mapped[str] = mapped_column(String(3))
    base_amount: Mapped[int] = mapped_column(BigInteger)
    # base_amount minus the same amount at the invoice's fixed rate: realized FX gain/loss.
    fx_difference_amount: Mapped[int] = mapped_column(BigInteger, server_default="0")
    paid_at: Mapped[datetime]
    reference: Mapped[str | None] = mapped_column(String(200))
    provider: Mapped[str | None] = mapped_column(String(20))
    provider_payment_id: Mapped[str | None] = mapped_column(String(200))
    failure_reason: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )


class Refund(TeamScoped, RecordModel):
    __tablename__ = "refund"
    __table_args__ = (
        team_fk("payment_id", "payment", ondelete="CASCADE"),
        CheckConstraint("amount > 0", name="amount_positive"),
        UniqueConstraint("provider", "provider_refund_id"),
        Index("ix_refund_payment_id", "payment_id"),
    )

    payment_id: Mapped[uuid.UUID]
    amount: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str | None] = mapped_column(String(500))
    # How the money went back, and the transfer's or transaction's reference. A refund
    # without `provider` was recorded by a person (made outside any provider).
    method: Mapped[PaymentMethodUsed] = mapped_column(
        enum_column(PaymentMethodUsed, "payment_method_used")
    )
    reference: Mapped[str | None] = mapped_column(String(200))
    provider: Mapped[str | None] = mapped_column(String(20))
    provider_refund_id: Mapped[str | None] = mapped_column(String(200))
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )


class Checkout(TeamScoped, RecordModel):
    """A payment page opened at a provider for an invoice."""

    __tablename__ = "checkout"
    __table_args__ = (
        team_fk("invoice_id", "invoice", ondelete="CASCADE"),
        UniqueConstraint("provider", "provider_checkout_id"),
        Index("ix_checkout_invoice_id", "invoice_id"),
    )

    invoice_id: Mapped[uuid.UUID]
    provider: Mapped[str] = mapped_column(String(20))
    provider_checkout_id: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(Text)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))


class WebhookEvent(RecordModel):
    """A provider event, stored once (unique provider + event id) and handled once."""

    __tablename__ = "webhook_event"
    __table_args__ = (UniqueConstraint("provider", "event_id"),)

    provider: Mapped[str] = mapped_column(String(20))
    event_id: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    handled_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(BigInteger, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)

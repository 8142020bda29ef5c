from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import Field

from app.core.csv_export import CsvColumns
from app.core.schemas import Id, InputSchema, Instant, Schema, Timestamps
from app.payments.models import PaymentMethodUsed, PaymentStatus


class ManualMethod(StrEnum):
    bank = "bank"
    cash = "cash"
    other = "other"


class Provider(StrEnum):
    stripe = "stripe"
    crypto = "crypto"


class PaymentIn(InputSchema):
    amount: int = Field(gt=0, le=10**15)
    method: ManualMethod
    paid_at: Instant | None = None
    reference: str | None = Field(default=None, max_length=200)


class RefundMethod(StrEnum):
    """How money went back outside any provider."""

    bank = "bank"
    cash = "cash"
    crypto = "crypto"
    other = "other"


class RefundIn(InputSchema):
    amount: int = Field(gt=0, le=10**15)
    reason: str | None = Field(default=None, max_length=500)
    method: RefundMethod | None = Field(
        default=None, description="How the money went back; default: the payment's method"
    )
    reference: str | None = Field(
        default=None, max_length=200, description="The transfer's or transaction's reference"
    )


class RefundOut(Timestamps):
    id: Id
    payment_id: Id
    amount: int
    reason: str | None
    method: PaymentMethodUsed
    reference: str | None
    provider: str | None = Field(
        description="Set when the provider reported the refund; null: recorded by a person"
    )
    provider_refund_id: str | None
    created_by_id: Id | None


class PaymentOut(Timestamps):
    id: Id
    invoice_id: Id
    method: PaymentMethodUsed
    status: PaymentStatus
    amount: int
    currency: str
    refunded_amount: int
    exchange_rate: Decimal
    base_currency: str
    base_amount: int
    fx_difference_amount: int = Field(
        description="base_amount minus this amount at the invoice's fixed exchange_rate "
        "(both half-up in base minor units): the realized FX gain (> 0) or loss (< 0)"
    )
    paid_at: datetime
    reference: str | None
    provider: str | None
    provider_payment_id: str | None
    failure_reason: str | None


PAYMENT_CSV = CsvColumns.of(
    PaymentOut,
    currency_of={"base_amount": "base_currency", "fx_difference_amount": "base_currency"},
)


class CheckoutIn(InputSchema):
    provider: Provider


class CheckoutOut(Schema):
    url: str
    provider: Provider
    amount: int
    currency: str

from datetime import date

from pydantic import Field

from app.clients.models import PaymentMethod
from app.core.schemas import Currency, InputSchema, Timestamps
from app.invoices.models import InvoiceSchedule


class InvoiceSettingsIn(InputSchema):
    schedule: InvoiceSchedule = InvoiceSchedule.none
    auto_send: bool = False
    due_days: int = Field(default=14, ge=0, le=365)
    tax_rate_bps: int = Field(default=0, ge=0, le=10000)
    rounding_seconds: int = Field(default=0, ge=0, le=86400)
    payment_methods: list[PaymentMethod] = Field(default_factory=list)
    currency: Currency | None = None
    notes: str | None = Field(default=None, max_length=5000)
    next_run_on: date | None = None


class InvoiceSettingsOut(Timestamps):
    schedule: InvoiceSchedule
    auto_send: bool
    due_days: int
    tax_rate_bps: int
    rounding_seconds: int
    payment_methods: list[PaymentMethod]
    currency: str
    notes: str | None
    next_run_on: date | None

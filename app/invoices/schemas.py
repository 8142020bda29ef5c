from datetime import date, datetime
from decimal import Decimal

from pydantic import Field

from app.clients.models import PaymentMethod
from app.core.csv_export import CsvColumns
from app.core.schemas import (
    Currency,
    Day,
    Id,
    InputSchema,
    PatchSchema,
    PeriodSchema,
    Schema,
    Timestamps,
)
from app.invoices.models import (
    Invoice,
    InvoiceLine,
    InvoiceSchedule,
    InvoiceStatus,
    LineKind,
    RunStatus,
    SendStatus,
)


class InvoiceSettingsIn(InputSchema):
    schedule: InvoiceSchedule = InvoiceSchedule.none
    auto_send: bool = False
    due_days: int = Field(default=14, ge=0, le=365)
    tax_rate_bps: int = Field(default=0, ge=0, le=10000)
    rounding_seconds: int = Field(default=0, ge=0, le=86400)
    payment_methods: list[PaymentMethod] | None = Field(
        default=None,
        description="The client's payment methods: given, they replace the client's; "
        "omitted (or null), the client's stay as they are",
    )
    notes: str | None = Field(default=None, max_length=5000)
    next_run_on: Day | None = Field(
        default=None,
        description="The first run (it bills the period before it). Omitted with a schedule: "
        "kept if the schedule is unchanged, else next Monday (weekly), the Monday after next "
        "(biweekly) or the 1st of next month (monthly) in the team's time zone",
    )


class InvoiceSettingsOut(Timestamps):
    schedule: InvoiceSchedule
    auto_send: bool
    due_days: int
    tax_rate_bps: int
    rounding_seconds: int
    payment_methods: list[PaymentMethod] = Field(description="The client's payment methods")
    currency: str
    notes: str | None
    next_run_on: date | None
    anchor_day: int | None = Field(
        description="Monthly schedules: the day of the month runs keep (from `next_run_on`)"
    )


class ManualLineIn(InputSchema):
    description: str = Field(min_length=1, max_length=500)
    # At most 200 lines of at most 10^16 each: totals stay inside BIGINT.
    quantity: Decimal = Field(gt=0, le=Decimal("100000"), decimal_places=4)
    unit_amount: int = Field(ge=0, le=10**11)
    tax_rate_bps: int | None = Field(default=None, ge=0, le=10000)


class InvoiceIn(PeriodSchema):
    client_id: Id
    project_ids: list[Id] | None = None
    lines: list[ManualLineIn] = Field(default_factory=list, max_length=200)
    issue_date: Day | None = None
    due_date: Day | None = None
    notes: str | None = Field(default=None, max_length=5000)
    discount_bps: int = Field(default=0, ge=0, le=10000)
    allow_missing_rates: bool = Field(
        default=False, description="Bill entries without a rate at 0 instead of refusing"
    )
    include_earlier: bool = Field(
        default=False,
        description="Also bill uninvoiced time from before `period_start` (the invoice keeps "
        "its period; lines are dated by their entries)",
    )


class InvoicePatch(PatchSchema):
    # `lines` replaces the manual lines: `[]` removes them, null is refused.
    not_null = frozenset({"discount_bps", "lines"})

    issue_date: Day | None = None
    due_date: Day | None = None
    notes: str | None = Field(default=None, max_length=5000)
    discount_bps: int | None = Field(default=None, ge=0, le=10000)
    lines: list[ManualLineIn] | None = Field(
        default=None, max_length=200, description="Replaces the manual lines (`[]` removes them)"
    )


class InvoiceLineOut(Schema):
    id: Id
    kind: LineKind
    description: str
    project_id: Id | None
    user_id: Id | None
    quantity_seconds: int | None
    tracked_seconds: int | None
    quantity: Decimal | None
    unit_amount: int
    amount: int
    tax_rate_bps: int
    tax_amount: int
    rate_missing: bool
    time_entry_ids: list[Id]


class InvoiceOut(Timestamps):
    id: Id
    number: str | None
    client_id: Id
    status: InvoiceStatus
    overdue: bool
    currency: str
    issue_date: date | None
    due_date: date | None
    period_start: date | None
    period_end: date | None
    notes: str | None
    lines: list[InvoiceLineOut]
    subtotal_amount: int
    discount_bps: int
    discount_amount: int
    tax_amount: int
    total_amount: int
    amount_paid: int
    amount_due: int
    exchange_rate: Decimal | None
    base_currency: str | None
    pay_url: str
    sent_at: datetime | None
    send_status: SendStatus | None
    send_error: str | None
    finalized_at: datetime | None
    voided_at: datetime | None
    paid_at: datetime | None
    run_id: Id | None

    @classmethod
    def of(
        cls, invoice: Invoice, lines: list[InvoiceLine], *, overdue: bool, pay_url: str
    ) -> "InvoiceOut":
        """An invoice row with its lines and what is derived from it."""
        derived = {
            "lines": [InvoiceLineOut.model_validate(line) for line in lines],
            "amount_due": invoice.total_amount - invoice.amount_paid,
            "overdue": overdue,
            "pay_url": pay_url,
        }
        stored = {name: getattr(invoice, name) for name in cls.model_fields if name not in derived}
        return cls.model_validate({**stored, **derived})


# An invoice is one row; its lines are in the JSON (and the PDF).
INVOICE_CSV = CsvColumns.of(InvoiceOut, exclude={"lines"})


class ExchangeRateIn(InputSchema):
    currency: Currency
    rate: Decimal = Field(gt=0, le=Decimal("1000000000"), decimal_places=10)
    effective_from: Day


class ExchangeRateOut(Timestamps):
    id: Id
    currency: str
    rate: Decimal
    effective_from: date


class InvoiceRunIn(PeriodSchema):
    period_start: Day
    period_end: Day
    client_ids: list[Id] | None = None


class InvoiceRunOut(Timestamps):
    id: Id
    client_id: Id
    period_start: date
    period_end: date
    trigger: str
    status: RunStatus
    invoice_id: Id | None
    error: str | None
    failed_since: datetime | None


class InvoiceRunAccepted(Schema):
    period_start: date
    period_end: date
    client_ids: list[Id] | None
    job_id: str


class PublicLine(Schema):
    description: str
    amount: int


class PublicInvoice(Schema):
    """What anyone holding the pay link may see: this invoice, nothing else."""

    number: str | None
    status: InvoiceStatus
    overdue: bool
    team_name: str
    client_name: str
    currency: str
    issue_date: date | None
    due_date: date | None
    lines: list[PublicLine]
    subtotal_amount: int
    discount_amount: int
    tax_amount: int
    total_amount: int
    amount_paid: int
    amount_due: int
    payment_methods: list[PaymentMethod]


EXCHANGE_RATE_CSV = CsvColumns.of(ExchangeRateOut)
INVOICE_RUN_CSV = CsvColumns.of(InvoiceRunOut)

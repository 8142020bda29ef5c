import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    literal_column,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from app.clients.models import enum_column
from app.core.db import Base, RecordModel, TeamScoped, TimestampMixin, team_fk


class InvoiceSchedule(StrEnum):
    none = "none"
    weekly = "weekly"
    biweekly = "biweekly"
    monthly = "monthly"


class InvoiceSettings(TimestampMixin, Base):
    """How and when a client is invoiced; one row per client."""

    __tablename__ = "client_invoice_settings"
    __table_args__ = (
        team_fk("client_id", "client", ondelete="CASCADE"),
        CheckConstraint("due_days BETWEEN 0 AND 365", name="due_days"),
        CheckConstraint("tax_rate_bps BETWEEN 0 AND 10000", name="tax_rate_bps"),
        CheckConstraint("rounding_seconds BETWEEN 0 AND 86400", name="rounding_seconds"),
        CheckConstraint("anchor_day BETWEEN 1 AND 31", name="anchor_day"),
    )

    team_id: Mapped[uuid.UUID]
    client_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    schedule: Mapped[InvoiceSchedule] = mapped_column(
        enum_column(InvoiceSchedule, "invoice_schedule"), server_default="none"
    )
    auto_send: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    due_days: Mapped[int] = mapped_column(Integer, server_default="14")
    tax_rate_bps: Mapped[int] = mapped_column(Integer, server_default="0")
    rounding_seconds: Mapped[int] = mapped_column(Integer, server_default="0")
    # No payment methods here: the client's are the one source (API.md's invoice settings
    # field shows and writes them).
    currency: Mapped[str] = mapped_column(String(3))
    notes: Mapped[str | None] = mapped_column(Text)
    next_run_on: Mapped[date | None]
    # Monthly schedules: the day of the month runs keep (31: Feb 28, then Mar 31).
    anchor_day: Mapped[int | None] = mapped_column(Integer)


class InvoiceStatus(StrEnum):
    draft = "draft"
    open = "open"
    paid = "paid"
    void = "void"


class LineKind(StrEnum):
    time = "time"
    manual = "manual"


class SendStatus(StrEnum):
    queued = "queued"
    sent = "sent"
    failed = "failed"


class Invoice(TeamScoped, RecordModel):
    __tablename__ = "invoice"
    __table_args__ = (
        UniqueConstraint("team_id", "id"),
        team_fk("client_id", "client"),
        team_fk("run_id", "invoice_run", ondelete="SET NULL (run_id)"),
        # Numbers are unique per team; drafts have none yet.
        Index("uq_invoice_team_id_number", "team_id", "number", unique=True),
        Index("ix_invoice_team_id_client_id", "team_id", "client_id"),
        Index("ix_invoice_team_id_status", "team_id", "status"),
        # The overdue check's candidates, across teams: open invoices not yet told.
        Index(
            "ix_invoice_overdue_check",
            "due_date",
            postgresql_where=text("status = 'open' AND overdue_event_at IS NULL"),
        ),
        # The list's order: newest first, keyset (created_at, id).
        Index(
            "ix_invoice_team_id_created_at_id",
            "team_id",
            literal_column("created_at").desc(),
            literal_column("id").desc(),
        ),
        CheckConstraint("discount_bps BETWEEN 0 AND 10000", name="discount_bps"),
        CheckConstraint("amount_paid >= 0 AND amount_paid <= total_amount", name="amount_paid"),
        CheckConstraint(
            "(status = 'draft' AND number IS NULL)"
            " OR (status IN ('open', 'paid') AND number IS NOT NULL)"
            " OR status = 'void'",
            name="number_iff_issued",
        ),
        CheckConstraint("(status = 'paid') = (paid_at IS NOT NULL)", name="paid_at_iff_paid"),
    )

    client_id: Mapped[uuid.UUID]
    number: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[InvoiceStatus] = mapped_column(
        enum_column(InvoiceStatus, "invoice_status"), server_default="draft"
    )
    currency: Mapped[str] = mapped_column(String(3))
    issue_date: Mapped[date | None]
    due_date: Mapped[date | None]
    period_start: Mapped[date | None]
    period_end: Mapped[date | None]
    notes: Mapped[str | None] = mapped_column(Text)
    discount_bps: Mapped[int] = mapped_column(Integer, server_default="0")
    subtotal_amount: Mapped[int] = mapped_column(BigInteger, server_default="0")
    discount_amount: Mapped[int] = mapped_column(BigInteger, server_default="0")
    tax_amount: Mapped[int] = mapped_column(BigInteger, server_default="0")
    total_amount: Mapped[int] = mapped_column(BigInteger, server_default="0")
    amount_paid: Mapped[int] = mapped_column(BigInteger, server_default="0")
    # Units of the team's base currency per unit of `currency`, fixed at finalization.
    exchange_rate: Mapped[Decimal | None] = mapped_column(Numeric(20, 10))
    base_currency: Mapped[str | None] = mapped_column(String(3))
    pay_token: Mapped[str] = mapped_column(String(64), unique=True)
    # Bumped on every change; the PDF cache is keyed by it.
    version: Mapped[int] = mapped_column(Integer, server_default="1")
    finalized_at: Mapped[datetime | None]
    voided_at: Mapped[datetime | None]
    # When nothing was left to pay: the settling payment's time, or the finalization's
    # for an invoice issued with a zero total.
    paid_at: Mapped[datetime | None]
    # When `invoice.overdue` was recorded (once per invoice, by the overdue check).
    overdue_event_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    send_status: Mapped[SendStatus | None] = mapped_column(
        enum_column(SendStatus, "invoice_send_status")
    )
    send_error: Mapped[str | None] = mapped_column(Text)
    run_id: Mapped[uuid.UUID | None]
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )


class InvoiceLine(TeamScoped, RecordModel):
    __tablename__ = "invoice_line"
    __table_args__ = (
        UniqueConstraint("team_id", "id"),
        team_fk("invoice_id", "invoice", ondelete="CASCADE"),
        Index("ix_invoice_line_invoice_id", "invoice_id"),
        CheckConstraint("tax_rate_bps BETWEEN 0 AND 10000", name="tax_rate_bps"),
    )

    invoice_id: Mapped[uuid.UUID]
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[LineKind] = mapped_column(enum_column(LineKind, "invoice_line_kind"))
    description: Mapped[str] = mapped_column(String(500))
    project_id: Mapped[uuid.UUID | None]
    user_id: Mapped[uuid.UUID | None]
    # Time lines: billed seconds after the client's rounding, and the tracked seconds.
    quantity_seconds: Mapped[int | None] = mapped_column(BigInteger)
    tracked_seconds: Mapped[int | None] = mapped_column(BigInteger)
    # Manual lines: a decimal quantity of units.
    quantity: Mapped[Decimal | None] = mapped_column(Numeric(14, 4))
    unit_amount: Mapped[int] = mapped_column(BigInteger)
    amount: Mapped[int] = mapped_column(BigInteger)
    tax_rate_bps: Mapped[int] = mapped_column(Integer)
    tax_amount: Mapped[int] = mapped_column(BigInteger)
    rate_missing: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    # Snapshot of the entries billed on this line; kept when a void releases them.
    time_entry_ids: Mapped[list[uuid.UUID]] = mapped_column(
        ARRAY(Uuid), server_default=text("'{}'::uuid[]")
    )


class InvoiceCounter(Base):
    """The last invoice number used per team and year; bumped under its row lock."""

    __tablename__ = "invoice_counter"

    team_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("team.id", ondelete="CASCADE"), primary_key=True
    )
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_value: Mapped[int] = mapped_column(Integer)
    # The issue date of the last number given: the next one may not be earlier.
    last_issue_date: Mapped[date | None]


class InvoicePdf(Base):
    """Rendered PDF of one version of an invoice."""

    __tablename__ = "invoice_pdf"
    __table_args__ = (team_fk("invoice_id", "invoice", ondelete="CASCADE"),)

    team_id: Mapped[uuid.UUID]
    invoice_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    # sha256 of the template and the data it printed (`app.invoices.pdf.fingerprint`).
    fingerprint: Mapped[str | None] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)


class ExchangeRate(TeamScoped, RecordModel):
    """How many units of the team's base currency one unit of `currency` is worth."""

    __tablename__ = "exchange_rate"
    __table_args__ = (
        UniqueConstraint("team_id", "currency", "effective_from"),
        CheckConstraint("rate > 0", name="rate_positive"),
        # The list's order (keyset by id) within the team.
        Index("ix_exchange_rate_team_id_id", "team_id", "id"),
    )

    currency: Mapped[str] = mapped_column(String(3))
    rate: Mapped[Decimal] = mapped_column(Numeric(20, 10))
    effective_from: Mapped[date]


class RunStatus(StrEnum):
    done = "done"
    empty = "empty"
    failed = "failed"


class InvoiceRun(TeamScoped, RecordModel):
    """One generation of a client's invoice for a period; unique, so it happens once."""

    __tablename__ = "invoice_run"
    __table_args__ = (
        UniqueConstraint("team_id", "id"),
        UniqueConstraint("team_id", "client_id", "period_start", "period_end"),
        team_fk("client_id", "client", ondelete="CASCADE"),
        # The list's order: newest first, keyset (created_at, id).
        Index(
            "ix_invoice_run_team_id_created_at_id",
            "team_id",
            literal_column("created_at").desc(),
            literal_column("id").desc(),
        ),
    )

    client_id: Mapped[uuid.UUID]
    period_start: Mapped[date]
    period_end: Mapped[date]
    trigger: Mapped[str] = mapped_column(String(20))
    status: Mapped[RunStatus] = mapped_column(enum_column(RunStatus, "invoice_run_status"))
    invoice_id: Mapped[uuid.UUID | None]
    error: Mapped[str | None] = mapped_column(Text)
    # Failing since (first failure of the current streak); when the managers were told.
    failed_since: Mapped[datetime | None]
    failure_notified_at: Mapped[datetime | None]

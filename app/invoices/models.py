import uuid
from datetime import date
from enum import StrEnum

from sqlalchemy import Boolean, CheckConstraint, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from app.clients.models import PAYMENT_METHODS_CHECK, enum_column
from app.core.db import Base, TimestampMixin, team_fk


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
        CheckConstraint(PAYMENT_METHODS_CHECK, name="payment_methods"),
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
    payment_methods: Mapped[list[str]] = mapped_column(
        ARRAY(String(10)), server_default=text("'{}'::varchar[]")
    )
    currency: Mapped[str] = mapped_column(String(3))
    notes: Mapped[str | None] = mapped_column(Text)
    next_run_on: Mapped[date | None]

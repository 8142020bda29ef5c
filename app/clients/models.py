import uuid
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Enum,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, RecordModel, TeamScoped, TimestampMixin, team_fk, user_link_args


class ClientStatus(StrEnum):
    active = "active"
    archived = "archived"


class PaymentMethod(StrEnum):
    stripe = "stripe"
    crypto = "crypto"
    bank = "bank"


PAYMENT_METHODS_CHECK = "payment_methods <@ ARRAY['stripe','crypto','bank']::varchar[]"


def enum_column(enum: type[StrEnum], name: str) -> Enum:
    """A PostgreSQL enum stored by the members' values."""
    return Enum(enum, name=name, values_callable=lambda e: [m.value for m in e])


class Client(TeamScoped, RecordModel):
    __tablename__ = "client"
    __table_args__ = (
        UniqueConstraint("team_id", "id"),
        team_fk(
            "owner_id", "team_membership", target_column="user_id", ondelete="SET NULL (owner_id)"
        ),
        CheckConstraint("hourly_rate_amount >= 0", name="rate_not_negative"),
        CheckConstraint(PAYMENT_METHODS_CHECK, name="payment_methods"),
        Index("ix_client_team_id_status", "team_id", "status"),
        Index("ix_client_team_id_lower_name", "team_id", func.lower(text("name"))),
        # The list's `owner_id` filter, and the owner foreign key's SET NULL when a
        # member leaves (otherwise a scan of the team's clients).
        Index("ix_client_team_id_owner_id", "team_id", "owner_id"),
    )

    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[ClientStatus] = mapped_column(
        enum_column(ClientStatus, "client_status"), server_default="active"
    )
    owner_id: Mapped[uuid.UUID | None]
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    payment_methods: Mapped[list[str]] = mapped_column(
        ARRAY(String(10)), server_default=text("'{}'::varchar[]")
    )
    hourly_rate_amount: Mapped[int | None] = mapped_column(BigInteger)
    address: Mapped[str | None] = mapped_column(Text)
    tax_id: Mapped[str | None] = mapped_column(String(64))
    notes: Mapped[str | None] = mapped_column(Text)
    # Created at the first Stripe checkout and reused after.
    stripe_customer_id: Mapped[str | None] = mapped_column(String(100))


class ClientMember(TimestampMixin, Base):
    """A team member sharing responsibility for a client (`member_ids`)."""

    __tablename__ = "client_member"
    __table_args__ = user_link_args("client_member", parent="client")

    team_id: Mapped[uuid.UUID]
    client_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)

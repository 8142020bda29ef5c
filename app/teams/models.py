import uuid
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import Base, RecordModel, TimestampMixin
from app.core.permissions import Role

if TYPE_CHECKING:
    from app.accounts.models import User

# The longest a team may allow one time entry to last (a month); its default is a day.
LONGEST_ENTRY_SECONDS = 31 * 86400

RoleColumn = Enum(Role, name="team_role", values_callable=lambda e: [r.value for r in e])


class Team(RecordModel):
    __tablename__ = "team"
    __table_args__ = (
        CheckConstraint("time_entry_min_seconds BETWEEN 0 AND 86400", name="min_seconds"),
        CheckConstraint(
            f"time_entry_max_seconds BETWEEN 60 AND {LONGEST_ENTRY_SECONDS}"
            " AND time_entry_max_seconds >= time_entry_min_seconds",
            name="max_seconds",
        ),
        CheckConstraint("locale IN ('en', 'es')", name="locale"),
    )

    name: Mapped[str] = mapped_column(String(200))
    base_currency: Mapped[str] = mapped_column(String(3), server_default="EUR")
    timezone: Mapped[str] = mapped_column(String(64), server_default="UTC")
    time_entry_min_seconds: Mapped[int] = mapped_column(Integer, server_default="600")
    # Longer manual entries are refused; a timer stops at this length (docs/decisions.md).
    time_entry_max_seconds: Mapped[int] = mapped_column(Integer, server_default="86400")
    invoice_prefix: Mapped[str] = mapped_column(String(20), server_default="INV-")
    # Which payment emails the team sends (app/payments/notices.py): to the members who may
    # record payments, and receipts to the client's billing recipients.
    notify_paid: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    notify_partial_payment: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    notify_refund: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    notify_payment_failed: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    payment_receipts: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    # The language of what the team's clients read: the hosted pay page (en, es).
    locale: Mapped[str] = mapped_column(String(5), server_default="en")
    # How to pay by bank transfer (account, IBAN, ...), shown on the pay page.
    bank_transfer_instructions: Mapped[str | None] = mapped_column(Text)


class Membership(TimestampMixin, Base):
    __tablename__ = "team_membership"

    team_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("team.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[Role] = mapped_column(RoleColumn)
    # Set by the unsubscribe link of a conversation email (app/comments/unsubscribe.py).
    comment_emails_off_at: Mapped[datetime | None]

    user: Mapped["User"] = relationship(lazy="raise")


class Invitation(RecordModel):
    __tablename__ = "team_invitation"
    __table_args__ = (
        # One pending invitation per address and team; a new one replaces it.
        Index(
            "uq_team_invitation_pending_email",
            "team_id",
            func.lower(text("email")),
            unique=True,
            postgresql_where=text("accepted_at IS NULL AND revoked_at IS NULL"),
        ),
        # The list's order (keyset by id) within the team; also the team foreign key's.
        Index("ix_team_invitation_team_id_id", "team_id", "id"),
    )

    team_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(320))
    role: Mapped[Role] = mapped_column(RoleColumn)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    expires_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class ApiKey(RecordModel):
    __tablename__ = "api_key"
    __table_args__ = (
        CheckConstraint("role <> 'superadmin'", name="not_superadmin"),
        # The list's order (keyset by id) within the team; also the team foreign key's.
        Index("ix_api_key_team_id_id", "team_id", "id"),
    )

    team_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"))
    created_by_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(RoleColumn)
    # First characters of the key, safe to show, to recognise it in lists.
    prefix: Mapped[str] = mapped_column(String(12))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    last_used_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    func,
    literal_column,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.clients.models import enum_column
from app.core.db import Base, RecordModel, TeamScoped, TimestampMixin, team_fk, user_link_args


class Contact(TeamScoped, RecordModel):
    __tablename__ = "contact"
    __table_args__ = (
        UniqueConstraint("team_id", "id"),
        team_fk("client_id", "client", ondelete="SET NULL (client_id)"),
        team_fk(
            "owner_id", "team_membership", target_column="user_id", ondelete="SET NULL (owner_id)"
        ),
        Index(
            "uq_contact_team_id_lower_email",
            "team_id",
            func.lower(text("email")),
            unique=True,
            postgresql_where=text("email IS NOT NULL"),
        ),
        Index("ix_contact_team_id_client_id", "team_id", "client_id"),
        # Portal login links find a person's contacts across teams by address.
        Index(
            "ix_contact_lower_email_portal",
            func.lower(text("email")),
            postgresql_where=text("portal_access"),
        ),
        # The list's `owner_id` filter, and the owner foreign key's SET NULL when a
        # member leaves (otherwise a scan of the team's contacts).
        Index("ix_contact_team_id_owner_id", "team_id", "owner_id"),
    )

    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(50))
    title: Mapped[str | None] = mapped_column(String(200))
    client_id: Mapped[uuid.UUID | None]
    owner_id: Mapped[uuid.UUID | None]
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    portal_access: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    # Receives the client's invoices and payment receipts (see `billing_recipients`).
    billing_contact: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    portal_access_granted_at: Mapped[datetime | None]
    last_contacted_at: Mapped[datetime | None]
    notes: Mapped[str | None] = mapped_column(Text)


class ContactAssignee(TimestampMixin, Base):
    __tablename__ = "contact_assignee"
    __table_args__ = user_link_args("contact_assignee", parent="contact")

    team_id: Mapped[uuid.UUID]
    contact_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)


class ActivityKind(StrEnum):
    note = "note"
    call = "call"
    email = "email"
    meeting = "meeting"


class Activity(TeamScoped, RecordModel):
    __tablename__ = "activity"
    __table_args__ = (
        team_fk("contact_id", "contact", ondelete="CASCADE"),
        # A contact's activities newest first (keyset (occurred_at, id)), read in order.
        Index(
            "ix_activity_contact_id_occurred_at_id",
            "contact_id",
            literal_column("occurred_at").desc(),
            literal_column("id").desc(),
        ),
    )

    contact_id: Mapped[uuid.UUID]
    kind: Mapped[ActivityKind] = mapped_column(enum_column(ActivityKind, "activity_kind"))
    body: Mapped[str] = mapped_column(Text)
    occurred_at: Mapped[datetime]
    # Kept after the author leaves the team: history stays readable.
    author_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )


class PortalToken(TeamScoped, RecordModel):
    """A one-time login link for a contact's client portal (stored as a keyed hash)."""

    __tablename__ = "portal_token"
    __table_args__ = (team_fk("contact_id", "contact", ondelete="CASCADE"),)

    contact_id: Mapped[uuid.UUID] = mapped_column(index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class PortalSession(TeamScoped, RecordModel):
    """A contact's signed-in portal session; its `hlp_` bearer token is stored as a keyed
    hash. It lasts while it is neither expired nor revoked, and only for the client it
    was opened for (`client_id`): a contact moved to another client is signed out."""

    __tablename__ = "portal_session"
    __table_args__ = (
        team_fk("contact_id", "contact", ondelete="CASCADE"),
        team_fk("client_id", "client", ondelete="CASCADE"),
        Index("ix_portal_session_contact_id", "contact_id"),
    )

    contact_id: Mapped[uuid.UUID]
    client_id: Mapped[uuid.UUID]
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]

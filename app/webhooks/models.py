"""Outgoing webhook endpoints and the deliveries of events to them."""

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from app.clients.models import enum_column
from app.core.db import RecordModel, TeamScoped, team_fk


class EndpointStatus(StrEnum):
    enabled = "enabled"
    disabled = "disabled"


class DeliveryStatus(StrEnum):
    pending = "pending"
    succeeded = "succeeded"
    failed = "failed"


class WebhookEndpoint(TeamScoped, RecordModel):
    """A URL of the team's that receives its events, signed with the endpoint's secret."""

    __tablename__ = "webhook_endpoint"
    __table_args__ = (
        # Deliveries point at (team, endpoint); also the list's order (keyset by id).
        UniqueConstraint("team_id", "id"),
        CheckConstraint("cardinality(event_types) > 0", name="event_types_present"),
    )

    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str] = mapped_column(String(500), server_default="")
    # Event types (`invoice.paid`), or `*` for every type.
    event_types: Mapped[list[str]] = mapped_column(ARRAY(String(100)))
    status: Mapped[EndpointStatus] = mapped_column(
        enum_column(EndpointStatus, "webhook_endpoint_status"), server_default="enabled"
    )
    # The signing secret (`whsec_...`), sealed with a key derived from SECRET_KEY
    # (`app/core/crypto.py`): it signs, so it must be read back, never only hashed.
    secret_sealed: Mapped[str] = mapped_column(Text)
    # After a rotation the old secret signs too, next to the new one, until this instant.
    previous_secret_sealed: Mapped[str | None] = mapped_column(Text)
    previous_secret_expires_at: Mapped[datetime | None]
    # The first failed attempt since the endpoint's last success (None: the last attempt
    # succeeded, or none was made); five days of nothing but failures disable it.
    failing_since: Mapped[datetime | None]
    disabled_at: Mapped[datetime | None]


class WebhookDelivery(TeamScoped, RecordModel):
    """One event to one endpoint: sent by the `deliver_webhook` job until it succeeds or
    runs out of retries."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        team_fk("endpoint_id", "webhook_endpoint", ondelete="CASCADE"),
        # One delivery per event and endpoint, however often the event is queued.
        UniqueConstraint("endpoint_id", "event_id"),
        # The endpoint's delivery log in the team (keyset by id, newest first).
        Index("ix_webhook_delivery_team_id_endpoint_id_id", "team_id", "endpoint_id", "id"),
        CheckConstraint("attempts >= 0", name="attempts"),
        # Pending deliveries by when they are due: the sweep finds those whose job was lost.
        Index(
            "ix_webhook_delivery_pending_next_attempt_at",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
        ),
    )

    endpoint_id: Mapped[uuid.UUID]
    # The event's id (the `webhook-id` header, the receiver's dedupe key) and type.
    event_id: Mapped[str] = mapped_column(String(64))
    event_type: Mapped[str] = mapped_column(String(100))
    # The exact JSON sent (and signed), so every attempt sends the same bytes.
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[DeliveryStatus] = mapped_column(
        enum_column(DeliveryStatus, "webhook_delivery_status"), server_default="pending"
    )
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    # Which queued job may make the next attempt: a manual retry replaces it, so a retry
    # already scheduled by the worker finds itself stale and does nothing.
    job_token: Mapped[str] = mapped_column(String(32))
    next_attempt_at: Mapped[datetime | None]
    last_attempt_at: Mapped[datetime | None]
    response_status: Mapped[int | None] = mapped_column(Integer)
    # The first KiB of the last answer, and why the last attempt failed (if it did).
    response_body: Mapped[str | None] = mapped_column(Text)
    last_error: Mapped[str | None] = mapped_column(String(500))

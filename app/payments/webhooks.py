"""Webhooks: verify, store once, answer at once; a job (`app.payments.jobs`) applies
each event once.

The event row is unique on (provider, event id) and inserted with ON CONFLICT DO NOTHING:
only a new event enqueues a job, whose `_job_id` is the event id. The job locks the row,
applies the event and stamps `handled_at` in the same transaction, so a replayed or
duplicated event changes nothing twice.
"""

from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.core.errors import BadRequest
from app.core.ids import new_id
from app.core.jobs import defer
from app.payments.models import WebhookEvent
from app.payments.providers import crypto, stripe

APPLY_WEBHOOK_JOB = "apply_webhook_event"


async def store(
    session: AsyncSession, provider: str, event: dict[str, Any], event_id: str, kind: str
) -> bool:
    """Keep the event once and queue its handling; False when it was already stored.

    A stored event that is still unhandled (its job was lost or gave up) is queued again
    when the provider redelivers it; the job itself applies an event at most once.
    """
    if not 0 < len(event_id) <= 200 or len(kind) > 100:
        raise BadRequest("Event id or type out of bounds.", code="invalid_payload")
    row_id = await session.scalar(
        insert(WebhookEvent)
        .values(id=new_id(), provider=provider, event_id=event_id, type=kind, payload=event)
        .on_conflict_do_nothing(index_elements=[WebhookEvent.provider, WebhookEvent.event_id])
        .returning(WebhookEvent.id)
    )
    if row_id is not None:
        defer(session, APPLY_WEBHOOK_JOB, str(row_id), _job_id=f"webhook:{provider}:{event_id}")
        return True
    pending = await session.scalar(
        select(WebhookEvent.id).where(
            WebhookEvent.provider == provider,
            WebhookEvent.event_id == event_id,
            WebhookEvent.handled_at.is_(None),
        )
    )
    if pending is not None:
        defer(
            session,
            APPLY_WEBHOOK_JOB,
            str(pending),
            _job_id=f"webhook:{provider}:{event_id}:{new_id()}",
        )
    return False


async def receive_stripe(
    session: AsyncSession, settings: Settings, body: bytes, signature: str | None
) -> dict[str, bool]:
    """A Stripe event, verified with the endpoint secret, stored once."""
    event = stripe.verify(settings, body, signature)
    new = await store(session, stripe.PROVIDER, event, str(event["id"]), str(event["type"]))
    return {"received": True, "duplicate": not new}


async def receive_crypto(
    session: AsyncSession, settings: Settings, body: bytes, signature: str | None
) -> dict[str, bool]:
    """A crypto gateway callback, verified by its HMAC-SHA256 signature, stored once."""
    event = crypto.verify(settings, body, signature)
    new = await store(
        session, crypto.PROVIDER, event, str(event["event_id"]), f"order.{event['status']}"
    )
    return {"received": True, "duplicate": not new}

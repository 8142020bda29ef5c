"""Webhooks: verify, store once, answer at once; a job applies each event once.

The event row is unique on (provider, event id) and inserted with ON CONFLICT DO NOTHING:
only a new event enqueues a job, whose `_job_id` is the event id. The job locks the row,
applies the event and stamps `handled_at` in the same transaction, so a replayed or
duplicated event changes nothing twice.
"""

import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from arq import Retry
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import Database, unit_of_work
from app.core.errors import AppError
from app.core.ids import new_id
from app.core.jobs import defer
from app.payments.models import WebhookEvent
from app.payments.providers import EventNotReady, crypto, stripe

log = logging.getLogger(__name__)

APPLY_WEBHOOK_JOB = "apply_webhook_event"
_APPLY = {stripe.PROVIDER: stripe.apply_event, crypto.PROVIDER: crypto.apply_event}
MAX_TRIES = 5


async def store(
    session: AsyncSession, provider: str, event: dict[str, Any], event_id: str, kind: str
) -> bool:
    """Keep the event once and queue its handling; False when it was already stored."""
    row_id = await session.scalar(
        insert(WebhookEvent)
        .values(id=new_id(), provider=provider, event_id=event_id, type=kind, payload=event)
        .on_conflict_do_nothing(index_elements=[WebhookEvent.provider, WebhookEvent.event_id])
        .returning(WebhookEvent.id)
    )
    if row_id is None:
        return False
    defer(session, APPLY_WEBHOOK_JOB, str(row_id), _job_id=f"webhook:{provider}:{event_id}")
    return True


async def apply_webhook_event(ctx: dict[str, Any], row_id: str) -> str:
    """arq job: apply a stored event once; retry later when it arrived too early."""
    db: Database = ctx["db"]
    not_ready: str | None = None
    async with unit_of_work(db, ctx["redis"]) as session:
        event = await session.get(WebhookEvent, uuid.UUID(row_id), with_for_update=True)
        if event is None or event.handled_at is not None:
            return "already handled"
        event.attempts += 1
        try:
            async with session.begin_nested():
                await _APPLY[event.provider](session, event.payload)
        except EventNotReady as exc:
            not_ready = str(exc)
            event.last_error = not_ready
        except AppError as exc:
            # A rule refused it (e.g. unknown currency): retrying cannot help; keep why.
            log.warning("webhook %s/%s refused: %s", event.provider, event.event_id, exc.detail)
            event.last_error = f"{exc.code}: {exc.detail}"
            event.handled_at = datetime.now(UTC)
        else:
            event.handled_at = datetime.now(UTC)
            event.last_error = None
        attempts = event.attempts
    if not_ready is None:
        return "handled"
    if attempts >= MAX_TRIES:
        log.error("webhook event %s never became applicable: %s", row_id, not_ready)
        return "gave up"
    raise Retry(defer=min(2**attempts, 300))

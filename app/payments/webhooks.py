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
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import Database, unit_of_work
from app.core.errors import AppError, BadRequest
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


async def _apply_once(ctx: dict[str, Any], row_id: str) -> str:
    db: Database = ctx["db"]
    async with unit_of_work(db, ctx["redis"]) as session:
        event = await session.get(WebhookEvent, uuid.UUID(row_id), with_for_update=True)
        if event is None or event.handled_at is not None:
            return "already handled"
        event.attempts += 1
        try:
            async with session.begin_nested():
                await _APPLY[event.provider](session, event.payload)
        except EventNotReady as exc:
            event.last_error = str(exc)
            return "not ready"
        except (AppError, KeyError, TypeError, ValueError) as exc:
            # A rule refused it, or the payload lacks what it needs: retrying cannot help.
            log.warning("webhook %s/%s refused: %r", event.provider, event.event_id, exc)
            event.last_error = (
                f"{exc.code}: {exc.detail}" if isinstance(exc, AppError) else f"malformed: {exc!r}"
            )[:1000]
        else:
            event.last_error = None
        event.handled_at = datetime.now(UTC)
        return "handled"


async def apply_webhook_event(ctx: dict[str, Any], row_id: str) -> str:
    """arq job: apply a stored event once; retry with backoff when it arrived too early or
    the attempt failed for a passing reason (a dropped connection, a deadlock)."""
    try:
        outcome = await _apply_once(ctx, row_id)
    except Exception:
        log.exception("webhook event %s failed; it will be retried", row_id)
        outcome = "error"
    if outcome in ("handled", "already handled"):
        return outcome
    tries = ctx.get("job_try", 1)
    if tries >= MAX_TRIES:
        log.error("webhook event %s gave up after %d tries (%s)", row_id, tries, outcome)
        return "gave up"
    raise Retry(defer=min(2**tries, 300))

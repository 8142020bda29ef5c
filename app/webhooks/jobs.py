"""Webhook arq jobs: one attempt of one delivery (see `app.webhooks.deliveries`)."""

import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from arq import Retry

from app.core.crypto import SecretBox
from app.core.db import Database, delete_in_batches, unit_of_work
from app.events.jobs import RETENTION
from app.webhooks import deliveries
from app.webhooks.models import DeliveryStatus, WebhookDelivery
from app.webhooks.targets import Answer, TargetRefused, post, private_allowed

log = logging.getLogger(__name__)

# Tries of one attempt's own bookkeeping (the database failing around the request); the
# retry schedule between attempts is the delivery's, not arq's.
MAX_TRIES = 5
# A pending delivery this far past its time has lost its job (a live one would have run).
STALLED_AFTER = timedelta(minutes=10)
# Finished deliveries deleted per transaction by the daily purge (kept as long as events).
PURGE_BATCH = 5000


async def _attempt(ctx: dict[str, Any], team_id: uuid.UUID, delivery_id: str, token: str) -> str:
    db: Database = ctx["db"]
    box: SecretBox = ctx["webhook_box"]
    settings = ctx["settings"]
    async with unit_of_work(db, ctx["redis"], team_id=team_id) as session:
        attempt = await deliveries.claim(session, box, team_id, uuid.UUID(delivery_id), token)
    if attempt is None:
        return "nothing to do"
    answer: Answer | None = None
    error: str | None = None
    try:
        answer = await post(
            attempt.url,
            attempt.body,
            attempt.headers,
            allow_private=private_allowed(attempt.url, settings),
            seconds=settings.webhook_timeout_seconds,
        )
    except TargetRefused as exc:
        error = f"refused: {exc}"
    except TimeoutError:
        error = f"no answer within {settings.webhook_timeout_seconds:g} s"
    except (httpx.HTTPError, OSError) as exc:
        error = f"{type(exc).__name__}: {exc}"
    async with unit_of_work(db, ctx["redis"], team_id=team_id) as session:
        return await deliveries.record(session, settings, team_id, attempt, answer, error)


async def deliver_webhook(ctx: dict[str, Any], team_id: str, delivery_id: str, token: str) -> str:
    """arq job: one attempt of a delivery, in the delivery's team.

    When the bookkeeping itself fails (the database is away), the job is retried by arq
    with the same token: the attempt is made again rather than lost.
    """
    try:
        return await _attempt(ctx, uuid.UUID(team_id), delivery_id, token)
    except Exception:
        tries = ctx.get("job_try", 1)
        if tries >= MAX_TRIES:
            log.exception("webhook delivery %s gave up after %d tries", delivery_id, tries)
            raise
        log.exception("webhook delivery %s failed; the attempt will be made again", delivery_id)
        raise Retry(defer=min(2**tries, 60)) from None


async def requeue_stalled_deliveries(ctx: dict[str, Any]) -> int:
    """arq cron: queue again the attempts whose job was lost (see `requeue_stalled`)."""
    async with unit_of_work(ctx["db"], ctx["redis"]) as session:
        return await deliveries.requeue_stalled(session, STALLED_AFTER)


async def purge_old_deliveries(ctx: dict[str, Any], now: datetime | None = None) -> int:
    """Delete finished deliveries (succeeded or failed) older than the events they sent,
    of every team, in batches (a cross-team path: docs/security.md); pending ones stay
    until they finish. Returns how many went."""
    cutoff = (now or datetime.now(UTC)) - RETENTION
    return await delete_in_batches(
        ctx["db"],
        ctx["redis"],
        WebhookDelivery,
        WebhookDelivery.created_at < cutoff,
        WebhookDelivery.status != DeliveryStatus.pending,
        batch=PURGE_BATCH,
    )

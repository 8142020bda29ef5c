"""Payment arq jobs: applying a stored webhook event once (see `app.payments.webhooks`)."""

import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from arq import Retry

from app.core.db import Database, unit_of_work
from app.core.errors import AppError
from app.payments.models import WebhookEvent
from app.payments.providers import EventNotReady, crypto, stripe

log = logging.getLogger(__name__)

_APPLY = {stripe.PROVIDER: stripe.apply_event, crypto.PROVIDER: crypto.apply_event}
MAX_TRIES = 5


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

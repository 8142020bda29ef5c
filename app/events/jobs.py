"""Retention: events are kept 30 days; a daily cron job deletes older ones in batches."""

from datetime import UTC, datetime, timedelta
from typing import Any

from app.core.db import delete_in_batches
from app.events.models import Event

RETENTION = timedelta(days=30)
BATCH = 5000


async def purge_old_events(ctx: dict[str, Any], now: datetime | None = None) -> int:
    """Delete events older than 30 days, of every team, one batch per transaction (a
    cross-team path: docs/security.md); returns how many went."""
    cutoff = (now or datetime.now(UTC)) - RETENTION
    return await delete_in_batches(
        ctx["db"], ctx["redis"], Event, Event.created_at < cutoff, batch=BATCH
    )

"""Retention: events are kept 30 days; a daily cron job deletes older ones in batches."""

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select

from app.core.db import unit_of_work
from app.events.models import Event

RETENTION = timedelta(days=30)
BATCH = 5000


async def purge_old_events(ctx: dict[str, Any], now: datetime | None = None) -> int:
    """Delete events older than 30 days, of every team, one batch per transaction (a
    cross-team path: docs/security.md); returns how many went."""
    cutoff = (now or datetime.now(UTC)) - RETENTION
    total = 0
    while True:
        async with unit_of_work(ctx["db"], ctx["redis"]) as session:
            batch = (
                select(Event.id).where(Event.created_at < cutoff).order_by(Event.created_at)
            ).limit(BATCH)
            result = await session.execute(
                delete(Event).where(Event.id.in_(batch.scalar_subquery()))
            )
            deleted = result.rowcount  # type: ignore[attr-defined]
        total += deleted
        if deleted < BATCH:
            return total

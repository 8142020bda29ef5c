"""Jobs deferred inside a transaction and sent to arq only after it commits.

A job receives ids, never ORM objects, and loads fresh rows in its own transaction.
"""

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

log = logging.getLogger(__name__)

_KEY = "hourline_deferred_jobs"


@dataclass
class DeferredJob:
    function: str
    args: tuple[Any, ...]
    options: dict[str, Any] = field(default_factory=dict)


def defer(session: AsyncSession, function: str, *args: Any, **options: Any) -> None:
    """Queue `function(*args)` to run after this session commits (`_job_id` dedupes)."""
    session.info.setdefault(_KEY, []).append(DeferredJob(function, args, options))


_EVENTS = "hourline_deferred_events"


def emit(session: AsyncSession, team_id: Any, event_type: str, data: dict[str, Any]) -> None:
    """Publish a real-time event on the team's channel once this session commits."""
    session.info.setdefault(_EVENTS, []).append(
        (f"hourline:events:{team_id}", json.dumps({"type": event_type, "data": data}, default=str))
    )


async def send_deferred(session: AsyncSession, queue: Any) -> None:
    jobs: list[DeferredJob] = session.info.pop(_KEY, [])
    for job in jobs:
        await queue.enqueue_job(job.function, *job.args, **job.options)
    for channel, message in session.info.pop(_EVENTS, []):
        await queue.publish(channel, message)

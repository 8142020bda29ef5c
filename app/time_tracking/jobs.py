"""Time tracking arq jobs: stopping timers left running past their team's limit."""

import logging
from datetime import UTC, datetime
from typing import Any

from app.core.db import Database, unit_of_work
from app.time_tracking import overdue

log = logging.getLogger(__name__)


async def stop_overdue_timers(ctx: dict[str, Any]) -> int:
    """arq cron job (every five minutes): stop every timer that has run longer than its
    team's `time_entry_max_seconds`, at that length, and email its owner.

    Each timer is stopped in its own transaction; a rerun, a second worker or a stop by
    the user at the same time leaves one stop and one email (see `overdue`). Finding
    the overdue timers is the one read across teams; each stop runs in its own team.
    """
    db: Database = ctx["db"]
    now = datetime.now(UTC)
    async with db.sessionmaker() as session:
        due = await overdue.overdue_timers(session, now)
    stopped = 0
    for team_id, entry_id in due:
        async with unit_of_work(db, ctx["redis"], team_id=team_id) as session:
            stopped += await overdue.stop_overdue_timer(session, team_id, entry_id, now)
    if stopped:
        log.info("stopped %d timer(s) left running past their team's limit", stopped)
    return stopped

"""Comment arq jobs: telling people of a new comment, and the contacts' hourly digest."""

import uuid
from datetime import UTC, datetime
from typing import Any

from app.comments import digest
from app.comments.notify import notify
from app.core.db import Database, unit_of_work


async def notify_comment(ctx: dict[str, Any], team_id: str, comment_id: str) -> int:
    """arq job: email a new comment's mentioned readers and its project's managers."""
    db: Database = ctx["db"]
    team = uuid.UUID(team_id)
    async with unit_of_work(db, ctx["redis"], team_id=team) as session:
        return await notify(session, ctx["settings"], ctx["secrets"], team, uuid.UUID(comment_id))


async def send_contact_digests(ctx: dict[str, Any], now: datetime | None = None) -> int:
    """arq cron job (every 15 minutes; each contact at most hourly): the digest of new
    client comments and task moves on each contact's projects. Finding the teams with
    news is the one read across teams; each team's digests are made confined to it."""
    db: Database = ctx["db"]
    now = now or datetime.now(UTC)
    async with db.sessionmaker() as session:
        teams = await digest.teams_with_news(session, now - 2 * digest.EVERY)
    sent = 0
    for team_id in teams:
        async with unit_of_work(db, ctx["redis"], team_id=team_id) as session:
            sent += await digest.send_digests(
                session, ctx["settings"], ctx["secrets"], team_id, now
            )
    return sent

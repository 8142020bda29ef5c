"""Notices to the event streams of every API process (`app.events.stream`), published on
Redis after the transaction that causes them commits (`app.core.jobs.notify`).

A notice is a wake-up call, never data: the event record is the truth, and a lost notice
delays a stream, it loses nothing (streams also read on every keep-alive).
"""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.jobs import notify

CHANNEL = "hourline:events"
# Credentials ended somewhere (a session or key revoked, a member removed or its role
# changed): every open stream re-checks its own before it delivers anything more.
RECHECK = "recheck"


def events_committed(session: AsyncSession, team_id: uuid.UUID, newest_id: int) -> None:
    """The team has new events, up to `newest_id` (of several, the last one is sent)."""
    notify(session, CHANNEL, str(team_id), f"{team_id} {newest_id}")


def credentials_changed(session: AsyncSession) -> None:
    """Some credentials stopped (or changed what they) allow: streams re-check theirs."""
    notify(session, CHANNEL, RECHECK, RECHECK)

"""Timers left running past their team's longest entry (`time_entry_max_seconds`).

The worker (`jobs.stop_overdue_timers`, every five minutes) ends each at the limit, as a
stop by its user would (`service._stop`), and emails its owner. The UPDATE only touches a
timer still running and still past the limit, so a second run, a second worker or the
user stopping it at the same moment cannot stop it twice or send a second email: the
database decides who stopped it, and only that transaction queues the email.
"""

import uuid
from datetime import datetime, timedelta

from sqlalchemy import Interval, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import User
from app.core.clock import local_time
from app.core.mail import queue_email
from app.core.tenancy import in_team
from app.projects.models import Project
from app.teams.models import Team
from app.time_tracking.models import TimeEntry
from app.time_tracking.pricing import record_entry_event


async def overdue_timers(session: AsyncSession, now: datetime) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """(team id, entry id) of every timer that has run longer than its team allows."""
    longest = func.make_interval(0, 0, 0, 0, 0, 0, Team.time_entry_max_seconds, type_=Interval)
    rows = await session.execute(
        # Running entries are few (one per user at most) and indexed: uq_time_entry_one_running.
        select(TimeEntry.team_id, TimeEntry.id)
        .join(Team, in_team(TimeEntry, Team.id))
        .where(TimeEntry.ended_at.is_(None), TimeEntry.started_at + longest <= now)
        .order_by(TimeEntry.started_at)
    )
    return [(team_id, entry_id) for team_id, entry_id in rows]


async def stop_overdue_timer(
    session: AsyncSession, team_id: uuid.UUID, entry_id: uuid.UUID, now: datetime
) -> bool:
    """End the timer at its team's limit and queue its owner's email, unless it has
    stopped (or its start moved) meanwhile. Whether this call stopped it."""
    team = await session.get(Team, team_id)
    if team is None:
        return False
    longest = timedelta(seconds=team.time_entry_max_seconds)
    stopped = (
        await session.execute(
            update(TimeEntry)
            .where(
                in_team(TimeEntry, team.id),
                TimeEntry.id == entry_id,
                TimeEntry.ended_at.is_(None),
                TimeEntry.started_at <= now - longest,
            )
            .values(ended_at=TimeEntry.started_at + longest)
            .returning(TimeEntry.user_id, TimeEntry.project_id, TimeEntry.started_at)
            .execution_options(synchronize_session=False)
        )
    ).one_or_none()
    if stopped is None:
        return False
    entry = await session.get(TimeEntry, entry_id, populate_existing=True)
    assert entry is not None
    await record_entry_event(session, team.id, "time_entry.updated", entry)
    user = await session.get(User, stopped.user_id)
    project = await session.scalar(
        select(Project.name).where(in_team(Project, team.id), Project.id == stopped.project_id)
    )
    if user is not None:
        _queue_stopped_email(
            session, team, entry_id, user, project or "a project", stopped.started_at
        )
    return True


def _duration(seconds: int) -> str:
    """`86400` as "24 hours", `5400` as "1 hour 30 minutes"."""
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [(hours, "hour"), (minutes, "minute"), (seconds, "second")]
    return " ".join(f"{n} {unit}{'s' if n != 1 else ''}" for n, unit in parts if n)


def _queue_stopped_email(
    session: AsyncSession,
    team: Team,
    entry_id: uuid.UUID,
    user: User,
    project: str,
    started_at: datetime,
) -> None:
    longest = _duration(team.time_entry_max_seconds)
    start = local_time(started_at, team.timezone)
    end = local_time(started_at + timedelta(seconds=team.time_entry_max_seconds), team.timezone)
    queue_email(
        session,
        to=[user.email],
        subject=f"Your timer was stopped after {longest}",  # no user-chosen name in a header
        text=(
            f"Hello {user.name},\n\n"
            f"Your timer on {project} in {team.name} started {start:%Y-%m-%d %H:%M} and was "
            f"still running after {longest}, the longest a time entry may last in "
            f"{team.name}. It was stopped at {end:%Y-%m-%d %H:%M} ({team.timezone}).\n\n"
            "If you stopped working earlier, correct the entry's end; if you are still "
            "working, start a new timer.\n"
            f"(API: PATCH /v1/teams/{team.id}/time-entries/{entry_id})"
        ),
    )

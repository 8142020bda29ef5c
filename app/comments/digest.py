"""The contacts' digest: new client comments and task moves on their projects, grouped
in one email per contact, at most once an hour (the `send_contact_digests` cron).

Read from the event record. Each contact keeps a cursor (`contact_digest.after_event_id`):
a run tells it the events after it (its first run: the last hour's) and below the
record's safe bound (`visible_below`: every older transaction has ended, so an event
that commits later lands above the new cursor and is told next time). A contact emailed
less than an hour ago is skipped, its cursor kept, so the next run after the hour tells
it everything since. A task counts as moved when its column differs from the one in
its previous event (a task whose earlier events were purged is not told).
"""

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.comments.models import Comment, CommentVisibility, ContactDigest
from app.comments.notify import readers_among_contacts
from app.comments.unsubscribe import unsubscribe_link
from app.config import Settings
from app.contacts.models import Contact
from app.core.mail import queue_email
from app.core.security import Secrets
from app.core.tenancy import in_team
from app.events.models import Event
from app.events.record import visible_below
from app.projects.models import BoardColumn, Project, ProjectViewer, Task
from app.teams.service import team_by_id

EVERY = timedelta(hours=1)
TYPES = ("comment.created", "task.updated")


async def teams_with_news(session: AsyncSession, since: datetime) -> list[uuid.UUID]:
    """Teams with a comment or a task change since `since`: a read across teams
    (docs/security.md); each team's digests are then made confined to it."""
    rows = await session.scalars(
        select(Event.team_id)
        .where(Event.type.in_(TYPES), Event.created_at >= since)
        .group_by(Event.team_id)
        .order_by(Event.team_id)
    )
    return list(rows)


@dataclass
class _News:
    comments: list[Comment] = field(default_factory=list)
    moved: dict[uuid.UUID, Task] = field(default_factory=dict)


async def _moves(session: AsyncSession, team_id: uuid.UUID, events: list[Any]) -> set[int]:
    """Which `task.updated` events moved their task to another column."""
    task_ids = {e.object_id for e in events if e.type == "task.updated"}
    if not task_ids:
        return set()
    column = Event.data["column_id"].astext
    previous = func.lag(column).over(partition_by=Event.object_id, order_by=Event.id)
    rows = await session.execute(
        select(Event.id, Event.type, column.label("now"), previous.label("before")).where(
            in_team(Event, team_id),
            Event.object_type == "task",
            Event.object_id.in_(task_ids),
            Event.type.in_(("task.created", "task.updated")),
        )
    )
    return {r.id for r in rows if r.type == "task.updated" and r.before and r.now != r.before}


def _window(state: ContactDigest | None, now: datetime) -> ColumnElement[bool]:
    if state is None:
        return Event.created_at >= now - EVERY
    return Event.id > state.after_event_id


async def send_digests(
    session: AsyncSession, settings: Settings, secrets: Secrets, team_id: uuid.UUID, now: datetime
) -> int:
    """Email each contact of the team its digest, if it has news and had none within the
    hour; move every contact's cursor past what it was told. How many were sent."""
    below = int(await session.scalar(select(visible_below())) or 0)
    projects = list(
        await session.scalars(
            select(Project).where(
                in_team(Project, team_id),
                Project.id.in_(
                    select(ProjectViewer.project_id).where(in_team(ProjectViewer, team_id))
                ),
            )
        )
    )
    readers: dict[uuid.UUID, Contact] = {}
    viewed: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
    for project in projects:
        for contact in await readers_among_contacts(session, team_id, project):
            readers[contact.id] = contact
            viewed[contact.id].add(project.id)
    if not readers:
        return 0
    states = {
        s.contact_id: s
        for s in await session.scalars(
            select(ContactDigest)
            .where(in_team(ContactDigest, team_id), ContactDigest.contact_id.in_(readers))
            .with_for_update()
        )
    }
    windows = [_window(states.get(cid), now) for cid in readers]
    events = list(
        await session.execute(
            select(Event.id, Event.type, Event.object_id, Event.project_id, Event.created_at)
            .where(
                in_team(Event, team_id),
                Event.type.in_(TYPES),
                Event.id < below,
                Event.project_id.in_(set().union(*viewed.values())),
                or_(*windows),
            )
            .order_by(Event.id)
        )
    )
    moves = await _moves(session, team_id, events)
    comments = {
        c.id: c
        for c in await session.scalars(
            select(Comment).where(
                in_team(Comment, team_id),
                Comment.id.in_({e.object_id for e in events if e.type == "comment.created"}),
                Comment.visibility == CommentVisibility.client,
                Comment.deleted_at.is_(None),
            )
        )
    }
    tasks = {
        t.id: t
        for t in await session.scalars(
            select(Task).where(
                in_team(Task, team_id), Task.id.in_({e.object_id for e in events if e.id in moves})
            )
        )
    }
    columns = {
        c.id: c.name
        for c in await session.scalars(
            select(BoardColumn).where(
                in_team(BoardColumn, team_id),
                BoardColumn.id.in_({t.column_id for t in tasks.values()}),
            )
        )
    }
    names = {p.id: p.name for p in projects}
    team = await team_by_id(session, team_id)
    sent = 0
    for cid, contact in readers.items():
        state = states.get(cid)
        if state is None:
            state = ContactDigest(team_id=team_id, contact_id=cid, after_event_id=0)
            session.add(state)
        elif state.sent_at is not None and now - state.sent_at < EVERY:
            continue  # at most once an hour: its cursor waits for the next run
        news: dict[uuid.UUID, _News] = defaultdict(_News)
        for e in events:
            if e.project_id not in viewed[cid]:
                continue
            if states.get(cid) is None and e.created_at < now - EVERY:
                continue
            if states.get(cid) is not None and e.id <= state.after_event_id:
                continue
            comment = comments.get(e.object_id) if e.type == "comment.created" else None
            if comment is not None and comment.author_contact_id != cid:
                news[e.project_id].comments.append(comment)
            elif e.id in moves and e.object_id in tasks:
                news[e.project_id].moved[e.object_id] = tasks[e.object_id]
        if below:
            state.after_event_id = max(state.after_event_id, below - 1)
        if not any(n.comments or n.moved for n in news.values()):
            continue
        state.sent_at = now
        assert contact.email is not None
        queue_email(
            session,
            to=[contact.email],
            subject=f"What's new on your projects with {team.name}",
            text=_digest_text(settings, secrets, team_id, contact, news, names, columns),
        )
        sent += 1
    await session.flush()
    return sent


def _digest_text(
    settings: Settings,
    secrets: Secrets,
    team_id: uuid.UUID,
    contact: Contact,
    news: dict[uuid.UUID, "_News"],
    names: dict[uuid.UUID, str],
    columns: dict[uuid.UUID, str],
) -> str:
    lines = [f"Hello {contact.name},", "", "Here is what changed on your projects.", ""]
    for project_id, found in sorted(news.items(), key=lambda n: names[n[0]]):
        lines.append(f"{names[project_id]}  ({settings.front_url}/portal/projects/{project_id})")
        for c in found.comments:
            first = c.body.strip().splitlines()[0] if c.body.strip() else ""
            lines.append(f"  - {c.author_name} commented: {first[:200]}")
        for task in found.moved.values():
            lines.append(
                f"  - “{task.title}” moved to {columns.get(task.column_id, 'a new column')}"
            )
        lines.append("")
    lines.append(f"Stop these emails: {unsubscribe_link(settings, secrets, team_id, contact.id)}")
    return "\n".join(lines) + "\n"

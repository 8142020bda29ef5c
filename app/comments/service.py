"""Comments on a project's thread or its tasks, by the team and by collaborator contacts.

Team members read every comment of a project they may see and post `client` or
`internal` ones; contacts read the `client` comments of the projects they view, and
collaborators post them. An internal comment never reaches a contact: every portal
read (lists, counts, the stream's `event_views`, emails) filters on `visibility`.
Authors edit or delete their own comments for 15 minutes; the project's managers
delete any. A deletion keeps a tombstone (body emptied, `deleted: true`).
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import User
from app.comments.models import AuthorType, Comment, CommentVisibility
from app.comments.rendering import render
from app.comments.schemas import CommentIn, CommentOut, PortalComment
from app.contacts.models import Contact
from app.core.context import PortalContext, TeamContext
from app.core.errors import Conflict, Forbidden
from app.core.jobs import defer
from app.core.pagination import Listing, shaped_by
from app.core.permissions import Access, Permission
from app.core.ratelimit import hit
from app.core.statements import Bound, bound, shaped, team_values
from app.core.tenancy import HasTeam, get_in_team, in_team, team_select
from app.events.record import record_event
from app.projects.models import Project, Task
from app.projects.service import get_project, visible_projects
from app.projects.viewing import viewed_project

EDIT_WINDOW = timedelta(minutes=15)
RATE_LIMIT = 30
RATE_WINDOW_SECONDS = 600
NOTIFY_JOB = "notify_comment"


@dataclass(frozen=True)
class Writer:
    """Who writes: a team member or a contact, with the name the thread shows."""

    type: AuthorType
    id: uuid.UUID
    name: str

    def wrote(self, comment: Comment) -> bool:
        if self.type is AuthorType.user:
            return comment.author_type == AuthorType.user and comment.author_user_id == self.id
        return comment.author_type == AuthorType.contact and comment.author_contact_id == self.id


@dataclass(frozen=True)
class Thread:
    """A project's thread (`task` None) or one of its tasks'."""

    project: Project
    task: Task | None

    def holds(self) -> ColumnElement[bool]:
        """The comments of this thread, as a filter on `Comment`."""
        return _in_thread(self.project.id, self.task.id if self.task else None)

    def values(self, team: HasTeam) -> dict[str, Any]:
        """The values `_comment_list` binds for this thread, read in `team`."""
        task_id = self.task.id if self.task else None
        return {**team_values(team.team_id), "project_id": self.project.id, "task_id": task_id}


def _in_thread(project_id: Any, task_id: Any | None) -> ColumnElement[bool]:
    """The comments of a project's thread (`task_id` None) or of one of its tasks'."""
    where = Comment.project_id == project_id
    if task_id is None:
        return where & Comment.task_id.is_(None)
    return where & (Comment.task_id == task_id)


async def _task(
    session: AsyncSession, team: HasTeam, project: Project, task_id: uuid.UUID | None
) -> Task | None:
    if task_id is None:
        return None
    return await get_in_team(
        session, Task, team, task_id, what="Task", visible=Task.project_id == project.id
    )


async def _team_thread(
    session: AsyncSession,
    ctx: TeamContext,
    project_id: uuid.UUID,
    task_id: uuid.UUID | None,
    *,
    write: bool = False,
) -> Thread:
    read = Permission.TASKS_READ if task_id is not None else Permission.PROJECTS_READ
    project = await get_project(
        session, ctx, project_id, read=read, write=Permission.COMMENTS_WRITE if write else None
    )
    return Thread(project, await _task(session, ctx, project, task_id))


async def _portal_thread(
    session: AsyncSession,
    ctx: PortalContext,
    project_id: uuid.UUID,
    task_id: uuid.UUID | None,
    *,
    write: bool = False,
) -> Thread:
    project = await viewed_project(session, ctx, project_id, collaborating=write)
    return Thread(project, await _task(session, ctx, project, task_id))


async def _user_writer(session: AsyncSession, ctx: TeamContext) -> Writer:
    name = await session.scalar(select(User.name).where(User.id == ctx.user_id))
    return Writer(AuthorType.user, ctx.user_id, name or "")


async def _contact_writer(session: AsyncSession, ctx: PortalContext) -> Writer:
    contact = await get_in_team(session, Contact, ctx, ctx.contact_id, what="Contact")
    return Writer(AuthorType.contact, contact.id, contact.name)


async def _record(session: AsyncSession, event_type: str, thread: Thread, comment: Comment) -> None:
    """`comment.*` with the comment in full: its `visibility` decides who hears it."""
    await record_event(
        session,
        comment.team_id,
        event_type,
        CommentOut.of_comment(comment),
        client_id=thread.project.client_id,
        project_id=thread.project.id,
    )


# ---------------------------------------------------------------- reading


@shaped
def _comment_list(on_task: bool, clients_only: bool) -> Select[tuple[Comment]]:
    """A thread's comments for one shape (`Thread.values`): a task's when `on_task`, the
    client ones alone when `clients_only`. Scoped by `Bound.team` alone: a contact reads
    them too, and has no user."""
    task_id = bound("task_id", Comment.task_id) if on_task else None
    stmt = team_select(Comment, Bound.team).where(
        _in_thread(bound("project_id", Comment.project_id), task_id)
    )
    if clients_only:
        stmt = stmt.where(for_clients())
    return stmt


async def list_comments(
    session: AsyncSession, ctx: TeamContext, project_id: uuid.UUID, task_id: uuid.UUID | None
) -> Listing[CommentOut]:
    """A thread's comments, oldest first, tombstones included, internal ones too."""
    thread = await _team_thread(session, ctx, project_id, task_id)
    stmt = _comment_list(task_id is not None, clients_only=False)
    shape = shaped_by(CommentOut, CommentOut.of_comment)
    return Listing(stmt, Comment, shape, values=thread.values(ctx))


def for_clients() -> ColumnElement[bool]:
    """The comments a contact may ever read (as a filter on `Comment`)."""
    return Comment.visibility == CommentVisibility.client


async def list_portal_comments(
    session: AsyncSession, ctx: PortalContext, project_id: uuid.UUID, task_id: uuid.UUID | None
) -> Listing[PortalComment]:
    """A thread's client comments, oldest first, tombstones included."""
    thread = await _portal_thread(session, ctx, project_id, task_id)
    stmt = _comment_list(task_id is not None, clients_only=True)
    shape = shaped_by(PortalComment, PortalComment.of_comment)
    return Listing(stmt, Comment, shape, values=thread.values(ctx))


async def client_comment_counts(
    session: AsyncSession,
    team: HasTeam,
    *,
    projects: Sequence[uuid.UUID] = (),
    tasks: Sequence[uuid.UUID] = (),
) -> dict[uuid.UUID, int]:
    """How many live client comments each project (all its threads) or task has: what a
    contact may count. Internal comments and tombstones are never counted."""
    key = Comment.project_id if projects else Comment.task_id
    ids = list(projects or tasks)
    if not ids:
        return {}
    rows = await session.execute(
        select(key, func.count())
        .where(in_team(Comment, team), key.in_(ids), for_clients(), Comment.deleted_at.is_(None))
        .group_by(key)
    )
    return {k: n for k, n in rows if k is not None}


async def portal_comments_by_id(
    session: AsyncSession, ctx: PortalContext, ids: set[uuid.UUID], projects: set[uuid.UUID]
) -> list[PortalComment]:
    """The client comments among `ids` on `projects` (those the contact views), for its
    event stream; internal ones are not among them whatever the ids."""
    if not ids or not projects:
        return []
    found = await session.scalars(
        select(Comment).where(
            in_team(Comment, ctx),
            Comment.id.in_(ids),
            Comment.project_id.in_(projects),
            for_clients(),
        )
    )
    return [PortalComment.of_comment(c) for c in found]


# ---------------------------------------------------------------- writing


async def _post(
    session: AsyncSession,
    redis: Redis,
    thread: Thread,
    writer: Writer,
    body: str,
    visibility: CommentVisibility,
) -> Comment:
    await hit(
        redis,
        f"comments:{writer.type.value}:{writer.id}",
        limit=RATE_LIMIT,
        window_seconds=RATE_WINDOW_SECONDS,
        what="Commenting",
        code="too_many_comments",
    )
    comment = Comment(
        team_id=thread.project.team_id,
        project_id=thread.project.id,
        task_id=thread.task.id if thread.task else None,
        visibility=visibility,
        body=body,
        body_html=render(body),
        author_type=writer.type.value,
        author_user_id=writer.id if writer.type is AuthorType.user else None,
        author_contact_id=writer.id if writer.type is AuthorType.contact else None,
        author_name=writer.name,
    )
    session.add(comment)
    await session.flush()
    await session.refresh(comment)
    await _record(session, "comment.created", thread, comment)
    # Mentioned people and the project's managers are emailed by a job, after commit.
    defer(session, NOTIFY_JOB, str(comment.team_id), str(comment.id))
    return comment


async def post_comment(
    session: AsyncSession,
    redis: Redis,
    ctx: TeamContext,
    project_id: uuid.UUID,
    task_id: uuid.UUID | None,
    data: CommentIn,
) -> CommentOut:
    """A team member's comment, `client` or `internal`."""
    thread = await _team_thread(session, ctx, project_id, task_id, write=True)
    writer = await _user_writer(session, ctx)
    comment = await _post(session, redis, thread, writer, data.body, data.visibility)
    return CommentOut.of_comment(comment)


async def post_portal_comment(
    session: AsyncSession,
    redis: Redis,
    ctx: PortalContext,
    project_id: uuid.UUID,
    task_id: uuid.UUID | None,
    body: str,
) -> PortalComment:
    """A collaborator's comment: always `client` (viewers may not post: 403)."""
    thread = await _portal_thread(session, ctx, project_id, task_id, write=True)
    writer = await _contact_writer(session, ctx)
    comment = await _post(session, redis, thread, writer, body, CommentVisibility.client)
    return PortalComment.of_comment(comment)


async def _comment(
    session: AsyncSession,
    team: HasTeam,
    thread: Thread,
    comment_id: uuid.UUID,
    *,
    any_thread: bool,
    clients_only: bool = False,
) -> Comment:
    """A comment of the thread (with `any_thread`, of any thread of the project), locked."""
    where = Comment.project_id == thread.project.id if any_thread else thread.holds()
    if clients_only:
        where = where & for_clients()
    comment = await get_in_team(
        session, Comment, team, comment_id, what="Comment", visible=where, for_update=True
    )
    if comment.deleted_at is not None:
        raise Conflict("This comment is deleted.", code="comment_deleted")
    return comment


def _within_window(comment: Comment, writer: Writer, verb: str) -> None:
    """Only its author, and only for EDIT_WINDOW after posting."""
    if not writer.wrote(comment):
        raise Forbidden(f"Only its author may {verb} a comment.", code="not_comment_author")
    if datetime.now(UTC) - comment.created_at > EDIT_WINDOW:
        raise Conflict(
            f"A comment can be changed for {int(EDIT_WINDOW.total_seconds() // 60)} minutes "
            "after it is posted.",
            code="comment_edit_window_closed",
        )


async def _edit(session: AsyncSession, thread: Thread, comment: Comment, body: str) -> Comment:
    comment.body = body
    comment.body_html = render(body)
    comment.edited_at = datetime.now(UTC)
    await session.flush()
    await session.refresh(comment)
    await _record(session, "comment.updated", thread, comment)
    return comment


async def _tombstone(session: AsyncSession, thread: Thread, comment: Comment) -> None:
    comment.body = ""
    comment.body_html = ""
    comment.deleted_at = datetime.now(UTC)
    await session.flush()
    await session.refresh(comment)
    await _record(session, "comment.deleted", thread, comment)


async def _manages(session: AsyncSession, ctx: TeamContext, project: Project) -> bool:
    """True when the caller manages the project (its role's reach, or its project role)."""
    reach = ctx.grant(Permission.PROJECTS_MANAGE)
    if reach is None:
        return False
    if reach is Access.ALL:
        return True
    found = await session.scalar(
        select(Project.id).where(
            in_team(Project, ctx),
            Project.id == project.id,
            visible_projects(ctx, reach, managing=True),
        )
    )
    return found is not None


async def edit_comment(
    session: AsyncSession,
    ctx: TeamContext,
    project_id: uuid.UUID,
    task_id: uuid.UUID | None,
    comment_id: uuid.UUID,
    body: str,
) -> CommentOut:
    """Its author changes a comment's body within 15 minutes."""
    thread = await _team_thread(session, ctx, project_id, task_id, write=True)
    comment = await _comment(session, ctx, thread, comment_id, any_thread=task_id is None)
    _within_window(comment, await _user_writer(session, ctx), "edit")
    return CommentOut.of_comment(await _edit(session, thread, comment, body))


async def delete_comment(
    session: AsyncSession,
    ctx: TeamContext,
    project_id: uuid.UUID,
    task_id: uuid.UUID | None,
    comment_id: uuid.UUID,
) -> None:
    """Its author within 15 minutes, or a manager of the project at any time, leaves a
    tombstone in its place."""
    thread = await _team_thread(session, ctx, project_id, task_id)
    comment = await _comment(session, ctx, thread, comment_id, any_thread=task_id is None)
    if not await _manages(session, ctx, thread.project):
        ctx.access(Permission.COMMENTS_WRITE)
        _within_window(comment, await _user_writer(session, ctx), "delete")
    await _tombstone(session, thread, comment)


async def _own_portal_comment(
    session: AsyncSession,
    ctx: PortalContext,
    project_id: uuid.UUID,
    task_id: uuid.UUID | None,
    comment_id: uuid.UUID,
    verb: str,
) -> tuple[Thread, Comment]:
    """A collaborator's own client comment, still within its window, locked."""
    thread = await _portal_thread(session, ctx, project_id, task_id, write=True)
    comment = await _comment(
        session, ctx, thread, comment_id, any_thread=task_id is None, clients_only=True
    )
    _within_window(comment, await _contact_writer(session, ctx), verb)
    return thread, comment


async def edit_portal_comment(
    session: AsyncSession,
    ctx: PortalContext,
    project_id: uuid.UUID,
    task_id: uuid.UUID | None,
    comment_id: uuid.UUID,
    body: str,
) -> PortalComment:
    """A collaborator changes its own comment's body within 15 minutes."""
    thread, comment = await _own_portal_comment(
        session, ctx, project_id, task_id, comment_id, "edit"
    )
    return PortalComment.of_comment(await _edit(session, thread, comment, body))


async def delete_portal_comment(
    session: AsyncSession,
    ctx: PortalContext,
    project_id: uuid.UUID,
    task_id: uuid.UUID | None,
    comment_id: uuid.UUID,
) -> None:
    """A collaborator deletes its own comment within 15 minutes (a tombstone stays)."""
    thread, comment = await _own_portal_comment(
        session, ctx, project_id, task_id, comment_id, "delete"
    )
    await _tombstone(session, thread, comment)

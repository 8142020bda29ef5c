"""Projects with their board, members and viewers; visibility by role."""

import uuid
from dataclasses import asdict
from functools import partial
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, delete, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from app.clients.models import Client
from app.clients.service import own_client_ids, require_active_client
from app.contacts.models import Contact
from app.core.context import TeamContext
from app.core.db import flush_or_raise
from app.core.errors import Conflict, NotFound, Unprocessable
from app.core.pagination import Listing, shaped_by
from app.core.permissions import Access, Permission
from app.core.statements import BOUND_CALLER, bound, caller_values, contains, like_pattern, shaped
from app.core.tenancy import get_authorized, in_team, team_rows, team_select
from app.events.record import record_event
from app.projects.membership import member_project_ids
from app.projects.models import (
    Board,
    BoardColumn,
    ColumnKind,
    Project,
    ProjectMember,
    ProjectRole,
    ProjectStatus,
    ProjectViewer,
    Task,
    ViewerRole,
)
from app.projects.schemas import (
    ColumnCount,
    ProjectIn,
    ProjectMemberOut,
    ProjectOut,
    ProjectPatch,
    ProjectRow,
    ProjectStats,
    ViewerOut,
)
from app.rates.service import billing_targets, sees_rates, shown_rate
from app.teams import service as teams_service
from app.time_tracking.models import TimeEntry
from app.time_tracking.service import project_time

Link = TypeVar("Link", ProjectMember, ProjectViewer)
S = TypeVar("S", ProjectMemberOut, ViewerOut)

DEFAULT_COLUMNS = (
    ("To do", ColumnKind.todo),
    ("In progress", ColumnKind.in_progress),
    ("Done", ColumnKind.done),
)


def visible_projects(
    ctx: TeamContext, reach: Access, *, managing: bool = False
) -> ColumnElement[bool]:
    """Which projects a reach covers, as a filter on `Project`.

    OWN_CLIENTS: projects of clients the caller owns or is assigned to. PROJECTS (and
    OWN): projects the caller is a member of; when `managing`, only those where its
    project role is manager.
    """
    if reach is Access.ALL:
        return true()
    if reach is Access.OWN_CLIENTS:
        return Project.client_id.in_(own_client_ids(ctx))
    return Project.id.in_(member_project_ids(ctx, managing=managing))


async def get_project(
    session: AsyncSession,
    ctx: TeamContext,
    project_id: uuid.UUID,
    *,
    read: Permission = Permission.PROJECTS_READ,
    write: Permission | None = None,
    for_update: bool = False,
) -> Project:
    """A project the caller may see with `read` (404 otherwise) and, when given, act on
    with `write` (403 when it may only see it)."""
    managing = write is Permission.PROJECTS_MANAGE
    return await get_authorized(
        session,
        Project,
        ctx,
        project_id,
        what="Project",
        visible=visible_projects,
        read=read,
        write=write,
        writable=lambda c, reach: visible_projects(c, reach, managing=managing),
        for_update=for_update,
    )


def _out(ctx: TeamContext, project: Project, board_id: uuid.UUID) -> ProjectOut:
    rate = shown_rate(ctx, project.hourly_rate_amount, reach=Access.PROJECTS)
    return ProjectOut.of(project, board_id=board_id, hourly_rate_amount=rate)


async def record_project_event(
    session: AsyncSession, event_type: str, project: Project, board_id: uuid.UUID | None = None
) -> None:
    """`project.*` with the project in full (the event list hides its rate from roles
    that may not read it)."""
    if board_id is None:
        board_id = await session.scalar(select(Board.id).where(Board.project_id == project.id))
    out = ProjectOut.of(project, board_id=board_id)
    await record_event(
        session,
        project.team_id,
        event_type,
        out,
        client_id=project.client_id,
        project_id=project.id,
    )


async def _outs(
    session: AsyncSession, ctx: TeamContext, projects: list[Project]
) -> list[ProjectOut]:
    """Projects as the API shows them: the boards of all of them in one query."""
    if not projects:
        return []
    rows = await session.execute(
        select(Board.project_id, Board.id).where(Board.project_id.in_([p.id for p in projects]))
    )
    boards = {project_id: board_id for project_id, board_id in rows}
    return [_out(ctx, p, boards[p.id]) for p in projects]


async def _rows(
    session: AsyncSession, ctx: TeamContext, projects: list[Project]
) -> list[ProjectRow]:
    """Projects as the CSV shows them: as in JSON, with the currency of their rate."""
    team = await teams_service.team_by_id(session, ctx.team_id)
    targets = await billing_targets(session, team, [p.id for p in projects])
    return [
        ProjectRow.model_construct(**dict(out), currency=targets[out.id].currency)
        for out in await _outs(session, ctx, projects)
    ]


async def read_project(
    session: AsyncSession, ctx: TeamContext, project_id: uuid.UUID
) -> ProjectOut:
    """A project the caller may see, as the API shows it."""
    return (await _outs(session, ctx, [await get_project(session, ctx, project_id)]))[0]


@shaped
def _project_list(reach: Access, status: ProjectStatus, client: bool, search: bool) -> Select[Any]:
    """The projects list's statement for one shape (`app.core.statements`)."""
    stmt = team_rows(Project, BOUND_CALLER).where(
        visible_projects(BOUND_CALLER, reach), Project.status == status
    )
    if client:
        stmt = stmt.where(Project.client_id == bound("client_id", Project.client_id))
    if search:
        stmt = stmt.where(contains(Project.name, "q"))
    return stmt


async def list_projects(
    session: AsyncSession,
    ctx: TeamContext,
    *,
    client_id: uuid.UUID | None,
    status: ProjectStatus,
    q: str | None,
    csv: bool = False,
) -> Listing[Any]:
    """Projects the caller may see, filtered; for `csv` with the currency of each rate."""
    reach = ctx.access(Permission.PROJECTS_READ)
    stmt = _project_list(reach, status, client_id is not None, bool(q))
    values = {**caller_values(ctx), "client_id": client_id, "q": like_pattern(q or "")}
    shape = _rows if csv else _outs
    return Listing(stmt, Project, partial(shape, session, ctx), values=values)


async def _create(
    session: AsyncSession, ctx: TeamContext, data: ProjectIn, *, client: Client | None
) -> tuple[Project, Board]:
    project = Project(
        team_id=ctx.team_id,
        name=data.name,
        description=data.description,
        client_id=client.id if client else None,
        billable=data.billable,
        hourly_rate_amount=data.hourly_rate_amount,
        budget_seconds=data.budget_seconds,
        created_by_id=ctx.user_id,
    )
    session.add(project)
    await session.flush()
    board = Board(team_id=ctx.team_id, project_id=project.id)
    session.add(board)
    await session.flush()
    session.add_all(
        BoardColumn(team_id=ctx.team_id, board_id=board.id, name=name, kind=kind, position=i)
        for i, (name, kind) in enumerate(DEFAULT_COLUMNS)
    )
    # The creator manages what it creates, and so keeps seeing it whatever its role.
    session.add(
        ProjectMember(
            team_id=ctx.team_id,
            project_id=project.id,
            user_id=ctx.user_id,
            role=ProjectRole.manager,
        )
    )
    await session.flush()
    await session.refresh(project)
    await record_project_event(session, "project.created", project, board.id)
    return project, board


async def create_project(session: AsyncSession, ctx: TeamContext, data: ProjectIn) -> ProjectOut:
    """A project with its board (To do, In progress, Done)."""
    ctx.access(Permission.PROJECTS_CREATE)
    if data.hourly_rate_amount is not None:
        ctx.access(Permission.RATES_WRITE)
    client = await require_active_client(session, ctx, data.client_id) if data.client_id else None
    project, board = await _create(session, ctx, data, client=client)
    return _out(ctx, project, board.id)


async def create_for_new_client(
    session: AsyncSession, ctx: TeamContext, client: Client, name: str
) -> tuple[Project, Board]:
    """The onboarding project of a client created in the same transaction."""
    ctx.access(Permission.PROJECTS_CREATE)
    return await _create(session, ctx, ProjectIn(name=name, client_id=client.id), client=client)


async def update_project(
    session: AsyncSession, ctx: TeamContext, project_id: uuid.UUID, patch: ProjectPatch
) -> ProjectOut:
    """Change a project the caller manages; answers it as the API shows it."""
    project = await get_project(
        session, ctx, project_id, write=Permission.PROJECTS_MANAGE, for_update=True
    )
    fields = patch.changes()
    if "hourly_rate_amount" in fields:
        ctx.access(Permission.RATES_WRITE)
    if "client_id" in fields and fields["client_id"] != project.client_id:
        # Whose time this is decides who gets billed: as much a right as creating it.
        ctx.access(Permission.PROJECTS_CREATE)
        if fields["client_id"] is not None:
            await require_active_client(session, ctx, fields["client_id"])
        # Invoiced time belongs to the client it was billed to.
        if await session.scalar(
            select(TimeEntry.id)
            .where(TimeEntry.project_id == project.id, TimeEntry.invoice_id.isnot(None))
            .limit(1)
        ):
            raise Conflict(
                "The project has invoiced time; its client can no longer change.",
                code="project_has_invoiced_time",
            )
        # Viewers are contacts of the project's client: the old client's ones go.
        await session.execute(
            delete(ProjectViewer).where(
                ProjectViewer.project_id == project.id,
                ProjectViewer.contact_id.notin_(
                    select(Contact.id).where(
                        in_team(Contact, ctx), Contact.client_id == fields["client_id"]
                    )
                ),
            )
        )
    for field, value in fields.items():
        setattr(project, field, value)
    await session.flush()
    await session.refresh(project)
    await record_project_event(session, "project.updated", project)
    return (await _outs(session, ctx, [project]))[0]


async def delete_project(session: AsyncSession, ctx: TeamContext, project_id: uuid.UUID) -> None:
    """Delete a project; once time is tracked on it, archive it instead (time is history)."""
    project = await get_project(
        session, ctx, project_id, write=Permission.PROJECTS_MANAGE, for_update=True
    )
    if await session.scalar(
        select(TimeEntry.id).where(TimeEntry.project_id == project.id).limit(1)
    ):
        project.status = ProjectStatus.archived
        await session.flush()
        await session.refresh(project)
        await record_project_event(session, "project.updated", project)
        return
    await session.delete(project)
    await session.flush()
    await record_event(
        session,
        project.team_id,
        "project.deleted",
        {"id": project.id},
        client_id=project.client_id,
        project_id=project.id,
    )


# ---------------------------------------------------------------- members and viewers


@shaped
def _link_list(link: type[Link]) -> Select[Any]:
    """The member or viewer rows of one project (bound as `project_id`)."""
    return select(link).where(link.project_id == bound("project_id", link.project_id))


async def _links(
    session: AsyncSession,
    ctx: TeamContext,
    project_id: uuid.UUID,
    link: type[Link],
    key: InstrumentedAttribute[uuid.UUID],
    schema: type[S],
) -> Listing[S]:
    """A visible project's member or viewer rows, ordered by `key`."""
    project = await get_project(session, ctx, project_id)
    values = {"project_id": project.id}
    return Listing(_link_list(link), link, shaped_by(schema), pk=key, values=values)


async def list_members(
    session: AsyncSession, ctx: TeamContext, project_id: uuid.UUID
) -> Listing[ProjectMemberOut]:
    """The project's members and their project roles."""
    return await _links(
        session, ctx, project_id, ProjectMember, ProjectMember.user_id, ProjectMemberOut
    )


async def add_member(
    session: AsyncSession,
    ctx: TeamContext,
    project_id: uuid.UUID,
    user_id: uuid.UUID,
    role: ProjectRole,
) -> ProjectMember:
    """Add a team member to a project the caller manages."""
    project = await get_project(session, ctx, project_id, write=Permission.PROJECTS_MANAGE)
    await teams_service.ensure_members(session, ctx.team_id, [user_id], field="user_id")
    return await _add_once(
        session,
        ProjectMember(team_id=ctx.team_id, project_id=project.id, user_id=user_id, role=role),
        "pk_project_member",
        Conflict("Already a member of this project.", code="already_project_member"),
    )


async def _add_once(session: AsyncSession, link: Link, key: str, taken: Conflict) -> Link:
    """Insert a member or viewer row; one already there (primary key `key`) is `taken`."""
    session.add(link)
    await flush_or_raise(session, {key: taken})
    await session.refresh(link)
    return link


async def _member(session: AsyncSession, project: Project, user_id: uuid.UUID) -> ProjectMember:
    member = await session.get(ProjectMember, (project.id, user_id), with_for_update=True)
    if member is None:
        raise NotFound("Project member")
    return member


async def change_member_role(
    session: AsyncSession,
    ctx: TeamContext,
    project_id: uuid.UUID,
    user_id: uuid.UUID,
    role: ProjectRole,
) -> ProjectMember:
    """Change a member's project role."""
    project = await get_project(session, ctx, project_id, write=Permission.PROJECTS_MANAGE)
    return await _set_role(session, await _member(session, project, user_id), role)


async def _set_role(session: AsyncSession, link: Link, role: ProjectRole | ViewerRole) -> Link:
    """A member's project role, or a viewer's, changed."""
    link.role = role  # type: ignore[assignment]
    await session.flush()
    await session.refresh(link)
    return link


async def remove_member(
    session: AsyncSession, ctx: TeamContext, project_id: uuid.UUID, user_id: uuid.UUID
) -> None:
    """Remove a member from a project the caller manages."""
    project = await get_project(session, ctx, project_id, write=Permission.PROJECTS_MANAGE)
    member = await _member(session, project, user_id)
    await session.delete(member)
    await session.flush()


async def list_viewers(
    session: AsyncSession, ctx: TeamContext, project_id: uuid.UUID
) -> Listing[ViewerOut]:
    """The contacts who view the project in the portal."""
    return await _links(
        session, ctx, project_id, ProjectViewer, ProjectViewer.contact_id, ViewerOut
    )


async def attach_viewer(
    session: AsyncSession,
    ctx: TeamContext,
    project: Project,
    contact: Contact,
    role: ViewerRole = ViewerRole.viewer,
) -> ProjectViewer:
    """Make a contact of the project's client a viewer (or collaborator) of the project."""
    if project.client_id is None or contact.client_id != project.client_id:
        raise Unprocessable(
            "Only contacts of the project's client can view it.", code="viewer_not_client_contact"
        )
    return await _add_once(
        session,
        ProjectViewer(team_id=ctx.team_id, project_id=project.id, contact_id=contact.id, role=role),
        "pk_project_viewer",
        Conflict("This contact already views the project.", code="already_viewer"),
    )


async def add_viewer(
    session: AsyncSession,
    ctx: TeamContext,
    project_id: uuid.UUID,
    contact_id: uuid.UUID,
    role: ViewerRole = ViewerRole.viewer,
) -> ProjectViewer:
    """Let a contact of the project's client view (or collaborate on) the project."""
    project = await get_project(session, ctx, project_id, write=Permission.PROJECTS_MANAGE)
    # Shared lock: a concurrent move of the contact to another client waits for this
    # viewer to commit (and removes it), or this sees the contact's new client.
    contact = await session.scalar(
        team_select(Contact, ctx).where(Contact.id == contact_id).with_for_update(read=True)
    )
    if contact is None:
        raise Unprocessable("No such contact in this team.", code="unknown_contact")
    return await attach_viewer(session, ctx, project, contact, role)


async def _viewer(session: AsyncSession, project: Project, contact_id: uuid.UUID) -> ProjectViewer:
    viewer = await session.get(ProjectViewer, (project.id, contact_id), with_for_update=True)
    if viewer is None:
        raise NotFound("Viewer")
    return viewer


async def change_viewer_role(
    session: AsyncSession,
    ctx: TeamContext,
    project_id: uuid.UUID,
    contact_id: uuid.UUID,
    role: ViewerRole,
) -> ProjectViewer:
    """Make a viewer a collaborator, or back (it keeps what it wrote)."""
    project = await get_project(session, ctx, project_id, write=Permission.PROJECTS_MANAGE)
    return await _set_role(session, await _viewer(session, project, contact_id), role)


async def remove_viewer(
    session: AsyncSession, ctx: TeamContext, project_id: uuid.UUID, contact_id: uuid.UUID
) -> None:
    """Stop a contact from viewing a project the caller manages."""
    project = await get_project(session, ctx, project_id, write=Permission.PROJECTS_MANAGE)
    viewer = await _viewer(session, project, contact_id)
    await session.delete(viewer)
    await session.flush()


# ---------------------------------------------------------------- stats


async def stats(session: AsyncSession, ctx: TeamContext, project_id: uuid.UUID) -> ProjectStats:
    """Task counts by column, and the project's time and amounts.

    The amounts price everyone's time on the project at their rates: shown to roles that
    read the project's rates (as its `hourly_rate_amount`), null for the others.
    """
    project = await get_project(session, ctx, project_id)
    rows = await session.execute(
        select(BoardColumn, func.count(Task.id))
        .join(Board, Board.id == BoardColumn.board_id)
        .outerjoin(Task, Task.column_id == BoardColumn.id)
        .where(Board.project_id == project.id)
        .group_by(BoardColumn.id)
        .order_by(BoardColumn.position)
    )
    columns = [ColumnCount(column_id=c.id, name=c.name, kind=c.kind, task_count=n) for c, n in rows]
    figures = asdict(
        await project_time(
            session, await teams_service.team_by_id(session, ctx.team_id), project.id
        )
    )
    if not sees_rates(ctx, Access.PROJECTS):
        figures.update(billable_amount=None, uninvoiced_amount=None, rate_missing_seconds=None)
    return ProjectStats(
        project_id=project.id,
        task_count=sum(c.task_count for c in columns),
        tasks_by_column=columns,
        **figures,
    )

import uuid
from typing import Annotated

from fastapi import Query, status

from app.auth.dependencies import TeamCtx
from app.core.csv_export import CSV_RESPONSES, CsvResponse, FormatQuery, list_response
from app.core.deps import DbSession
from app.core.pagination import Page, PageQuery
from app.core.routing import APIRouter
from app.projects import board as boards
from app.projects import service
from app.projects.models import ProjectStatus
from app.projects.schemas import (
    PROJECT_CSV,
    PROJECT_MEMBER_CSV,
    PROJECT_VIEWER_CSV,
    TASK_CSV,
    BoardOut,
    ColumnIn,
    ColumnOut,
    ColumnPatch,
    ProjectIn,
    ProjectMemberIn,
    ProjectMemberOut,
    ProjectMemberPatch,
    ProjectOut,
    ProjectPatch,
    ProjectStats,
    TaskIn,
    TaskMove,
    TaskOut,
    TaskPatch,
    ViewerIn,
    ViewerOut,
    ViewerPatch,
)

router = APIRouter(prefix="/teams/{team_id}/projects", tags=["projects"])


@router.get("", response_model=Page[ProjectOut], responses=CSV_RESPONSES)
async def list_projects(
    ctx: TeamCtx,
    session: DbSession,
    page: PageQuery,
    fmt: FormatQuery,
    client_id: uuid.UUID | None = None,
    status: ProjectStatus = ProjectStatus.active,
    q: Annotated[str | None, Query(max_length=200, description="Name contains")] = None,
) -> Page[ProjectOut] | CsvResponse:
    """Projects the caller may see; archived ones only with `status=archived`."""
    listing = await service.list_projects(
        session, ctx, client_id=client_id, status=status, q=q, csv=fmt.csv
    )
    return await list_response(session, listing, page, fmt, PROJECT_CSV, "projects.csv")


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ProjectOut)
async def create_project(data: ProjectIn, ctx: TeamCtx, session: DbSession) -> ProjectOut:
    """Create a project with its board (To do, In progress, Done); the creator manages it."""
    return await service.create_project(session, ctx, data)


@router.get("/{project_id}", response_model=ProjectOut)
async def get_project(project_id: uuid.UUID, ctx: TeamCtx, session: DbSession) -> ProjectOut:
    """One project."""
    return await service.read_project(session, ctx, project_id)


@router.patch("/{project_id}", response_model=ProjectOut)
async def update_project(
    project_id: uuid.UUID, data: ProjectPatch, ctx: TeamCtx, session: DbSession
) -> ProjectOut:
    """Change a project (`status: archived` archives it)."""
    return await service.update_project(session, ctx, project_id, data)


@router.delete("/{project_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_project(project_id: uuid.UUID, ctx: TeamCtx, session: DbSession) -> None:
    """Delete a project with its board and tasks."""
    await service.delete_project(session, ctx, project_id)


@router.get("/{project_id}/stats", response_model=ProjectStats)
async def project_stats(project_id: uuid.UUID, ctx: TeamCtx, session: DbSession) -> ProjectStats:
    """Task counts by column; tracked, billable and not-yet-invoiced time and amounts."""
    return await service.stats(session, ctx, project_id)


# ---------------------------------------------------------------- board


@router.get("/{project_id}/board", response_model=BoardOut)
async def get_board(project_id: uuid.UUID, ctx: TeamCtx, session: DbSession) -> BoardOut:
    """The board: columns in order, each with its tasks in order."""
    return await boards.get_board(session, ctx, project_id)


@router.post(
    "/{project_id}/board/columns", status_code=status.HTTP_201_CREATED, response_model=ColumnOut
)
async def add_column(
    project_id: uuid.UUID, data: ColumnIn, ctx: TeamCtx, session: DbSession
) -> ColumnOut:
    """Add a column (at the right end unless `position` is given)."""
    return ColumnOut.model_validate(await boards.add_column(session, ctx, project_id, data))


@router.patch("/{project_id}/board/columns/{column_id}", response_model=ColumnOut)
async def update_column(
    project_id: uuid.UUID, column_id: uuid.UUID, data: ColumnPatch, ctx: TeamCtx, session: DbSession
) -> ColumnOut:
    """Rename or move a column."""
    return ColumnOut.model_validate(
        await boards.update_column(session, ctx, project_id, column_id, data)
    )


@router.delete("/{project_id}/board/columns/{column_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_column(
    project_id: uuid.UUID, column_id: uuid.UUID, ctx: TeamCtx, session: DbSession
) -> None:
    """Delete an empty column."""
    await boards.delete_column(session, ctx, project_id, column_id)


# ---------------------------------------------------------------- tasks


@router.get("/{project_id}/tasks", response_model=Page[TaskOut], responses=CSV_RESPONSES)
async def list_tasks(
    project_id: uuid.UUID,
    ctx: TeamCtx,
    session: DbSession,
    page: PageQuery,
    fmt: FormatQuery,
    column_id: uuid.UUID | None = None,
    assignee_id: uuid.UUID | None = None,
) -> Page[TaskOut] | CsvResponse:
    """The project's tasks."""
    listing = await boards.list_tasks(
        session, ctx, project_id, column_id=column_id, assignee_id=assignee_id
    )
    return await list_response(session, listing, page, fmt, TASK_CSV, "tasks.csv")


@router.post("/{project_id}/tasks", status_code=status.HTTP_201_CREATED, response_model=TaskOut)
async def create_task(
    project_id: uuid.UUID, data: TaskIn, ctx: TeamCtx, session: DbSession
) -> TaskOut:
    """Create a task (in the To do column at the end unless told otherwise)."""
    return await boards.create_task(session, ctx, project_id, data)


@router.get("/{project_id}/tasks/{task_id}", response_model=TaskOut)
async def get_task(
    project_id: uuid.UUID, task_id: uuid.UUID, ctx: TeamCtx, session: DbSession
) -> TaskOut:
    """One task."""
    return await boards.get_task(session, ctx, project_id, task_id)


@router.patch("/{project_id}/tasks/{task_id}", response_model=TaskOut)
async def update_task(
    project_id: uuid.UUID, task_id: uuid.UUID, data: TaskPatch, ctx: TeamCtx, session: DbSession
) -> TaskOut:
    """Change a task; `column_id`/`position` move it and re-order both columns."""
    return await boards.update_task(session, ctx, project_id, task_id, data)


@router.post("/{project_id}/tasks/{task_id}/move", response_model=TaskOut)
async def move_task(
    project_id: uuid.UUID, task_id: uuid.UUID, data: TaskMove, ctx: TeamCtx, session: DbSession
) -> TaskOut:
    """Move a task to a column and position; other tasks close up without gaps."""
    return await boards.move_task(session, ctx, project_id, task_id, data.column_id, data.position)


@router.delete("/{project_id}/tasks/{task_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_task(
    project_id: uuid.UUID, task_id: uuid.UUID, ctx: TeamCtx, session: DbSession
) -> None:
    """Delete a task."""
    await boards.delete_task(session, ctx, project_id, task_id)


# ---------------------------------------------------------------- members and viewers


@router.get("/{project_id}/members", response_model=Page[ProjectMemberOut], responses=CSV_RESPONSES)
async def list_members(
    project_id: uuid.UUID, ctx: TeamCtx, session: DbSession, page: PageQuery, fmt: FormatQuery
) -> Page[ProjectMemberOut] | CsvResponse:
    """Team members of the project and their project role."""
    listing = await service.list_members(session, ctx, project_id)
    filename = "project-members.csv"
    return await list_response(session, listing, page, fmt, PROJECT_MEMBER_CSV, filename)


@router.post(
    "/{project_id}/members", status_code=status.HTTP_201_CREATED, response_model=ProjectMemberOut
)
async def add_member(
    project_id: uuid.UUID, data: ProjectMemberIn, ctx: TeamCtx, session: DbSession
) -> ProjectMemberOut:
    """Add a team member to the project as manager or member."""
    member = await service.add_member(session, ctx, project_id, data.user_id, data.role)
    return ProjectMemberOut.model_validate(member)


@router.patch("/{project_id}/members/{user_id}", response_model=ProjectMemberOut)
async def change_member_role(
    project_id: uuid.UUID,
    user_id: uuid.UUID,
    data: ProjectMemberPatch,
    ctx: TeamCtx,
    session: DbSession,
) -> ProjectMemberOut:
    """Change a member's project role."""
    member = await service.change_member_role(session, ctx, project_id, user_id, data.role)
    return ProjectMemberOut.model_validate(member)


@router.delete("/{project_id}/members/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_member(
    project_id: uuid.UUID, user_id: uuid.UUID, ctx: TeamCtx, session: DbSession
) -> None:
    """Remove a member from the project."""
    await service.remove_member(session, ctx, project_id, user_id)


@router.get("/{project_id}/viewers", response_model=Page[ViewerOut], responses=CSV_RESPONSES)
async def list_viewers(
    project_id: uuid.UUID, ctx: TeamCtx, session: DbSession, page: PageQuery, fmt: FormatQuery
) -> Page[ViewerOut] | CsvResponse:
    """Client contacts who see the project in the portal."""
    listing = await service.list_viewers(session, ctx, project_id)
    filename = "project-viewers.csv"
    return await list_response(session, listing, page, fmt, PROJECT_VIEWER_CSV, filename)


@router.post("/{project_id}/viewers", status_code=status.HTTP_201_CREATED, response_model=ViewerOut)
async def add_viewer(
    project_id: uuid.UUID, data: ViewerIn, ctx: TeamCtx, session: DbSession
) -> ViewerOut:
    """Let a contact of the project's client view the project, or collaborate on it."""
    return ViewerOut.model_validate(
        await service.add_viewer(session, ctx, project_id, data.contact_id, data.role)
    )


@router.patch("/{project_id}/viewers/{contact_id}", response_model=ViewerOut)
async def change_viewer_role(
    project_id: uuid.UUID,
    contact_id: uuid.UUID,
    data: ViewerPatch,
    ctx: TeamCtx,
    session: DbSession,
) -> ViewerOut:
    """Change a viewer's role: `viewer` reads; `collaborator` also comments, requests tasks."""
    viewer = await service.change_viewer_role(session, ctx, project_id, contact_id, data.role)
    return ViewerOut.model_validate(viewer)


@router.delete("/{project_id}/viewers/{contact_id}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_viewer(
    project_id: uuid.UUID, contact_id: uuid.UUID, ctx: TeamCtx, session: DbSession
) -> None:
    """Stop a contact from viewing the project."""
    await service.remove_viewer(session, ctx, project_id, contact_id)

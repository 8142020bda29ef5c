"""Board columns and tasks, with gap-free ordering that survives concurrent moves.

Ordering invariant: in every column, task positions are exactly 0..n-1, and column
positions on a board are 0..m-1. Every change of order first locks the board row (one
lock per board, so no lock-order deadlocks), then re-reads what it renumbers: changes on
one board run one after the other. Unique (column, position) constraints are checked at
commit as a last line of defence.
"""

import uuid
from collections.abc import Sequence
from functools import partial
from typing import TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.context import TeamContext
from app.core.errors import Conflict, Forbidden, NotFound, Unprocessable
from app.core.pagination import Listing
from app.core.permissions import Permission
from app.core.statements import BOUND_CALLER, bound, caller_values, shaped
from app.core.tenancy import get_in_team, team_select
from app.events.record import record_event
from app.projects.models import Board, BoardColumn, ColumnKind, Project, ProjectMember, Task
from app.projects.schemas import (
    BoardColumnOut,
    BoardOut,
    ColumnIn,
    ColumnOut,
    ColumnPatch,
    TaskIn,
    TaskOut,
    TaskPatch,
)
from app.projects.service import get_project
from app.time_tracking.service import tracked_seconds_by_task

Positioned = TypeVar("Positioned", BoardColumn, Task)


async def _board(session: AsyncSession, project: Project) -> Board:
    return (await session.execute(select(Board).where(Board.project_id == project.id))).scalar_one()


async def _task_outs(session: AsyncSession, tasks: Sequence[Task]) -> list[TaskOut]:
    """Tasks as the API shows them: the time tracked on all of them in one query."""
    tracked = await tracked_seconds_by_task(session, [t.id for t in tasks])
    return [TaskOut.of(t, tracked_seconds=tracked.get(t.id, 0)) for t in tasks]


async def _record_task_event(
    session: AsyncSession, event_type: str, project: Project, task: Task
) -> None:
    await record_event(
        session,
        project.team_id,
        event_type,
        await _task_out(session, task) if event_type != "task.deleted" else {"id": task.id},
        client_id=project.client_id,
        project_id=project.id,
    )


async def _task_out(session: AsyncSession, task: Task) -> TaskOut:
    return (await _task_outs(session, [task]))[0]


async def get_board(session: AsyncSession, ctx: TeamContext, project_id: uuid.UUID) -> BoardOut:
    """The board with its columns and tasks in order, each task with its tracked time."""
    project = await get_project(session, ctx, project_id, read=Permission.TASKS_READ)
    board = await _board(session, project)
    columns = list(
        (
            await session.execute(
                select(BoardColumn)
                .where(BoardColumn.board_id == board.id)
                .order_by(BoardColumn.position)
            )
        ).scalars()
    )
    tasks = list(
        (
            await session.execute(
                select(Task)
                .where(Task.project_id == project.id)
                .order_by(Task.column_id, Task.position)
            )
        ).scalars()
    )
    by_column: dict[uuid.UUID, list[TaskOut]] = {c.id: [] for c in columns}
    for task in await _task_outs(session, tasks):
        by_column[task.column_id].append(task)
    return BoardOut(
        id=board.id,
        project_id=board.project_id,
        columns=[
            BoardColumnOut(**ColumnOut.model_validate(c).model_dump(), tasks=by_column[c.id])
            for c in columns
        ],
    )


# ---------------------------------------------------------------- columns


async def _lock_board(session: AsyncSession, board: Board) -> None:
    """Serialise ordering changes of one board. FOR NO KEY UPDATE: inserts that merely
    reference the board (key-share locks) are not blocked."""
    await session.execute(
        select(Board.id).where(Board.id == board.id).with_for_update(key_share=True)
    )


async def _columns(session: AsyncSession, board: Board) -> list[BoardColumn]:
    """The board's columns as they are now (call with the board locked)."""
    rows = await session.execute(
        select(BoardColumn)
        .where(BoardColumn.board_id == board.id)
        .order_by(BoardColumn.position)
        .execution_options(populate_existing=True)
    )
    return list(rows.scalars())


async def _reload(session: AsyncSession, task: Task) -> None:
    found = await session.scalar(
        select(Task.id).where(Task.id == task.id).execution_options(populate_existing=True)
    )
    if found is None:
        raise NotFound("Task")
    await session.refresh(task)


def _find_column(columns: list[BoardColumn], column_id: uuid.UUID) -> BoardColumn:
    column = next((c for c in columns if c.id == column_id), None)
    if column is None:
        raise NotFound("Column")
    return column


def _renumber(items: Sequence[BoardColumn | Task]) -> None:
    for i, item in enumerate(items):
        if item.position != i:
            item.position = i


def _place(items: list[Positioned], item: Positioned, position: int | None) -> None:
    """Put `item` at `position` (past the end or None: last) and renumber the list."""
    items.insert(len(items) if position is None else min(position, len(items)), item)
    _renumber(items)


async def _managed_columns(
    session: AsyncSession, ctx: TeamContext, project_id: uuid.UUID
) -> tuple[Board, list[BoardColumn]]:
    """The columns of a board the caller manages, the board locked for re-ordering."""
    project = await get_project(session, ctx, project_id, write=Permission.PROJECTS_MANAGE)
    board = await _board(session, project)
    await _lock_board(session, board)
    return board, await _columns(session, board)


async def add_column(
    session: AsyncSession, ctx: TeamContext, project_id: uuid.UUID, data: ColumnIn
) -> BoardColumn:
    """A column at `position`, by default the right end; one To do and one Done at most."""
    board, columns = await _managed_columns(session, ctx, project_id)
    if data.kind in (ColumnKind.todo, ColumnKind.done) and any(
        c.kind is data.kind for c in columns
    ):
        raise Conflict(
            f"The board already has a {data.kind.value} column.", code="column_kind_taken"
        )
    column = BoardColumn(
        team_id=ctx.team_id, board_id=board.id, name=data.name, kind=data.kind, position=0
    )
    session.add(column)
    _place(columns, column, data.position)
    await session.flush()
    await session.refresh(column)
    return column


async def update_column(
    session: AsyncSession,
    ctx: TeamContext,
    project_id: uuid.UUID,
    column_id: uuid.UUID,
    patch: ColumnPatch,
) -> BoardColumn:
    """Rename a column or move it among the others."""
    _, columns = await _managed_columns(session, ctx, project_id)
    column = _find_column(columns, column_id)
    fields = patch.changes()
    if "name" in fields:
        column.name = fields["name"]
    if "position" in fields:
        columns.remove(column)
        _place(columns, column, fields["position"])
    await session.flush()
    await session.refresh(column)
    return column


async def delete_column(
    session: AsyncSession, ctx: TeamContext, project_id: uuid.UUID, column_id: uuid.UUID
) -> None:
    """Delete an empty column; the others close up."""
    _, columns = await _managed_columns(session, ctx, project_id)
    column = _find_column(columns, column_id)
    if await session.scalar(select(func.count()).where(Task.column_id == column.id)):
        raise Conflict("Move the column's tasks away first.", code="column_not_empty")
    columns.remove(column)
    await session.delete(column)
    _renumber(columns)
    await session.flush()


# ---------------------------------------------------------------- tasks


async def _writable_project(
    session: AsyncSession, ctx: TeamContext, project_id: uuid.UUID
) -> Project:
    return await get_project(
        session, ctx, project_id, read=Permission.TASKS_READ, write=Permission.TASKS_WRITE
    )


async def _project_task(
    session: AsyncSession, ctx: TeamContext, project: Project, task_id: uuid.UUID
) -> Task:
    return await get_in_team(
        session, Task, ctx, task_id, what="Task", visible=Task.project_id == project.id
    )


async def get_task(
    session: AsyncSession, ctx: TeamContext, project_id: uuid.UUID, task_id: uuid.UUID
) -> TaskOut:
    """A task of a project the caller may see, as the API shows it."""
    project = await get_project(session, ctx, project_id, read=Permission.TASKS_READ)
    return await _task_out(session, await _project_task(session, ctx, project, task_id))


@shaped
def _task_list(column: bool, assignee: bool) -> Select[tuple[Task]]:
    """The tasks list's statement for one shape (`app.core.statements`)."""
    stmt = team_select(Task, BOUND_CALLER).where(
        Task.project_id == bound("project_id", Task.project_id)
    )
    if column:
        stmt = stmt.where(Task.column_id == bound("column_id", Task.column_id))
    if assignee:
        stmt = stmt.where(Task.assignee_id == bound("assignee_id", Task.assignee_id))
    return stmt


async def list_tasks(
    session: AsyncSession,
    ctx: TeamContext,
    project_id: uuid.UUID,
    *,
    column_id: uuid.UUID | None,
    assignee_id: uuid.UUID | None,
) -> Listing[TaskOut]:
    """A project's tasks, filtered."""
    project = await get_project(session, ctx, project_id, read=Permission.TASKS_READ)
    stmt = _task_list(column_id is not None, assignee_id is not None)
    values = {
        **caller_values(ctx),
        "project_id": project.id,
        "column_id": column_id,
        "assignee_id": assignee_id,
    }
    return Listing(stmt, Task, partial(_task_outs, session), values=values)


async def _check_assignee(
    session: AsyncSession, project: Project, user_id: uuid.UUID | None
) -> None:
    if user_id is None:
        return
    if await session.get(ProjectMember, (project.id, user_id)) is None:
        raise Unprocessable(
            "The assignee must be a member of the project.", code="assignee_not_project_member"
        )


async def _locked_column_tasks(session: AsyncSession, column_id: uuid.UUID) -> list[Task]:
    # populate_existing: rows another transaction renumbered before we took the lock
    # must not be read from this session's identity map.
    rows = await session.execute(
        select(Task)
        .where(Task.column_id == column_id)
        .order_by(Task.position)
        .execution_options(populate_existing=True)
    )
    return list(rows.scalars())


async def create_task(
    session: AsyncSession, ctx: TeamContext, project_id: uuid.UUID, data: TaskIn
) -> TaskOut:
    """A task in the given column and position, by default at the end of To do."""
    project = await _writable_project(session, ctx, project_id)
    board = await _board(session, project)
    await _check_assignee(session, project, data.assignee_id)
    await _lock_board(session, board)
    columns = await _columns(session, board)
    if data.column_id is not None:
        column = _find_column(columns, data.column_id)
    else:
        # New tasks go to the To do column, else the first one.
        column = next((c for c in columns if c.kind is ColumnKind.todo), None) or next(
            iter(columns), None
        )
        if column is None:
            raise Unprocessable(
                "The board has no column to put the task in.", code="board_has_no_columns"
            )
    task = Task(
        team_id=ctx.team_id,
        project_id=project.id,
        column_id=column.id,
        title=data.title,
        description=data.description,
        position=0,
        assignee_id=data.assignee_id,
        estimate_seconds=data.estimate_seconds,
    )
    await _insert(session, project, task, data.position)
    return await _task_out(session, task)


async def _insert(
    session: AsyncSession, project: Project, task: Task, position: int | None
) -> None:
    """Put a new task at `position` of its column (the board locked), record it."""
    tasks = await _locked_column_tasks(session, task.column_id)
    session.add(task)
    _place(tasks, task, position)
    await session.flush()
    await session.refresh(task)
    await _record_task_event(session, "task.created", project, task)


async def _move(
    session: AsyncSession,
    ctx: TeamContext,
    board: Board,
    task: Task,
    column_id: uuid.UUID,
    position: int,
) -> Task:
    await _lock_board(session, board)
    target = _find_column(await _columns(session, board), column_id)
    # Re-read the task: another move may have changed it before we got the lock.
    await _reload(session, task)
    source_id = task.column_id
    source = [t for t in await _locked_column_tasks(session, source_id) if t.id != task.id]
    if source_id == target.id:
        _place(source, task, position)
    else:
        destination = await _locked_column_tasks(session, target.id)
        _place(destination, task, position)
        task.column_id = target.id
        _renumber(source)
    await session.flush()
    return task


async def update_task(
    session: AsyncSession,
    ctx: TeamContext,
    project_id: uuid.UUID,
    task_id: uuid.UUID,
    patch: TaskPatch,
) -> TaskOut:
    """Change a task; a new column or position moves it and closes up the gaps."""
    project = await _writable_project(session, ctx, project_id)
    task = await _project_task(session, ctx, project, task_id)
    fields = patch.changes()
    if "assignee_id" in fields:
        await _check_assignee(session, project, fields["assignee_id"])
    column_id, position = fields.pop("column_id", None), fields.pop("position", None)
    for field, value in fields.items():
        setattr(task, field, value)
    if column_id is not None or position is not None:
        board = await _board(session, project)
        await _move(
            session,
            ctx,
            board,
            task,
            column_id or task.column_id,
            position if position is not None else 1 << 30,
        )
    await session.flush()
    await session.refresh(task)
    await _record_task_event(session, "task.updated", project, task)
    return await _task_out(session, task)


async def move_task(
    session: AsyncSession,
    ctx: TeamContext,
    project_id: uuid.UUID,
    task_id: uuid.UUID,
    column_id: uuid.UUID,
    position: int,
) -> TaskOut:
    """Move a task to a column and position."""
    return await update_task(
        session, ctx, project_id, task_id, TaskPatch(column_id=column_id, position=position)
    )


async def delete_task(
    session: AsyncSession, ctx: TeamContext, project_id: uuid.UUID, task_id: uuid.UUID
) -> None:
    """Delete a task; the rest of its column closes up."""
    project = await _writable_project(session, ctx, project_id)
    await _delete(session, project, await _project_task(session, ctx, project, task_id))


async def _delete(session: AsyncSession, project: Project, task: Task) -> None:
    await _lock_board(session, await _board(session, project))
    await _reload(session, task)
    tasks = [t for t in await _locked_column_tasks(session, task.column_id) if t.id != task.id]
    await session.delete(task)
    await session.flush()
    _renumber(tasks)
    await session.flush()
    await _record_task_event(session, "task.deleted", project, task)


# ---------------------------------------------------------------- collaborators' requests


async def create_request(
    session: AsyncSession,
    project: Project,
    contact_id: uuid.UUID,
    title: str,
    description: str | None,
) -> Task:
    """A collaborator contact's task request, at the end of the board's first column; the
    team triages it like any task."""
    board = await _board(session, project)
    await _lock_board(session, board)
    columns = await _columns(session, board)
    if not columns:
        raise Unprocessable(
            "The board has no column to put the task in.", code="board_has_no_columns"
        )
    task = Task(
        team_id=project.team_id,
        project_id=project.id,
        column_id=columns[0].id,
        title=title,
        description=description,
        position=0,
        requested_by_contact_id=contact_id,
    )
    await _insert(session, project, task, None)
    return task


async def _requested(
    session: AsyncSession, project: Project, task_id: uuid.UUID, contact_id: uuid.UUID
) -> Task:
    """A task of the project that this contact requested (403 for any other task)."""
    task = await get_in_team(
        session, Task, project, task_id, what="Task", visible=Task.project_id == project.id
    )
    if task.requested_by_contact_id != contact_id:
        raise Forbidden(
            "A collaborator changes only the tasks it requested.", code="not_your_request"
        )
    return task


async def edit_request(
    session: AsyncSession,
    project: Project,
    task_id: uuid.UUID,
    contact_id: uuid.UUID,
    title: str,
) -> Task:
    """Its requester retitles a request (never moves it)."""
    task = await _requested(session, project, task_id, contact_id)
    task.title = title
    await session.flush()
    await session.refresh(task)
    await _record_task_event(session, "task.updated", project, task)
    return task


async def withdraw_request(
    session: AsyncSession, project: Project, task_id: uuid.UUID, contact_id: uuid.UUID
) -> None:
    """Its requester deletes a request; the rest of its column closes up."""
    await _delete(session, project, await _requested(session, project, task_id, contact_id))

import uuid
from typing import Annotated

from fastapi import Query, Request, status

from app.auth.dependencies import TeamCtx
from app.core.csv_export import (
    CSV_RESPONSES,
    CsvResponse,
    FormatQuery,
    csv_filename,
    list_response,
)
from app.core.deps import DbSession
from app.core.pagination import Page, PageQuery
from app.core.routing import APIRouter
from app.core.schemas import Day, Instant
from app.time_tracking import service
from app.time_tracking.schemas import (
    TIME_ENTRY_CSV,
    TIME_ENTRY_MOVE_CSV,
    TimeEntryIn,
    TimeEntryMoveIn,
    TimeEntryMoveOut,
    TimeEntryOut,
    TimeEntryPatch,
    TimerStart,
)

router = APIRouter(prefix="/teams/{team_id}", tags=["time"])


@router.get("/time-entries", response_model=Page[TimeEntryOut], responses=CSV_RESPONSES)
async def list_entries(
    ctx: TeamCtx,
    session: DbSession,
    page: PageQuery,
    fmt: FormatQuery,
    user_id: uuid.UUID | None = None,
    project_id: uuid.UUID | None = None,
    client_id: uuid.UUID | None = None,
    from_: Annotated[
        Instant | Day | None,
        Query(alias="from", description="Started at or after (a date: in the team's time zone)"),
    ] = None,
    to: Annotated[
        Instant | Day | None,
        Query(description="Started before (a date: up to the end of that day)"),
    ] = None,
    billable: bool | None = None,
    invoiced: bool | None = None,
) -> Page[TimeEntryOut] | CsvResponse:
    """Time entries the caller may see, newest first, with their rates and amounts."""
    filters = service.EntryFilters(
        user_id=user_id,
        project_id=project_id,
        client_id=client_id,
        started_from=from_,
        started_before=to,
        billable=billable,
        invoiced=invoiced,
    )
    listing = await service.list_entries(session, ctx, filters)
    filename = csv_filename("time-entries", from_, to)
    return await list_response(session, listing, page, fmt, TIME_ENTRY_CSV, filename)


@router.post("/time-entries", status_code=status.HTTP_201_CREATED, response_model=TimeEntryOut)
async def create_entry(data: TimeEntryIn, ctx: TeamCtx, session: DbSession) -> TimeEntryOut:
    """Log time by hand (no overlap with the user's entries; within the team's minimum and
    maximum length)."""
    return await service.create_entry(session, ctx, data)


@router.get("/time-entries/{entry_id}", response_model=TimeEntryOut)
async def get_entry(entry_id: uuid.UUID, ctx: TeamCtx, session: DbSession) -> TimeEntryOut:
    """One time entry."""
    return await service.read_entry(session, ctx, entry_id)


@router.patch("/time-entries/{entry_id}", response_model=TimeEntryOut)
async def update_entry(
    entry_id: uuid.UUID, data: TimeEntryPatch, ctx: TeamCtx, session: DbSession
) -> TimeEntryOut:
    """Change an uninvoiced entry."""
    return await service.update_entry(session, ctx, entry_id, data)


@router.delete("/time-entries/{entry_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_entry(entry_id: uuid.UUID, ctx: TeamCtx, session: DbSession) -> None:
    """Delete an uninvoiced entry."""
    await service.delete_entry(session, ctx, entry_id)


@router.post("/time-entries/{entry_id}/move", response_model=TimeEntryOut)
async def move_entry(
    entry_id: uuid.UUID, data: TimeEntryMoveIn, request: Request, ctx: TeamCtx, session: DbSession
) -> TimeEntryOut:
    """Move an uninvoiced entry to another project; who, when, from, to and why are kept."""
    ip = request.client.host if request.client else None
    return await service.move_entry(session, ctx, entry_id, data, ip)


@router.get(
    "/time-entries/{entry_id}/history",
    response_model=Page[TimeEntryMoveOut],
    responses=CSV_RESPONSES,
)
async def entry_history(
    entry_id: uuid.UUID, ctx: TeamCtx, session: DbSession, page: PageQuery, fmt: FormatQuery
) -> Page[TimeEntryMoveOut] | CsvResponse:
    """The entry's moves between projects, oldest first."""
    listing = await service.entry_history(session, ctx, entry_id)
    filename = "time-entry-history.csv"
    return await list_response(session, listing, page, fmt, TIME_ENTRY_MOVE_CSV, filename)


@router.get("/timer", response_model=TimeEntryOut)
async def get_timer(ctx: TeamCtx, session: DbSession) -> TimeEntryOut:
    """The caller's running entry, or 404."""
    return await service.get_timer(session, ctx)


@router.post("/timer/start", status_code=status.HTTP_201_CREATED, response_model=TimeEntryOut)
async def start_timer(
    data: TimerStart,
    ctx: TeamCtx,
    session: DbSession,
    switch: Annotated[bool, Query(description="Stop a running timer first")] = False,
) -> TimeEntryOut:
    """Start the caller's timer."""
    return await service.start_timer(session, ctx, data, switch=switch)


@router.post("/timer/stop", response_model=TimeEntryOut)
async def stop_timer(ctx: TeamCtx, session: DbSession) -> TimeEntryOut:
    """Stop the caller's timer and return the finished entry (ended at the team's longest
    entry if it ran longer)."""
    return await service.stop_timer(session, ctx)

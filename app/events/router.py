from typing import Annotated

from fastapi import APIRouter, Query

from app.auth.dependencies import TeamCtx
from app.core.deps import DbSession
from app.core.pagination import Page
from app.core.schemas import Instant
from app.events import service
from app.events.schemas import EventOut

router = APIRouter(prefix="/teams/{team_id}/events", tags=["events"])


@router.get("", response_model=Page[EventOut])
async def list_events(
    ctx: TeamCtx,
    session: DbSession,
    after: Annotated[
        int | None,
        Query(ge=0, le=service.MAX_ID, description="Only events after this id (the last read)"),
    ] = None,
    types: Annotated[
        str | None,
        Query(
            max_length=1000,
            pattern=service.TYPES_PATTERN,
            description="Comma-separated types (`invoice.paid`) or wildcards (`time_entry.*`); "
            "a type that is never recorded matches nothing",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200, description="Page size")] = 50,
    cursor: Annotated[
        str | None, Query(max_length=30, description="`next_cursor` of the previous page")
    ] = None,
    updated_since: Annotated[
        Instant | None, Query(description="Only events recorded at or after this instant")
    ] = None,
) -> Page[EventOut]:
    """Events the caller's role may see, oldest first; resume with `after` = the last id."""
    query = service.EventQuery(
        after=service.cursor_after(after, cursor),
        types=types,
        limit=limit,
        updated_since=updated_since,
    )
    return await service.list_events(session, ctx, query)

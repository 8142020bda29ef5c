from dataclasses import replace
from typing import Annotated, Any

from fastapi import Header, Query, Request
from sse_starlette import EventSourceResponse

from app.auth.dependencies import BearerToken, TeamCtx
from app.core.csv_export import CSV_RESPONSES, CsvResponse, FormatQuery, every_page
from app.core.deps import DbSession, SecretsDep
from app.core.pagination import Page
from app.core.routing import APIRouter
from app.core.schemas import Instant
from app.events import service
from app.events.schemas import EVENT_CSV, EventOut
from app.events.stream import EventStreams, StreamRequest, TeamAudience

router = APIRouter(prefix="/teams/{team_id}/events", tags=["events"])

EVENT_STREAM = "text/event-stream"
SEND_TIMEOUT_SECONDS = 30

_STREAM_DOC: dict[str, Any] = {
    "description": "With `Accept: text/event-stream`: a server-sent event stream of the same "
    "events as they are recorded (`id:` the event id, `event:` its type, `data:` the event "
    "as in the list). Resume with `Last-Event-ID` (or `after`); without either it starts "
    "now. A comment line every 15 s keeps proxies open; the stream ends when the "
    "credentials lapse or are revoked. 429 `too_many_streams` past 5 open streams per "
    "user (or API key) or 20 per team. With `?format=csv` (or `Accept: text/csv`): every "
    "matching event as CSV (`data` as one JSON cell).",
    "content": {
        EVENT_STREAM: {"schema": {"type": "string"}},
        **CSV_RESPONSES[200]["content"],
    },
}


def _wants_stream(request: Request) -> bool:
    return EVENT_STREAM in request.headers.get("accept", "")


@router.get("", response_model=Page[EventOut], responses={200: _STREAM_DOC})
async def list_events(
    ctx: TeamCtx,
    session: DbSession,
    request: Request,
    token: BearerToken,
    secrets: SecretsDep,
    fmt: FormatQuery,
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
    last_event_id: Annotated[
        str | None,
        Header(
            alias="Last-Event-ID",
            max_length=30,
            description="The stream only: the last event id received (browsers send it "
            "when they reconnect); it wins over `after`",
        ),
    ] = None,
) -> Page[EventOut] | EventSourceResponse | CsvResponse:
    """Events the caller's role may see, oldest first; resume with `after` = the last id."""
    if _wants_stream(request):
        streams: EventStreams = request.app.state.event_streams
        resume = service.cursor_after(None, last_event_id) if last_event_id else after
        claims = secrets.decode_access_token(token)
        events = await streams.open(
            TeamAudience(streams, ctx, token),
            StreamRequest(
                after=resume,
                types=types,
                expires_at=float(claims["exp"]) if claims else None,
            ),
        )
        # A client that stops reading for this long is dropped (it reconnects with its
        # last id); keep-alives come from the stream itself.
        return EventSourceResponse(events, ping=0, send_timeout=SEND_TIMEOUT_SECONDS)
    query = service.EventQuery(
        after=service.cursor_after(after, cursor),
        types=types,
        limit=limit,
        updated_since=updated_since,
    )
    if fmt.csv:
        # Every event after `after`, page by page (the record only grows).
        async def read(next_cursor: str | None) -> Page[EventOut]:
            resumed = service.cursor_after(query.after, next_cursor)
            return await service.list_events(
                session, ctx, replace(query, after=resumed, limit=service.MAX_LIMIT)
            )

        return CsvResponse(session, EVENT_CSV, every_page(read), "events.csv")
    return await service.list_events(session, ctx, query)

"""The client portal under /v1/portal: a contact signs in by emailed link and sees its
projects, their time and its client's invoices."""

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Annotated, Any

from fastapi import Header, Query, Request, Response, status
from sse_starlette import EventSourceResponse

from app.auth.dependencies import PortalCtx, PortalToken
from app.core.csv_export import (
    CSV_RESPONSES,
    CsvColumns,
    CsvResponse,
    FormatQuery,
    csv_filename,
    every_page,
)
from app.core.deps import DbSession, RedisDep, SecretsDep, SettingsDep
from app.core.openapi import PDF_RESPONSE
from app.core.pagination import Page, PageParams, PageQuery
from app.core.responses import pdf_response
from app.core.routing import APIRouter
from app.core.schemas import Day
from app.events.service import MAX_ID, cursor_after
from app.events.stream import EventStreams, StreamRequest
from app.payments.schemas import CheckoutIn
from app.portal import requests, service, views
from app.portal.schemas import (
    PORTAL_INVOICE_CSV,
    PORTAL_PROJECT_CSV,
    PORTAL_TASK_CSV,
    PORTAL_TIME_ENTRY_CSV,
    LoginLinkAccepted,
    LoginLinkIn,
    PortalCheckout,
    PortalEvent,
    PortalInvoice,
    PortalMe,
    PortalProject,
    PortalSessionOut,
    PortalTask,
    PortalTaskRequestIn,
    PortalTaskRequestPatch,
    PortalTimeEntry,
    PortalTimeReport,
    ReportGroup,
    SessionIn,
)
from app.portal.stream import PortalAudience

router = APIRouter(prefix="/portal", tags=["portal"])

SEND_TIMEOUT_SECONDS = 30
# Rows read per page of a CSV export.
CSV_PAGE = 200

From = Annotated[
    Day | None, Query(alias="from", description="From this day (the team's time zone)")
]
To = Annotated[Day | None, Query(description="Up to the end of this day")]


@router.post("/login-links", status_code=status.HTTP_202_ACCEPTED, response_model=LoginLinkAccepted)
async def request_login_links(
    data: LoginLinkIn,
    request: Request,
    session: DbSession,
    redis: RedisDep,
    settings: SettingsDep,
) -> LoginLinkAccepted:
    """Email a login link to each contact with portal access and this address; the answer
    is the same for any address."""
    client_ip = request.client.host if request.client else "unknown"
    return await service.request_login_links(session, redis, settings, data.email, client_ip)


@router.post("/sessions", status_code=status.HTTP_201_CREATED, response_model=PortalSessionOut)
async def create_session(
    data: SessionIn, session: DbSession, secrets: SecretsDep, settings: SettingsDep
) -> PortalSessionOut:
    """Exchange a login link's token (once, within 30 minutes) for a portal session."""
    return await service.open_session(session, secrets, settings, data.token)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(ctx: PortalCtx, session: DbSession) -> None:
    """End this portal session."""
    await service.close_session(session, ctx)


@router.get("/me", response_model=PortalMe)
async def get_me(ctx: PortalCtx, session: DbSession) -> PortalMe:
    """The signed-in contact, its client and the team."""
    return await service.me(session, ctx)


def _csv(
    session: DbSession,
    columns: CsvColumns[Any],
    read: Callable[[PageParams], Awaitable[Page[Any]]],
    page: PageParams,
    filename: str,
) -> CsvResponse:
    """Every row of a portal list as CSV: its pages read one after the other."""
    return CsvResponse(
        session,
        columns,
        every_page(lambda cursor: read(replace(page, limit=CSV_PAGE, cursor=cursor))),
        filename,
    )


@router.get("/projects", response_model=Page[PortalProject], responses=CSV_RESPONSES)
async def list_projects(
    ctx: PortalCtx, session: DbSession, page: PageQuery, fmt: FormatQuery
) -> Page[PortalProject] | CsvResponse:
    """The projects the contact views."""

    async def read(params: PageParams) -> Page[PortalProject]:
        return await views.list_projects(session, ctx, params)

    if fmt.csv:
        return _csv(session, PORTAL_PROJECT_CSV, read, page, "projects.csv")
    return await read(page)


@router.get("/projects/{project_id}", response_model=PortalProject)
async def get_project(project_id: uuid.UUID, ctx: PortalCtx, session: DbSession) -> PortalProject:
    """A project the contact views: status, progress, tracked time, budget."""
    return await views.read_project(session, ctx, project_id)


@router.get(
    "/projects/{project_id}/tasks", response_model=Page[PortalTask], responses=CSV_RESPONSES
)
async def list_tasks(
    project_id: uuid.UUID, ctx: PortalCtx, session: DbSession, page: PageQuery, fmt: FormatQuery
) -> Page[PortalTask] | CsvResponse:
    """The tasks of a project the contact views, with their column."""

    async def read(params: PageParams) -> Page[PortalTask]:
        return await views.list_tasks(session, ctx, project_id, params)

    if fmt.csv:
        await read(page)  # a project it does not view is a 404 before the first byte
        return _csv(session, PORTAL_TASK_CSV, read, page, "tasks.csv")
    return await read(page)


@router.post(
    "/projects/{project_id}/tasks", status_code=status.HTTP_201_CREATED, response_model=PortalTask
)
async def request_task(
    project_id: uuid.UUID, data: PortalTaskRequestIn, ctx: PortalCtx, session: DbSession
) -> PortalTask:
    """A collaborator asks for a task: it joins the end of the first column for the team."""
    return await requests.request_task(session, ctx, project_id, data)


@router.patch("/projects/{project_id}/tasks/{task_id}", response_model=PortalTask)
async def update_task_request(
    project_id: uuid.UUID,
    task_id: uuid.UUID,
    data: PortalTaskRequestPatch,
    ctx: PortalCtx,
    session: DbSession,
) -> PortalTask:
    """Retitle a task one requested (no other task; never move it)."""
    return await requests.edit_request(session, ctx, project_id, task_id, data)


@router.delete("/projects/{project_id}/tasks/{task_id}", status_code=status.HTTP_204_NO_CONTENT)
async def withdraw_task_request(
    project_id: uuid.UUID, task_id: uuid.UUID, ctx: PortalCtx, session: DbSession
) -> None:
    """Withdraw a task one requested."""
    await requests.withdraw_request(session, ctx, project_id, task_id)


@router.get("/time-entries", response_model=Page[PortalTimeEntry], responses=CSV_RESPONSES)
async def list_time_entries(
    ctx: PortalCtx,
    session: DbSession,
    page: PageQuery,
    fmt: FormatQuery,
    project_id: uuid.UUID | None = None,
    from_: From = None,
    to: To = None,
) -> Page[PortalTimeEntry] | CsvResponse:
    """Time on the contact's projects, newest first: day, seconds, note, who."""

    async def read(params: PageParams) -> Page[PortalTimeEntry]:
        return await views.list_time_entries(
            session, ctx, params, project_id=project_id, start=from_, end=to
        )

    if fmt.csv:
        await read(page)  # refusals (a period, a project) before the first byte
        filename = csv_filename("time-entries", from_, to)
        return _csv(session, PORTAL_TIME_ENTRY_CSV, read, page, filename)
    return await read(page)


@router.get("/time-report", response_model=PortalTimeReport)
async def time_report(
    ctx: PortalCtx,
    session: DbSession,
    group_by: ReportGroup = ReportGroup.project,
    from_: From = None,
    to: To = None,
) -> PortalTimeReport:
    """Time on the contact's projects by project, day or week (the team's time zone)."""
    return await views.time_report(session, ctx, group_by=group_by, start=from_, end=to)


@router.get("/invoices", response_model=Page[PortalInvoice], responses=CSV_RESPONSES)
async def list_invoices(
    ctx: PortalCtx, session: DbSession, settings: SettingsDep, page: PageQuery, fmt: FormatQuery
) -> Page[PortalInvoice] | CsvResponse:
    """The client's issued invoices, newest first."""

    async def read(params: PageParams) -> Page[PortalInvoice]:
        return await views.list_invoices(session, ctx, settings, params)

    if fmt.csv:
        return _csv(session, PORTAL_INVOICE_CSV, read, page, "invoices.csv")
    return await read(page)


@router.get("/invoices/{invoice_id}", response_model=PortalInvoice)
async def get_invoice(
    invoice_id: uuid.UUID, ctx: PortalCtx, session: DbSession, settings: SettingsDep
) -> PortalInvoice:
    """One issued invoice of the client, with its payment state."""
    return await views.read_invoice(session, ctx, settings, invoice_id)


@router.get(
    "/invoices/{invoice_id}/pdf",
    response_class=Response,
    responses={200: PDF_RESPONSE},
)
async def get_invoice_pdf(
    invoice_id: uuid.UUID, ctx: PortalCtx, session: DbSession, settings: SettingsDep
) -> Response:
    """The invoice as a PDF."""
    content, filename = await views.invoice_document(session, ctx, settings, invoice_id)
    return pdf_response(content, filename)


@router.post("/invoices/{invoice_id}/checkout", response_model=PortalCheckout)
async def checkout_invoice(
    invoice_id: uuid.UUID,
    data: CheckoutIn,
    ctx: PortalCtx,
    session: DbSession,
    settings: SettingsDep,
) -> PortalCheckout:
    """A provider payment page (Stripe Checkout or a crypto order) for what is due."""
    return await views.checkout(session, ctx, settings, invoice_id, data.provider)


@router.get(
    "/events",
    response_class=EventSourceResponse,
    responses={
        200: {
            "description": "A server-sent event stream (`id:`, `event:`, `data:` a portal "
            "event) of what the contact may see: its projects, their tasks, finished time and "
            "client comments (never internal ones), its client's issued invoices and their "
            "payments, each as the portal shows it. "
            "Resume with `Last-Event-ID` (or `after`); without either it starts now. A "
            "comment line every 15 s; the stream ends with the session. 429 "
            "`too_many_streams` past 5 per contact.",
            "content": {"text/event-stream": {"schema": PortalEvent.model_json_schema()}},
        }
    },
)
async def stream_events(
    ctx: PortalCtx,
    token: PortalToken,
    request: Request,
    after: Annotated[
        int | None, Query(ge=0, le=MAX_ID, description="Only events after this id")
    ] = None,
    last_event_id: Annotated[
        str | None,
        Header(alias="Last-Event-ID", max_length=30, description="The last event id received"),
    ] = None,
) -> EventSourceResponse:
    """The contact's live updates, as server-sent events."""
    streams: EventStreams = request.app.state.event_streams
    resume = cursor_after(None, last_event_id) if last_event_id else after
    events = await streams.open(
        PortalAudience(streams, ctx, token), StreamRequest(after=resume, types=None)
    )
    return EventSourceResponse(events, ping=0, send_timeout=SEND_TIMEOUT_SECONDS)

"""What a signed-in contact sees: the projects it views, their tasks and time, its
client's issued invoices (with their PDF and checkout).

A project is visible while the contact is one of its viewers and it belongs to the
contact's client; an invoice while it is its client's and not a draft. Anything else is
a 404, exactly like a missing id. Every statement is also scoped to the contact's team,
and the transaction is confined to it by row-level security.
"""

import uuid
from datetime import date
from typing import Any
from typing import cast as cast_type

from pydantic import BaseModel
from sqlalchemy import ColumnElement, Date, Select, Uuid, bindparam, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import User
from app.clients.models import Client
from app.comments.service import client_comment_counts, portal_comments_by_id
from app.config import Settings
from app.core.clock import period_bounds, today_in
from app.core.context import PortalContext
from app.core.errors import Unprocessable
from app.core.pagination import Page, PageParams, paginate
from app.core.schemas import MAX_PERIOD_DAYS
from app.core.statements import Bound, bound, shaped, team_values
from app.core.tenancy import get_in_team, in_team, same_team, team_select
from app.invoices.models import Invoice, InvoiceStatus
from app.invoices.payment_methods import usable_methods
from app.invoices.pdf import invoice_pdf
from app.invoices.service import is_overdue, lines_of
from app.payments.checkout import start_checkout
from app.payments.models import Payment
from app.payments.schemas import Provider
from app.portal.schemas import (
    PortalCheckout,
    PortalColumn,
    PortalEvent,
    PortalInvoice,
    PortalInvoiceLine,
    PortalPayment,
    PortalProject,
    PortalReportRow,
    PortalReportTotals,
    PortalTask,
    PortalTimeEntry,
    PortalTimeReport,
    Progress,
    ReportGroup,
)
from app.projects.models import BoardColumn, ColumnKind, Project, Task
from app.projects.viewing import viewed_project_ids
from app.teams.models import Team
from app.teams.service import team_by_id
from app.time_tracking.models import TimeEntry

# ---------------------------------------------------------------- the bound contact

# The contact while a list statement is built (as `app.core.statements.BOUND_CALLER` is
# a team's caller): its team, its own id and its client's are bind parameters, each
# request gives their values (`contact_values`).
BOUND_CONTACT = PortalContext(
    session_id=bindparam("portal_session_id", type_=Uuid),  # type: ignore[arg-type]
    team_id=Bound.team,  # type: ignore[arg-type]
    contact_id=bindparam("contact_id", type_=Uuid),  # type: ignore[arg-type]
    client_id=bindparam("client_id", type_=Uuid),  # type: ignore[arg-type]
)


def contact_values(ctx: PortalContext) -> dict[str, Any]:
    """The values of `BOUND_CONTACT` for a request's contact."""
    return {
        **team_values(ctx.team_id),
        "portal_session_id": ctx.session_id,
        "contact_id": ctx.contact_id,
        "client_id": ctx.client_id,
    }


# ---------------------------------------------------------------- projects


def _visible_project(ctx: PortalContext) -> ColumnElement[bool]:
    return Project.id.in_(viewed_project_ids(ctx))


async def _project(session: AsyncSession, ctx: PortalContext, project_id: uuid.UUID) -> Project:
    return await get_in_team(
        session, Project, ctx, project_id, what="Project", visible=_visible_project(ctx)
    )


async def _project_outs(
    session: AsyncSession, ctx: PortalContext, projects: list[Project]
) -> list[PortalProject]:
    """Projects with their progress and tracked time, in two queries."""
    ids = [p.id for p in projects]
    counts: dict[uuid.UUID, tuple[int, int]] = {}
    tracked: dict[uuid.UUID, int] = {}
    if ids:
        done = func.count().filter(BoardColumn.kind == ColumnKind.done)
        for project_id, total, finished in await session.execute(
            select(Task.project_id, func.count(), done)
            .join(BoardColumn, same_team(BoardColumn, Task) & (BoardColumn.id == Task.column_id))
            .where(in_team(Task, ctx), Task.project_id.in_(ids))
            .group_by(Task.project_id)
        ):
            counts[project_id] = (total, finished)
        for project_id, seconds in await session.execute(
            select(TimeEntry.project_id, func.sum(TimeEntry.duration_seconds))
            .where(
                in_team(TimeEntry, ctx),
                TimeEntry.project_id.in_(ids),
                TimeEntry.ended_at.isnot(None),
            )
            .group_by(TimeEntry.project_id)
        ):
            tracked[project_id] = int(seconds or 0)
    comments = await client_comment_counts(session, ctx, projects=ids)
    outs = []
    for project in projects:
        total, finished = counts.get(project.id, (0, 0))
        outs.append(
            PortalProject(
                id=project.id,
                name=project.name,
                status=project.status,
                progress=Progress(done_tasks=finished, total_tasks=total),
                tracked_seconds=tracked.get(project.id, 0),
                budget_seconds=project.budget_seconds,
                comment_count=comments.get(project.id, 0),
                created_at=project.created_at,
                updated_at=project.updated_at,
            )
        )
    return outs


@shaped
def _project_list() -> Select[Any]:
    """The portal's projects list (`app.core.statements`; it has one shape)."""
    return team_select(Project, BOUND_CONTACT).where(_visible_project(BOUND_CONTACT))


async def list_projects(
    session: AsyncSession, ctx: PortalContext, params: PageParams
) -> Page[PortalProject]:
    """The projects the contact views, one page."""
    found = await paginate(
        session, _project_list(), params, model=Project, values=contact_values(ctx)
    )
    return found.page(await _project_outs(session, ctx, found.rows))


async def read_project(
    session: AsyncSession, ctx: PortalContext, project_id: uuid.UUID
) -> PortalProject:
    """One project the contact views."""
    return (await _project_outs(session, ctx, [await _project(session, ctx, project_id)]))[0]


@shaped
def _task_list() -> Select[Any]:
    """The portal's tasks list of a project (one the contact views: `list_tasks` loads it)."""
    return team_select(Task, BOUND_CONTACT).where(
        Task.project_id == bound("project_id", Task.project_id)
    )


async def list_tasks(
    session: AsyncSession, ctx: PortalContext, project_id: uuid.UUID, params: PageParams
) -> Page[PortalTask]:
    """The tasks of a project the contact views, with the column each is in."""
    project = await _project(session, ctx, project_id)
    values = {**contact_values(ctx), "project_id": project.id}
    found = await paginate(session, _task_list(), params, model=Task, values=values)
    return found.page(await task_outs(session, ctx, found.rows))


async def task_outs(
    session: AsyncSession, ctx: PortalContext, tasks: list[Task]
) -> list[PortalTask]:
    """Tasks with the column each is in (title and kind only)."""
    found_columns = await session.scalars(
        team_select(BoardColumn, ctx).where(BoardColumn.id.in_({t.column_id for t in tasks}))
    )
    columns: dict[uuid.UUID, BoardColumn] = {c.id: c for c in cast_type(Any, found_columns)}
    comments = await client_comment_counts(session, ctx, tasks=[t.id for t in tasks])
    return [
        PortalTask(
            id=t.id,
            title=t.title,
            column=PortalColumn.model_validate(columns[t.column_id]),
            position=t.position,
            requested=t.requested_by_contact_id is not None,
            comment_count=comments.get(t.id, 0),
            created_at=t.created_at,
            updated_at=t.updated_at,
        )
        for t in tasks
    ]


# ---------------------------------------------------------------- time


def _period(start: date | None, end: date | None) -> None:
    if start is not None and end is not None:
        if start > end:
            raise Unprocessable("`from` is after `to`.", code="invalid_period")
        if (end - start).days >= MAX_PERIOD_DAYS:
            raise Unprocessable(
                f"A period covers at most {MAX_PERIOD_DAYS} days.", code="period_too_long"
            )


async def _entry_values(
    session: AsyncSession,
    ctx: PortalContext,
    project_id: uuid.UUID | None,
    start: date | None,
    end: date | None,
) -> dict[str, Any]:
    """The values of the time filters (`_entry_filters`): the project (404 if the contact
    does not view it), the period as instants (refused when upside down or too long) and
    the team's time zone (`tz`)."""
    _period(start, end)
    if project_id is not None:
        await _project(session, ctx, project_id)
    tz = (await team_by_id(session, ctx.team_id)).timezone
    started_from, started_before = period_bounds(tz, start, end)
    return {
        "project_id": project_id,
        "started_from": started_from,
        "started_before": started_before,
        "tz": tz,
    }


def _entry_filters(
    ctx: PortalContext, project_id: Any, started_from: Any, started_before: Any
) -> list[ColumnElement[bool]]:
    """Filters on `TimeEntry`: finished time on the contact's projects (or one of them)
    in the period; a None filter is not set. Values or bind parameters."""
    where = [
        in_team(TimeEntry, ctx),
        TimeEntry.ended_at.isnot(None),
        TimeEntry.project_id.in_(viewed_project_ids(ctx)),
    ]
    if project_id is not None:
        where.append(TimeEntry.project_id == project_id)
    if started_from is not None:
        where.append(TimeEntry.started_at >= started_from)
    if started_before is not None:
        where.append(TimeEntry.started_at < started_before)
    return where


@shaped
def _time_list(project: bool, since: bool, before: bool) -> Select[Any]:
    """The portal's time list for one shape: which of its filters are set."""
    where = _entry_filters(
        BOUND_CONTACT,
        bound("project_id", TimeEntry.project_id) if project else None,
        bound("started_from", TimeEntry.started_at) if since else None,
        bound("started_before", TimeEntry.started_at) if before else None,
    )
    return _entries_shown(bound("tz", Team.timezone)).where(*where)


async def list_time_entries(
    session: AsyncSession,
    ctx: PortalContext,
    params: PageParams,
    *,
    project_id: uuid.UUID | None,
    start: date | None,
    end: date | None,
) -> Page[PortalTimeEntry]:
    """Finished time on the contact's projects, newest first: day, length, note and who."""
    filters = await _entry_values(session, ctx, project_id, start, end)
    stmt = _time_list(
        filters["project_id"] is not None,
        filters["started_from"] is not None,
        filters["started_before"] is not None,
    )
    found = await paginate(
        session,
        stmt,
        params,
        model=TimeEntry,
        order_by=[TimeEntry.started_at],
        descending=True,
        values={**contact_values(ctx), **filters},
    )
    return found.page_of(PortalTimeEntry)


def _entries_shown(tz: Any) -> Any:
    """Time entries as the portal shows them: day (in `tz`, a zone's name or a bind
    parameter), length, note and who."""
    local_day = cast(func.timezone(tz, TimeEntry.started_at), Date)
    return select(
        TimeEntry.id,
        TimeEntry.started_at,
        TimeEntry.updated_at,
        TimeEntry.project_id,
        local_day.label("date"),
        TimeEntry.duration_seconds.label("seconds"),
        TimeEntry.note,
        User.name.label("member_name"),
    ).join(User, User.id == TimeEntry.user_id)


async def time_report(
    session: AsyncSession,
    ctx: PortalContext,
    *,
    group_by: ReportGroup,
    start: date | None,
    end: date | None,
) -> PortalTimeReport:
    """Tracked seconds on the contact's projects by project, day or ISO week (Monday),
    days cut in the team's time zone."""
    filters = await _entry_values(session, ctx, None, start, end)
    tz = filters["tz"]
    where = _entry_filters(ctx, None, filters["started_from"], filters["started_before"])
    local = func.timezone(tz, TimeEntry.started_at)
    seconds = func.sum(TimeEntry.duration_seconds)
    rows: list[PortalReportRow] = []
    if group_by is ReportGroup.project:
        for project_id, name, total in await session.execute(
            select(Project.id, Project.name, seconds)
            .join(Project, same_team(Project, TimeEntry) & (Project.id == TimeEntry.project_id))
            .where(*where)
            .group_by(Project.id, Project.name)
            .order_by(Project.name, Project.id)
        ):
            rows.append(PortalReportRow(key=str(project_id), label=name, seconds=int(total or 0)))
    else:
        unit = "day" if group_by is ReportGroup.day else "week"
        bucket = cast(func.date_trunc(unit, local), Date).label("bucket")
        for day, total in await session.execute(
            select(bucket, seconds).where(*where).group_by(bucket).order_by(bucket)
        ):
            label = day.isoformat()
            if group_by is ReportGroup.week:
                year, week, _ = day.isocalendar()
                label = f"{year}-W{week:02d}"
            rows.append(PortalReportRow(key=day.isoformat(), label=label, seconds=int(total or 0)))
    return PortalTimeReport.model_validate(
        {
            "from": start,
            "to": end,
            "group_by": group_by,
            "rows": rows,
            "totals": PortalReportTotals(seconds=sum(r.seconds for r in rows)),
        }
    )


# ---------------------------------------------------------------- invoices


def _visible_invoice(ctx: PortalContext) -> ColumnElement[bool]:
    return (Invoice.client_id == ctx.client_id) & (Invoice.status != InvoiceStatus.draft)


async def _invoice(session: AsyncSession, ctx: PortalContext, invoice_id: uuid.UUID) -> Invoice:
    return await get_in_team(
        session, Invoice, ctx, invoice_id, what="Invoice", visible=_visible_invoice(ctx)
    )


async def _invoice_outs(
    session: AsyncSession, ctx: PortalContext, settings: Settings, invoices: list[Invoice]
) -> list[PortalInvoice]:
    lines = await lines_of(session, [i.id for i in invoices])
    today = today_in((await team_by_id(session, ctx.team_id)).timezone)
    client = await get_in_team(session, Client, ctx, ctx.client_id, what="Client")
    methods = usable_methods(settings, client)
    outs = []
    for invoice in invoices:
        due = invoice.total_amount - invoice.amount_paid
        outs.append(
            PortalInvoice(
                id=invoice.id,
                number=invoice.number,
                status=invoice.status,
                overdue=is_overdue(invoice, today),
                currency=invoice.currency,
                issue_date=invoice.issue_date,
                due_date=invoice.due_date,
                period_start=invoice.period_start,
                period_end=invoice.period_end,
                lines=[
                    PortalInvoiceLine(
                        description=line.description,
                        quantity_seconds=line.quantity_seconds,
                        quantity=line.quantity,
                        unit_amount=line.unit_amount,
                        amount=line.amount,
                        tax_amount=line.tax_amount,
                    )
                    for line in lines[invoice.id]
                ],
                subtotal_amount=invoice.subtotal_amount,
                discount_amount=invoice.discount_amount,
                tax_amount=invoice.tax_amount,
                total_amount=invoice.total_amount,
                amount_paid=invoice.amount_paid,
                amount_due=due,
                paid_at=invoice.paid_at,
                payment_methods=methods if invoice.status is InvoiceStatus.open and due > 0 else [],
                created_at=invoice.created_at,
                updated_at=invoice.updated_at,
            )
        )
    return outs


@shaped
def _invoice_list() -> Select[Any]:
    """The portal's invoices list (one shape): the client's issued invoices."""
    return team_select(Invoice, BOUND_CONTACT).where(_visible_invoice(BOUND_CONTACT))


async def list_invoices(
    session: AsyncSession, ctx: PortalContext, settings: Settings, params: PageParams
) -> Page[PortalInvoice]:
    """The client's issued invoices (open, paid, void), newest first."""
    found = await paginate(
        session,
        _invoice_list(),
        params,
        model=Invoice,
        order_by=[Invoice.created_at],
        descending=True,
        values=contact_values(ctx),
    )
    return found.page(await _invoice_outs(session, ctx, settings, found.rows))


async def read_invoice(
    session: AsyncSession, ctx: PortalContext, settings: Settings, invoice_id: uuid.UUID
) -> PortalInvoice:
    """One issued invoice of the client."""
    invoice = await _invoice(session, ctx, invoice_id)
    return (await _invoice_outs(session, ctx, settings, [invoice]))[0]


async def invoice_document(
    session: AsyncSession, ctx: PortalContext, settings: Settings, invoice_id: uuid.UUID
) -> tuple[bytes, str]:
    """The PDF of an issued invoice of the client, and its file name."""
    invoice = await _invoice(session, ctx, invoice_id)
    return await invoice_pdf(session, settings, invoice), f"{invoice.number or invoice.id}.pdf"


async def checkout(
    session: AsyncSession,
    ctx: PortalContext,
    settings: Settings,
    invoice_id: uuid.UUID,
    provider: Provider,
) -> PortalCheckout:
    """A provider payment page for what an open invoice of the client still owes (the
    client's allowed methods, as on the pay link)."""
    invoice = await _invoice(session, ctx, invoice_id)
    client = await get_in_team(session, Client, ctx, ctx.client_id, what="Client")
    started = await start_checkout(session, settings, invoice, client, provider)
    return PortalCheckout(
        url=started.url, provider=provider, amount=started.amount, currency=started.currency
    )


# ---------------------------------------------------------------- events

# The objects whose events a contact hears, with the rule that decides which.
EVENT_OBJECTS = frozenset({"project", "task", "time_entry", "invoice", "payment", "comment"})


async def event_views(
    session: AsyncSession, ctx: PortalContext, settings: Settings, rows: list[Any]
) -> list[PortalEvent]:
    """The event rows the contact may see, each with the object as the portal shows it
    now (the projects it views, their tasks and finished time, its client's issued
    invoices and their payments); a deletion as `{id}`, when the object's project is
    one it views. A project deleted outright cannot be told apart from one it never
    viewed, so it is not shown. A few queries per batch, whatever its size."""
    rows = [r for r in rows if r.object_type in EVENT_OBJECTS]
    if not rows:
        return []
    viewed = set(await session.scalars(viewed_project_ids(ctx)))
    wanted: dict[str, set[uuid.UUID]] = {kind: set() for kind in EVENT_OBJECTS}
    for r in rows:
        # A deleted comment stays as a tombstone: read like the others, visibility and all.
        if (not r.type.endswith(".deleted") or r.object_type == "comment") and r.object_id:
            wanted[r.object_type].add(r.object_id)
    shown: dict[uuid.UUID, BaseModel] = {}
    if wanted["project"] & viewed:
        projects = await session.scalars(
            team_select(Project, ctx).where(Project.id.in_(wanted["project"] & viewed))
        )
        shown.update(
            (p.id, p) for p in await _project_outs(session, ctx, list(cast_type(Any, projects)))
        )
    if wanted["task"]:
        tasks = await session.scalars(
            team_select(Task, ctx).where(Task.id.in_(wanted["task"]), Task.project_id.in_(viewed))
        )
        shown.update((t.id, t) for t in await task_outs(session, ctx, list(cast_type(Any, tasks))))
    if wanted["time_entry"]:
        tz = (await team_by_id(session, ctx.team_id)).timezone
        entries = await session.execute(
            _entries_shown(tz).where(
                in_team(TimeEntry, ctx),
                TimeEntry.id.in_(wanted["time_entry"]),
                TimeEntry.project_id.in_(viewed),
                TimeEntry.ended_at.isnot(None),
            )
        )
        shown.update((e.id, PortalTimeEntry.of(e)) for e in entries)
    if wanted["invoice"]:
        invoices = await session.scalars(
            team_select(Invoice, ctx).where(
                Invoice.id.in_(wanted["invoice"]), _visible_invoice(ctx)
            )
        )
        shown.update(
            (i.id, i)
            for i in await _invoice_outs(session, ctx, settings, list(cast_type(Any, invoices)))
        )
    if wanted["payment"]:
        payments = await session.scalars(
            team_select(Payment, ctx)
            .join(Invoice, same_team(Invoice, Payment) & (Invoice.id == Payment.invoice_id))
            .where(Payment.id.in_(wanted["payment"]), _visible_invoice(ctx))
        )
        shown.update((p.id, PortalPayment.of(p)) for p in cast_type(Any, payments))
    if wanted["comment"]:
        found = await portal_comments_by_id(session, ctx, wanted["comment"], viewed)
        shown.update((c.id, c) for c in found)
    events = []
    for r in rows:
        data: dict[str, Any] | None = None
        if r.type.endswith(".deleted") and r.object_type != "comment":
            if r.object_type in ("task", "time_entry") and r.project_id in viewed:
                data = {"id": str(r.object_id)}
        elif r.object_id in shown:
            data = shown[r.object_id].model_dump(mode="json")
        if data is not None:
            events.append(PortalEvent(id=r.id, type=r.type, created_at=r.created_at, data=data))
    return events

"""Invoice drafts: made from uninvoiced time and manual lines, edited, and deleted.

Billing once: a draft takes its entries with `SELECT ... FOR UPDATE` on rows that are
still uninvoiced, then stamps them with the invoice in the same transaction. A
concurrent draft for the same time waits on those row locks, re-checks `invoice_id IS
NULL` when they are released, and finds nothing left. `time_entry.invoice_id` is a
single column, so an entry is on at most one invoice; voiding or deleting clears it.
Which line bills an entry is the line of that invoice listing it (`time_entry_ids`).
"""

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from pydantic_core import PydanticCustomError
from sqlalchemy import Row, Select, any_, bindparam, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import User
from app.clients.models import Client
from app.config import Settings
from app.core.clock import local_date, period_bounds, today_in
from app.core.context import TeamContext
from app.core.db import any_of
from app.core.errors import Conflict, NotFound, Unprocessable
from app.core.ids import new_id
from app.core.permissions import Permission
from app.core.schemas import check_period
from app.core.security import opaque_token
from app.core.statements import bound_ids
from app.core.tenancy import get_in_team, in_team
from app.invoices import totals as calc
from app.invoices.billing_settings import invoice_settings_for
from app.invoices.models import Invoice, InvoiceLine, InvoiceSettings, InvoiceStatus, LineKind
from app.invoices.schemas import InvoiceIn, InvoiceOut, InvoicePatch, ManualLineIn
from app.invoices.service import (
    get_invoice,
    invoice_out,
    lines_of,
    record_invoice_deleted,
    record_invoice_event,
)
from app.projects.models import Project
from app.rates.service import bill_rates
from app.teams.models import Team
from app.teams.service import team_by_id
from app.time_tracking.models import TimeEntry

# What a draft reads of an entry: who, where, when and how long; no full ORM entity
# (building and tracking 10,000 of them cost more than the query itself).
_Entry = Row[tuple[uuid.UUID, uuid.UUID, uuid.UUID, datetime, int | None]]


@dataclass
class _Group:
    project_id: uuid.UUID
    user_id: uuid.UUID
    rate: int | None
    entries: list[_Entry]


def _billable_entries(
    team_id: uuid.UUID, project_ids: Select, since: datetime | None, until: datetime
) -> Select:  # type: ignore[type-arg]
    """The uninvoiced billable finished entries of the period, locked, oldest first.

    Found through `ix_time_entry_team_id_started_at_id_unbilled` (whose predicate is
    the `billable IS TRUE AND invoice_id IS NULL` below) or, for a client with few
    projects in a long history, `ix_time_entry_team_id_project_id_started_at`.
    """
    stmt = (
        select(
            TimeEntry.id,
            TimeEntry.project_id,
            TimeEntry.user_id,
            TimeEntry.started_at,
            TimeEntry.duration_seconds,
        )
        .where(
            in_team(TimeEntry, team_id),
            TimeEntry.project_id.in_(project_ids),
            TimeEntry.billable.is_(True),
            TimeEntry.ended_at.isnot(None),
            TimeEntry.invoice_id.is_(None),
            TimeEntry.started_at < until,
        )
        .order_by(TimeEntry.started_at, TimeEntry.id)
        .with_for_update(of=TimeEntry)
    )
    if since is not None:
        stmt = stmt.where(TimeEntry.started_at >= since)
    return stmt


async def build_draft(
    session: AsyncSession,
    team: Team,
    client: Client,
    billing: InvoiceSettings,
    data: InvoiceIn,
    *,
    created_by_id: uuid.UUID | None,
    run_id: uuid.UUID | None = None,
    settings: Settings | None = None,
) -> tuple[Invoice, InvoiceOut]:
    """A draft for `client` from its uninvoiced billable time in the period plus manual
    lines, and the draft as the API shows it (its `invoice.created` event's). A constant
    number of queries, whatever the number of entries."""
    check_dates(data.issue_date, data.due_date)
    # Read the client's currency under a share lock: a concurrent currency change waits
    # for this draft (and is then refused), or commits first and the draft takes the new
    # currency (app/clients/currency.py).
    await session.refresh(client, ["currency"], with_for_update={"read": True})
    period_end = data.period_end or today_in(team.timezone)
    if data.period_start is not None and data.period_end is None:
        try:  # a period with no end runs to today, and is as bounded as any other
            check_period(data.period_start, period_end)
        except PydanticCustomError as exc:
            raise Unprocessable(exc.message(), code=exc.type) from None
    since, until = period_bounds(team.timezone, data.period_start, period_end)
    if data.include_earlier:
        since = None  # late time logged into an earlier period is billed now
    projects_of_client = select(Project.id).where(
        in_team(Project, team.id), Project.client_id == client.id
    )
    if data.project_ids is not None:
        known = set(
            (
                await session.execute(projects_of_client.where(Project.id.in_(data.project_ids)))
            ).scalars()
        )
        unknown = set(data.project_ids) - known
        if unknown:
            raise Unprocessable(
                "Projects not of this client: " + ", ".join(sorted(map(str, unknown))),
                code="unknown_project",
            )
        projects_of_client = projects_of_client.where(Project.id.in_(data.project_ids))
    # Hold the client's projects (FOR SHARE) while their time is collected: a concurrent
    # move of a project to another client waits, then sees the invoiced time (409).
    await session.execute(projects_of_client.with_for_update(read=True))
    entries: list[_Entry] = list(
        await session.execute(_billable_entries(team.id, projects_of_client, since, until))
    )

    if not entries and not data.lines:
        raise Unprocessable(
            "There is no uninvoiced billable time and no manual line.", code="nothing_to_invoice"
        )

    # Each entry's local day, once: the rates and the grouping both need it.
    days = [local_date(e.started_at, team.timezone) for e in entries]
    rates = await bill_rates(session, team, entries, days=days)
    groups: dict[tuple[uuid.UUID, uuid.UUID, int | None], _Group] = {}
    missing: list[uuid.UUID] = []
    for e, day in zip(entries, days, strict=True):
        entry_id, project_id, user_id = e.id, e.project_id, e.user_id
        amount = rates.amount_on(user_id, project_id, day)
        if amount is None:
            missing.append(entry_id)
        key = (project_id, user_id, amount)
        group = groups.get(key)
        if group is None:
            group = groups[key] = _Group(project_id, user_id, amount, [])
        group.entries.append(e)
    if missing and not data.allow_missing_rates:
        raise Unprocessable(
            f"{len(missing)} entries have no bill rate: " + ", ".join(map(str, missing[:50])),
            code="rate_missing",
            extra={"time_entry_ids": [str(i) for i in missing]},
        )

    names = await _names(
        session,
        team.id,
        {g.project_id for g in groups.values()},
        {g.user_id for g in groups.values()},
    )
    invoice = Invoice(
        team_id=team.id,
        client_id=client.id,
        status=InvoiceStatus.draft,
        currency=client.currency,
        issue_date=data.issue_date,
        due_date=data.due_date,
        period_start=data.period_start
        or (local_date(entries[0].started_at, team.timezone) if entries else None),
        period_end=data.period_end or (today_in(team.timezone) if entries else None),
        notes=data.notes if data.notes is not None else billing.notes,
        discount_bps=data.discount_bps,
        pay_token=opaque_token(24),
        created_by_id=created_by_id,
        run_id=run_id,
    )
    session.add(invoice)
    await session.flush()

    lines: list[InvoiceLine] = []
    ordered = sorted(
        groups.values(),
        key=lambda g: (names[g.project_id].lower(), names[g.user_id].lower(), g.rate or 0),
    )
    for g in ordered:
        tracked = sum(e.duration_seconds or 0 for e in g.entries)
        billed = calc.round_up_seconds(tracked, billing.rounding_seconds)
        first = local_date(g.entries[0].started_at, team.timezone)
        last = local_date(g.entries[-1].started_at, team.timezone)
        span = first.isoformat() if first == last else f"{first.isoformat()} to {last.isoformat()}"
        lines.append(
            InvoiceLine(
                id=new_id(),
                team_id=team.id,
                invoice_id=invoice.id,
                position=len(lines),
                kind=LineKind.time,
                description=f"{names[g.project_id]} — {names[g.user_id]} ({span})",
                project_id=g.project_id,
                user_id=g.user_id,
                quantity_seconds=billed,
                tracked_seconds=tracked,
                unit_amount=g.rate or 0,
                amount=calc.time_amount(billed, g.rate or 0),
                tax_rate_bps=billing.tax_rate_bps,
                tax_amount=0,
                rate_missing=g.rate is None,
                time_entry_ids=[e.id for e in g.entries],
            )
        )
    lines += _manual_lines(team.id, invoice.id, data.lines, billing.tax_rate_bps, start=len(lines))
    session.add_all(lines)
    _apply_totals(invoice, lines)
    await session.flush()
    await _stamp_entries(session, invoice, lines)
    return invoice, await record_invoice_event(session, "invoice.created", invoice, settings)


def _manual_lines(
    team_id: uuid.UUID,
    invoice_id: uuid.UUID,
    items: list[ManualLineIn],
    default_tax: int,
    *,
    start: int,
) -> list[InvoiceLine]:
    return [
        InvoiceLine(
            id=new_id(),
            team_id=team_id,
            invoice_id=invoice_id,
            position=start + i,
            kind=LineKind.manual,
            description=item.description,
            quantity=item.quantity,
            unit_amount=item.unit_amount,
            amount=calc.manual_amount(item.quantity, item.unit_amount),
            tax_rate_bps=default_tax if item.tax_rate_bps is None else item.tax_rate_bps,
            tax_amount=0,
            time_entry_ids=[],
        )
        for i, item in enumerate(items)
    ]


def _apply_totals(invoice: Invoice, lines: list[InvoiceLine]) -> None:
    result, taxes = calc.totals(
        [(line.amount, line.tax_rate_bps) for line in lines], invoice.discount_bps
    )
    for line, tax in zip(lines, taxes, strict=True):
        line.tax_amount = tax
    invoice.subtotal_amount = result.subtotal_amount
    invoice.discount_amount = result.discount_amount
    invoice.tax_amount = result.tax_amount
    invoice.total_amount = result.total_amount


# One UPDATE for all the draft's entries, found by primary key (`id = ANY(...)`): an
# index probe per entry at any history length (a join with unnest() of the ids was planned
# as a hash join over the team's entries). Only `invoice_id` and `updated_at` change: an
# entry's line is the one listing it, and the no-overlap rule's index is on
# `time_entry_span`, which this update does not reach (see the migrations d4f2a8c61b93
# and e81b5c07d2f4). The entries are locked, so every one of them is still uninvoiced.
_STAMP = (
    update(TimeEntry.__table__)
    .where(
        in_team(TimeEntry, bindparam("b_team")),
        TimeEntry.id == any_(bound_ids("b_entries")),
        TimeEntry.invoice_id.is_(None),
    )
    .values(invoice_id=bindparam("b_invoice"), updated_at=func.now())
)


async def _stamp_entries(session: AsyncSession, invoice: Invoice, lines: list[InvoiceLine]) -> None:
    """Point every billed entry at its invoice, in one statement."""
    entries = [entry_id for line in lines for entry_id in line.time_entry_ids]
    if entries:
        await session.execute(
            _STAMP, {"b_team": invoice.team_id, "b_invoice": invoice.id, "b_entries": entries}
        )


async def release_entries(
    session: AsyncSession, invoice: Invoice, lines: list[InvoiceLine] | None = None
) -> None:
    """Make the invoice's entries (or those of `lines`) billable again."""
    stmt = update(TimeEntry).where(in_team(TimeEntry, invoice), TimeEntry.invoice_id == invoice.id)
    if lines is not None:
        stmt = stmt.where(any_of(TimeEntry.id, [i for line in lines for i in line.time_entry_ids]))
    await session.execute(stmt.values(invoice_id=None, updated_at=func.now()))


async def _names(
    session: AsyncSession, team_id: uuid.UUID, project_ids: set[uuid.UUID], user_ids: set[uuid.UUID]
) -> dict[uuid.UUID, str]:
    names: dict[uuid.UUID, str] = {}
    if project_ids:
        rows = await session.execute(
            select(Project.id, Project.name).where(
                in_team(Project, team_id), Project.id.in_(project_ids)
            )
        )
        names.update(dict(rows.all()))
    if user_ids:
        rows = await session.execute(select(User.id, User.name).where(User.id.in_(user_ids)))
        names.update(dict(rows.all()))
    return names


def check_dates(issue_date: date | None, due_date: date | None) -> None:
    """422 when the due date comes before the issue date."""
    if issue_date is not None and due_date is not None and due_date < issue_date:
        raise Unprocessable(
            f"The due date {due_date.isoformat()} is before the issue date "
            f"{issue_date.isoformat()}.",
            code="due_date_before_issue_date",
        )


def require_draft(invoice: Invoice) -> None:
    """409 unless the invoice is still a draft."""
    if invoice.status is not InvoiceStatus.draft:
        raise Conflict("Only a draft can change; this invoice is issued.", code="invoice_not_draft")


async def create_invoice(
    session: AsyncSession, ctx: TeamContext, settings: Settings, data: InvoiceIn
) -> InvoiceOut:
    """A draft from the client's uninvoiced billable time (and manual lines)."""
    ctx.access(Permission.INVOICES_WRITE)
    client = await get_in_team(session, Client, ctx, data.client_id, what="Client")
    team = await team_by_id(session, ctx.team_id)
    billing = await invoice_settings_for(session, client)
    _, out = await build_draft(
        session, team, client, billing, data, created_by_id=ctx.user_id, settings=settings
    )
    return out


async def update_invoice(
    session: AsyncSession,
    ctx: TeamContext,
    settings: Settings,
    invoice_id: uuid.UUID,
    patch: InvoicePatch,
) -> InvoiceOut:
    """Edit a draft: dates, notes, discount, and (replaced) manual lines."""
    invoice = await get_invoice(
        session, ctx, invoice_id, write=Permission.INVOICES_WRITE, for_update=True
    )
    require_draft(invoice)
    fields = patch.changes()
    lines = (await lines_of(session, [invoice.id]))[invoice.id]
    if patch.lines is not None:
        fields.pop("lines")
        client = await session.get(Client, invoice.client_id)
        assert client is not None
        billing = await invoice_settings_for(session, client)
        manual = [line for line in lines if line.kind is LineKind.manual]
        if manual:
            await session.execute(
                delete(InvoiceLine).where(InvoiceLine.id.in_([m.id for m in manual]))
            )
        lines = [line for line in lines if line.kind is LineKind.time]
        for i, line in enumerate(lines):
            line.position = i
        new = _manual_lines(
            invoice.team_id, invoice.id, patch.lines, billing.tax_rate_bps, start=len(lines)
        )
        session.add_all(new)
        lines += new
    check_dates(
        fields.get("issue_date", invoice.issue_date), fields.get("due_date", invoice.due_date)
    )
    for field, value in fields.items():
        setattr(invoice, field, value)
    _apply_totals(invoice, lines)
    invoice.version += 1
    await session.flush()
    await session.refresh(invoice)
    await record_invoice_event(session, "invoice.updated", invoice, settings)
    # The answer shows the lines as stored (a quantity at its column's scale), not as sent.
    for line in lines:
        session.expire(line)
    return await invoice_out(session, settings, invoice)


async def delete_line(
    session: AsyncSession,
    ctx: TeamContext,
    settings: Settings,
    invoice_id: uuid.UUID,
    line_id: uuid.UUID,
) -> InvoiceOut:
    """Remove a line from a draft; its entries become billable again."""
    invoice = await get_invoice(
        session, ctx, invoice_id, write=Permission.INVOICES_WRITE, for_update=True
    )
    require_draft(invoice)
    lines = (await lines_of(session, [invoice.id]))[invoice.id]
    line = next((x for x in lines if x.id == line_id), None)
    if line is None:
        raise NotFound("Invoice line")
    await release_entries(session, invoice, [line])
    await session.delete(line)
    lines.remove(line)
    for i, x in enumerate(lines):
        x.position = i
    _apply_totals(invoice, lines)
    invoice.version += 1
    await session.flush()
    await session.refresh(invoice)
    await record_invoice_event(session, "invoice.updated", invoice, settings)
    return await invoice_out(session, settings, invoice)


async def delete_invoice(session: AsyncSession, ctx: TeamContext, invoice_id: uuid.UUID) -> None:
    """Delete a draft; its entries become billable again."""
    invoice = await get_invoice(
        session, ctx, invoice_id, write=Permission.INVOICES_WRITE, for_update=True
    )
    require_draft(invoice)
    await release_entries(session, invoice)
    await session.delete(invoice)
    await session.flush()
    await record_invoice_deleted(session, invoice)

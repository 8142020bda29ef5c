"""Invoices made from tracked time: drafts, editing, finalization, voiding, listing.

Billing once: a draft takes its entries with `SELECT ... FOR UPDATE` on rows that are
still uninvoiced, then stamps them with the invoice and line in the same transaction. A
concurrent draft for the same time waits on those row locks, re-checks `invoice_id IS
NULL` when they are released, and finds nothing left. `time_entry.invoice_id` is a
single column, so an entry is on at most one invoice; voiding clears it.
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import ColumnElement, Select, delete, func, select, text, true, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import User
from app.clients.models import Client, PaymentMethod
from app.clients.service import own_client_ids
from app.config import Settings
from app.core.clock import local_date, period_bounds, today_in
from app.core.context import TeamContext
from app.core.db import flush_or_raise
from app.core.errors import Conflict, NotFound, Unprocessable
from app.core.ids import new_id
from app.core.jobs import defer
from app.core.pagination import PageParams, paginate
from app.core.permissions import Access, Permission
from app.core.security import opaque_token
from app.core.tenancy import get_authorized, get_in_team, team_select
from app.invoices import totals as calc
from app.invoices.models import (
    ExchangeRate,
    Invoice,
    InvoiceCounter,
    InvoiceLine,
    InvoiceRun,
    InvoiceSettings,
    InvoiceStatus,
    LineKind,
)
from app.invoices.schemas import (
    ExchangeRateIn,
    InvoiceIn,
    InvoicePatch,
    InvoiceRunIn,
    ManualLineIn,
    PublicInvoice,
    PublicLine,
)
from app.invoices.settings import create_default_settings
from app.projects.models import Project
from app.rates.service import bill_rates
from app.teams.models import Team
from app.teams.service import team_by_id
from app.time_tracking.models import TimeEntry


def is_overdue(invoice: Invoice, today: date) -> bool:
    return (
        invoice.status is InvoiceStatus.open
        and invoice.due_date is not None
        and invoice.due_date < today
        and invoice.total_amount - invoice.amount_paid > 0
    )


def pay_url(settings: Settings, invoice: Invoice) -> str:
    return f"{settings.public_base_url.rstrip('/')}/v1/pay/{invoice.pay_token}"


def visible_invoices(ctx: TeamContext, reach: Access) -> ColumnElement[bool]:
    """OWN_CLIENTS: invoices of clients the caller owns or is assigned to."""
    if reach is Access.ALL:
        return true()
    return Invoice.client_id.in_(own_client_ids(ctx))


async def get_invoice(
    session: AsyncSession,
    ctx: TeamContext,
    invoice_id: uuid.UUID,
    *,
    write: Permission | None = None,
    for_update: bool = False,
) -> Invoice:
    return await get_authorized(
        session,
        Invoice,
        ctx,
        invoice_id,
        what="Invoice",
        visible=visible_invoices,
        read=Permission.INVOICES_READ,
        write=write,
        for_update=for_update,
    )


async def lines_of(
    session: AsyncSession, invoice_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[InvoiceLine]]:
    result: dict[uuid.UUID, list[InvoiceLine]] = {i: [] for i in invoice_ids}
    if invoice_ids:
        rows = await session.execute(
            select(InvoiceLine)
            .where(InvoiceLine.invoice_id.in_(invoice_ids))
            .order_by(InvoiceLine.invoice_id, InvoiceLine.position)
        )
        for line in rows.scalars():
            result[line.invoice_id].append(line)
    return result


async def list_invoices(
    session: AsyncSession,
    ctx: TeamContext,
    params: PageParams,
    *,
    status: InvoiceStatus | None,
    client_id: uuid.UUID | None,
) -> tuple[list[Invoice], bool, str | None]:
    reach = ctx.access(Permission.INVOICES_READ)
    stmt = team_select(Invoice, ctx).where(visible_invoices(ctx, reach))
    if status is not None:
        stmt = stmt.where(Invoice.status == status)
    if client_id is not None:
        stmt = stmt.where(Invoice.client_id == client_id)
    return await paginate(
        session, stmt, params, model=Invoice, order_by=[Invoice.created_at], descending=True
    )


# ---------------------------------------------------------------- drafts


@dataclass
class _Group:
    project_id: uuid.UUID
    user_id: uuid.UUID
    rate: int | None
    entries: list[TimeEntry]


def _billable_entries(
    team_id: uuid.UUID, project_ids: Select, since: datetime | None, until: datetime
) -> Select:  # type: ignore[type-arg]
    stmt = (
        select(TimeEntry)
        .where(
            TimeEntry.team_id == team_id,
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
    settings: InvoiceSettings,
    data: InvoiceIn,
    *,
    created_by_id: uuid.UUID | None,
    run_id: uuid.UUID | None = None,
) -> Invoice:
    """A draft for `client` from its uninvoiced billable time in the period plus manual
    lines. A constant number of queries, whatever the number of entries."""
    if data.period_start and data.period_end and data.period_start > data.period_end:
        raise Unprocessable("`period_start` is after `period_end`.", code="invalid_period")
    since, until = period_bounds(
        team.timezone, data.period_start, data.period_end or today_in(team.timezone)
    )
    projects_of_client = select(Project.id).where(
        Project.team_id == team.id, Project.client_id == client.id
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
    entries = list(
        (
            await session.execute(_billable_entries(team.id, projects_of_client, since, until))
        ).scalars()
    )

    if not entries and not data.lines:
        raise Unprocessable(
            "There is no uninvoiced billable time and no manual line.", code="nothing_to_invoice"
        )

    rates = await bill_rates(session, team, entries)
    groups: dict[tuple[uuid.UUID, uuid.UUID, int | None], _Group] = {}
    missing: list[uuid.UUID] = []
    for e in entries:
        rate = rates.rate(e)
        amount = rate.hourly_rate_amount if rate else None
        if amount is None:
            missing.append(e.id)
        key = (e.project_id, e.user_id, amount)
        groups.setdefault(key, _Group(e.project_id, e.user_id, amount, [])).entries.append(e)
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
        notes=data.notes if data.notes is not None else settings.notes,
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
        billed = calc.round_up_seconds(tracked, settings.rounding_seconds)
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
                tax_rate_bps=settings.tax_rate_bps,
                tax_amount=0,
                rate_missing=g.rate is None,
                time_entry_ids=[e.id for e in g.entries],
            )
        )
    lines += _manual_lines(team.id, invoice.id, data.lines, settings.tax_rate_bps, start=len(lines))
    session.add_all(lines)
    _apply_totals(invoice, lines)
    await session.flush()
    await _stamp_entries(session, invoice, lines)
    return invoice


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


async def _stamp_entries(session: AsyncSession, invoice: Invoice, lines: list[InvoiceLine]) -> None:
    """Point every billed entry at its invoice and line, in one statement."""
    pairs = [(entry_id, line.id) for line in lines for entry_id in line.time_entry_ids]
    if not pairs:
        return
    entry_ids, line_ids = zip(*pairs, strict=True)
    await session.execute(
        text(
            "UPDATE time_entry AS t"
            " SET invoice_id = :invoice_id, invoice_line_id = v.line_id, updated_at = now()"
            " FROM unnest(CAST(:entry_ids AS uuid[]), CAST(:line_ids AS uuid[]))"
            " AS v(entry_id, line_id)"
            " WHERE t.team_id = :team_id AND t.id = v.entry_id AND t.invoice_id IS NULL"
        ),
        {
            "invoice_id": invoice.id,
            "team_id": invoice.team_id,
            "entry_ids": list(entry_ids),
            "line_ids": list(line_ids),
        },
    )


async def _release_entries(
    session: AsyncSession, invoice: Invoice, line_ids: list[uuid.UUID] | None = None
) -> None:
    stmt = update(TimeEntry).where(
        TimeEntry.team_id == invoice.team_id, TimeEntry.invoice_id == invoice.id
    )
    if line_ids is not None:
        stmt = stmt.where(TimeEntry.invoice_line_id.in_(line_ids))
    await session.execute(stmt.values(invoice_id=None, invoice_line_id=None, updated_at=func.now()))


async def _names(
    session: AsyncSession, team_id: uuid.UUID, project_ids: set[uuid.UUID], user_ids: set[uuid.UUID]
) -> dict[uuid.UUID, str]:
    names: dict[uuid.UUID, str] = {}
    if project_ids:
        rows = await session.execute(
            select(Project.id, Project.name).where(
                Project.team_id == team_id, Project.id.in_(project_ids)
            )
        )
        names.update(dict(rows.all()))
    if user_ids:
        rows = await session.execute(select(User.id, User.name).where(User.id.in_(user_ids)))
        names.update(dict(rows.all()))
    return names


async def invoice_settings_for(session: AsyncSession, client: Client) -> InvoiceSettings:
    settings = await session.get(InvoiceSettings, client.id)
    return settings or await create_default_settings(session, client)


async def create_invoice(session: AsyncSession, ctx: TeamContext, data: InvoiceIn) -> Invoice:
    """A draft from the client's uninvoiced billable time (and manual lines)."""
    ctx.access(Permission.INVOICES_WRITE)
    client = await get_in_team(session, Client, ctx, data.client_id, what="Client")
    team = await team_by_id(session, ctx.team_id)
    settings = await invoice_settings_for(session, client)
    invoice = await build_draft(session, team, client, settings, data, created_by_id=ctx.user_id)
    await session.refresh(invoice)
    return invoice


def _draft_only(invoice: Invoice) -> None:
    if invoice.status is not InvoiceStatus.draft:
        raise Conflict("Only a draft can change; this invoice is issued.", code="invoice_not_draft")


async def update_invoice(
    session: AsyncSession, ctx: TeamContext, invoice_id: uuid.UUID, patch: InvoicePatch
) -> Invoice:
    invoice = await get_invoice(
        session, ctx, invoice_id, write=Permission.INVOICES_WRITE, for_update=True
    )
    _draft_only(invoice)
    fields = patch.changes()
    lines = (await lines_of(session, [invoice.id]))[invoice.id]
    if patch.lines is not None:
        fields.pop("lines")
        client = await session.get(Client, invoice.client_id)
        assert client is not None
        settings = await invoice_settings_for(session, client)
        manual = [line for line in lines if line.kind is LineKind.manual]
        if manual:
            await session.execute(
                delete(InvoiceLine).where(InvoiceLine.id.in_([m.id for m in manual]))
            )
        lines = [line for line in lines if line.kind is LineKind.time]
        for i, line in enumerate(lines):
            line.position = i
        new = _manual_lines(
            invoice.team_id, invoice.id, patch.lines, settings.tax_rate_bps, start=len(lines)
        )
        session.add_all(new)
        lines += new
    for field, value in fields.items():
        setattr(invoice, field, value)
    _apply_totals(invoice, lines)
    invoice.version += 1
    await session.flush()
    await session.refresh(invoice)
    return invoice


async def delete_line(
    session: AsyncSession, ctx: TeamContext, invoice_id: uuid.UUID, line_id: uuid.UUID
) -> Invoice:
    """Remove a line from a draft; its entries become billable again."""
    invoice = await get_invoice(
        session, ctx, invoice_id, write=Permission.INVOICES_WRITE, for_update=True
    )
    _draft_only(invoice)
    lines = (await lines_of(session, [invoice.id]))[invoice.id]
    line = next((x for x in lines if x.id == line_id), None)
    if line is None:
        raise NotFound("Invoice line")
    await _release_entries(session, invoice, [line.id])
    await session.delete(line)
    lines.remove(line)
    for i, x in enumerate(lines):
        x.position = i
    _apply_totals(invoice, lines)
    invoice.version += 1
    await session.flush()
    await session.refresh(invoice)
    return invoice


async def delete_invoice(session: AsyncSession, ctx: TeamContext, invoice_id: uuid.UUID) -> None:
    """Delete a draft; its entries become billable again."""
    invoice = await get_invoice(
        session, ctx, invoice_id, write=Permission.INVOICES_WRITE, for_update=True
    )
    _draft_only(invoice)
    await _release_entries(session, invoice)
    await session.delete(invoice)
    await session.flush()


# ---------------------------------------------------------------- lifecycle


async def exchange_rate_on(session: AsyncSession, team: Team, currency: str, on: date) -> Decimal:
    if currency == team.base_currency:
        return Decimal(1)
    rate = await session.scalar(
        select(ExchangeRate.rate)
        .where(
            ExchangeRate.team_id == team.id,
            ExchangeRate.currency == currency,
            ExchangeRate.effective_from <= on,
        )
        .order_by(ExchangeRate.effective_from.desc())
        .limit(1)
    )
    if rate is None:
        raise Unprocessable(
            f"No exchange rate from {currency} to {team.base_currency} on {on}.",
            code="exchange_rate_missing",
        )
    return rate


async def _next_number(session: AsyncSession, team: Team, year: int) -> str:
    """The next number of the team's yearly sequence; gapless.

    The upsert holds the counter row's lock until the transaction ends, so concurrent
    finalizations take consecutive numbers and a rolled-back one gives its number back.
    """
    stmt = insert(InvoiceCounter).values(team_id=team.id, year=year, last_value=1)
    stmt = stmt.on_conflict_do_update(
        index_elements=[InvoiceCounter.team_id, InvoiceCounter.year],
        set_={"last_value": InvoiceCounter.last_value + 1},
    ).returning(InvoiceCounter.last_value)
    value = (await session.execute(stmt)).scalar_one()
    return f"{team.invoice_prefix}{year}-{value:04d}"


async def finalize(session: AsyncSession, team: Team, invoice: Invoice) -> Invoice:
    """Draft -> open: fixes dates, exchange rate and the number. `invoice` must be locked."""
    _draft_only(invoice)
    if invoice.total_amount <= 0 and not (await lines_of(session, [invoice.id]))[invoice.id]:
        raise Unprocessable("An invoice needs at least one line.", code="nothing_to_invoice")
    client = await session.get(Client, invoice.client_id)
    assert client is not None
    settings = await invoice_settings_for(session, client)
    issue_date = invoice.issue_date or today_in(team.timezone)
    invoice.exchange_rate = await exchange_rate_on(session, team, invoice.currency, issue_date)
    invoice.base_currency = team.base_currency
    invoice.issue_date = issue_date
    invoice.due_date = invoice.due_date or issue_date + timedelta(days=settings.due_days)
    invoice.number = await _next_number(session, team, issue_date.year)
    invoice.status = InvoiceStatus.open
    invoice.finalized_at = datetime.now(UTC)
    invoice.version += 1
    await session.flush()
    await session.refresh(invoice)
    return invoice


async def finalize_invoice(
    session: AsyncSession, ctx: TeamContext, invoice_id: uuid.UUID
) -> Invoice:
    invoice = await get_invoice(
        session, ctx, invoice_id, write=Permission.INVOICES_WRITE, for_update=True
    )
    return await finalize(session, await team_by_id(session, ctx.team_id), invoice)


async def void_invoice(session: AsyncSession, ctx: TeamContext, invoice_id: uuid.UUID) -> Invoice:
    """Void a draft or open invoice: its entries become billable again; the number stays."""
    invoice = await get_invoice(
        session, ctx, invoice_id, write=Permission.INVOICES_VOID, for_update=True
    )
    if invoice.status is InvoiceStatus.void:
        raise Conflict("The invoice is already void.", code="invoice_void")
    if invoice.status is InvoiceStatus.paid or invoice.amount_paid > 0:
        raise Conflict(
            "An invoice with payments cannot be voided; refund them first.", code="invoice_paid"
        )
    await _release_entries(session, invoice)
    invoice.status = InvoiceStatus.void
    invoice.voided_at = datetime.now(UTC)
    invoice.version += 1
    await session.flush()
    await session.refresh(invoice)
    return invoice


# ---------------------------------------------------------------- exchange rates


async def list_exchange_rates(
    session: AsyncSession, ctx: TeamContext, params: PageParams
) -> tuple[list[ExchangeRate], bool, str | None]:
    ctx.access(Permission.INVOICES_READ)
    return await paginate(session, team_select(ExchangeRate, ctx), params, model=ExchangeRate)


async def create_exchange_rate(
    session: AsyncSession, ctx: TeamContext, data: ExchangeRateIn
) -> ExchangeRate:
    ctx.access(Permission.EXCHANGE_RATES_WRITE)
    team = await team_by_id(session, ctx.team_id)
    if data.currency == team.base_currency:
        raise Unprocessable("The base currency converts at 1.", code="exchange_rate_base_currency")
    rate = ExchangeRate(team_id=ctx.team_id, **data.model_dump())
    session.add(rate)
    await flush_or_raise(
        session,
        {
            "uq_exchange_rate_team_id_currency_effective_from": Conflict(
                "A rate for this currency and date exists.", code="exchange_rate_exists"
            )
        },
    )
    await session.refresh(rate)
    return rate


async def delete_exchange_rate(session: AsyncSession, ctx: TeamContext, rate_id: uuid.UUID) -> None:
    ctx.access(Permission.EXCHANGE_RATES_WRITE)
    rate = await get_in_team(session, ExchangeRate, ctx, rate_id, what="Exchange rate")
    await session.delete(rate)
    await session.flush()


# ---------------------------------------------------------------- runs and the pay link

RUN_INVOICES_JOB = "run_invoices"


async def start_run(session: AsyncSession, ctx: TeamContext, data: InvoiceRunIn) -> str:
    """Queue a run for the period (after commit); returns the job id."""
    ctx.access(Permission.INVOICES_WRITE)
    if data.period_start > data.period_end:
        raise Unprocessable("`period_start` is after `period_end`.", code="invalid_period")
    if data.client_ids:
        found = set(
            (
                await session.execute(
                    select(Client.id).where(
                        Client.team_id == ctx.team_id, Client.id.in_(data.client_ids)
                    )
                )
            ).scalars()
        )
        if missing := set(data.client_ids) - found:
            raise Unprocessable(
                "Unknown clients: " + ", ".join(sorted(map(str, missing))), code="unknown_client"
            )
    job_id = f"invoice-run:{ctx.team_id}:{new_id()}"
    defer(
        session,
        RUN_INVOICES_JOB,
        str(ctx.team_id),
        data.period_start.isoformat(),
        data.period_end.isoformat(),
        [str(c) for c in data.client_ids] if data.client_ids else None,
        _job_id=job_id,
    )
    return job_id


async def list_runs(
    session: AsyncSession, ctx: TeamContext, params: PageParams
) -> tuple[list[InvoiceRun], bool, str | None]:
    reach = ctx.access(Permission.INVOICES_READ)
    stmt = team_select(InvoiceRun, ctx)
    if reach is not Access.ALL:
        stmt = stmt.where(InvoiceRun.client_id.in_(own_client_ids(ctx)))
    return await paginate(
        session,
        stmt,
        params,
        model=InvoiceRun,
        order_by=[InvoiceRun.created_at],
        descending=True,
    )


async def public_invoice(
    session: AsyncSession, token: str, methods: Callable[[Client], list[PaymentMethod]]
) -> PublicInvoice:
    """The invoice behind a pay link; drafts and unknown tokens are a 404. `methods` says
    which payment methods the client can use now."""
    invoice = await session.scalar(select(Invoice).where(Invoice.pay_token == token))
    if invoice is None or invoice.status is InvoiceStatus.draft:
        raise NotFound("Invoice")
    team = await team_by_id(session, invoice.team_id)
    client = await session.get(Client, invoice.client_id)
    assert client is not None
    lines = (await lines_of(session, [invoice.id]))[invoice.id]
    return PublicInvoice(
        number=invoice.number,
        status=invoice.status,
        overdue=is_overdue(invoice, today_in(team.timezone)),
        team_name=team.name,
        client_name=client.name,
        currency=invoice.currency,
        issue_date=invoice.issue_date,
        due_date=invoice.due_date,
        lines=[PublicLine(description=line.description, amount=line.amount) for line in lines],
        subtotal_amount=invoice.subtotal_amount,
        discount_amount=invoice.discount_amount,
        tax_amount=invoice.tax_amount,
        total_amount=invoice.total_amount,
        amount_paid=invoice.amount_paid,
        amount_due=invoice.total_amount - invoice.amount_paid,
        payment_methods=methods(client),
    )

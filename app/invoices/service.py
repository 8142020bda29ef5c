"""Reading invoices: which ones a caller may see, one or a page of them as the API shows
them (lines, amount due, overdue flag, pay link), and the public view behind a pay link."""

import uuid
from collections.abc import Callable
from datetime import date
from functools import partial
from typing import Any

from sqlalchemy import ColumnElement, Select, any_, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from app.clients.models import Client, PaymentMethod
from app.clients.service import own_client_ids
from app.config import Settings, get_settings
from app.core.clock import today_in
from app.core.context import TeamContext
from app.core.db import SETTINGS, any_of
from app.core.errors import NotFound
from app.core.pagination import Listing
from app.core.permissions import Access, Permission
from app.core.statements import (
    BOUND_CALLER,
    Bound,
    bound,
    bound_ids,
    caller_values,
    shaped,
    team_values,
)
from app.core.tenancy import enter_team, get_authorized, in_team, team_rows
from app.events.record import record_event
from app.invoices.models import Invoice, InvoiceLine, InvoiceStatus
from app.invoices.schemas import InvoiceOut, PublicInvoice, PublicLine
from app.teams.service import team_by_id


def is_overdue(invoice: Invoice, today: date) -> bool:
    """Open, past its due date and not fully paid."""
    return (
        invoice.status is InvoiceStatus.open
        and invoice.due_date is not None
        and invoice.due_date < today
        and invoice.total_amount - invoice.amount_paid > 0
    )


def pay_url(settings: Settings, invoice: Invoice) -> str:
    """The public pay link of the invoice: its hosted pay page."""
    return f"{settings.api_url}/pay/{invoice.pay_token}"


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
    """The invoice row if the caller may see it (and, with `write`, change it)."""
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
    """The lines of each invoice, in order, in one query, as stored (lines this session
    wrote are read back: a quantity of `1` is `1.0000` once it is a `NUMERIC(14, 4)`)."""
    result: dict[uuid.UUID, list[InvoiceLine]] = {i: [] for i in invoice_ids}
    if invoice_ids:
        rows = await session.execute(
            select(InvoiceLine)
            .where(any_of(InvoiceLine.invoice_id, invoice_ids))
            .order_by(InvoiceLine.invoice_id, InvoiceLine.position)
            .execution_options(populate_existing=True)
        )
        for line in rows.scalars():
            result[line.invoice_id].append(line)
    return result


async def invoice_outs(
    session: AsyncSession, settings: Settings, team_id: uuid.UUID, invoices: list[Invoice]
) -> list[InvoiceOut]:
    """Invoices of one team as the API shows them; overdue is judged on the team's today."""
    lines = await lines_of(session, [i.id for i in invoices])
    team = await team_by_id(session, team_id)
    today = today_in(team.timezone)
    return [
        InvoiceOut.of(
            invoice,
            lines[invoice.id],
            overdue=is_overdue(invoice, today),
            pay_url=pay_url(settings, invoice),
        )
        for invoice in invoices
    ]


async def invoice_out(session: AsyncSession, settings: Settings, invoice: Invoice) -> InvoiceOut:
    """One invoice as the API shows it."""
    return (await invoice_outs(session, settings, invoice.team_id, [invoice]))[0]


async def record_invoice_event(
    session: AsyncSession, event_type: str, invoice: Invoice, settings: Settings | None = None
) -> InvoiceOut:
    """`invoice.*` with the invoice as the API returns it (read afresh: totals, status);
    that invoice, for a caller that answers with it."""
    await session.flush()
    await session.refresh(invoice)
    settings = settings or session.info.get(SETTINGS) or get_settings()
    out = await invoice_out(session, settings, invoice)
    await record_event(session, invoice.team_id, event_type, out, client_id=invoice.client_id)
    return out


async def record_invoice_deleted(session: AsyncSession, invoice: Invoice) -> None:
    await record_event(
        session,
        invoice.team_id,
        "invoice.deleted",
        {"id": invoice.id},
        client_id=invoice.client_id,
    )


async def get_invoice_out(
    session: AsyncSession, ctx: TeamContext, settings: Settings, invoice_id: uuid.UUID
) -> InvoiceOut:
    """One invoice with its lines, if the caller may see it."""
    return await invoice_out(session, settings, await get_invoice(session, ctx, invoice_id))


@shaped
def _invoice_list(reach: Access, status: InvoiceStatus | None, client: bool) -> Select[Any]:
    """The invoices list's statement for one shape (`app.core.statements`)."""
    stmt = team_rows(Invoice, BOUND_CALLER).where(visible_invoices(BOUND_CALLER, reach))
    if status is not None:
        stmt = stmt.where(Invoice.status == status)
    if client:
        stmt = stmt.where(Invoice.client_id == bound("client_id", Invoice.client_id))
    return stmt


# A page of the invoices list holds the ids of at most this many billed entries (and
# one invoice at least, whatever it bills): 10,000 ids are ~390 KB of JSON.
PAGE_ENTRY_IDS = 10_000


@shaped
def _entry_id_counts() -> Select[Any]:
    """How many entry ids the lines of each invoice in `invoice_ids` list."""
    return (
        select(InvoiceLine.invoice_id, func.sum(func.cardinality(InvoiceLine.time_entry_ids)))
        .where(
            in_team(InvoiceLine, Bound.team),
            InvoiceLine.invoice_id == any_(bound_ids("invoice_ids")),
        )
        .group_by(InvoiceLine.invoice_id)
    )


async def within_page_entry_ids(session: AsyncSession, invoices: list[Invoice]) -> int:
    """How many of `invoices` (in order) a page keeps (`app.core.pagination.Keep`): those
    whose lines list `PAGE_ENTRY_IDS` entry ids at most in all."""
    values = {**team_values(invoices[0].team_id), "invoice_ids": [i.id for i in invoices]}
    counts = dict((await session.execute(_entry_id_counts(), values)).all())
    listed = 0
    for kept, invoice in enumerate(invoices):
        listed += counts.get(invoice.id, 0)
        if listed > PAGE_ENTRY_IDS:
            return kept
    return len(invoices)


async def list_invoices(
    session: AsyncSession,
    ctx: TeamContext,
    settings: Settings,
    *,
    status: InvoiceStatus | None,
    client_id: uuid.UUID | None,
) -> Listing[InvoiceOut]:
    """Invoices the caller may see, newest first."""
    reach = ctx.access(Permission.INVOICES_READ)
    return Listing(
        _invoice_list(reach, status, client_id is not None),
        Invoice,
        partial(invoice_outs, session, settings, ctx.team_id),
        order_by=[Invoice.created_at],
        descending=True,
        values={**caller_values(ctx), "client_id": client_id},
        keep=within_page_entry_ids,
    )


async def invoice_by_pay_token(session: AsyncSession, token: str) -> Invoice:
    """The issued invoice behind a pay link; drafts and unknown tokens are a 404."""
    invoice = await session.scalar(select(Invoice).where(Invoice.pay_token == token))
    if invoice is None or invoice.status is InvoiceStatus.draft:
        raise NotFound("Invoice")
    # The token named the team: the rest of the transaction is confined to it.
    await enter_team(session, invoice.team_id)
    return invoice


async def public_invoice(
    session: AsyncSession, token: str, methods: Callable[[Client], list[PaymentMethod]]
) -> PublicInvoice:
    """The invoice behind a pay link; drafts and unknown tokens are a 404. `methods` says
    which payment methods the client can use now."""
    return await public_view(session, await invoice_by_pay_token(session, token), methods)


async def public_view(
    session: AsyncSession, invoice: Invoice, methods: Callable[[Client], list[PaymentMethod]]
) -> PublicInvoice:
    """An issued invoice as its pay link shows it."""
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

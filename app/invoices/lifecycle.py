"""An invoice's life after drafting: finalizing (numbering, dates, exchange rate),
sending and voiding."""

import uuid
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import or_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.clients.models import Client
from app.config import Settings
from app.core.clock import today_in
from app.core.context import TeamContext
from app.core.errors import Conflict, Unprocessable
from app.core.permissions import Permission
from app.invoices.billing_settings import invoice_settings_for
from app.invoices.drafts import check_dates, release_entries, require_draft
from app.invoices.exchange_rates import exchange_rate_on
from app.invoices.models import Invoice, InvoiceCounter, InvoiceStatus
from app.invoices.schemas import InvoiceOut
from app.invoices.sending import queue_send
from app.invoices.service import get_invoice, invoice_out, lines_of, record_invoice_event
from app.teams.models import Team
from app.teams.service import team_by_id


async def _next_number(session: AsyncSession, team: Team, issue_date: date) -> str:
    """The next number of the team's sequence for the issue date's year; gapless, and in
    the order of issue dates.

    The upsert holds the counter row's lock until the transaction ends, so concurrent
    finalizations take consecutive numbers and a rolled-back one gives its number back.
    Its WHERE is evaluated on the locked, latest row: an issue date before the last
    numbered one is refused (409) however the finalizations race.
    """
    insert_stmt = insert(InvoiceCounter).values(
        team_id=team.id, year=issue_date.year, last_value=1, last_issue_date=issue_date
    )
    stmt = insert_stmt.on_conflict_do_update(
        index_elements=[InvoiceCounter.team_id, InvoiceCounter.year],
        set_={
            "last_value": InvoiceCounter.last_value + 1,
            "last_issue_date": insert_stmt.excluded.last_issue_date,
        },
        where=or_(
            InvoiceCounter.last_issue_date.is_(None),
            InvoiceCounter.last_issue_date <= insert_stmt.excluded.last_issue_date,
        ),
    ).returning(InvoiceCounter.last_value)
    value = (await session.execute(stmt)).scalar_one_or_none()
    if value is None:
        raise Conflict(
            f"An invoice of this sequence was issued after {issue_date.isoformat()}: numbers "
            "follow issue dates, so this one needs a later issue date.",
            code="issue_date_before_last_invoice",
        )
    return f"{team.invoice_prefix}{issue_date.year}-{value:04d}"


async def finalize(session: AsyncSession, team: Team, invoice: Invoice) -> Invoice:
    """Draft -> open: fixes dates, exchange rate and the number. `invoice` must be locked."""
    require_draft(invoice)
    # The base currency is read under a share lock: a concurrent change of it waits for
    # this finalization (and is then refused), or commits first and is the one used here.
    await session.refresh(team, ["base_currency"], with_for_update={"read": True})
    if invoice.total_amount <= 0 and not (await lines_of(session, [invoice.id]))[invoice.id]:
        raise Unprocessable("An invoice needs at least one line.", code="nothing_to_invoice")
    client = await session.get(Client, invoice.client_id)
    assert client is not None
    billing = await invoice_settings_for(session, client)
    issue_date = invoice.issue_date or today_in(team.timezone)
    invoice.exchange_rate = await exchange_rate_on(session, team, invoice.currency, issue_date)
    invoice.base_currency = team.base_currency
    invoice.issue_date = issue_date
    invoice.due_date = invoice.due_date or issue_date + timedelta(days=billing.due_days)
    check_dates(invoice.issue_date, invoice.due_date)
    invoice.number = await _next_number(session, team, issue_date)
    invoice.finalized_at = datetime.now(UTC)
    # Nothing to pay (a full discount, zero-priced lines): settled as it is issued.
    if invoice.total_amount == 0:
        invoice.status, invoice.paid_at = InvoiceStatus.paid, invoice.finalized_at
    else:
        invoice.status = InvoiceStatus.open
    invoice.version += 1
    await session.flush()
    await session.refresh(invoice)
    await record_invoice_event(session, "invoice.finalized", invoice)
    if invoice.status is InvoiceStatus.paid:
        await record_invoice_event(session, "invoice.paid", invoice)
    return invoice


async def finalize_invoice(
    session: AsyncSession, ctx: TeamContext, settings: Settings, invoice_id: uuid.UUID
) -> InvoiceOut:
    """Issue a draft: the next number, fixed dates and exchange rate."""
    invoice = await get_invoice(
        session, ctx, invoice_id, write=Permission.INVOICES_WRITE, for_update=True
    )
    invoice = await finalize(session, await team_by_id(session, ctx.team_id), invoice)
    return await invoice_out(session, settings, invoice)


async def send_invoice(
    session: AsyncSession, ctx: TeamContext, settings: Settings, invoice_id: uuid.UUID
) -> InvoiceOut:
    """Queue the invoice's email to the client's billing contacts; a draft is issued first."""
    invoice = await get_invoice(
        session, ctx, invoice_id, write=Permission.INVOICES_WRITE, for_update=True
    )
    if invoice.status is InvoiceStatus.void:
        raise Conflict("A void invoice cannot be sent.", code="invoice_void")
    if invoice.status is InvoiceStatus.draft:
        invoice = await finalize(session, await team_by_id(session, ctx.team_id), invoice)
    await queue_send(session, invoice)
    await session.refresh(invoice)
    return await invoice_out(session, settings, invoice)


async def void_invoice(
    session: AsyncSession, ctx: TeamContext, settings: Settings, invoice_id: uuid.UUID
) -> InvoiceOut:
    """Void a draft or open invoice: its entries become billable again; the number stays."""
    invoice = await get_invoice(
        session, ctx, invoice_id, write=Permission.INVOICES_VOID, for_update=True
    )
    if invoice.status is InvoiceStatus.void:
        raise Conflict("The invoice is already void.", code="invoice_void")
    # Paid with nothing received (a zero total) may still be voided.
    if invoice.amount_paid > 0:
        raise Conflict(
            "An invoice with payments cannot be voided; refund them first.", code="invoice_paid"
        )
    await release_entries(session, invoice)
    invoice.status, invoice.paid_at = InvoiceStatus.void, None
    invoice.voided_at = datetime.now(UTC)
    invoice.version += 1
    await session.flush()
    await session.refresh(invoice)
    await record_invoice_event(session, "invoice.voided", invoice, settings)
    return await invoice_out(session, settings, invoice)

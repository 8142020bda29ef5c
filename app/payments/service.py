"""Payments on invoices: manual and provider payments, refunds, and what follows them.

Every change of what an invoice has received happens with the invoice row locked
(`SELECT ... FOR UPDATE`), so concurrent payments are applied one after the other and
cannot together pay more than is due; the `amount_paid <= total_amount` check of the
invoice table backs this up.
"""

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.clients.models import Client
from app.core.clock import local_date, period_bounds
from app.core.context import TeamContext
from app.core.errors import Conflict, NotFound, Unprocessable
from app.core.ids import new_id
from app.core.money import div_half_up, exponent
from app.core.pagination import Listing, shaped_by
from app.core.permissions import Access, Permission
from app.core.statements import BOUND_CALLER, bound, caller_values, shaped
from app.core.tenancy import get_in_team, in_team, team_rows
from app.invoices.exchange_rates import rate_in_force
from app.invoices.models import Invoice, InvoiceStatus
from app.invoices.service import get_invoice, visible_invoices
from app.payments.events import record_payment_event
from app.payments.models import Payment, PaymentMethodUsed, PaymentStatus, Refund
from app.payments.notices import notify, notify_refund, queue_receipt
from app.payments.schemas import PaymentIn, PaymentOut, RefundIn
from app.teams.service import team_by_id


def to_base_amount(amount: int, currency: str, rate: Decimal, base_currency: str) -> int:
    """`amount` minor units of `currency` in minor units of the base currency, half-up.

    Exact: the rate is an integer ratio, so no digit is lost to a decimal context.
    """
    numerator, denominator = rate.as_integer_ratio()
    return div_half_up(
        amount * numerator * 10 ** exponent(base_currency),
        denominator * 10 ** exponent(currency),
    )


async def payment_rate(session: AsyncSession, invoice: Invoice, paid_at: datetime) -> Decimal:
    """The rate a payment converts at: the team's rate in force on the day it was paid
    (in the team's time zone), else the rate fixed on the invoice."""
    assert invoice.exchange_rate is not None
    team = await team_by_id(session, invoice.team_id)
    if invoice.currency == invoice.base_currency or team.base_currency != invoice.base_currency:
        return invoice.exchange_rate
    rate = await rate_in_force(
        session, team.id, invoice.currency, local_date(paid_at, team.timezone)
    )
    return invoice.exchange_rate if rate is None else rate


def amount_due(invoice: Invoice) -> int:
    """What the invoice still owes."""
    return invoice.total_amount - invoice.amount_paid


async def lock_invoice(session: AsyncSession, invoice_id: uuid.UUID) -> Invoice:
    """The invoice row locked for update and read afresh; 404 when it is gone."""
    invoice = await session.get(Invoice, invoice_id, with_for_update=True, populate_existing=True)
    if invoice is None:
        raise NotFound("Invoice")
    return invoice


async def apply_payment(
    session: AsyncSession,
    invoice: Invoice,
    *,
    amount: int,
    method: PaymentMethodUsed,
    paid_at: datetime,
    reference: str | None = None,
    provider: str | None = None,
    provider_payment_id: str | None = None,
    created_by_id: uuid.UUID | None = None,
) -> Payment | None:
    """Record money received for a locked invoice and update what it still owes.

    Returns None when the provider payment was already recorded (replayed events).
    """
    if invoice.status is not InvoiceStatus.open:
        raise Conflict("Payments go on open invoices only.", code="invoice_not_open")
    if amount > amount_due(invoice):
        raise Unprocessable(
            f"The amount exceeds what is due ({amount_due(invoice)}).", code="overpayment"
        )
    assert invoice.exchange_rate is not None and invoice.base_currency is not None
    rate = await payment_rate(session, invoice, paid_at)
    base_amount = to_base_amount(amount, invoice.currency, rate, invoice.base_currency)
    at_invoice_rate = to_base_amount(
        amount, invoice.currency, invoice.exchange_rate, invoice.base_currency
    )
    values = dict(
        team_id=invoice.team_id,
        invoice_id=invoice.id,
        method=method,
        status=PaymentStatus.succeeded,
        amount=amount,
        currency=invoice.currency,
        exchange_rate=rate,
        base_currency=invoice.base_currency,
        base_amount=base_amount,
        fx_difference_amount=base_amount - at_invoice_rate,
        paid_at=paid_at,
        reference=reference,
        provider=provider,
        provider_payment_id=provider_payment_id,
        created_by_id=created_by_id,
    )
    stmt = insert(Payment).values(id=new_id(), **values)
    if provider_payment_id is not None:
        stmt = stmt.on_conflict_do_nothing(
            index_elements=[Payment.provider, Payment.provider_payment_id],
            index_where=(Payment.status == PaymentStatus.succeeded)
            & Payment.provider_payment_id.isnot(None),
        )
    payment_id = await session.scalar(stmt.returning(Payment.id))
    if payment_id is None:
        return None
    invoice.amount_paid += amount
    if amount_due(invoice) == 0:
        invoice.status, invoice.paid_at = InvoiceStatus.paid, paid_at
    invoice.version += 1
    await session.flush()
    payment = await session.get(Payment, payment_id)
    assert payment is not None
    await notify(session, invoice, payment, "payment.succeeded")
    await queue_receipt(session, invoice, payment)
    return payment


async def record_failure(
    session: AsyncSession,
    invoice: Invoice,
    *,
    amount: int,
    method: PaymentMethodUsed,
    provider: str,
    provider_payment_id: str | None,
    reason: str,
) -> Payment:
    """Keep a failed attempt on record; the invoice stays as it is."""
    rate = invoice.exchange_rate or Decimal(1)
    base = invoice.base_currency or invoice.currency
    payment = Payment(
        id=new_id(),
        team_id=invoice.team_id,
        invoice_id=invoice.id,
        method=method,
        status=PaymentStatus.failed,
        amount=max(amount, 1),
        currency=invoice.currency,
        exchange_rate=rate,
        base_currency=base,
        base_amount=to_base_amount(max(amount, 1), invoice.currency, rate, base),
        paid_at=datetime.now(UTC),
        provider=provider,
        provider_payment_id=provider_payment_id,
        failure_reason=reason[:1000],
    )
    session.add(payment)
    await session.flush()
    await notify(session, invoice, payment, "payment.failed")
    return payment


UNAPPLIED = "received but not applied"


async def apply_provider_payment(
    session: AsyncSession,
    invoice: Invoice,
    *,
    amount: int,
    method: PaymentMethodUsed,
    provider: str,
    provider_payment_id: str,
    paid_at: datetime,
) -> None:
    """Apply money a provider collected, once per provider payment id.

    Money the invoice cannot take (not open, or more than due) is kept once as a failed
    payment saying so, for a person to refund, rather than dropped.
    """
    try:
        async with session.begin_nested():
            await apply_payment(
                session,
                invoice,
                amount=amount,
                method=method,
                paid_at=paid_at,
                provider=provider,
                provider_payment_id=provider_payment_id,
                reference=provider_payment_id,
            )
    except (Conflict, Unprocessable) as exc:
        await record_unapplied(
            session,
            invoice,
            amount=amount,
            method=method,
            provider=provider,
            provider_payment_id=provider_payment_id,
            code=exc.code,
        )


async def record_unapplied(
    session: AsyncSession,
    invoice: Invoice,
    *,
    amount: int,
    method: PaymentMethodUsed,
    provider: str,
    provider_payment_id: str,
    code: str,
) -> None:
    """Keep, once, money a provider collected that the invoice cannot take."""
    known = await session.scalar(
        select(Payment.id).where(
            Payment.provider == provider,
            Payment.provider_payment_id == provider_payment_id,
            (Payment.status == PaymentStatus.succeeded)
            | Payment.failure_reason.startswith(UNAPPLIED),
        )
    )
    if known is None:
        await record_failure(
            session,
            invoice,
            amount=amount,
            method=method,
            provider=provider,
            provider_payment_id=provider_payment_id,
            reason=f"{UNAPPLIED} ({code}): refund it at the provider",
        )


async def apply_refund(
    session: AsyncSession,
    invoice: Invoice,
    payment: Payment,
    *,
    amount: int,
    reason: str | None = None,
    method: PaymentMethodUsed | None = None,
    reference: str | None = None,
    provider: str | None = None,
    provider_refund_id: str | None = None,
    created_by_id: uuid.UUID | None = None,
) -> Refund | None:
    """Give back part of a payment (invoice and payment locked, in that order); a paid
    invoice reopens. None when already recorded.

    A refund of money the invoice never took (a failed payment kept as "received but not
    applied") is recorded against that payment and leaves the invoice as it is.
    """
    # A provider repeats earlier refunds in later events: known ones are skipped before
    # the amount check, so they cannot hide a new one.
    if provider_refund_id is not None and await session.scalar(
        select(Refund.id).where(
            Refund.provider == provider, Refund.provider_refund_id == provider_refund_id
        )
    ):
        return None
    if amount > payment.amount - payment.refunded_amount:
        raise Unprocessable(
            "The refund exceeds what is left of the payment.", code="refund_exceeds_payment"
        )
    stmt = insert(Refund).values(
        id=new_id(),
        team_id=payment.team_id,
        payment_id=payment.id,
        amount=amount,
        reason=reason,
        method=method or payment.method,
        reference=reference,
        provider=provider,
        provider_refund_id=provider_refund_id,
        created_by_id=created_by_id,
    )
    if provider_refund_id is not None:
        stmt = stmt.on_conflict_do_nothing(
            index_elements=[Refund.provider, Refund.provider_refund_id]
        )
    refund_id = await session.scalar(stmt.returning(Refund.id))
    if refund_id is None:
        return None
    payment.refunded_amount += amount
    if payment.status is PaymentStatus.succeeded:
        invoice.amount_paid -= amount
        if invoice.status is InvoiceStatus.paid and amount_due(invoice) > 0:
            invoice.status, invoice.paid_at = InvoiceStatus.open, None
        invoice.version += 1
    await session.flush()
    await record_payment_event(session, invoice, payment, "payment.refunded")
    refund = await session.get(Refund, refund_id)
    assert refund is not None
    await notify_refund(session, invoice, payment, refund)
    return refund


# ---------------------------------------------------------------- endpoints' services


async def create_manual_payment(
    session: AsyncSession, ctx: TeamContext, invoice_id: uuid.UUID, data: PaymentIn
) -> Payment:
    """Record a manual payment on an open invoice the caller may see."""
    ctx.access(Permission.PAYMENTS_WRITE)
    await get_invoice(session, ctx, invoice_id)
    invoice = await lock_invoice(session, invoice_id)
    payment = await apply_payment(
        session,
        invoice,
        amount=data.amount,
        method=PaymentMethodUsed(data.method.value),
        paid_at=data.paid_at or datetime.now(UTC),
        reference=data.reference,
        created_by_id=ctx.user_id,
    )
    assert payment is not None
    return payment


@shaped
def _invoice_payment_list() -> Select[Any]:
    """The payments list of one invoice's statement (`app.core.statements`)."""
    return team_rows(Payment, BOUND_CALLER).where(
        Payment.invoice_id == bound("invoice_id", Payment.invoice_id)
    )


async def list_invoice_payments(
    session: AsyncSession, ctx: TeamContext, invoice_id: uuid.UUID
) -> Listing[PaymentOut]:
    """The payments of an invoice the caller may see, failed attempts included."""
    invoice = await get_invoice(session, ctx, invoice_id)
    values = {**caller_values(ctx), "invoice_id": invoice.id}
    return Listing(_invoice_payment_list(), Payment, shaped_by(PaymentOut), values=values)


@shaped
def _payment_list(
    reach: Access, client: bool, method: PaymentMethodUsed | None, since: bool, before: bool
) -> Select[Any]:
    """The payments list's statement for one shape (`app.core.statements`)."""
    stmt = team_rows(Payment, BOUND_CALLER)
    if reach is not Access.ALL or client:
        invoices = select(Invoice.id).where(
            in_team(Invoice, BOUND_CALLER), visible_invoices(BOUND_CALLER, reach)
        )
        if client:
            invoices = invoices.where(Invoice.client_id == bound("client_id", Invoice.client_id))
        stmt = stmt.where(Payment.invoice_id.in_(invoices))
    if method is not None:
        stmt = stmt.where(Payment.method == method)
    if since:
        stmt = stmt.where(Payment.paid_at >= bound("paid_since", Payment.paid_at))
    if before:
        stmt = stmt.where(Payment.paid_at < bound("paid_before", Payment.paid_at))
    return stmt


async def list_payments(
    session: AsyncSession,
    ctx: TeamContext,
    *,
    client_id: uuid.UUID | None,
    method: PaymentMethodUsed | None,
    paid_from: datetime | date | None,
    paid_to: datetime | date | None,
) -> Listing[PaymentOut]:
    """The team's payments, newest first; a date bound is a whole day of the team's clock."""
    reach = ctx.access(Permission.INVOICES_READ)
    team = await team_by_id(session, ctx.team_id)
    since, before = period_bounds(team.timezone, paid_from, paid_to)
    stmt = _payment_list(
        reach, client_id is not None, method, since is not None, before is not None
    )
    values = {
        **caller_values(ctx),
        "client_id": client_id,
        "paid_since": since,
        "paid_before": before,
    }
    return Listing(
        stmt,
        Payment,
        shaped_by(PaymentOut),
        order_by=[Payment.paid_at],
        descending=True,
        values=values,
    )


async def refund_payment(
    session: AsyncSession, ctx: TeamContext, payment_id: uuid.UUID, data: RefundIn
) -> Refund:
    """Record a refund made outside any provider: of a manual payment, or of a crypto
    payment given back from a wallet or by transfer. Stripe refunds are made at Stripe,
    whose webhook records them."""
    ctx.access(Permission.PAYMENTS_WRITE)
    payment = await get_in_team(session, Payment, ctx, payment_id, what="Payment")
    if payment.status is not PaymentStatus.succeeded:
        raise Conflict("Only a received payment can be refunded.", code="payment_not_refundable")
    if payment.method is PaymentMethodUsed.stripe:
        raise Conflict(
            "Refund Stripe payments at Stripe; its webhook records the refund.",
            code="refund_at_provider",
        )
    invoice = await lock_invoice(session, payment.invoice_id)
    payment = await session.get(Payment, payment.id, with_for_update=True, populate_existing=True)
    assert payment is not None
    refund = await apply_refund(
        session,
        invoice,
        payment,
        amount=data.amount,
        reason=data.reason,
        method=PaymentMethodUsed(data.method.value) if data.method else None,
        reference=data.reference,
        created_by_id=ctx.user_id,
    )
    assert refund is not None
    return refund


async def client_of(session: AsyncSession, invoice: Invoice) -> Client:
    """The client the invoice is addressed to."""
    client = await session.get(Client, invoice.client_id)
    assert client is not None
    return client

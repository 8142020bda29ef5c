"""Paying an invoice: starting a payment at a provider, for team users and from the
public pay link, and what the pay link shows."""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from app.clients.models import Client
from app.config import Settings
from app.core.context import TeamContext
from app.core.errors import Conflict, Unprocessable
from app.core.ids import new_id
from app.core.permissions import Permission
from app.invoices import service as invoice_service
from app.invoices.models import Invoice, InvoiceStatus
from app.invoices.payment_methods import usable_methods
from app.invoices.schemas import PublicInvoice
from app.payments.models import Checkout
from app.payments.providers import crypto, stripe
from app.payments.schemas import CheckoutOut, Provider
from app.payments.service import amount_due, client_of, lock_invoice


def _payable(client: Client, invoice: Invoice, provider: Provider) -> int:
    if provider.value not in client.payment_methods:
        raise Unprocessable(
            f"{client.name} does not pay by {provider.value}.", code="payment_method_not_allowed"
        )
    if invoice.status is not InvoiceStatus.open:
        raise Conflict("Only an open invoice can be paid.", code="invoice_not_open")
    due = amount_due(invoice)
    if due <= 0:
        raise Conflict("Nothing is due on this invoice.", code="nothing_due")
    return due


async def start_checkout(
    session: AsyncSession, settings: Settings, invoice: Invoice, client: Client, provider: Provider
) -> Checkout:
    """A provider payment page for what the invoice still owes.

    The provider is called before any row is locked (its answer can take seconds, and
    payments arriving meanwhile must not wait); the invoice is then locked and checked
    again before the checkout is recorded.
    """
    due = _payable(client, invoice, provider)
    back = invoice_service.pay_url(settings, invoice)
    checkout_id = new_id()
    if provider is Provider.stripe:
        provider_id, url = await stripe.create_checkout(
            session, settings, invoice, client, due, back
        )
    else:
        provider_id, url = await crypto.create_order(settings, invoice, str(checkout_id), due, back)
    invoice = await lock_invoice(session, invoice.id)
    if _payable(client, invoice, provider) != due:
        raise Conflict("The amount due changed meanwhile; try again.", code="invoice_changed")
    checkout = Checkout(
        id=checkout_id,
        team_id=invoice.team_id,
        invoice_id=invoice.id,
        provider=provider.value,
        provider_checkout_id=provider_id,
        url=url,
        amount=due,
        currency=invoice.currency,
    )
    session.add(checkout)
    await session.flush()
    return checkout


async def _checkout_out(
    session: AsyncSession, settings: Settings, invoice: Invoice, provider: Provider
) -> CheckoutOut:
    client = await client_of(session, invoice)
    started = await start_checkout(session, settings, invoice, client, provider)
    return CheckoutOut(
        url=started.url, provider=provider, amount=started.amount, currency=started.currency
    )


async def checkout_invoice(
    session: AsyncSession,
    ctx: TeamContext,
    settings: Settings,
    invoice_id: uuid.UUID,
    provider: Provider,
) -> CheckoutOut:
    """A provider payment page for an invoice the caller may change."""
    invoice = await invoice_service.get_invoice(
        session, ctx, invoice_id, write=Permission.INVOICES_WRITE
    )
    return await _checkout_out(session, settings, invoice, provider)


async def checkout_by_pay_token(
    session: AsyncSession, settings: Settings, token: str, provider: Provider
) -> CheckoutOut:
    """A provider payment page for the invoice behind a pay link."""
    invoice = await invoice_service.invoice_by_pay_token(session, token)
    return await _checkout_out(session, settings, invoice, provider)


async def public_invoice(session: AsyncSession, settings: Settings, token: str) -> PublicInvoice:
    """The invoice behind a pay link with the payment methods its client can use now."""
    return await invoice_service.public_invoice(
        session, token, lambda client: usable_methods(settings, client)
    )


async def public_view(session: AsyncSession, settings: Settings, invoice: Invoice) -> PublicInvoice:
    """An issued invoice as its pay link shows it (its client's usable methods)."""
    return await invoice_service.public_view(
        session, invoice, lambda client: usable_methods(settings, client)
    )

"""Who receives an invoice, and queueing its email after the transaction commits."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.clients.models import Client
from app.contacts.models import Contact
from app.core.errors import Unprocessable
from app.core.jobs import defer
from app.invoices.models import Invoice, SendStatus

SEND_INVOICE_JOB = "send_invoice"


async def billing_recipients(session: AsyncSession, client: Client) -> list[str]:
    """The client's contacts that have an email; else the client's own email."""
    emails = list(
        (
            await session.execute(
                select(Contact.email)
                .where(
                    Contact.team_id == client.team_id,
                    Contact.client_id == client.id,
                    Contact.email.isnot(None),
                )
                .order_by(Contact.email)
            )
        ).scalars()
    )
    if not emails and client.email:
        emails = [client.email]
    return [e for e in emails if e]


async def queue_send(session: AsyncSession, invoice: Invoice) -> None:
    """Email the invoice once the transaction commits (the invoice must be issued)."""
    client = await session.get(Client, invoice.client_id)
    assert client is not None
    if not await billing_recipients(session, client):
        raise Unprocessable(
            "The client has no contact with an email and no email of its own.",
            code="no_billing_contact",
        )
    invoice.send_status = SendStatus.queued
    invoice.send_error = None
    await session.flush()
    defer(session, SEND_INVOICE_JOB, str(invoice.id))

"""Emailing an invoice: who receives it, queueing the email after the transaction
commits, the message itself, and recording how delivery went."""

import uuid
from datetime import UTC, datetime
from email.message import EmailMessage

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.clients.models import Client
from app.config import Settings
from app.contacts.models import Contact
from app.core.errors import Unprocessable
from app.core.jobs import defer
from app.core.money import format_amount
from app.core.tenancy import in_team
from app.invoices.models import Invoice, InvoiceStatus, SendStatus
from app.invoices.pdf import invoice_pdf
from app.invoices.service import pay_url, record_invoice_event
from app.teams.models import Team

SEND_INVOICE_JOB = "send_invoice"


async def billing_recipients(session: AsyncSession, client: Client) -> list[str]:
    """Where the client's invoices and payment receipts go: its billing contacts; when
    none is marked, the client's own email; never any other contact."""
    emails = list(
        (
            await session.execute(
                select(Contact.email)
                .where(
                    in_team(Contact, client),
                    Contact.client_id == client.id,
                    Contact.billing_contact.is_(True),
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
            "The client has no billing contact and no email of its own.",
            code="no_billing_contact",
        )
    invoice.send_status = SendStatus.queued
    invoice.send_error = None
    await session.flush()
    defer(session, SEND_INVOICE_JOB, str(invoice.team_id), str(invoice.id))


def _message(
    settings: Settings, team: Team, invoice: Invoice, to: list[str], pdf: bytes
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = ", ".join(to)
    message["Subject"] = f"Invoice {invoice.number} from {team.name}"
    due = format_amount(invoice.total_amount - invoice.amount_paid, invoice.currency)
    message.set_content(
        f"Hello,\n\nplease find attached invoice {invoice.number} from {team.name} "
        f"for {format_amount(invoice.total_amount, invoice.currency)}.\n"
        f"Amount due: {due}, by {invoice.due_date}.\n\n"
        f"View and pay online: {pay_url(settings, invoice)}\n\nThank you."
    )
    message.add_attachment(
        pdf, maintype="application", subtype="pdf", filename=f"{invoice.number}.pdf"
    )
    return message


async def invoice_email(
    session: AsyncSession, settings: Settings, invoice_id: uuid.UUID
) -> EmailMessage | None:
    """The invoice's email with its PDF (rendered or reused); None when it is no longer
    to be sent (gone, a draft, or void)."""
    invoice = await session.get(Invoice, invoice_id)
    if invoice is None or invoice.status in (InvoiceStatus.draft, InvoiceStatus.void):
        return None
    team = await session.get(Team, invoice.team_id)
    client = await session.get(Client, invoice.client_id)
    assert team is not None and client is not None
    pdf = await invoice_pdf(session, settings, invoice)
    recipients = await billing_recipients(session, client)
    return _message(settings, team, invoice, recipients, pdf)


async def record_send_failure(
    session: AsyncSession, invoice_id: uuid.UUID, exc: Exception, *, will_retry: bool
) -> None:
    """Keep the delivery error on the invoice: still queued while a retry is due."""
    failed = await session.get(Invoice, invoice_id, with_for_update=True)
    if failed is not None:
        failed.send_error = f"{type(exc).__name__}: {exc}"[:1000]
        failed.send_status = SendStatus.queued if will_retry else SendStatus.failed


async def record_sent(
    session: AsyncSession, invoice_id: uuid.UUID, settings: Settings | None = None
) -> None:
    """Mark the invoice as emailed now."""
    sent = await session.get(Invoice, invoice_id, with_for_update=True)
    if sent is not None:
        sent.sent_at = datetime.now(UTC)
        sent.send_status = SendStatus.sent
        sent.send_error = None
        await record_invoice_event(session, "invoice.sent", sent, settings)

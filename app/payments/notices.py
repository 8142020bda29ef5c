"""What a payment tells people by email: a receipt to the client's billing recipients."""

from sqlalchemy.ext.asyncio import AsyncSession

from app.clients.models import Client
from app.core.mail import queue_email
from app.core.money import format_amount
from app.invoices.models import Invoice
from app.invoices.sending import billing_recipients
from app.payments.models import Payment
from app.teams.service import team_by_id


def _label(invoice: Invoice) -> str:
    return invoice.number or str(invoice.id)


async def queue_receipt(session: AsyncSession, invoice: Invoice, payment: Payment) -> None:
    """Email a receipt for money applied to the invoice to the client's billing contacts
    (or its own email) after the commit; nobody when the client has neither."""
    client = await session.get(Client, invoice.client_id)
    assert client is not None
    to = await billing_recipients(session, client)
    if not to:
        return
    team = await team_by_id(session, invoice.team_id)
    label = _label(invoice)
    due = invoice.total_amount - invoice.amount_paid
    balance = (
        f"Still due: {format_amount(due, invoice.currency)}, by {invoice.due_date}."
        if due > 0
        else "The invoice is now paid in full."
    )
    queue_email(
        session,
        to=to,
        subject=f"Payment received for invoice {label} from {team.name}",
        text=(
            f"Hello,\n\n{team.name} received your payment of "
            f"{format_amount(payment.amount, payment.currency)} for invoice {label}.\n"
            f"{balance}\n\nThank you."
        ),
    )

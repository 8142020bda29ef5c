"""What money moving on an invoice tells people by email, after the commit.

- The team's members who may record payments (`roles_with(PAYMENTS_WRITE)`) hear of a
  partial payment, full payment, a refund and a failed provider payment, each kind unless
  the team turned it off (`notify_*` on the team).
- The client's billing recipients get a receipt for each payment (`payment_receipts`).
"""

from sqlalchemy.ext.asyncio import AsyncSession

from app.clients.models import Client
from app.core.mail import queue_email
from app.core.money import format_amount
from app.core.permissions import Permission
from app.invoices.models import Invoice, InvoiceStatus
from app.invoices.sending import billing_recipients
from app.payments.events import record_payment_event
from app.payments.models import Payment, Refund
from app.teams.models import Team
from app.teams.recipients import emails_of_members_with
from app.teams.service import team_by_id


def _label(invoice: Invoice) -> str:
    return invoice.number or str(invoice.id)


def _money(amount: int, currency: str) -> str:
    return format_amount(amount, currency)


def _due(invoice: Invoice) -> int:
    return invoice.total_amount - invoice.amount_paid


async def _tell_managers(session: AsyncSession, team: Team, subject: str, text: str) -> None:
    recipients = await emails_of_members_with(session, team.id, Permission.PAYMENTS_WRITE)
    if recipients:
        queue_email(session, to=recipients, subject=subject, text=text)


async def notify(
    session: AsyncSession, invoice: Invoice, payment: Payment, event_type: str
) -> None:
    """Record `payment.succeeded` / `payment.failed` and tell the invoicing managers."""
    await record_payment_event(session, invoice, payment, event_type)
    team = await team_by_id(session, invoice.team_id)
    label = _label(invoice)
    amount = _money(payment.amount, payment.currency)
    if event_type == "payment.failed":
        if team.notify_payment_failed:
            await _tell_managers(
                session,
                team,
                f"Payment failed for invoice {label}",
                f"A payment of {amount} for invoice {label} failed: "
                f"{payment.failure_reason or 'no reason given'}.\nThe invoice stays open.",
            )
    elif invoice.status is InvoiceStatus.paid:
        if team.notify_paid:
            total = _money(invoice.total_amount, invoice.currency)
            await _tell_managers(
                session,
                team,
                f"Invoice {label} is paid",
                f"Invoice {label} is paid in full ({total}).",
            )
    elif team.notify_partial_payment:
        due = _money(_due(invoice), invoice.currency)
        await _tell_managers(
            session,
            team,
            f"Partial payment for invoice {label}",
            f"A payment of {amount} was received for invoice {label}.\nStill due: {due}.",
        )


async def notify_refund(
    session: AsyncSession, invoice: Invoice, payment: Payment, refund: Refund
) -> None:
    """Tell the invoicing managers that part of a payment went back to the client."""
    team = await team_by_id(session, invoice.team_id)
    if not team.notify_refund:
        return
    label = _label(invoice)
    amount = _money(refund.amount, payment.currency)
    reason = f"\nReason: {refund.reason}" if refund.reason else ""
    await _tell_managers(
        session,
        team,
        f"Refund on invoice {label}",
        f"{amount} of a payment for invoice {label} was refunded.{reason}\n"
        f"Now due on the invoice: {_money(_due(invoice), invoice.currency)}.",
    )


async def queue_receipt(session: AsyncSession, invoice: Invoice, payment: Payment) -> None:
    """Email a receipt for money applied to the invoice to the client's billing contacts
    (or its own email); nobody when the client has neither or the team sends none."""
    team = await team_by_id(session, invoice.team_id)
    if not team.payment_receipts:
        return
    client = await session.get(Client, invoice.client_id)
    assert client is not None
    to = await billing_recipients(session, client)
    if not to:
        return
    label = _label(invoice)
    due = _due(invoice)
    balance = (
        f"Still due: {_money(due, invoice.currency)}, by {invoice.due_date}."
        if due > 0
        else "The invoice is now paid in full."
    )
    queue_email(
        session,
        to=to,
        subject=f"Payment received for invoice {label} from {team.name}",
        text=(
            f"Hello,\n\n{team.name} received your payment of "
            f"{_money(payment.amount, payment.currency)} for invoice {label}.\n"
            f"{balance}\n\nThank you."
        ),
    )

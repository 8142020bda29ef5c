"""The events of money moving on an invoice: the payment's, then the invoice's."""

from sqlalchemy.ext.asyncio import AsyncSession

from app.events.record import record_event
from app.invoices.models import Invoice, InvoiceStatus
from app.invoices.service import record_invoice_event
from app.payments.models import Payment
from app.payments.schemas import PaymentOut


async def record_payment_event(
    session: AsyncSession, invoice: Invoice, payment: Payment, event_type: str
) -> None:
    """`payment.succeeded|failed|refunded` with the payment as the API returns it, then
    what it did to the invoice: `invoice.paid` when it settled it, else `invoice.updated`
    (a failure changes nothing on the invoice: no invoice event)."""
    await session.flush()
    await session.refresh(payment)
    await record_event(
        session,
        invoice.team_id,
        event_type,
        PaymentOut.model_validate(payment),
        client_id=invoice.client_id,
    )
    if event_type == "payment.failed":
        return
    paid = event_type == "payment.succeeded" and invoice.status is InvoiceStatus.paid
    await record_invoice_event(session, "invoice.paid" if paid else "invoice.updated", invoice)

"""Invoice background work: emailing an invoice, and scheduled invoice runs."""

import logging
import uuid
from datetime import UTC, date, datetime
from email.message import EmailMessage
from typing import Any

import aiosmtplib
from sqlalchemy import Date, cast, func, select

from app.clients.models import Client, ClientStatus
from app.config import Settings
from app.core.db import Database, unit_of_work
from app.core.mail import deliver, retry_later
from app.core.money import format_amount
from app.invoices import runs
from app.invoices.models import Invoice, InvoiceSettings, InvoiceStatus, SendStatus
from app.invoices.pdf import invoice_pdf
from app.invoices.sending import billing_recipients
from app.invoices.service import pay_url
from app.teams.models import Team

log = logging.getLogger(__name__)


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


async def send_invoice(ctx: dict[str, Any], invoice_id: str) -> str:
    """arq job: render (or reuse) the PDF and email it; record success or failure."""
    db: Database = ctx["db"]
    settings: Settings = ctx["settings"]
    async with unit_of_work(db, ctx["redis"]) as session:
        invoice = await session.get(Invoice, uuid.UUID(invoice_id))
        if invoice is None or invoice.status in (InvoiceStatus.draft, InvoiceStatus.void):
            return "skipped"
        team = await session.get(Team, invoice.team_id)
        client = await session.get(Client, invoice.client_id)
        assert team is not None and client is not None
        pdf = await invoice_pdf(session, settings, invoice)
        recipients = await billing_recipients(session, client)
        message = _message(settings, team, invoice, recipients, pdf)
    try:
        await deliver(settings, message)
    except (aiosmtplib.SMTPException, OSError) as exc:
        retry = retry_later(ctx, exc)
        async with unit_of_work(db, ctx["redis"]) as session:
            failed = await session.get(Invoice, uuid.UUID(invoice_id), with_for_update=True)
            if failed is not None:
                failed.send_error = f"{type(exc).__name__}: {exc}"[:1000]
                failed.send_status = SendStatus.queued if retry else SendStatus.failed
        if retry is None:
            log.error("giving up on emailing invoice %s: %s", invoice_id, exc)
            raise
        raise retry from exc
    async with unit_of_work(db, ctx["redis"]) as session:
        sent = await session.get(Invoice, uuid.UUID(invoice_id), with_for_update=True)
        if sent is not None:
            sent.sent_at = datetime.now(UTC)
            sent.send_status = SendStatus.sent
            sent.send_error = None
    return "sent"


async def run_scheduled_invoices(ctx: dict[str, Any]) -> int:
    """arq cron job (hourly): generate every invoice whose schedule is due.

    Each client is handled in its own transaction; the unique (client, period) run row
    makes a rerun, a crash half-way or a second worker harmless.
    """
    db: Database = ctx["db"]
    async with db.sessionmaker() as session:
        due = (
            (
                await session.execute(
                    select(InvoiceSettings.client_id)
                    .join(Team, Team.id == InvoiceSettings.team_id)
                    .join(
                        Client,
                        (Client.team_id == InvoiceSettings.team_id)
                        & (Client.id == InvoiceSettings.client_id),
                    )
                    .where(
                        InvoiceSettings.schedule != "none",
                        InvoiceSettings.next_run_on.isnot(None),
                        InvoiceSettings.next_run_on
                        <= cast(func.timezone(Team.timezone, func.now()), Date),
                        Client.status == ClientStatus.active,
                    )
                )
            )
            .scalars()
            .all()
        )
    generated = 0
    for client_id in due:
        async with unit_of_work(db, ctx["redis"]) as session:
            generated += await runs.run_due_schedule(session, client_id, ctx["settings"])
    return generated


async def run_invoices(
    ctx: dict[str, Any],
    team_id: str,
    period_start: str,
    period_end: str,
    client_ids: list[str] | None,
) -> int:
    """arq job behind POST /invoice-runs: one run per client for the given period."""
    db: Database = ctx["db"]
    start, end = date.fromisoformat(period_start), date.fromisoformat(period_end)
    async with db.sessionmaker() as session:
        ids = await runs.clients_to_run(
            session,
            uuid.UUID(team_id),
            start,
            end,
            [uuid.UUID(c) for c in client_ids or []] or None,
        )
    done = 0
    for client_id in ids:
        async with unit_of_work(db, ctx["redis"]) as session:
            done += await runs.run_client_period(
                session, client_id, start, end, trigger="manual", settings=ctx["settings"]
            )
    return done

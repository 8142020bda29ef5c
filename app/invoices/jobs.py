"""Invoice arq jobs: emailing an invoice, and invoice runs (scheduled and requested).

Each job opens its own units of work and leaves the work to `sending` and `runs`.
"""

import logging
import uuid
from datetime import date
from typing import Any

import aiosmtplib

from app.config import Settings
from app.core.db import Database, unit_of_work
from app.core.mail import deliver, retry_later
from app.invoices import overdue, runs, sending
from app.invoices.models import RunStatus

log = logging.getLogger(__name__)


async def send_invoice(ctx: dict[str, Any], team_id: str, invoice_id: str) -> str:
    """arq job: render (or reuse) the PDF and email it; record success or failure."""
    db: Database = ctx["db"]
    settings: Settings = ctx["settings"]
    team = uuid.UUID(team_id)
    async with unit_of_work(db, ctx["redis"], team_id=team) as session:
        message = await sending.invoice_email(session, settings, uuid.UUID(invoice_id))
    if message is None:
        return "skipped"
    try:
        await deliver(settings, message)
    except (aiosmtplib.SMTPException, OSError) as exc:
        retry = retry_later(ctx, exc)
        async with unit_of_work(db, ctx["redis"], team_id=team) as session:
            await sending.record_send_failure(
                session, uuid.UUID(invoice_id), exc, will_retry=retry is not None
            )
        if retry is None:
            log.error("giving up on emailing invoice %s: %s", invoice_id, exc)
            raise
        raise retry from exc
    async with unit_of_work(db, ctx["redis"], team_id=team) as session:
        await sending.record_sent(session, uuid.UUID(invoice_id), settings)
    return "sent"


async def record_overdue_invoices(ctx: dict[str, Any]) -> int:
    """arq cron job (hourly, so each team hears it soon after its own midnight): record
    `invoice.overdue` once for each invoice past its due date. Finding the candidates is
    the one read across teams; each is judged in its own team."""
    db: Database = ctx["db"]
    async with db.sessionmaker() as session:
        candidates = await overdue.overdue_candidates(session)
    recorded = 0
    for team_id, invoice_id in candidates:
        async with unit_of_work(db, ctx["redis"], team_id=team_id) as session:
            recorded += await overdue.record_if_overdue(session, team_id, invoice_id)
    return recorded


async def run_scheduled_invoices(ctx: dict[str, Any]) -> int:
    """arq cron job (hourly): generate every invoice whose schedule is due.

    Each client is handled in its own transaction, confined to its team; the unique
    (client, period) run row makes a rerun, a crash half-way or a second worker harmless.
    Finding the due clients is the one read across teams.
    """
    db: Database = ctx["db"]
    async with db.sessionmaker() as session:
        due = await runs.due_clients(session)
    generated = 0
    for team_id, client_id in due:
        async with unit_of_work(db, ctx["redis"], team_id=team_id) as session:
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
    team = uuid.UUID(team_id)
    start, end = date.fromisoformat(period_start), date.fromisoformat(period_end)
    async with unit_of_work(db, ctx["redis"], team_id=team) as session:
        ids = await runs.clients_to_run(
            session,
            team,
            start,
            end,
            [uuid.UUID(c) for c in client_ids or []] or None,
        )
    done = 0
    for client_id in ids:
        async with unit_of_work(db, ctx["redis"], team_id=team) as session:
            status = await runs.run_client_period(
                session, client_id, start, end, trigger="manual", settings=ctx["settings"]
            )
            done += status is RunStatus.done
    return done

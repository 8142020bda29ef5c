"""Invoice runs: generate, finalize and (optionally) send a client's invoice for a period,
at most once per (client, period) thanks to the unique `invoice_run` row."""

import calendar
import uuid
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.clients.models import Client, ClientStatus
from app.config import Settings
from app.core.clock import today_in
from app.core.errors import AppError
from app.core.ids import new_id
from app.invoices import service
from app.invoices.models import (
    InvoiceRun,
    InvoiceSchedule,
    InvoiceSettings,
    RunStatus,
)
from app.invoices.schemas import InvoiceIn
from app.invoices.sending import billing_recipients, queue_send
from app.projects.models import Project
from app.teams.service import team_by_id
from app.time_tracking.models import TimeEntry

# How many overdue periods one cron tick catches up per client.
_CATCH_UP = 12


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def schedule_period(schedule: InvoiceSchedule, run_on: date) -> tuple[date, date, date]:
    """(period_start, period_end, next run) for a run due on `run_on`: the period just before."""
    if schedule is InvoiceSchedule.weekly:
        return run_on - timedelta(days=7), run_on - timedelta(days=1), run_on + timedelta(days=7)
    if schedule is InvoiceSchedule.biweekly:
        return run_on - timedelta(days=14), run_on - timedelta(days=1), run_on + timedelta(days=14)
    if schedule is InvoiceSchedule.monthly:
        return add_months(run_on, -1), run_on - timedelta(days=1), add_months(run_on, 1)
    raise ValueError("no schedule")


async def run_client_period(
    session: AsyncSession,
    client_id: uuid.UUID,
    period_start: date,
    period_end: date,
    *,
    trigger: str,
    settings: Settings,
    auto_send: bool | None = None,
) -> int:
    """Generate the client's invoice for the period unless that run already happened.

    Returns 1 when an invoice was made. A period with nothing to bill is recorded as an
    empty run; a rule that stops the invoice (missing rates, missing exchange rate) is
    recorded as a failed run with its reason.
    """
    client = await session.get(Client, client_id)
    if client is None:
        return 0
    stmt = insert(InvoiceRun).values(
        id=new_id(),
        team_id=client.team_id,
        client_id=client.id,
        period_start=period_start,
        period_end=period_end,
        trigger=trigger,
        status=RunStatus.empty,
    )
    # A period that produced an invoice is never run again; one that failed or had
    # nothing to bill may be run again (the upsert locks the row, so never twice at once).
    claimed = await session.scalar(
        stmt.on_conflict_do_update(
            index_elements=[
                InvoiceRun.team_id,
                InvoiceRun.client_id,
                InvoiceRun.period_start,
                InvoiceRun.period_end,
            ],
            set_={"trigger": trigger, "error": None, "updated_at": func.now()},
            where=InvoiceRun.status != RunStatus.done,
        ).returning(InvoiceRun.id)
    )
    if claimed is None:
        return 0
    run = await session.get(InvoiceRun, claimed, populate_existing=True)
    assert run is not None
    team = await team_by_id(session, client.team_id)
    inv_settings = await service.invoice_settings_for(session, client)
    try:
        async with session.begin_nested():
            invoice = await service.build_draft(
                session,
                team,
                client,
                inv_settings,
                InvoiceIn(client_id=client.id, period_start=period_start, period_end=period_end),
                created_by_id=None,
                run_id=run.id,
            )
            await service.finalize(session, team, invoice)
            send = inv_settings.auto_send if auto_send is None else auto_send
            if send and await billing_recipients(session, client):
                await queue_send(session, invoice)
            elif send:
                run.error = "not sent: the client has no billing email"
    except AppError as exc:
        if exc.code == "nothing_to_invoice":
            run.status = RunStatus.empty
        else:
            run.status = RunStatus.failed
            run.error = f"{exc.code}: {exc.detail}"[:1000]
        await session.flush()
        return 0
    run.status = RunStatus.done
    run.invoice_id = invoice.id
    await session.flush()
    return 1


async def run_due_schedule(session: AsyncSession, client_id: uuid.UUID, settings: Settings) -> int:
    """Run every due period of one client's schedule and move `next_run_on` forward."""
    inv_settings = (
        await session.execute(
            select(InvoiceSettings)
            .where(InvoiceSettings.client_id == client_id)
            .with_for_update(skip_locked=True)
        )
    ).scalar_one_or_none()
    if inv_settings is None or inv_settings.next_run_on is None:
        return 0  # another worker holds it, or nothing is scheduled
    team = await team_by_id(session, inv_settings.team_id)
    today = today_in(team.timezone)
    made = 0
    for _ in range(_CATCH_UP):
        if inv_settings.schedule is InvoiceSchedule.none or inv_settings.next_run_on > today:
            break
        start, end, following = schedule_period(inv_settings.schedule, inv_settings.next_run_on)
        made += await run_client_period(
            session, client_id, start, end, trigger="schedule", settings=settings
        )
        inv_settings.next_run_on = following
    await session.flush()
    return made


async def clients_to_run(
    session: AsyncSession,
    team_id: uuid.UUID,
    start: date,
    end: date,
    client_ids: list[uuid.UUID] | None,
) -> list[uuid.UUID]:
    """The given clients of the team, or every active client with billable time to bill."""
    stmt = select(Client.id).where(Client.team_id == team_id)
    if client_ids is not None:
        stmt = stmt.where(Client.id.in_(client_ids))
    else:
        stmt = stmt.where(
            Client.status == ClientStatus.active,
            Client.id.in_(
                select(Project.client_id)
                .join(
                    TimeEntry,
                    (TimeEntry.team_id == Project.team_id) & (TimeEntry.project_id == Project.id),
                )
                .where(
                    Project.team_id == team_id,
                    TimeEntry.invoice_id.is_(None),
                    TimeEntry.billable.is_(True),
                )
            ),
        )
    return list((await session.execute(stmt.order_by(Client.id))).scalars())

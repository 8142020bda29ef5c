"""Invoice runs: generate, finalize and (optionally) send a client's invoice for a period,
at most once per (client, period) thanks to the unique `invoice_run` row.

A run is due by the client's schedule (the hourly cron job) or requested for a period
(`start_run`, behind POST /invoice-runs); `app.invoices.jobs` carries both out.
"""

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Date, Select, cast, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.clients.models import Client, ClientStatus
from app.clients.service import own_client_ids
from app.config import Settings
from app.core.clock import today_in
from app.core.context import TeamContext
from app.core.errors import AppError, Unprocessable
from app.core.ids import new_id
from app.core.jobs import defer
from app.core.mail import queue_email
from app.core.pagination import Listing, shaped_by
from app.core.permissions import Access, Permission
from app.core.statements import BOUND_CALLER, caller_values, shaped
from app.core.tenancy import in_team, same_team, team_rows
from app.invoices.billing_settings import invoice_settings_for
from app.invoices.drafts import build_draft
from app.invoices.lifecycle import finalize
from app.invoices.models import (
    InvoiceRun,
    InvoiceSchedule,
    InvoiceSettings,
    RunStatus,
)
from app.invoices.schedules import schedule_period
from app.invoices.schemas import InvoiceIn, InvoiceRunAccepted, InvoiceRunIn, InvoiceRunOut
from app.invoices.sending import billing_recipients, queue_send
from app.projects.models import Project
from app.teams.models import Team
from app.teams.recipients import emails_of_members_with
from app.teams.service import team_by_id
from app.time_tracking.models import TimeEntry

RUN_INVOICES_JOB = "run_invoices"
# How many overdue periods one cron tick catches up per client.
_CATCH_UP = 12
# How long a run may keep failing before the team's invoicing managers are emailed.
FAILURE_NOTICE_AFTER = timedelta(hours=24)


async def run_client_period(
    session: AsyncSession,
    client_id: uuid.UUID,
    period_start: date,
    period_end: date,
    *,
    trigger: str,
    settings: Settings,
    auto_send: bool | None = None,
) -> RunStatus | None:
    """Generate the client's invoice for the period unless that run already happened.

    Returns the run's status, None when it had already made its invoice. A period with
    nothing to bill is recorded as an empty run; a rule that stops the invoice (missing
    rates, missing exchange rate) is recorded as a failed run with its reason, and the
    team's invoicing managers are emailed once it has failed for a day.
    """
    client = await session.get(Client, client_id)
    if client is None:
        return None
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
        return None
    run = await session.get(InvoiceRun, claimed, populate_existing=True)
    assert run is not None
    team = await team_by_id(session, client.team_id)
    inv_settings = await invoice_settings_for(session, client)
    try:
        async with session.begin_nested():
            invoice, _ = await build_draft(
                session,
                team,
                client,
                inv_settings,
                # Everything uninvoiced up to the period's end: time logged late into an
                # earlier period (whose run already happened) is billed now.
                InvoiceIn(
                    client_id=client.id,
                    period_start=period_start,
                    period_end=period_end,
                    include_earlier=True,
                ),
                created_by_id=None,
                run_id=run.id,
            )
            await finalize(session, team, invoice)
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
    else:
        run.status = RunStatus.done
        run.invoice_id = invoice.id
    if run.status is RunStatus.failed:
        await _note_failure(session, client, run)
    else:
        run.failed_since = run.failure_notified_at = None
    await session.flush()
    return run.status


async def _note_failure(session: AsyncSession, client: Client, run: InvoiceRun) -> None:
    """Start or continue the run's failure streak; after a day of it, email the team's
    invoicing managers (those who may finalize invoices) once, with the reason."""
    now = datetime.now(UTC)
    if run.failed_since is None:
        run.failed_since = now
    if run.failure_notified_at is not None or now - run.failed_since < FAILURE_NOTICE_AFTER:
        return
    run.failure_notified_at = now
    recipients = await emails_of_members_with(session, client.team_id, Permission.INVOICES_WRITE)
    if not recipients:
        return
    since = run.failed_since.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    retry = (
        "it is retried every hour, and once the cause is fixed the next run makes the invoice"
        if run.trigger == "schedule"
        else "once the cause is fixed, run the period again"
    )
    queue_email(
        session,
        to=recipients,
        subject=f"Invoice run for {client.name} is failing",
        text=(
            f"The invoice run of {client.name} for {run.period_start.isoformat()} to "
            f"{run.period_end.isoformat()} has failed since {since}.\n\n"
            f"Reason: {run.error}\n\nNo invoice was made: {retry}."
        ),
    )


async def run_due_schedule(session: AsyncSession, client_id: uuid.UUID, settings: Settings) -> int:
    """Run every due period of one client's schedule and move `next_run_on` forward.

    A failed period stays due (`next_run_on` is not moved): the next hourly tick retries
    it, and later periods wait for it."""
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
        start, end, following = schedule_period(
            inv_settings.schedule, inv_settings.next_run_on, inv_settings.anchor_day
        )
        status = await run_client_period(
            session, client_id, start, end, trigger="schedule", settings=settings
        )
        if status is RunStatus.failed:
            break
        made += status is RunStatus.done
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
    stmt = select(Client.id).where(in_team(Client, team_id))
    if client_ids is not None:
        stmt = stmt.where(Client.id.in_(client_ids))
    else:
        stmt = stmt.where(
            Client.status == ClientStatus.active,
            Client.id.in_(
                select(Project.client_id)
                .join(
                    TimeEntry,
                    same_team(TimeEntry, Project) & (TimeEntry.project_id == Project.id),
                )
                .where(
                    in_team(Project, team_id),
                    TimeEntry.invoice_id.is_(None),
                    TimeEntry.billable.is_(True),
                )
            ),
        )
    return list((await session.execute(stmt.order_by(Client.id))).scalars())


async def due_clients(session: AsyncSession) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """`(team_id, client_id)` of active clients whose schedule is due on their team's today.

    A cross-team read (see docs/security.md); each client is then run in its own team.
    """
    rows = await session.execute(
        select(InvoiceSettings.team_id, InvoiceSettings.client_id)
        .join(Team, in_team(InvoiceSettings, Team.id))
        .join(
            Client,
            same_team(Client, InvoiceSettings) & (Client.id == InvoiceSettings.client_id),
        )
        .where(
            InvoiceSettings.schedule != "none",
            InvoiceSettings.next_run_on.isnot(None),
            InvoiceSettings.next_run_on <= cast(func.timezone(Team.timezone, func.now()), Date),
            Client.status == ClientStatus.active,
        )
    )
    return [(row.team_id, row.client_id) for row in rows]


async def start_run(
    session: AsyncSession, ctx: TeamContext, data: InvoiceRunIn
) -> InvoiceRunAccepted:
    """Queue a run for the period (after commit); the answer carries its job id."""
    ctx.access(Permission.INVOICES_WRITE)
    if data.client_ids:
        found = set(
            (
                await session.execute(
                    select(Client.id).where(in_team(Client, ctx), Client.id.in_(data.client_ids))
                )
            ).scalars()
        )
        if missing := set(data.client_ids) - found:
            raise Unprocessable(
                "Unknown clients: " + ", ".join(sorted(map(str, missing))), code="unknown_client"
            )
    job_id = f"invoice-run:{ctx.team_id}:{new_id()}"
    defer(
        session,
        RUN_INVOICES_JOB,
        str(ctx.team_id),
        data.period_start.isoformat(),
        data.period_end.isoformat(),
        [str(c) for c in data.client_ids] if data.client_ids else None,
        _job_id=job_id,
    )
    return InvoiceRunAccepted(
        period_start=data.period_start,
        period_end=data.period_end,
        client_ids=data.client_ids,
        job_id=job_id,
    )


@shaped
def _run_list(reach: Access) -> Select[Any]:
    """The runs list's statement for one reach (`app.core.statements`)."""
    stmt = team_rows(InvoiceRun, BOUND_CALLER)
    if reach is not Access.ALL:
        stmt = stmt.where(InvoiceRun.client_id.in_(own_client_ids(BOUND_CALLER)))
    return stmt


def list_runs(
    ctx: TeamContext,
) -> Listing[InvoiceRunOut]:
    """Runs of the clients the caller may see, newest first."""
    reach = ctx.access(Permission.INVOICES_READ)
    return Listing(
        _run_list(reach),
        InvoiceRun,
        shaped_by(InvoiceRunOut),
        order_by=[InvoiceRun.created_at],
        descending=True,
        values=caller_values(ctx),
    )

"""Invoice settings per client: schedule, due days, tax, rounding, notes; and the client's
payment methods, which they show and write but do not keep (the client's are the one
source: see `app.invoices.payment_methods`)."""

import uuid
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.clients.models import Client
from app.clients.service import visible_clients
from app.core.clock import today_in
from app.core.context import TeamContext
from app.core.errors import NotFound
from app.core.permissions import Permission
from app.core.tenancy import get_in_team
from app.invoices.models import InvoiceSchedule, InvoiceSettings
from app.invoices.schedules import first_run_on
from app.invoices.schemas import InvoiceSettingsIn, InvoiceSettingsOut
from app.teams.service import team_by_id


async def create_default_settings(session: AsyncSession, client: Client) -> InvoiceSettings:
    """Settings of a new client: no schedule, due in 14 days, in the client's currency."""
    settings = InvoiceSettings(
        team_id=client.team_id,
        client_id=client.id,
        currency=client.currency,
    )
    session.add(settings)
    await session.flush()
    await session.refresh(settings)
    return settings


async def invoice_settings_for(session: AsyncSession, client: Client) -> InvoiceSettings:
    """The client's settings, created with the defaults when it has none yet."""
    settings = await session.get(InvoiceSettings, client.id)
    return settings or await create_default_settings(session, client)


async def _client_for_invoicing(
    session: AsyncSession, ctx: TeamContext, client_id: uuid.UUID
) -> Client:
    reach = ctx.access(Permission.INVOICES_READ)
    return await get_in_team(
        session, Client, ctx, client_id, what="Client", visible=visible_clients(ctx, reach)
    )


def _out(settings: InvoiceSettings, client: Client) -> InvoiceSettingsOut:
    return InvoiceSettingsOut.of(settings, payment_methods=client.payment_methods)


async def get_invoice_settings(
    session: AsyncSession, ctx: TeamContext, client_id: uuid.UUID
) -> InvoiceSettingsOut:
    """The client's invoice settings, with its payment methods; 404 when it has none."""
    client = await _client_for_invoicing(session, ctx, client_id)
    settings = (
        await session.execute(select(InvoiceSettings).where(InvoiceSettings.client_id == client.id))
    ).scalar_one_or_none()
    if settings is None:
        raise NotFound("Invoice settings")
    return _out(settings, client)


def _next_run(
    stored: InvoiceSettings, data: InvoiceSettingsIn, tz: str
) -> tuple[date | None, int | None]:
    """`next_run_on` and the monthly anchor day for new settings.

    A schedule always has a run date: the caller's, else the stored one when the schedule
    is unchanged (saving the settings again moves nothing), else its first period start.
    The anchor survives a re-save of the stored date (which a short month may have clipped).
    """
    schedule = data.schedule
    if schedule is InvoiceSchedule.none:
        return data.next_run_on, None
    unchanged = schedule == stored.schedule and stored.next_run_on is not None
    if data.next_run_on is None:
        if unchanged:
            return stored.next_run_on, stored.anchor_day
        run_on = first_run_on(schedule, today_in(tz))
    else:
        run_on = data.next_run_on
        if unchanged and run_on == stored.next_run_on:
            return run_on, stored.anchor_day
    return run_on, run_on.day if schedule is InvoiceSchedule.monthly else None


async def put_invoice_settings(
    session: AsyncSession, ctx: TeamContext, client_id: uuid.UUID, data: InvoiceSettingsIn
) -> InvoiceSettingsOut:
    """Replace the client's invoice settings; omitted fields take their defaults, except
    `payment_methods`: given, they replace the client's; omitted, the client's stay."""
    ctx.access(Permission.INVOICES_WRITE)
    client = await _client_for_invoicing(session, ctx, client_id)
    settings = await session.get(InvoiceSettings, client.id, with_for_update=True)
    if settings is None:
        settings = await create_default_settings(session, client)
    values = data.model_dump(exclude={"payment_methods"})
    if data.payment_methods is not None:
        client.payment_methods = list(dict.fromkeys(m.value for m in data.payment_methods))
        client.updated_at = func.now()
    values["currency"] = client.currency
    team = await team_by_id(session, ctx.team_id)
    values["next_run_on"], values["anchor_day"] = _next_run(settings, data, team.timezone)
    for field, value in values.items():
        setattr(settings, field, value)
    await session.flush()
    await session.refresh(settings)
    await session.refresh(client)
    return _out(settings, client)

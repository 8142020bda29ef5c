"""A client's currency: when it may change, and what follows it.

A client's rates, its drafts and open invoices, and the price of its uninvoiced time are
all in its currency. Changing the currency under them would silently reprice the work
(or leave it `rate_missing`), so the change is refused while any of them exists; when it
is allowed, the client's invoice settings follow in the same transaction.

Races are decided by row locks: the caller holds the client row FOR UPDATE. Here the
client's projects are locked FOR UPDATE too, which waits for (and then sees) time being
logged on them, whose foreign key holds a key-share lock on its project. A draft and a
client or project rate lock the client row FOR SHARE before they read its currency
(`app/invoices/drafts.py`, `app/rates/service.py`): they either commit first and are
seen here, or wait and then read the new currency.
"""

import uuid

from sqlalchemy import exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.clients.models import Client
from app.core.errors import Conflict
from app.core.tenancy import in_team
from app.invoices.models import Invoice, InvoiceSettings, InvoiceStatus
from app.projects.models import Project
from app.rates.models import Rate
from app.rates.service import bill_rates
from app.teams.service import team_by_id
from app.time_tracking.models import TimeEntry

UNSETTLED = (InvoiceStatus.draft, InvoiceStatus.open)


def _locked(why: str) -> Conflict:
    return Conflict(
        f"The client's currency cannot change while {why}.", code="client_currency_locked"
    )


async def _has_priced_time(
    session: AsyncSession, client: Client, project_ids: list[uuid.UUID]
) -> bool:
    """Whether an uninvoiced billable entry of the client has a bill rate in its currency."""
    if not project_ids:
        return False
    entries = (
        await session.execute(
            select(TimeEntry.user_id, TimeEntry.project_id, TimeEntry.started_at).where(
                in_team(TimeEntry, client.team_id),
                TimeEntry.project_id.in_(project_ids),
                TimeEntry.billable.is_(True),
                TimeEntry.invoice_id.is_(None),
            )
        )
    ).all()
    if not entries:
        return False
    team = await team_by_id(session, client.team_id)
    rates = await bill_rates(session, team, entries)  # type: ignore[arg-type]
    return any(rates.rate(entry) is not None for entry in entries)  # type: ignore[arg-type]


async def change_currency(session: AsyncSession, client: Client, currency: str) -> None:
    """Move a client (locked FOR UPDATE by the caller) to `currency`; 409
    `client_currency_locked` while rates, unsettled invoices or priced time are in the
    old one."""
    if currency == client.currency:
        return
    project_ids = list(
        (
            await session.execute(
                select(Project.id)
                .where(in_team(Project, client.team_id), Project.client_id == client.id)
                .order_by(Project.id)
                .with_for_update()
            )
        ).scalars()
    )
    if client.hourly_rate_amount is not None:
        raise _locked("it has an hourly rate")
    if project_ids and await session.scalar(
        select(
            exists().where(
                in_team(Project, client.team_id),
                Project.id.in_(project_ids),
                Project.hourly_rate_amount.isnot(None),
            )
        )
    ):
        raise _locked("one of its projects has an hourly rate")
    rate_of_client = Rate.client_id == client.id
    if project_ids:
        rate_of_client = or_(rate_of_client, Rate.project_id.in_(project_ids))
    if await session.scalar(
        select(
            exists().where(
                in_team(Rate, client.team_id), rate_of_client, Rate.currency == client.currency
            )
        )
    ):
        raise _locked("rates of the client or its projects are in it")
    if await session.scalar(
        select(
            exists().where(
                in_team(Invoice, client.team_id),
                Invoice.client_id == client.id,
                Invoice.status.in_(UNSETTLED),
            )
        )
    ):
        raise _locked("it has draft or open invoices")
    if await _has_priced_time(session, client, project_ids):
        raise _locked("it has uninvoiced billable time with a rate")
    client.currency = currency
    settings = await session.get(InvoiceSettings, client.id, with_for_update=True)
    if settings is not None:
        settings.currency = currency

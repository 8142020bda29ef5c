"""Pricing time entries, and recording their events (priced in full: the event list
removes the rates from what roles that may not read them receive)."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.money import amount_for_seconds
from app.events.record import record_event
from app.rates.service import BillRates, bill_rates
from app.teams.models import Team
from app.teams.service import team_by_id
from app.time_tracking.models import TimeEntry
from app.time_tracking.schemas import TimeEntryOut


@dataclass(frozen=True)
class PricedEntry:
    entry: TimeEntry
    currency: str
    bill_rate_amount: int | None
    billable_amount: int | None
    rate_missing: bool


async def price_entries(
    session: AsyncSession, team: Team, entries: Sequence[TimeEntry], *, show_rates: bool = True
) -> list[PricedEntry]:
    """Each entry with its bill rate and amount: two queries for any number of entries.

    Without `show_rates` (roles with no right to read rates) the money fields are null.
    """
    if not show_rates:
        return [
            PricedEntry(
                entry=e,
                currency=team.base_currency,
                bill_rate_amount=None,
                billable_amount=None,
                rate_missing=False,
            )
            for e in entries
        ]
    return priced_with(await bill_rates(session, team, entries), entries)


def priced_with(rates: BillRates, entries: Sequence[TimeEntry]) -> list[PricedEntry]:
    priced = []
    for e in entries:
        target = rates.targets[e.project_id]
        rate = rates.rate(e)
        amount = None
        if rate is not None and e.duration_seconds is not None:
            amount = (
                amount_for_seconds(e.duration_seconds, rate.hourly_rate_amount) if e.billable else 0
            )
        priced.append(
            PricedEntry(
                entry=e,
                currency=target.currency,
                bill_rate_amount=rate.hourly_rate_amount if rate else None,
                billable_amount=amount,
                rate_missing=rate is None and e.billable,
            )
        )
    return priced


def entry_out(p: PricedEntry) -> TimeEntryOut:
    return TimeEntryOut.of(
        p.entry,
        currency=p.currency,
        bill_rate_amount=p.bill_rate_amount,
        billable_amount=p.billable_amount,
        rate_missing=p.rate_missing,
    )


async def record_entry_event(
    session: AsyncSession, team_id: uuid.UUID, event_type: str, entry: TimeEntry
) -> TimeEntryOut:
    """`time_entry.created|updated|moved` with the entry as a role that reads rates sees
    it; answers that entry (a caller who reads rates is answered the same, unpriced again)."""
    team = await team_by_id(session, team_id)
    [priced] = await price_entries(session, team, [entry])
    out = entry_out(priced)
    await record_event(
        session, team_id, event_type, out, user_id=entry.user_id, project_id=entry.project_id
    )
    return out


async def record_entry_deleted(session: AsyncSession, entry: TimeEntry) -> None:
    await record_event(
        session,
        entry.team_id,
        "time_entry.deleted",
        {"id": entry.id},
        user_id=entry.user_id,
        project_id=entry.project_id,
    )

"""Exchange rates to a team's base currency: the rate an invoice is fixed with, and their
upkeep."""

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    Numeric,
    Select,
    and_,
    case,
    func,
    literal,
    literal_column,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.context import TeamContext
from app.core.db import flush_or_raise
from app.core.errors import Conflict, Unprocessable
from app.core.pagination import Listing, shaped_by
from app.core.permissions import Permission
from app.core.statements import BOUND_CALLER, caller_values, shaped
from app.core.tenancy import get_in_team, in_team, team_rows
from app.invoices.models import ExchangeRate
from app.invoices.schemas import ExchangeRateIn, ExchangeRateOut
from app.teams.models import Team
from app.teams.service import team_by_id


async def rate_in_force(
    session: AsyncSession, team_id: uuid.UUID, currency: str, on: date
) -> Decimal | None:
    """The team's newest rate for `currency` effective on or before `on`, if any."""
    return await session.scalar(
        select(ExchangeRate.rate)
        .where(
            in_team(ExchangeRate, team_id),
            ExchangeRate.currency == currency,
            ExchangeRate.effective_from <= on,
        )
        .order_by(ExchangeRate.effective_from.desc())
        .limit(1)
    )


@dataclass(frozen=True)
class ExchangeRateJoin:
    """`rate_in_force` as an outer join added to the caller's statement: 1 for the base
    currency, else the team's rate for `currency` in force on `day` (the history read as
    validity ranges, as `app/rates/resolution.py` reads rates), or NULL."""

    team_id: ColumnElement[Any] | Any
    currency: ColumnElement[Any] | Any
    base_currency: ColumnElement[Any] | Any
    day: ColumnElement[Any] | Any

    def apply(self, stmt: Select[Any]) -> tuple[Select[Any], ColumnElement[Decimal]]:
        periods = (
            select(
                ExchangeRate.currency,
                ExchangeRate.rate,
                ExchangeRate.effective_from.label("since"),
                func.coalesce(
                    func.lead(ExchangeRate.effective_from).over(
                        partition_by=ExchangeRate.currency, order_by=ExchangeRate.effective_from
                    ),
                    literal_column("DATE 'infinity'", Date),
                ).label("until"),
            )
            .where(in_team(ExchangeRate, self.team_id))
            .subquery("fx")
        )
        stmt = stmt.outerjoin(
            periods,
            and_(
                periods.c.currency == self.currency,
                periods.c.since <= self.day,
                self.day < periods.c.until,
            ),
        )
        rate = case(
            (self.currency == self.base_currency, literal(1, Numeric(20, 10))),
            else_=periods.c.rate,
        )
        return stmt, rate


async def exchange_rate_on(session: AsyncSession, team: Team, currency: str, on: date) -> Decimal:
    """Units of the base currency one unit of `currency` is worth on `on`; 422 if unknown."""
    if currency == team.base_currency:
        return Decimal(1)
    rate = await rate_in_force(session, team.id, currency, on)
    if rate is None:
        raise Unprocessable(
            f"No exchange rate from {currency} to {team.base_currency} on {on}.",
            code="exchange_rate_missing",
        )
    return rate


@shaped
def _exchange_rate_list() -> Select[Any]:
    """The exchange rates list's statement (`app.core.statements`)."""
    return team_rows(ExchangeRate, BOUND_CALLER)


def list_exchange_rates(
    ctx: TeamContext,
) -> Listing[ExchangeRateOut]:
    """The team's rates, a page at a time."""
    ctx.access(Permission.INVOICES_READ)
    return Listing(
        _exchange_rate_list(), ExchangeRate, shaped_by(ExchangeRateOut), values=caller_values(ctx)
    )


async def create_exchange_rate(
    session: AsyncSession, ctx: TeamContext, data: ExchangeRateIn
) -> ExchangeRate:
    """Add a rate for a currency from a date on (one per currency and date)."""
    ctx.access(Permission.EXCHANGE_RATES_WRITE)
    team = await team_by_id(session, ctx.team_id)
    # Under a share lock, as finalizing does: a base currency change and a new rate
    # against it serialise (app/teams/service.py).
    await session.refresh(team, ["base_currency"], with_for_update={"read": True})
    if data.currency == team.base_currency:
        raise Unprocessable("The base currency converts at 1.", code="exchange_rate_base_currency")
    rate = ExchangeRate(team_id=ctx.team_id, **data.model_dump())
    session.add(rate)
    await flush_or_raise(
        session,
        {
            "uq_exchange_rate_team_id_currency_effective_from": Conflict(
                "A rate for this currency and date exists.", code="exchange_rate_exists"
            )
        },
    )
    await session.refresh(rate)
    return rate


async def delete_exchange_rate(session: AsyncSession, ctx: TeamContext, rate_id: uuid.UUID) -> None:
    """Delete a rate; issued invoices keep the rate they were fixed with."""
    ctx.access(Permission.EXCHANGE_RATES_WRITE)
    rate = await get_in_team(session, ExchangeRate, ctx, rate_id, what="Exchange rate")
    await session.delete(rate)
    await session.flush()

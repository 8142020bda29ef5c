"""The rate resolution as SQL: the one definition of which rate prices an hour of work.

`bill_rate_sql` is the bill rate of a (member, project, day), `cost_rate_sql` the cost
rate of a (member, day). Both are scalar SQL expressions over the caller's columns, so a
report prices a million entries inside one statement, and the invoice draft, the time
list and the project figures price their entries with the same expression
(`app.rates.service.bill_rates` runs it over the entries' distinct keys).

Bill, most specific scope first, each the newest row effective on or before the day in
the currency the work is billed in: project_member > project > the project's own
`hourly_rate_amount` > client > the client's own `hourly_rate_amount` > member > team.
`COALESCE` stops at the first scope that has a rate, and each probe is one descent of the
unique index `uq_rate_key_effective_from` (its key is the scope's ids, then the date).
Cost: member, then team, in the team's base currency.
"""

from typing import Any

from sqlalchemy import func, select

from app.core.tenancy import in_team
from app.rates.models import Rate, RateKind, RateScope

Column = Any  # a column or SQL expression of the caller's statement


def _newest(
    team_id: Column,
    kind: RateKind,
    scope: RateScope,
    currency: Column,
    day: Column,
    *,
    user_id: Column | None = None,
    client_id: Column | None = None,
    project_id: Column | None = None,
) -> Column:
    """The newest `hourly_rate_amount` of one rate key effective on `day` (or NULL)."""
    ids = [
        Rate.user_id.is_(None) if user_id is None else Rate.user_id == user_id,
        Rate.client_id.is_(None) if client_id is None else Rate.client_id == client_id,
        Rate.project_id.is_(None) if project_id is None else Rate.project_id == project_id,
    ]
    return (
        select(Rate.hourly_rate_amount)
        .where(
            in_team(Rate, team_id),
            Rate.kind == kind,
            Rate.scope == scope,
            *ids,
            Rate.currency == currency,
            Rate.effective_from <= day,
        )
        .order_by(Rate.effective_from.desc())
        .limit(1)
        .scalar_subquery()
    )


def bill_rate_sql(
    *,
    team_id: Column,
    user_id: Column,
    project_id: Column,
    client_id: Column,
    currency: Column,
    day: Column,
    project_rate: Column,
    client_rate: Column,
) -> Column:
    """The bill rate (minor units of `currency` per hour) in force on `day`, or NULL.

    `currency` is the one the work is billed in (the client's, else the team's base
    currency); `project_rate`/`client_rate` are the project's and client's own rates.
    """
    bill = RateKind.bill
    return func.coalesce(
        _newest(
            team_id,
            bill,
            RateScope.project_member,
            currency,
            day,
            user_id=user_id,
            project_id=project_id,
        ),
        _newest(team_id, bill, RateScope.project, currency, day, project_id=project_id),
        project_rate,
        _newest(team_id, bill, RateScope.client, currency, day, client_id=client_id),
        client_rate,
        _newest(team_id, bill, RateScope.member, currency, day, user_id=user_id),
        _newest(team_id, bill, RateScope.team, currency, day),
    )


def cost_rate_sql(
    *, team_id: Column, user_id: Column, base_currency: Column, day: Column
) -> Column:
    """What an hour of the member costs the team on `day` (base currency), or NULL."""
    cost = RateKind.cost
    return func.coalesce(
        _newest(team_id, cost, RateScope.member, base_currency, day, user_id=user_id),
        _newest(team_id, cost, RateScope.team, base_currency, day),
    )

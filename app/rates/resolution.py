"""The rate resolution as SQL: the one definition of which rate prices an hour of work.

`BillRateJoin` gives a statement the bill rate of a (member, project, day),
`CostRateJoin` the cost rate of a (member, day). Both are outer joins added to the
caller's statement, so a report prices a year of entries inside one statement, and the
invoice draft, the time list and the project figures price their entries with the same
joins (`app.rates.service.bill_rates` runs them over the entries' distinct keys).

Bill, most specific scope first, each the row in force on the day in the currency the
work is billed in: project_member > project > the project's own `hourly_rate_amount` >
client > the client's own `hourly_rate_amount` > member > team. Cost: member, then team,
in the team's base currency.

The rate history is read as validity ranges, a window over each key's dates:
`[effective_from, the next row's effective_from)`. Each scope is one hash join on its ids
and currency, filtered by the range: a handful of rows of `rate` per scope, read once per
statement, whatever the number of entries. (Per-entry index probes cost a sub-plan
each, and enum comparisons are not leakproof, so under row-level security they cannot
even use an index on `kind`/`scope`.)
"""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Date, Select, and_, func, literal_column, select
from sqlalchemy.sql import Subquery

from app.core.tenancy import in_team
from app.rates.models import Rate, RateKind, RateScope

Column = Any  # a column or SQL expression of the caller's statement

FOREVER = literal_column("DATE 'infinity'", Date)


def rate_periods(team_id: Column, kind: RateKind, scope: RateScope, name: str) -> Subquery:
    """The rows of one kind and scope as validity ranges `[since, until)`."""
    key = (Rate.user_id, Rate.client_id, Rate.project_id, Rate.currency)
    return (
        select(
            *key,
            Rate.hourly_rate_amount.label("amount"),
            Rate.effective_from.label("since"),
            func.coalesce(
                func.lead(Rate.effective_from).over(partition_by=key, order_by=Rate.effective_from),
                FOREVER,
            ).label("until"),
        )
        .where(in_team(Rate, team_id), Rate.kind == kind, Rate.scope == scope)
        .subquery(name)
    )


def _in_force(periods: Subquery, day: Column, currency: Column, **ids: Column) -> Any:
    return and_(
        *(periods.c[name] == value for name, value in ids.items()),
        periods.c.currency == currency,
        periods.c.since <= day,
        day < periods.c.until,
    )


def _newest(
    team_id: Column, kind: RateKind, scope: RateScope, currency: Column, day: Column, **ids: Column
) -> Column:
    """The `hourly_rate_amount` of one rate key in force on `day` (or NULL), as one index
    probe (`ix_rate_team_id_key_effective_from`: ids that compare leakproof, so row-level
    security lets them be index conditions)."""
    columns = {"user_id": Rate.user_id, "client_id": Rate.client_id, "project_id": Rate.project_id}
    return (
        select(Rate.hourly_rate_amount)
        .where(
            in_team(Rate, team_id),
            *(c == ids[name] if name in ids else c.is_(None) for name, c in columns.items()),
            Rate.currency == currency,
            Rate.effective_from <= day,
            Rate.kind == kind,
            Rate.scope == scope,
        )
        .order_by(Rate.effective_from.desc())
        .limit(1)
        .scalar_subquery()
    )


@dataclass(frozen=True)
class BillRateJoin:
    """The bill rate (minor units of `currency` per hour) in force on `day`, or NULL.

    `currency` is the one the work is billed in (the client's, else the team's base
    currency); `project_rate`/`client_rate` are the project's and client's own rates.
    The precedence is `precedence()`, read two ways: `apply` joins the whole history as
    ranges (a report: every rate meets thousands of rows), `probe` looks up each row's
    rates by index (a page or a draft: a few keys).
    """

    team_id: Column
    user_id: Column
    project_id: Column
    client_id: Column
    currency: Column
    day: Column
    project_rate: Column
    client_rate: Column

    def precedence(self) -> list[tuple[RateScope | None, dict[str, Column], Column | None]]:
        """Most specific first: (scope, the ids its rows must match) or an undated own
        rate (None, {}, the column)."""
        return [
            (
                RateScope.project_member,
                {"user_id": self.user_id, "project_id": self.project_id},
                None,
            ),
            (RateScope.project, {"project_id": self.project_id}, None),
            (None, {}, self.project_rate),
            (RateScope.client, {"client_id": self.client_id}, None),
            (None, {}, self.client_rate),
            (RateScope.member, {"user_id": self.user_id}, None),
            (RateScope.team, {}, None),
        ]

    def apply(self, stmt: Select[Any]) -> tuple[Select[Any], Column]:
        """`stmt` outer-joined to the rate history as ranges, and the rate."""
        amounts = []
        for scope, ids, own in self.precedence():
            if scope is None:
                amounts.append(own)
                continue
            periods = rate_periods(self.team_id, RateKind.bill, scope, f"bill_{scope.value}")
            stmt = stmt.outerjoin(periods, _in_force(periods, self.day, self.currency, **ids))
            amounts.append(periods.c.amount)
        return stmt, func.coalesce(*amounts)

    def probe(self) -> Column:
        """The rate as an expression of index probes (`COALESCE` stops at the first)."""
        return func.coalesce(
            *(
                own
                if scope is None
                else _newest(self.team_id, RateKind.bill, scope, self.currency, self.day, **ids)
                for scope, ids, own in self.precedence()
            )
        )


@dataclass(frozen=True)
class CostRateJoin:
    """What an hour of the member costs the team on `day` (base currency), or NULL."""

    team_id: Column
    user_id: Column
    base_currency: Column
    day: Column

    def apply(self, stmt: Select[Any]) -> tuple[Select[Any], Column]:
        cost = RateKind.cost
        me = rate_periods(self.team_id, cost, RateScope.member, "cost_member")
        tm = rate_periods(self.team_id, cost, RateScope.team, "cost_team")
        stmt = stmt.outerjoin(
            me, _in_force(me, self.day, self.base_currency, user_id=self.user_id)
        ).outerjoin(tm, _in_force(tm, self.day, self.base_currency))
        return stmt, func.coalesce(me.c.amount, tm.c.amount)

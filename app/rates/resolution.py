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


@dataclass(frozen=True)
class BillRateJoin:
    """The bill rate (minor units of `currency` per hour) in force on `day`, or NULL.

    `currency` is the one the work is billed in (the client's, else the team's base
    currency); `project_rate`/`client_rate` are the project's and client's own rates.
    """

    team_id: Column
    user_id: Column
    project_id: Column
    client_id: Column
    currency: Column
    day: Column
    project_rate: Column
    client_rate: Column

    def apply(self, stmt: Select[Any]) -> tuple[Select[Any], Column]:
        """`stmt` outer-joined to the rate history, and the rate as an expression."""
        bill = RateKind.bill
        pm = rate_periods(self.team_id, bill, RateScope.project_member, "bill_pm")
        pr = rate_periods(self.team_id, bill, RateScope.project, "bill_project")
        cl = rate_periods(self.team_id, bill, RateScope.client, "bill_client")
        me = rate_periods(self.team_id, bill, RateScope.member, "bill_member")
        tm = rate_periods(self.team_id, bill, RateScope.team, "bill_team")
        day, cur = self.day, self.currency
        stmt = (
            stmt.outerjoin(
                pm, _in_force(pm, day, cur, user_id=self.user_id, project_id=self.project_id)
            )
            .outerjoin(pr, _in_force(pr, day, cur, project_id=self.project_id))
            .outerjoin(cl, _in_force(cl, day, cur, client_id=self.client_id))
            .outerjoin(me, _in_force(me, day, cur, user_id=self.user_id))
            .outerjoin(tm, _in_force(tm, day, cur))
        )
        rate = func.coalesce(
            pm.c.amount,
            pr.c.amount,
            self.project_rate,
            cl.c.amount,
            self.client_rate,
            me.c.amount,
            tm.c.amount,
        )
        return stmt, rate


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

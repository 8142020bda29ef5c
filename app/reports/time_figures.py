"""Time priced in SQL: the statement behind the time report, the uninvoiced report and a
client's profitability.

One statement in three steps, so a million entries never leave the database:

1. `entry_days`: the entries the caller may see, summed per member, project (task) and
   local day, the day cut in the team's time zone (`AT TIME ZONE`, so DST days are 23
   or 25 hours long and still one day);
2. `priced`: each such sum with its bill rate, exchange rate and cost rate, by the SQL
   rate resolution (`app/rates/resolution.py`, the one invoices use): the rate history
   as validity ranges, one hash join per scope, so the sums of a year (~30,000 rows for
   a busy team) meet a few hundred rate rows;
3. the caller's grouping, per billing currency: seconds, and the exact numerators of the
   amounts (seconds x rate x exchange rate) that `Money` rounds once per row.
"""

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    Select,
    String,
    Uuid,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal_column,
    null,
    select,
    true,
)
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.service import team_lookup
from app.clients.models import Client
from app.core.money import div_half_up, exponent
from app.core.rows import read_rows
from app.core.statements import Bound
from app.core.tenancy import in_team, same_team
from app.invoices.exchange_rates import ExchangeRateJoin
from app.projects.models import Project
from app.rates.resolution import BillRateJoin, CostRateJoin
from app.teams.models import Team
from app.time_tracking.models import TimeEntry


def local_day(moment: Any, tz: Any) -> Any:
    """The date an instant column falls on in `tz` (SQL)."""
    return cast(func.timezone(tz, moment), Date)


class Binds:
    """A report statement's request values, as named bind parameters.

    A report statement is large (seven rate scopes, exchange and cost rates, the
    caller's visibility), and building one in Python costs more than PostgreSQL takes
    to run it for one client. So each shape of statement is built once, from these
    placeholders standing for the team, the caller, the period and the filters
    (`app.core.statements.shaped`), and each request binds its own values to it.
    """

    team = Bound.team
    user_id = Bound.user_id
    tz = bindparam("tz", type_=String)
    base_currency = bindparam("base_currency", type_=String)
    started_from = bindparam("started_from", type_=DateTime(timezone=True))
    started_before = bindparam("started_before", type_=DateTime(timezone=True))
    fx_on = bindparam("fx_on", type_=Date)
    first_day = bindparam("first_day", type_=Date)
    last_day = bindparam("last_day", type_=Date)
    client_id = bindparam("client_id", type_=Uuid)
    project_id = bindparam("project_id", type_=Uuid)
    member_id = bindparam("member_id", type_=Uuid)


@dataclass
class Money:
    """An exact amount numerator (minor units x 3600) in the base currency, summed over
    currencies and rounded half-up once, when read.

    Kept as an integer ratio: SQL hands over `numeric` sums (seconds x rate x exchange
    rate) that a `Decimal` context of 28 digits could round; ratios are exact.
    """

    numerator: int = 0
    denominator: int = 1

    @classmethod
    def of(cls, value: Decimal | int | None, currency: str, base: str) -> "Money":
        """One value (as `add` takes it), without summing."""
        if value is None:
            return cls()
        n, d = Decimal(value).as_integer_ratio()
        shift = exponent(base) - exponent(currency)
        return cls(n * 10**shift, d) if shift >= 0 else cls(n, d * 10**-shift)

    def add(self, value: Decimal | int | None, currency: str, base: str) -> None:
        if value is None:
            return
        other = Money.of(value, currency, base)
        n, d = other.numerator, other.denominator
        common = math.lcm(self.denominator, d)
        self.numerator = self.numerator * (common // self.denominator) + n * (common // d)
        self.denominator = common

    def amount(self) -> int:
        return div_half_up(self.numerator, self.denominator * 3600)


@dataclass
class Figures:
    """Seconds and amounts of one report row (or the totals)."""

    seconds: int = 0
    billable_seconds: int = 0
    unpriced_seconds: int = 0
    uncosted_seconds: int = 0
    billable: Money = field(default_factory=Money)
    cost: Money = field(default_factory=Money)

    def add(self, row: Any, base: str) -> None:
        self.seconds += row.seconds or 0
        self.billable_seconds += row.billable_seconds or 0
        self.unpriced_seconds += row.unpriced_seconds or 0
        self.uncosted_seconds += row.uncosted_seconds or 0
        self.billable.add(row.billable_value, row.currency, base)
        self.cost.add(row.cost_value, base, base)


@dataclass(frozen=True)
class EntryScope:
    """Which entries a report covers: the caller's visibility, the period and the
    request's filters, as SQL conditions on `TimeEntry` over `Binds`."""

    conditions: Sequence[Any]


def entry_days(scope: EntryScope, *, by_task: bool = False) -> Select[Any]:
    """Step 1: finished entries of `scope` summed per member, project, (task,) local day."""
    day = local_day(TimeEntry.started_at, Binds.tz).label("day")
    keys: list[Any] = [TimeEntry.user_id, TimeEntry.project_id, day]
    if by_task:
        keys.append(TimeEntry.task_id)
    stmt = select(
        *keys,
        func.sum(TimeEntry.duration_seconds).label("seconds"),
        func.coalesce(
            func.sum(TimeEntry.duration_seconds).filter(TimeEntry.billable.is_(True)), 0
        ).label("billable_seconds"),
    ).where(in_team(TimeEntry, Binds.team), TimeEntry.ended_at.isnot(None), *scope.conditions)
    return stmt.group_by(*keys)


def priced(
    days: Select[Any],
    *,
    fx_on: bool = False,
    costs: bool = True,
    names: bool = False,
) -> Any:
    """Step 2: each (member, project, day) sum with its rates, as a subquery.

    Exchange rates are those in force on each day, or on the day `Binds.fx_on` with
    `fx_on`; `names` adds the project's and client's names (already joined here).
    """
    e = days.subquery("entry_days")
    team_id, base = Binds.team, Binds.base_currency
    currency = func.coalesce(Client.currency, base)
    stmt = (
        select(e)
        .join(Project, and_(in_team(Project, team_id), Project.id == e.c.project_id))
        .outerjoin(Client, and_(same_team(Client, Project), Client.id == Project.client_id))
    )
    stmt, rate = BillRateJoin(
        team_id=team_id,
        user_id=e.c.user_id,
        project_id=e.c.project_id,
        client_id=Project.client_id,
        currency=currency,
        day=e.c.day,
        project_rate=Project.hourly_rate_amount,
        client_rate=Client.hourly_rate_amount,
    ).apply(stmt)
    stmt, fx = ExchangeRateJoin(
        team_id=team_id,
        currency=currency,
        base_currency=base,
        day=Binds.fx_on if fx_on else e.c.day,
    ).apply(stmt)
    cost: Any = cast(null(), BigInteger)
    if costs:
        stmt, cost = CostRateJoin(
            team_id=team_id, user_id=e.c.user_id, base_currency=base, day=e.c.day
        ).apply(stmt)
    stmt = stmt.with_only_columns(
        e,
        Project.client_id,
        currency.label("currency"),
        rate.label("rate"),
        fx.label("fx"),
        cost.label("cost"),
        *((Project.name.label("project_name"), Client.name.label("client_name")) if names else ()),
        maintain_column_froms=True,
    )
    return stmt.subquery("priced")


def figure_columns(p: Any) -> list[Any]:
    """Step 3's aggregates over `priced` (per group and currency).

    `billable_value` is seconds x rate x exchange rate: minor units of the base currency
    times 3600 (scaled by the currencies' exponents in `Money`), exact; `native_value` the
    same before conversion, in the billing currency; `unconverted_seconds` are priced but
    lack an exchange rate. Seconds come back as integers (`bigint`: PostgreSQL sums
    `bigint` as `numeric`, which Python reads as `Decimal`, several times slower to use).
    """
    has_rate = p.c.rate.isnot(None)
    converted = has_rate & p.c.fx.isnot(None)
    native = p.c.billable_seconds * p.c.rate

    def seconds(total: Any, name: str) -> Any:
        return cast(total, BigInteger).label(name)

    return [
        p.c.currency,
        seconds(func.sum(p.c.seconds), "seconds"),
        seconds(func.sum(p.c.billable_seconds), "billable_seconds"),
        func.sum(case((converted, native * p.c.fx))).label("billable_value"),
        func.sum(native).label("native_value"),
        seconds(
            func.coalesce(func.sum(case((converted, 0), else_=p.c.billable_seconds)), 0),
            "unpriced_seconds",
        ),
        seconds(
            func.coalesce(func.sum(case((has_rate, 0), else_=p.c.billable_seconds)), 0),
            "rateless_seconds",
        ),
        func.sum(p.c.seconds * p.c.cost).label("cost_value"),
        seconds(
            func.coalesce(func.sum(case((p.c.cost.is_(None), p.c.seconds), else_=0)), 0),
            "uncosted_seconds",
        ),
    ]


# Settings of a report's transaction. A year of a busy team is ~30,000 (member,
# project, day) groups: enough memory to aggregate them without spilling to disk (the
# default 4 MB spills). No JIT: the planner cannot know how few groups a day's entries
# make, estimates 20x more, and compiles for seconds what runs in a fraction of one
# (docs/scaling.md, "Reports").
REPORT_SETTINGS = {"work_mem": "64MB", "jit": "off"}


# The team's time zone and base currency, read by a report's authentication query,
# which gives its transaction the settings above on the way (one round trip less).
REPORT_LOOKUP = team_lookup(
    Team.base_currency,
    Team.timezone,
    *(
        func.set_config(literal_column(f"'{k}'"), literal_column(f"'{v}'"), true()).label(k)
        for k, v in REPORT_SETTINGS.items()
    ),
)


class ReportTeam(Protocol):
    """What a report reads of its team: a row of `REPORT_LOOKUP`."""

    @property
    def base_currency(self) -> str: ...
    @property
    def timezone(self) -> str: ...


async def report_rows(
    session: AsyncSession, stmt: Select[Any], values: dict[str, Any]
) -> Sequence[Any]:
    """Run a report statement (a `shaped` one, with its `Binds` values) in a transaction
    `REPORT_LOOKUP` prepared."""
    return await read_rows(session, stmt, values)


def uuid_or_none(value: Any) -> uuid.UUID | None:
    return value if isinstance(value, uuid.UUID) else None

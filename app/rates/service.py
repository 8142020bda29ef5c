"""Effective-dated bill and cost rates, and their resolution for time entries.

Resolution (bill): for an entry, the rate effective on the entry's start date (in the
team's time zone) of the most specific scope wins:
project_member > project > client > member > team. Only rates in the currency the entry
is billed in (its client's, else the team's base currency) are considered. A project's or
client's own `hourly_rate_amount` acts as an undated rate of its scope, used when that
scope has no dated rate in effect. Cost rates resolve from member, then team scope, in
the team's base currency. The rule is written once, in SQL (`app/rates/resolution.py`):
`bill_rates` runs it for the entries of a list, a draft or a project's figures, and the
reports run it inside their statements.
"""

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy import (
    ColumnElement,
    Date,
    Select,
    String,
    Uuid,
    any_,
    bindparam,
    func,
    select,
    true,
)
from sqlalchemy import column as sql_column
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from app.clients.models import Client
from app.core.clock import local_date
from app.core.context import TeamContext
from app.core.db import flush_or_raise
from app.core.errors import Conflict, Unprocessable
from app.core.pagination import Listing, shaped_by
from app.core.permissions import Access, Permission
from app.core.statements import (
    BOUND_CALLER,
    Bound,
    bound,
    bound_ids,
    caller_values,
    shaped,
    team_values,
)
from app.core.tenancy import get_in_team, in_team, same_team, team_rows
from app.projects.membership import member_project_ids
from app.projects.models import Project
from app.rates.models import SCOPE_IDS, Rate, RateKind, RateScope
from app.rates.resolution import BillRateJoin
from app.rates.schemas import RateIn, RateOut, RatePatch
from app.teams import service as teams_service
from app.teams.models import Team
from app.teams.service import team_by_id

COST_PRECEDENCE = (RateScope.member, RateScope.team)


@dataclass(frozen=True)
class ResolvedRate:
    hourly_rate_amount: int
    currency: str


@dataclass(frozen=True)
class BillingTarget:
    """What an entry is billed against: its project, the project's client, the currency."""

    project_id: uuid.UUID
    client_id: uuid.UUID | None
    currency: str
    project_rate: int | None
    client_rate: int | None


@shaped
def _targets_statement() -> Select[Any]:
    """Each project's client, own rates and the client's currency (`project_ids`)."""
    return (
        select(
            Project.id,
            Project.client_id,
            Project.hourly_rate_amount,
            Client.currency,
            Client.hourly_rate_amount,
        )
        .outerjoin(Client, same_team(Client, Project) & (Client.id == Project.client_id))
        .where(in_team(Project, Bound.team), Project.id == any_(bound_ids("project_ids")))
    )


async def billing_targets(
    session: AsyncSession, team: Team, project_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, BillingTarget]:
    """Project, client and currency of each project (one query)."""
    ids = set(project_ids)
    if not ids:
        return {}
    rows = await session.execute(
        _targets_statement(), {**team_values(team.id), "project_ids": list(ids)}
    )
    return {
        pid: BillingTarget(
            project_id=pid,
            client_id=cid,
            currency=currency or team.base_currency,
            project_rate=prate,
            client_rate=crate,
        )
        for pid, cid, prate, currency, crate in rows
    }


class EntryKey(Protocol):
    """What decides an entry's bill rate: who, on which project, when."""

    user_id: uuid.UUID
    project_id: uuid.UUID
    started_at: datetime


_RateKey = tuple[uuid.UUID, uuid.UUID, date]


@dataclass(frozen=True)
class BillRates:
    """The bill rates of a set of entries: their projects' targets and the rate of each
    (member, project, local day) among them."""

    team: Team
    targets: dict[uuid.UUID, BillingTarget]
    amounts: dict[_RateKey, int | None]

    def rate(self, entry: EntryKey) -> ResolvedRate | None:
        """The rate in force for `entry` on its start date in the team's time zone."""
        day = local_date(entry.started_at, self.team.timezone)
        amount = self.amounts.get((entry.user_id, entry.project_id, day))
        if amount is None:
            return None
        return ResolvedRate(amount, self.targets[entry.project_id].currency)

    def amount_on(self, user_id: uuid.UUID, project_id: uuid.UUID, day: date) -> int | None:
        """The hourly amount in force for the member on the project on a local `day`."""
        return self.amounts.get((user_id, project_id, day))


@shaped
def _resolution() -> Select[Any]:
    """The bill rate of each (member, project, day) of three arrays (`users`,
    `projects`, `days`) by `BillRateJoin`: any number of keys is three parameters, and
    each key's rates are index probes."""
    k = (
        func.unnest(bound_ids("users"), bound_ids("projects"), bindparam("days", type_=ARRAY(Date)))
        .table_valued(
            sql_column("user_id", Uuid), sql_column("project_id", Uuid), sql_column("day", Date)
        )
        .render_derived(name="k")
    )
    rate = BillRateJoin(
        team_id=Bound.team,
        user_id=k.c.user_id,
        project_id=k.c.project_id,
        client_id=Project.client_id,
        currency=func.coalesce(Client.currency, bindparam("base_currency", type_=String)),
        day=k.c.day,
        project_rate=Project.hourly_rate_amount,
        client_rate=Client.hourly_rate_amount,
    ).probe()
    return (
        select(k.c.user_id, k.c.project_id, k.c.day, rate)
        .select_from(k)
        .join(Project, in_team(Project, Bound.team) & (Project.id == k.c.project_id))
        .outerjoin(Client, same_team(Client, Project) & (Client.id == Project.client_id))
    )


async def _resolve(
    session: AsyncSession, team: Team, keys: set[_RateKey]
) -> dict[_RateKey, int | None]:
    """The bill rate of each (member, project, day) in `keys`, in one query."""
    if not keys:
        return {}
    users, projects, days = zip(*keys, strict=True)
    values = {
        **team_values(team.id),
        "base_currency": team.base_currency,
        "users": list(users),
        "projects": list(projects),
        "days": list(days),
    }
    rows = await session.execute(_resolution(), values)
    return {(u, p, d): amount for u, p, d, amount in rows.all()}


async def bill_rates(
    session: AsyncSession,
    team: Team,
    entries: Sequence[EntryKey],
    *,
    projects: Iterable[uuid.UUID] = (),
    days: Sequence[date] | None = None,
) -> BillRates:
    """Everything needed to price `entries`: two queries for any number of entries.

    The one rate look-up of Hourline: time lists, project figures and invoices use it,
    through the SQL rate joins the reports use (`app/rates/resolution.py`), run once per
    distinct (member, project, local day). `projects` adds targets for projects that may
    have no entry (a project's currency). `days` are the entries' local start dates, when
    the caller has them already.
    """
    targets = await billing_targets(session, team, {*projects, *(e.project_id for e in entries)})
    if days is None:
        days = [local_date(e.started_at, team.timezone) for e in entries]
    keys = {(e.user_id, e.project_id, day) for e, day in zip(entries, days, strict=True)}
    return BillRates(team, targets, await _resolve(session, team, keys))


# ---------------------------------------------------------------- who sees rates


def sees_rates(ctx: TeamContext, reach: Access) -> bool:
    """Whether the caller may read rates at least as far as `reach`."""
    granted = ctx.grant(Permission.RATES_READ)
    return granted is not None and granted >= reach


def shown_rate(ctx: TeamContext, amount: int | None, *, reach: Access) -> int | None:
    """A client's or project's own rate as the caller sees it: null below `reach`.

    A client's rate applies across the team (ALL); a project's to its members (PROJECTS).
    """
    return amount if sees_rates(ctx, reach) else None


# ---------------------------------------------------------------- CRUD


def visible_rates(ctx: TeamContext, reach: Access) -> ColumnElement[bool]:
    """PROJECTS: rates of projects the caller is a member of; OWN: rates naming the caller."""
    if reach is Access.ALL:
        return true()
    if reach is Access.PROJECTS:
        return Rate.project_id.in_(member_project_ids(ctx))
    return Rate.user_id == ctx.user_id


@shaped
def _rate_list(
    reach: Access,
    kind: RateKind | None,
    scope: RateScope | None,
    user: bool,
    client: bool,
    project: bool,
) -> Select[Any]:
    """The rates list's statement for one shape (`app.core.statements`)."""
    stmt = team_rows(Rate, BOUND_CALLER).where(visible_rates(BOUND_CALLER, reach))
    if kind is not None:
        stmt = stmt.where(Rate.kind == kind)
    if scope is not None:
        stmt = stmt.where(Rate.scope == scope)
    for column, name, given in (
        (Rate.user_id, "user_id", user),
        (Rate.client_id, "client_id", client),
        (Rate.project_id, "project_id", project),
    ):
        if given:
            stmt = stmt.where(column == bound(f"filter_{name}", column))
    return stmt


def list_rates(
    ctx: TeamContext,
    *,
    kind: RateKind | None,
    scope: RateScope | None,
    user_id: uuid.UUID | None,
    client_id: uuid.UUID | None,
    project_id: uuid.UUID | None,
) -> Listing[RateOut]:
    """Rates with their history (every effective date is a row)."""
    reach = ctx.access(Permission.RATES_READ)
    stmt = _rate_list(
        reach, kind, scope, user_id is not None, client_id is not None, project_id is not None
    )
    values = {
        **caller_values(ctx),
        "filter_user_id": user_id,
        "filter_client_id": client_id,
        "filter_project_id": project_id,
    }
    return Listing(stmt, Rate, shaped_by(RateOut), values=values)


async def _expected_currency(session: AsyncSession, ctx: TeamContext, data: RateIn) -> str | None:
    """The currency a rate of this scope must be in, checking the ids it names exist."""
    team = await team_by_id(session, ctx.team_id)
    if data.kind is RateKind.cost:
        if data.scope not in COST_PRECEDENCE:
            raise Unprocessable("Cost rates are per member or per team.", code="cost_rate_scope")
        return team.base_currency
    # The client's currency is read under a share lock, so a concurrent change of it
    # either sees this rate (and is refused) or commits first (app/clients/currency.py).
    if data.client_id is not None:
        currency = await session.scalar(
            select(Client.currency)
            .where(in_team(Client, ctx), Client.id == data.client_id)
            .with_for_update(read=True)
        )
        if currency is None:
            raise Unprocessable("No such client in this team.", code="unknown_client")
        return currency
    if data.project_id is not None:
        await session.execute(
            select(Client.id)
            .join(Project, same_team(Client, Project) & (Project.client_id == Client.id))
            .where(in_team(Project, ctx), Project.id == data.project_id)
            .with_for_update(of=Client, read=True)
        )
        target = (await billing_targets(session, team, [data.project_id])).get(data.project_id)
        if target is None:
            raise Unprocessable("No such project in this team.", code="unknown_project")
        return target.currency
    return None


async def create_rate(session: AsyncSession, ctx: TeamContext, data: RateIn) -> Rate:
    """A rate row; it supersedes the previous row of the same key from its date on."""
    ctx.access(Permission.RATES_WRITE)
    wanted = SCOPE_IDS[data.scope]
    for field in ("user_id", "client_id", "project_id"):
        given = getattr(data, field) is not None
        if given != (field in wanted):
            raise Unprocessable(
                f"A {data.scope.value} rate takes {', '.join(wanted) or 'no ids'}.",
                code="rate_scope_ids",
            )
    if data.user_id is not None:
        await teams_service.ensure_members(session, ctx.team_id, [data.user_id], field="user_id")
    currency = await _expected_currency(session, ctx, data)
    if currency is not None and data.currency != currency:
        raise Unprocessable(
            f"This rate must be in {currency}, the currency it is billed in.",
            code="rate_currency_mismatch",
        )
    rate = Rate(team_id=ctx.team_id, **data.model_dump())
    session.add(rate)
    await flush_or_raise(session, {"uq_rate_key_effective_from": _rate_exists()})
    await session.refresh(rate)
    return rate


def _rate_exists() -> Conflict:
    return Conflict(
        "A rate with this scope, currency and date exists; change it instead.", code="rate_exists"
    )


async def update_rate(
    session: AsyncSession, ctx: TeamContext, rate_id: uuid.UUID, patch: RatePatch
) -> Rate:
    """Correct a rate row."""
    ctx.access(Permission.RATES_WRITE)
    rate = await get_in_team(session, Rate, ctx, rate_id, what="Rate", for_update=True)
    for field, value in patch.changes().items():
        setattr(rate, field, value)
    await flush_or_raise(session, {"uq_rate_key_effective_from": _rate_exists()})
    await session.refresh(rate)
    return rate


async def delete_rate(session: AsyncSession, ctx: TeamContext, rate_id: uuid.UUID) -> None:
    """Delete a rate row."""
    ctx.access(Permission.RATES_WRITE)
    rate = await get_in_team(session, Rate, ctx, rate_id, what="Rate")
    await session.delete(rate)
    await session.flush()


async def get_rate(session: AsyncSession, ctx: TeamContext, rate_id: uuid.UUID) -> Rate:
    """A rate row the caller may see."""
    reach = ctx.access(Permission.RATES_READ)
    return await get_in_team(
        session, Rate, ctx, rate_id, what="Rate", visible=visible_rates(ctx, reach)
    )

"""Reports: time, uninvoiced time, revenue, outstanding invoices, a client's profitability.

Who sees what (the reports row of the role table, `Permission.REPORTS_READ`): ALL every
row; OWN_CLIENTS the time of the caller's clients' projects; PROJECTS the time of its
projects; OWN its own time. Amounts need the right to read rates that far
(`sees_rates`); costs need every rate (cost rates are the team's); invoice figures need
`INVOICES_READ`. Report rows are built as plain rows (`TimeRow`, ...) so that any
rendering (JSON, CSV) reads the same figures.
"""

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Date, cast, func, literal_column, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import User
from app.clients.models import Client
from app.clients.service import client_visible, own_client_ids
from app.core.clock import period_bounds, today_in
from app.core.context import TeamContext
from app.core.db import any_of
from app.core.errors import NotFound, Unprocessable
from app.core.money import div_half_up
from app.core.permissions import Access, Permission
from app.core.rows import read_rows
from app.core.statements import BOUND_CALLER, Together, caller_values, shaped, together
from app.core.tenancy import in_team
from app.projects.membership import member_project_ids
from app.projects.models import Project, Task
from app.rates.service import sees_rates
from app.reports.invoiced import (
    Aging,
    Revenue,
    aging_by_client,
    invoice_reach,
    revenue_by,
    revenue_of,
    revenue_statement,
)
from app.reports.schemas import (
    AgingFigures,
    AgingRow,
    ClientReport,
    OutstandingReport,
    RevenueFigures,
    RevenueGroup,
    RevenueReport,
    RevenueRow,
    TimeFigures,
    TimeGroup,
    TimeReport,
    TimeRow,
    UninvoicedReport,
    UninvoicedRow,
)
from app.reports.time_figures import (
    Binds,
    EntryScope,
    Figures,
    Money,
    ReportTeam,
    entry_days,
    figure_columns,
    priced,
    report_rows,
)
from app.time_tracking.models import TimeEntry

MAX_PERIOD_DAYS = 3 * 366
NO_LABEL = {TimeGroup.client: "No client", TimeGroup.task: "No task"}


@dataclass(frozen=True)
class TimeFilters:
    client_id: uuid.UUID | None = None
    project_id: uuid.UUID | None = None
    user_id: uuid.UUID | None = None
    billable: bool | None = None

    def shape(self) -> "FilterShape":
        """Which filters are set (and `billable`'s value): part of a statement's shape."""
        return FilterShape(
            self.client_id is not None,
            self.project_id is not None,
            self.user_id is not None,
            self.billable,
        )


@dataclass(frozen=True)
class FilterShape:
    client: bool = False
    project: bool = False
    user: bool = False
    billable: bool | None = None


@dataclass(frozen=True)
class Shown:
    """Which money the caller may read in a report."""

    amounts: bool
    costs: bool


def report_access(ctx: TeamContext) -> tuple[Access, Shown]:
    """The caller's report reach (403 without one) and the money it may read."""
    reach = ctx.access(Permission.REPORTS_READ)
    return reach, Shown(amounts=sees_rates(ctx, reach), costs=sees_rates(ctx, Access.ALL))


def client_projects(ctx: TeamContext, client_ids: Any) -> Any:
    """Ids of the team's projects of `client_ids` (a subquery)."""
    return select(Project.id).where(in_team(Project, ctx), Project.client_id.in_(client_ids))


def visible_time(ctx: TeamContext, reach: Access) -> ColumnElement[bool]:
    """The entries a report reach covers, as a filter on `TimeEntry`."""
    if reach is Access.ALL:
        return true()
    if reach is Access.OWN_CLIENTS:
        return TimeEntry.project_id.in_(client_projects(ctx, own_client_ids(ctx)))
    if reach is Access.PROJECTS:
        return TimeEntry.project_id.in_(member_project_ids(ctx))
    return TimeEntry.user_id == ctx.user_id


def check_period(start: date, end: date) -> None:
    if end < start:
        raise Unprocessable("`to` is before `from`.", code="report_period_invalid")
    if (end - start).days >= MAX_PERIOD_DAYS:
        raise Unprocessable(
            f"A report covers at most {MAX_PERIOD_DAYS} days.", code="report_period_too_long"
        )


def entry_scope(reach: Access, filters: FilterShape, *, period: bool) -> EntryScope:
    """The caller's visibility, the filters and (with `period`) the period's instants as
    one `EntryScope` over `Binds`."""
    conditions: list[Any] = [visible_time(BOUND_CALLER, reach)]
    if filters.client:
        conditions.append(
            TimeEntry.project_id.in_(client_projects(BOUND_CALLER, [Binds.client_id]))
        )
    if filters.project:
        conditions.append(TimeEntry.project_id == Binds.project_id)
    if filters.user:
        conditions.append(TimeEntry.user_id == Binds.member_id)
    if filters.billable is not None:
        conditions.append(TimeEntry.billable.is_(filters.billable))
    if period:
        conditions.append(TimeEntry.started_at >= Binds.started_from)
        conditions.append(TimeEntry.started_at < Binds.started_before)
    return EntryScope(conditions)


def bound_values(
    ctx: TeamContext,
    team: ReportTeam,
    filters: TimeFilters,
    start: date | None = None,
    end: date | None = None,
    fx_on: date | None = None,
) -> dict[str, Any]:
    """A request's values for the `Binds` of its report statement."""
    started_from, started_before = period_bounds(team.timezone, start, end)
    return {
        **caller_values(ctx),
        "tz": team.timezone,
        "base_currency": team.base_currency,
        "started_from": started_from,
        "started_before": started_before,
        "fx_on": fx_on,
        "client_id": filters.client_id,
        "project_id": filters.project_id,
        "member_id": filters.user_id,
    }


# Each statement is built once per shape (`Binds`).
@shaped
def time_statement(
    reach: Access, filters: FilterShape, groups: tuple[TimeGroup, ...], costs: bool
) -> Any:
    """The time report's statement: figures per group key(s) and billing currency."""
    days = entry_days(entry_scope(reach, filters, period=True), by_task=TimeGroup.task in groups)
    p = priced(days, costs=costs)
    keys = [_group_key(p, g) for g in groups]
    return select(*keys, *figure_columns(p)).group_by(*keys, p.c.currency)


@shaped
def uninvoiced_statement(reach: Access, one_client: bool) -> Any:
    """Uninvoiced billable time per client, project and billing currency, with names."""
    scope = entry_scope(reach, FilterShape(client=one_client), period=False)
    # Said as the partial indexes say it, so the planner reads only uninvoiced time.
    unbilled = [TimeEntry.billable.is_(True), TimeEntry.invoice_id.is_(None)]
    days = entry_days(EntryScope([*scope.conditions, *unbilled]))
    p = priced(days, fx_on=True, costs=False, names=True)
    # Names in the same statement: a team has thousands of projects with uninvoiced time.
    names = (
        func.min(p.c.client_name).label("client_name"),
        func.min(p.c.project_name).label("project_name"),
    )
    return select(
        p.c.client_id, p.c.project_id, func.min(p.c.day), *names, *figure_columns(p)
    ).group_by(p.c.client_id, p.c.project_id, p.c.currency)


@shaped
def client_statement(
    reach: Access, client_reach: Access, costs: bool, invoices: Access | None
) -> Together:
    """One client's figures over a period in one round trip: whether the caller sees the
    client (`found`, as `get_client` checks it) with its time figures per billing
    currency (one row with `found` false when it does not, one with no currency when it
    has no time); with an `invoices` reach, its invoices and payments (`revenue_statement`)."""
    scope = entry_scope(reach, FilterShape(client=True), period=True)
    p = priced(entry_days(scope), costs=costs)
    figures = select(*figure_columns(p)).group_by(p.c.currency).subquery("figures")
    check = select(
        client_visible(BOUND_CALLER, client_reach, Binds.client_id).label("found")
    ).subquery("visible")
    time = select(check.c.found, figures).select_from(check.outerjoin(figures, check.c.found))
    if invoices is None:
        return together(time)
    return together(time, revenue_statement(invoices, True))


def _group_key(p: Any, group: TimeGroup) -> Any:
    columns = {
        TimeGroup.client: p.c.client_id,
        TimeGroup.project: p.c.project_id,
        TimeGroup.user: p.c.user_id,
        TimeGroup.task: p.c.task_id if "task_id" in p.c else None,
        TimeGroup.day: p.c.day,
        # ISO weeks start on Monday; the day is already local, so DST cannot shift it.
        TimeGroup.week: cast(func.date_trunc(literal_column("'week'"), p.c.day), Date),
    }
    return columns[group].label(f"key_{group.value}")


async def _labels(
    session: AsyncSession, ctx: TeamContext, group: TimeGroup, keys: set[Any]
) -> dict[Any, str]:
    """Display names of a grouping's keys (one query)."""
    ids = {k for k in keys if k is not None}
    if group is TimeGroup.day:
        return {k: k.isoformat() for k in ids}
    if group is TimeGroup.week:
        return {k: f"{k.isocalendar().year}-W{k.isocalendar().week:02d}" for k in ids}
    if not ids:
        return {}
    model, name = {
        TimeGroup.client: (Client, Client.name),
        TimeGroup.project: (Project, Project.name),
        TimeGroup.task: (Task, Task.title),
        TimeGroup.user: (User, User.name),
    }[group]
    stmt = select(model.id, name).where(any_of(model.id, ids))  # type: ignore[attr-defined]
    if model is not User:
        stmt = stmt.where(in_team(model, ctx))
    return {k: v for k, v in await read_rows(session, stmt)}


def _as_text(key: Any) -> str | None:
    return None if key is None else str(key) if not isinstance(key, date) else key.isoformat()


def time_figures(figures: Figures, shown: Shown) -> dict[str, int | None]:
    """A row's figures, money only where the caller may read it."""
    return {
        "seconds": figures.seconds,
        "billable_seconds": figures.billable_seconds,
        "billable_amount": figures.billable.amount() if shown.amounts else None,
        "unpriced_seconds": figures.unpriced_seconds if shown.amounts else None,
        "cost_amount": figures.cost.amount() if shown.costs else None,
        "uncosted_seconds": figures.uncosted_seconds if shown.costs else None,
    }


async def time_report(
    session: AsyncSession,
    ctx: TeamContext,
    team: ReportTeam,
    start: date,
    end: date,
    group_by: TimeGroup,
    then_by: TimeGroup | None,
    filters: TimeFilters,
) -> TimeReport:
    """Time by one or two groupings over a period of local dates, priced in the base
    currency (plain rows: JSON and CSV render the same)."""
    check_period(start, end)
    if then_by is group_by:
        raise Unprocessable("`then_by` repeats `group_by`.", code="report_then_by_same")
    reach, shown = report_access(ctx)
    groups = [group_by] if then_by is None else [group_by, then_by]
    stmt = time_statement(reach, filters.shape(), tuple(groups), shown.costs)
    found = await report_rows(session, stmt, bound_values(ctx, team, filters, start, end))

    per_key: dict[tuple[Any, ...], Figures] = defaultdict(Figures)
    totals = Figures()
    for row in found:
        key = tuple(row[: len(groups)])
        per_key[key].add(row, team.base_currency)
        totals.add(row, team.base_currency)
    labels = [await _labels(session, ctx, g, {k[i] for k in per_key}) for i, g in enumerate(groups)]

    def label(i: int, key: Any) -> str:
        return labels[i].get(key) or NO_LABEL.get(groups[i], "Unknown")

    def order(i: int, key: Any) -> tuple[Any, ...]:
        if groups[i] in (TimeGroup.day, TimeGroup.week):
            return (key,)
        return (key is None, label(i, key).lower(), str(key))

    rows = [
        TimeRow(
            key=_as_text(k[0]),
            label=label(0, k[0]),
            then_key=_as_text(k[1]) if then_by else None,
            then_label=label(1, k[1]) if then_by else None,
            **time_figures(figures, shown),
        )
        for k, figures in sorted(
            per_key.items(), key=lambda kv: [order(i, v) for i, v in enumerate(kv[0])]
        )
    ]
    return TimeReport(
        from_=start,
        to=end,
        group_by=group_by,
        then_by=then_by,
        currency=team.base_currency,
        rows=rows,
        totals=TimeFigures(**time_figures(totals, shown)),
    )


# ---------------------------------------------------------------- uninvoiced


async def uninvoiced_report(
    session: AsyncSession, ctx: TeamContext, team: ReportTeam, client_id: uuid.UUID | None
) -> UninvoicedReport:
    """Uninvoiced billable time per client and project, whenever it was logged."""
    reach, shown = report_access(ctx)
    found = await report_rows(
        session,
        uninvoiced_statement(reach, client_id is not None),
        bound_values(ctx, team, TimeFilters(client_id=client_id), fx_on=today_in(team.timezone)),
    )
    rows = []
    # Unpacked by position (the statement's columns, `figure_columns` last): 1,000 rows
    # read by attribute name cost a few milliseconds more.
    for (
        client_id_,
        project_id,
        oldest,
        client_name,
        project_name,
        currency,
        _seconds,
        billable_seconds,
        billable_value,
        native_value,
        unpriced_seconds,
        rateless_seconds,
        *_,
    ) in found:
        base = Money.of(billable_value, currency, team.base_currency)
        unconverted = unpriced_seconds - rateless_seconds
        rows.append(
            UninvoicedRow(
                client_id=client_id_,
                client_name=client_name,
                project_id=project_id,
                project_name=project_name,
                seconds=billable_seconds,
                currency=currency,
                amount=div_half_up(int(native_value or 0), 3600) if shown.amounts else None,
                base_amount=base.amount() if shown.amounts and not unconverted else None,
                unpriced_seconds=rateless_seconds if shown.amounts else None,
                oldest_entry_date=oldest,
            )
        )
    rows.sort(key=lambda r: ((r.client_name or "").lower(), r.project_name.lower(), r.project_id))
    amounts = [r.base_amount for r in rows]
    hidden = any(r.amount is None for r in rows)
    return UninvoicedReport(
        currency=team.base_currency,
        rows=rows,
        totals={
            "seconds": sum(r.seconds for r in rows),
            "base_amount": None if hidden or None in amounts else sum(a or 0 for a in amounts),
            "unpriced_seconds": None if hidden else sum(r.unpriced_seconds or 0 for r in rows),
        },
    )


# ---------------------------------------------------------------- invoices


async def revenue_report(
    session: AsyncSession,
    ctx: TeamContext,
    team: ReportTeam,
    start: date,
    end: date,
    group_by: RevenueGroup,
) -> RevenueReport:
    """Invoiced and paid amounts per client or month over a period of local dates, in
    the base currency."""
    check_period(start, end)
    invoice_reach(ctx)
    by_month = group_by is RevenueGroup.month
    found = await revenue_by(session, ctx, team, start, end, by_month=by_month)
    names = {} if by_month else await _labels(session, ctx, TimeGroup.client, set(found))
    totals = Revenue()
    rows = []
    for key, figures in found.items():
        totals.add(figures)
        label = key if by_month else names.get(key, "Unknown")
        rows.append(RevenueRow(key=str(key), label=label, **vars(figures)))
    rows.sort(key=lambda r: r.key if by_month else (r.label.lower(), r.key))
    return RevenueReport(
        from_=start,
        to=end,
        group_by=group_by,
        currency=team.base_currency,
        rows=rows,
        totals=RevenueFigures(**vars(totals)),
    )


async def outstanding_report(
    session: AsyncSession, ctx: TeamContext, team: ReportTeam
) -> OutstandingReport:
    """Open invoices by client with aging buckets (days past due), in the base currency."""
    invoice_reach(ctx)
    today, found = await aging_by_client(session, ctx, team)
    names = await _labels(session, ctx, TimeGroup.client, set(found))
    totals = Aging()
    rows = []
    for client_id, aging in found.items():
        for name, value in vars(aging).items():
            setattr(totals, name, getattr(totals, name) + value)
        rows.append(
            AgingRow(client_id=client_id, label=names.get(client_id, "Unknown"), **vars(aging))
        )
    rows.sort(key=lambda r: (r.label.lower(), r.client_id))
    return OutstandingReport(
        currency=team.base_currency, as_of=today, rows=rows, totals=AgingFigures(**vars(totals))
    )


# ---------------------------------------------------------------- a client


async def client_report(
    session: AsyncSession,
    ctx: TeamContext,
    team: ReportTeam,
    client_id: uuid.UUID,
    start: date,
    end: date,
) -> ClientReport:
    """A client's revenue, payments, time, cost and margin over a period."""
    check_period(start, end)
    reach, shown = report_access(ctx)
    invoices = invoice_reach(ctx) if ctx.grant(Permission.INVOICES_READ) is not None else None
    kept = client_statement(reach, ctx.access(Permission.CRM_READ), shown.costs, invoices)
    # The time figures' values, and the invoice dates the revenue part also binds.
    values = bound_values(ctx, team, TimeFilters(client_id=client_id), start, end)
    values |= {"first_day": start, "last_day": end}
    time_rows, *invoice_rows = kept.split(await report_rows(session, kept.statement, values))
    time = Figures()
    for row in time_rows:
        if not row.found:
            raise NotFound("Client")
        if row.currency is not None:
            time.add(row, team.base_currency)
    figures = time_figures(time, shown)

    money: dict[str, int | None] = dict.fromkeys(("revenue", "paid", "outstanding"))
    if invoice_rows:
        due: dict[Any, int] = {}
        revenue = revenue_of(invoice_rows[0], team, due=due).get(client_id, Revenue())
        # A sales rep's clients are its own: `invoice_reach` covers no other.
        money = {
            "revenue": revenue.net_amount,
            "paid": revenue.paid_amount,
            "outstanding": due.get(client_id, 0),
        }
    cost = figures["cost_amount"]
    profit = None if money["revenue"] is None or cost is None else money["revenue"] - cost
    margin = (
        div_half_up(profit * 10_000, money["revenue"])
        if profit is not None and money["revenue"]
        else None
    )
    return ClientReport(
        client_id=client_id,
        from_=start,
        to=end,
        currency=team.base_currency,
        revenue_amount=money["revenue"],
        paid_amount=money["paid"],
        outstanding_amount=money["outstanding"],
        profit_amount=profit,
        margin_bps=margin,
        **figures,
    )

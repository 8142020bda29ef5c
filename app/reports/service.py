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

from sqlalchemy import ColumnElement, Date, cast, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import User
from app.clients.models import Client
from app.clients.service import own_client_ids
from app.core.clock import period_bounds
from app.core.context import TeamContext
from app.core.errors import Unprocessable
from app.core.permissions import Access, Permission
from app.core.tenancy import in_team
from app.projects.membership import member_project_ids
from app.projects.models import Project, Task
from app.rates.service import sees_rates
from app.reports.schemas import TimeFigures, TimeGroup, TimeReport, TimeRow
from app.reports.time_figures import EntryScope, Figures, entry_days, figure_columns, priced
from app.teams.models import Team
from app.teams.service import team_by_id
from app.time_tracking.models import TimeEntry

MAX_PERIOD_DAYS = 3 * 366
NO_LABEL = {TimeGroup.client: "No client", TimeGroup.task: "No task"}


@dataclass(frozen=True)
class TimeFilters:
    client_id: uuid.UUID | None = None
    project_id: uuid.UUID | None = None
    user_id: uuid.UUID | None = None
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


def entry_scope(
    ctx: TeamContext,
    team: Team,
    reach: Access,
    start: date | None,
    end: date | None,
    filters: TimeFilters,
) -> EntryScope:
    """The period, the caller's visibility and the filters as one `EntryScope`."""
    conditions: list[Any] = [visible_time(ctx, reach)]
    f = filters
    if f.client_id is not None:
        conditions.append(TimeEntry.project_id.in_(client_projects(ctx, [f.client_id])))
    if f.project_id is not None:
        conditions.append(TimeEntry.project_id == f.project_id)
    if f.user_id is not None:
        conditions.append(TimeEntry.user_id == f.user_id)
    if f.billable is not None:
        conditions.append(TimeEntry.billable.is_(f.billable))
    started_from, started_before = period_bounds(team.timezone, start, end)
    return EntryScope(conditions, started_from, started_before)


def _group_key(p: Any, group: TimeGroup) -> Any:
    columns = {
        TimeGroup.client: p.c.client_id,
        TimeGroup.project: p.c.project_id,
        TimeGroup.user: p.c.user_id,
        TimeGroup.task: p.c.task_id if "task_id" in p.c else None,
        TimeGroup.day: p.c.day,
        # ISO weeks start on Monday; the day is already local, so DST cannot shift it.
        TimeGroup.week: cast(func.date_trunc("week", p.c.day), Date),
    }
    return columns[group].label(f"key_{group.value}")


async def _labels(
    session: AsyncSession, team: Team, group: TimeGroup, keys: set[Any]
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
    stmt = select(model.id, name).where(model.id.in_(ids))  # type: ignore[attr-defined]
    if model is not User:
        stmt = stmt.where(in_team(model, team.id))
    return {k: v for k, v in (await session.execute(stmt)).all()}


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


async def time_rows(
    session: AsyncSession,
    ctx: TeamContext,
    start: date,
    end: date,
    group_by: TimeGroup,
    then_by: TimeGroup | None,
    filters: TimeFilters,
) -> tuple[Team, list[TimeRow], TimeFigures]:
    """The time report's rows and totals (plain rows: JSON and CSV render the same)."""
    check_period(start, end)
    if then_by is group_by:
        raise Unprocessable("`then_by` repeats `group_by`.", code="report_then_by_same")
    reach, shown = report_access(ctx)
    team = await team_by_id(session, ctx.team_id)
    groups = [group_by] if then_by is None else [group_by, then_by]
    days = entry_days(
        team,
        entry_scope(ctx, team, reach, start, end, filters),
        by_task=TimeGroup.task in groups,
    )
    p = priced(team, days, costs=shown.costs)
    keys = [_group_key(p, g) for g in groups]
    found = (
        await session.execute(select(*keys, *figure_columns(p)).group_by(*keys, p.c.currency))
    ).all()

    per_key: dict[tuple[Any, ...], Figures] = defaultdict(Figures)
    totals = Figures()
    for row in found:
        key = tuple(row[: len(keys)])
        per_key[key].add(row, team.base_currency)
        totals.add(row, team.base_currency)
    labels = [
        await _labels(session, team, g, {k[i] for k in per_key}) for i, g in enumerate(groups)
    ]

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
    return team, rows, TimeFigures(**time_figures(totals, shown))


async def time_report(
    session: AsyncSession,
    ctx: TeamContext,
    start: date,
    end: date,
    group_by: TimeGroup,
    then_by: TimeGroup | None,
    filters: TimeFilters,
) -> TimeReport:
    """Time by one or two groupings over a period of local dates, priced in the base
    currency."""
    team, rows, totals = await time_rows(session, ctx, start, end, group_by, then_by, filters)
    return TimeReport(
        from_=start,
        to=end,
        group_by=group_by,
        then_by=then_by,
        currency=team.base_currency,
        rows=rows,
        totals=totals,
    )

"""Time entries, the running timer, moving time between projects, and time figures.

Overlaps and the single running timer are decided by PostgreSQL (an exclusion
constraint and a partial unique index), so concurrent requests cannot slip past a check.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from app.clients.models import Client, ClientStatus
from app.core.clock import period_bounds
from app.core.context import TeamContext
from app.core.db import any_of, flush_or_raise
from app.core.errors import Conflict, Forbidden, NotFound, Unprocessable
from app.core.pagination import Listing, shaped_by
from app.core.permissions import Access, Permission, access_of
from app.core.statements import BOUND_CALLER, bound, caller_values, shaped
from app.core.tenancy import get_authorized, in_team, same_team, team_rows, team_select
from app.projects.membership import member_project_ids
from app.projects.models import Project, ProjectMember, ProjectStatus, Task
from app.rates.service import bill_rates, sees_rates
from app.teams.models import Membership, Team
from app.teams.service import team_by_id
from app.time_tracking.models import TimeEntry, TimeEntryMove
from app.time_tracking.pricing import (
    entry_out,
    price_entries,
    priced_with,
    record_entry_deleted,
    record_entry_event,
)
from app.time_tracking.schemas import (
    TimeEntryIn,
    TimeEntryMoveIn,
    TimeEntryMoveOut,
    TimeEntryOut,
    TimeEntryPatch,
    TimerStart,
)

_ERRORS = {
    "ex_time_entry_no_overlap": Conflict(
        "This entry overlaps another entry of the same user.", code="time_entry_overlap"
    ),
    "uq_time_entry_one_running": Conflict("A timer is already running.", code="timer_running"),
    "ck_time_entry_ends_after_start": Unprocessable(
        "`ended_at` must be after `started_at`.", code="time_entry_ends_before_start"
    ),
}


def _second(moment: datetime) -> datetime:
    """Entries are kept to the second: durations are whole seconds."""
    return moment.astimezone(UTC).replace(microsecond=0)


async def _outs(
    session: AsyncSession,
    ctx: TeamContext,
    entries: Sequence[TimeEntry],
    team: Team | None = None,
) -> list[TimeEntryOut]:
    """Entries as the API shows them: priced, money fields null for callers who may not
    read rates (any reach of RATES_READ shows them)."""
    team = team or await team_by_id(session, ctx.team_id)
    priced = await price_entries(session, team, entries, show_rates=sees_rates(ctx, Access.OWN))
    return [entry_out(p) for p in priced]


async def _out(session: AsyncSession, ctx: TeamContext, entry: TimeEntry) -> TimeEntryOut:
    return (await _outs(session, ctx, [entry]))[0]


async def _recorded(
    session: AsyncSession, ctx: TeamContext, event_type: str, entry: TimeEntry
) -> TimeEntryOut:
    """Record the entry's event and answer it as the caller reads it: priced once when
    the caller reads rates (the event's view is its view)."""
    full = await record_entry_event(session, ctx.team_id, event_type, entry)
    if sees_rates(ctx, Access.OWN):
        return full
    return await _out(session, ctx, entry)


def visible_entries(ctx: TeamContext, reach: Access) -> ColumnElement[bool]:
    """OWN: the caller's entries; PROJECTS: those plus every entry of its projects."""
    if reach is Access.ALL:
        return true()
    own = TimeEntry.user_id == ctx.user_id
    if reach is Access.PROJECTS:
        return or_(
            own,
            TimeEntry.project_id.in_(member_project_ids(ctx)),
        )
    return own


async def get_entry(
    session: AsyncSession,
    ctx: TeamContext,
    entry_id: uuid.UUID,
    *,
    write: bool = False,
    for_update: bool = False,
) -> TimeEntry:
    """An entry the caller may see; with `write`, one it may change (403 otherwise)."""
    return await get_authorized(
        session,
        TimeEntry,
        ctx,
        entry_id,
        what="Time entry",
        visible=visible_entries,
        read=Permission.TIME_READ,
        write=Permission.TIME_WRITE if write else None,
        for_update=for_update,
    )


async def read_entry(session: AsyncSession, ctx: TeamContext, entry_id: uuid.UUID) -> TimeEntryOut:
    """An entry the caller may see, priced, as the API shows it."""
    return await _out(session, ctx, await get_entry(session, ctx, entry_id))


def _not_invoiced(entry: TimeEntry) -> None:
    if entry.invoice_id is not None:
        raise Conflict(
            "This entry is on an invoice and can no longer change.", code="time_entry_invoiced"
        )


async def _loggable_project(
    session: AsyncSession, ctx: TeamContext, project_id: uuid.UUID, user_id: uuid.UUID
) -> Project:
    """An active project of an active client on which `user_id` may log time."""
    row = (
        await session.execute(
            select(Project, Client.status)
            .outerjoin(Client, same_team(Client, Project) & (Client.id == Project.client_id))
            .where(in_team(Project, ctx), Project.id == project_id)
        )
    ).one_or_none()
    if row is None:
        raise Unprocessable("No such project in this team.", code="unknown_project")
    project, client_status = row
    if project.status is not ProjectStatus.active:
        raise Unprocessable("The project is archived.", code="project_archived")
    if client_status is not None and client_status is not ClientStatus.active:
        raise Unprocessable("The project's client is archived.", code="client_archived")
    # Team managers log anywhere; everyone else only on projects they are a member of.
    # The caller's own rights come from its context (an API key acts with its own role).
    if user_id == ctx.user_id:
        reach = ctx.grant(Permission.TIME_WRITE)
    else:
        role = await session.scalar(
            select(Membership.role).where(in_team(Membership, ctx), Membership.user_id == user_id)
        )
        if role is None:
            raise Unprocessable("`user_id` is not a member of the team.", code="not_team_member")
        reach = access_of(role, Permission.TIME_WRITE)
    if reach is not Access.ALL and (
        await session.get(ProjectMember, (project.id, user_id)) is None
    ):
        raise Forbidden(
            "Only members of the project can log time on it.", code="not_project_member"
        )
    return project


async def _check_task(session: AsyncSession, project: Project, task_id: uuid.UUID | None) -> None:
    if task_id is None:
        return
    found = await session.scalar(
        select(Task.id).where(Task.id == task_id, Task.project_id == project.id)
    )
    if found is None:
        raise Unprocessable("The task is not part of this project.", code="unknown_task")


def _too_long(team: Team) -> Unprocessable:
    return Unprocessable(
        f"Entries may last at most {team.time_entry_max_seconds} seconds.",
        code="time_entry_too_long",
    )


def _check_span(team: Team, started_at: datetime, ended_at: datetime) -> None:
    """A finished entry ends after it starts and lasts the team's minimum to its maximum."""
    if ended_at <= started_at:
        raise Unprocessable(
            "`ended_at` must be after `started_at`.", code="time_entry_ends_before_start"
        )
    seconds = (ended_at - started_at).total_seconds()
    if seconds < team.time_entry_min_seconds:
        raise Unprocessable(
            f"Entries must last at least {team.time_entry_min_seconds} seconds.",
            code="time_entry_too_short",
        )
    if seconds > team.time_entry_max_seconds:
        raise _too_long(team)


def _check_running(team: Team, started_at: datetime) -> None:
    """A running entry whose start moves has not yet run longer than the team's maximum
    (the worker would stop it at once, at a time already past)."""
    if (_second(datetime.now(UTC)) - started_at).total_seconds() > team.time_entry_max_seconds:
        raise _too_long(team)


def _owner_of_new_entry(ctx: TeamContext, user_id: uuid.UUID | None) -> uuid.UUID:
    reach = ctx.access(Permission.TIME_WRITE)
    if user_id is not None and user_id != ctx.user_id:
        if reach is not Access.ALL:
            raise Forbidden("Only managers may log time for someone else.")
        return user_id
    return ctx.user_id


async def create_entry(session: AsyncSession, ctx: TeamContext, data: TimeEntryIn) -> TimeEntryOut:
    """A manual entry, the team's minimum to maximum long, overlapping nothing of its user."""
    user_id = _owner_of_new_entry(ctx, data.user_id)
    team = await team_by_id(session, ctx.team_id)
    project = await _loggable_project(session, ctx, data.project_id, user_id)
    await _check_task(session, project, data.task_id)
    started_at, ended_at = _second(data.started_at), _second(data.ended_at)
    _check_span(team, started_at, ended_at)
    entry = TimeEntry(
        team_id=ctx.team_id,
        user_id=user_id,
        project_id=project.id,
        task_id=data.task_id,
        started_at=started_at,
        ended_at=ended_at,
        note=data.note,
        billable=project.billable if data.billable is None else data.billable,
        created_by_id=ctx.user_id,
    )
    session.add(entry)
    await flush_or_raise(session, _ERRORS)
    await session.refresh(entry)
    return await _recorded(session, ctx, "time_entry.created", entry)


async def update_entry(
    session: AsyncSession, ctx: TeamContext, entry_id: uuid.UUID, patch: TimeEntryPatch
) -> TimeEntryOut:
    """Change an uninvoiced entry the caller may change; answers it priced."""
    entry = await get_entry(session, ctx, entry_id, write=True, for_update=True)
    _not_invoiced(entry)
    fields = patch.changes()
    if "task_id" in fields:
        project = await session.get(Project, entry.project_id)
        assert project is not None
        await _check_task(session, project, fields["task_id"])
    if "started_at" in fields or "ended_at" in fields:
        if entry.ended_at is None and fields.get("ended_at") is not None:
            raise Conflict("Stop the timer to end a running entry.", code="timer_running")
        # Neither may be null (`not_null`): `ended_at` is None only for a running entry.
        started_at = _second(fields.get("started_at", entry.started_at))
        ended_at = fields.get("ended_at", entry.ended_at)
        team = await team_by_id(session, ctx.team_id)
        if ended_at is None:
            _check_running(team, started_at)
        else:
            ended_at = _second(ended_at)
            _check_span(team, started_at, ended_at)
        fields["started_at"], fields["ended_at"] = started_at, ended_at
    for field, value in fields.items():
        setattr(entry, field, value)
    await flush_or_raise(session, _ERRORS)
    await session.refresh(entry)
    return await _recorded(session, ctx, "time_entry.updated", entry)


async def delete_entry(session: AsyncSession, ctx: TeamContext, entry_id: uuid.UUID) -> None:
    """Delete an uninvoiced entry the caller may change."""
    entry = await get_entry(session, ctx, entry_id, write=True, for_update=True)
    _not_invoiced(entry)
    await session.delete(entry)
    await session.flush()
    await record_entry_deleted(session, entry)


@dataclass(frozen=True)
class EntryFilters:
    """`started_from`/`started_before` as instants, or dates in the team's time zone
    (`started_before` then includes that day)."""

    user_id: uuid.UUID | None = None
    project_id: uuid.UUID | None = None
    client_id: uuid.UUID | None = None
    started_from: datetime | date | None = None
    started_before: datetime | date | None = None
    billable: bool | None = None
    invoiced: bool | None = None


@shaped
def _entry_list(
    reach: Access,
    *,
    user: bool,
    project: bool,
    client: bool,
    started_from: bool,
    started_before: bool,
    billable: bool | None,
    invoiced: bool | None,
) -> Select[Any]:
    """The time entries list's statement for one shape (`app.core.statements`).

    `billable` and `invoiced` are the filters' values (None: not set), written into the
    statement: `billable IS TRUE AND invoice_id IS NULL` is what the partial index of
    uninvoiced billable time says, and a bound value would not match it.
    """
    stmt = team_rows(TimeEntry, BOUND_CALLER).where(visible_entries(BOUND_CALLER, reach))
    if user:
        # Its own name: a filter never shares the caller's (`caller_id`, in the visibility).
        stmt = stmt.where(TimeEntry.user_id == bound("entry_user_id", TimeEntry.user_id))
    if project:
        stmt = stmt.where(TimeEntry.project_id == bound("project_id", TimeEntry.project_id))
    if client:
        of_client = select(Project.id).where(
            in_team(Project, BOUND_CALLER),
            Project.client_id == bound("client_id", Project.client_id),
        )
        stmt = stmt.where(TimeEntry.project_id.in_(of_client))
    if started_from:
        stmt = stmt.where(TimeEntry.started_at >= bound("started_from", TimeEntry.started_at))
    if started_before:
        stmt = stmt.where(TimeEntry.started_at < bound("started_before", TimeEntry.started_at))
    if billable is not None:
        stmt = stmt.where(TimeEntry.billable.is_(billable))
    if invoiced is not None:
        stmt = stmt.where(
            TimeEntry.invoice_id.isnot(None) if invoiced else TimeEntry.invoice_id.is_(None)
        )
    return stmt


async def list_entries(
    session: AsyncSession, ctx: TeamContext, filters: EntryFilters
) -> Listing[TimeEntryOut]:
    """Entries the caller may see, newest first, each priced (constant query count per
    page or batch)."""
    team = await team_by_id(session, ctx.team_id)
    started_from, started_before = period_bounds(
        team.timezone, filters.started_from, filters.started_before
    )
    reach = ctx.access(Permission.TIME_READ)
    f = filters
    stmt = _entry_list(
        reach,
        user=f.user_id is not None,
        project=f.project_id is not None,
        client=f.client_id is not None,
        started_from=started_from is not None,
        started_before=started_before is not None,
        billable=f.billable,
        invoiced=f.invoiced,
    )
    values = {
        **caller_values(ctx),
        "entry_user_id": f.user_id,
        "project_id": f.project_id,
        "client_id": f.client_id,
        "started_from": started_from,
        "started_before": started_before,
    }

    async def shape(entries: list[TimeEntry]) -> list[TimeEntryOut]:
        return await _outs(session, ctx, entries, team)

    return Listing(
        stmt,
        TimeEntry,
        shape,
        order_by=[TimeEntry.started_at],
        descending=True,
        values=values,
    )


# ---------------------------------------------------------------- timer


def _running(ctx: TeamContext) -> Select[tuple[TimeEntry]]:
    return team_select(TimeEntry, ctx).where(
        TimeEntry.user_id == ctx.user_id, TimeEntry.ended_at.is_(None)
    )


async def get_timer(session: AsyncSession, ctx: TeamContext) -> TimeEntryOut:
    """The caller's running entry (404 when none runs)."""
    ctx.access(Permission.TIME_WRITE)
    entry = (await session.execute(_running(ctx))).scalar_one_or_none()
    if entry is None:
        raise NotFound("Running timer", code="timer_not_running")
    return await _out(session, ctx, entry)


async def _stop(session: AsyncSession, team: Team, entry: TimeEntry) -> TimeEntry:
    """End a running entry now, or at the team's longest entry if it ran longer (as the
    worker would have: `overdue.py`)."""
    now = _second(datetime.now(UTC))
    longest = entry.started_at + timedelta(seconds=team.time_entry_max_seconds)
    # At least one second: a timer stopped right away is still a (tiny) entry.
    entry.ended_at = max(min(now, longest), entry.started_at + timedelta(seconds=1))
    await flush_or_raise(session, _ERRORS)
    await session.refresh(entry)
    await record_entry_event(session, team.id, "time_entry.updated", entry)
    return entry


async def start_timer(
    session: AsyncSession, ctx: TeamContext, data: TimerStart, *, switch: bool
) -> TimeEntryOut:
    """Start the caller's timer; a running one is a 409 unless `switch` stops it first."""
    ctx.access(Permission.TIME_WRITE)
    project = await _loggable_project(session, ctx, data.project_id, ctx.user_id)
    await _check_task(session, project, data.task_id)
    # Concurrent starts of one user wait here, so the later ones see the running timer
    # (409 timer_running) instead of tripping over the overlap constraint.
    await session.execute(
        select(Membership.user_id)
        .where(in_team(Membership, ctx), Membership.user_id == ctx.user_id)
        .with_for_update(key_share=True)
    )
    running = (await session.execute(_running(ctx).with_for_update())).scalar_one_or_none()
    if running is not None:
        if not switch:
            raise Conflict(
                "A timer is already running; stop it or pass switch=true.", code="timer_running"
            )
        await _stop(session, await team_by_id(session, ctx.team_id), running)
    now = _second(datetime.now(UTC))
    if running is not None and running.ended_at and running.ended_at > now:
        now = running.ended_at
    entry = TimeEntry(
        team_id=ctx.team_id,
        user_id=ctx.user_id,
        project_id=project.id,
        task_id=data.task_id,
        started_at=now,
        ended_at=None,
        note=data.note,
        billable=project.billable,
        created_by_id=ctx.user_id,
    )
    session.add(entry)
    await flush_or_raise(session, _ERRORS)
    await session.refresh(entry)
    return await _recorded(session, ctx, "time_entry.created", entry)


async def stop_timer(session: AsyncSession, ctx: TeamContext) -> TimeEntryOut:
    """Stop the caller's timer; answers the finished entry."""
    ctx.access(Permission.TIME_WRITE)
    entry = (await session.execute(_running(ctx).with_for_update())).scalar_one_or_none()
    if entry is None:
        raise Conflict("No timer is running.", code="timer_not_running")
    team = await team_by_id(session, ctx.team_id)
    return await _out(session, ctx, await _stop(session, team, entry))


# ---------------------------------------------------------------- moving time


async def move_entry(
    session: AsyncSession,
    ctx: TeamContext,
    entry_id: uuid.UUID,
    data: TimeEntryMoveIn,
    ip: str | None,
) -> TimeEntryOut:
    """Move an uninvoiced entry to another project; the move is audited."""
    entry = await get_entry(session, ctx, entry_id, write=True, for_update=True)
    _not_invoiced(entry)
    if data.project_id == entry.project_id:
        raise Unprocessable("The entry is already on this project.", code="same_project")
    target = await _loggable_project(session, ctx, data.project_id, entry.user_id)
    session.add(
        TimeEntryMove(
            team_id=ctx.team_id,
            time_entry_id=entry.id,
            actor_id=ctx.user_id,
            from_project_id=entry.project_id,
            to_project_id=target.id,
            reason=data.reason,
            ip_address=ip,
        )
    )
    entry.project_id = target.id
    entry.task_id = None  # tasks belong to the project the entry left
    await session.flush()
    await session.refresh(entry)
    return await _recorded(session, ctx, "time_entry.moved", entry)


@shaped
def _move_list() -> Select[Any]:
    """The moves of one entry (bound as `entry_id`)."""
    return team_rows(TimeEntryMove, BOUND_CALLER).where(
        TimeEntryMove.time_entry_id == bound("entry_id", TimeEntryMove.time_entry_id)
    )


async def entry_history(
    session: AsyncSession, ctx: TeamContext, entry_id: uuid.UUID
) -> Listing[TimeEntryMoveOut]:
    """A visible entry's moves between projects, oldest first."""
    entry = await get_entry(session, ctx, entry_id)
    values = {**caller_values(ctx), "entry_id": entry.id}
    return Listing(_move_list(), TimeEntryMove, shaped_by(TimeEntryMoveOut), values=values)


# ---------------------------------------------------------------- figures


async def tracked_seconds_by_task(
    session: AsyncSession, task_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, int]:
    """Seconds tracked per task, for any number of tasks in one query."""
    if not task_ids:
        return {}
    rows = await session.execute(
        select(TimeEntry.task_id, func.coalesce(func.sum(TimeEntry.duration_seconds), 0))
        .where(any_of(TimeEntry.task_id, task_ids))
        .group_by(TimeEntry.task_id)
    )
    return {task_id: int(total) for task_id, total in rows}


@dataclass(frozen=True)
class ProjectTime:
    currency: str
    tracked_seconds: int
    billable_seconds: int
    uninvoiced_seconds: int
    invoiced_seconds: int
    billable_amount: int
    uninvoiced_amount: int
    rate_missing_seconds: int


async def project_time(session: AsyncSession, team: Team, project_id: uuid.UUID) -> ProjectTime:
    """Tracked, billable and not-yet-invoiced time and amounts of a project."""
    entries = list(
        (
            await session.execute(
                team_select(TimeEntry, team.id).where(
                    TimeEntry.project_id == project_id, TimeEntry.ended_at.isnot(None)
                )
            )
        ).scalars()
    )
    # The project's own target gives its currency even when no entry names it.
    rates = await bill_rates(session, team, entries, projects=[project_id])
    rows = priced_with(rates, entries)
    target = rates.targets.get(project_id)
    billable = [p for p in rows if p.entry.billable]
    uninvoiced = [p for p in billable if p.entry.invoice_id is None]
    seconds = lambda items: sum(p.entry.duration_seconds or 0 for p in items)  # noqa: E731
    amount = lambda items: sum(p.billable_amount or 0 for p in items)  # noqa: E731
    return ProjectTime(
        currency=target.currency if target else team.base_currency,
        tracked_seconds=seconds(rows),
        billable_seconds=seconds(billable),
        uninvoiced_seconds=seconds(uninvoiced),
        invoiced_seconds=seconds(p for p in billable if p.entry.invoice_id is not None),
        billable_amount=amount(billable),
        uninvoiced_amount=amount(uninvoiced),
        rate_missing_seconds=seconds(p for p in billable if p.rate_missing),
    )

"""Reading the event record: what the caller's role may see, as its role may see it.

Visibility is decided at read time by the role table, with the reaches of the read
endpoints applied to the ids stored on each event (whose it is, its client, its
project); fields a role may not read (rates and amounts) are removed from `data` here,
never stored twice.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    and_,
    any_,
    bindparam,
    false,
    literal_column,
    or_,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from app.clients.service import own_client_ids
from app.contacts.models import Contact
from app.contacts.service import visible_contacts
from app.core.context import TeamContext
from app.core.db import any_of
from app.core.errors import BadRequest, Unprocessable
from app.core.pagination import Page, Slice
from app.core.permissions import Access, Permission
from app.core.statements import BOUND_CALLER, bound, caller_values, shaped
from app.core.tenancy import in_team, team_rows
from app.events.models import Event
from app.events.record import visible_below
from app.events.schemas import ActorOut, EventOut
from app.projects.membership import member_project_ids
from app.projects.models import Project
from app.rates.service import sees_rates
from app.teams.service import team_by_id

MAX_ID = 2**63 - 1
MAX_LIMIT = 200

Rule = Callable[[TeamContext, Access], ColumnElement[bool]]


def _clients_of_my_projects(ctx: TeamContext) -> ColumnElement[bool]:
    return Event.client_id.in_(
        select(Project.client_id).where(
            in_team(Project, ctx), Project.id.in_(member_project_ids(ctx))
        )
    )


def _time(ctx: TeamContext, reach: Access) -> ColumnElement[bool]:
    """As `visible_entries`: OWN the caller's entries; PROJECTS also its projects'."""
    if reach is Access.ALL:
        return true()
    own = Event.user_id == ctx.user_id
    if reach is Access.PROJECTS:
        return or_(own, Event.project_id.in_(member_project_ids(ctx)))
    return own


def _crm(ctx: TeamContext, reach: Access) -> ColumnElement[bool]:
    """As `visible_clients`: OWN clients held by the caller; PROJECTS its projects'."""
    if reach is Access.ALL:
        return true()
    if reach is Access.PROJECTS:
        return _clients_of_my_projects(ctx)
    return Event.client_id.in_(own_client_ids(ctx))


def _contacts(ctx: TeamContext, reach: Access) -> ColumnElement[bool]:
    """As `visible_contacts`: the clients' rule, plus (OWN) contacts held by the caller."""
    of_client = _crm(ctx, reach)
    if reach is Access.OWN:
        held = select(Contact.id).where(in_team(Contact, ctx), visible_contacts(ctx, reach))
        return or_(of_client, Event.object_id.in_(held))
    return of_client


def _projects(ctx: TeamContext, reach: Access) -> ColumnElement[bool]:
    """As `visible_projects`: OWN_CLIENTS the caller's clients'; PROJECTS its projects."""
    if reach is Access.ALL:
        return true()
    if reach is Access.OWN_CLIENTS:
        return Event.client_id.in_(own_client_ids(ctx))
    return Event.project_id.in_(member_project_ids(ctx))


def _invoices(ctx: TeamContext, reach: Access) -> ColumnElement[bool]:
    """As `visible_invoices`: OWN_CLIENTS the invoices of the caller's clients."""
    if reach is Access.ALL:
        return true()
    return Event.client_id.in_(own_client_ids(ctx))


def _everyone(ctx: TeamContext, reach: Access) -> ColumnElement[bool]:
    return true()


# Each object type: the read permission of its endpoints and that reach as a filter.
RULES: dict[str, tuple[Permission, Rule]] = {
    "client": (Permission.CRM_READ, _crm),
    "contact": (Permission.CRM_READ, _contacts),
    "project": (Permission.PROJECTS_READ, _projects),
    "task": (Permission.TASKS_READ, _projects),
    # Internal comments too: the team reads every comment of a project it sees.
    "comment": (Permission.PROJECTS_READ, _projects),
    "time_entry": (Permission.TIME_READ, _time),
    "invoice": (Permission.INVOICES_READ, _invoices),
    "payment": (Permission.INVOICES_READ, _invoices),
    "member": (Permission.MEMBERS_READ, _everyone),
}


def _object_type(kind: str) -> ColumnElement[str]:
    """An object type of `RULES` written into the SQL: a constant of the code, part of
    every shape (a bound text would be taken for a request's by `check_shaped`, and
    every statement reading `visible_events` would have to bind it)."""
    assert re.fullmatch(r"[a-z_]+", kind), kind
    return literal_column(f"'{kind}'", Event.object_type.type)


Reaches = tuple[Access | None, ...]


def reaches_of(ctx: TeamContext) -> Reaches:
    """The caller's reach on each object type of `RULES`, in its order (None: none)."""
    return tuple(ctx.grant(permission) for permission, _ in RULES.values())


def _visible(ctx: TeamContext, reaches: Reaches) -> ColumnElement[bool]:
    parts = [
        and_(Event.object_type == _object_type(kind), rule(ctx, reach))
        for (kind, (_, rule)), reach in zip(RULES.items(), reaches, strict=True)
        if reach is not None
    ]
    return or_(*parts) if parts else false()


def visible_events(ctx: TeamContext) -> ColumnElement[bool]:
    """The events whose object the caller's role may read through the API."""
    return _visible(ctx, reaches_of(ctx))


_ONE = r"(\*|[a-z_]{1,40}\.(\*|[a-z_]{1,40}))"
TYPES_PATTERN = rf"^{_ONE}(,{_ONE})*$"
_TYPE = re.compile(r"^([a-z_]+)\.(\*|[a-z_]+)$")


def parse_types(types: str) -> tuple[set[str], set[str]] | None:
    """`types=client.*,invoice.paid` as (exact types, object types), or None for all."""
    exact, objects = set(), set()
    for item in (t.strip() for t in types.split(",")):
        if not item:
            continue
        if item == "*":
            return None
        match = _TYPE.match(item)
        if match is None:  # the query's pattern lets none through
            raise Unprocessable("Event types are `<object>.<verb>` or `<object>.*`.")
        if match.group(2) == "*":
            objects.add(match.group(1))
        else:
            exact.add(item)
    return exact, objects


def _types_filter() -> ColumnElement[bool]:
    """`types=` as two array values: its exact types (`types`) and its wildcards'
    object types (`object_types`); an empty array matches nothing."""
    exact = bindparam("types", type_=ARRAY(Event.type.type))
    objects = bindparam("object_types", type_=ARRAY(Event.object_type.type))
    return or_(Event.type == any_(exact), Event.object_type == any_(objects))


def type_matcher(types: str | None) -> Callable[[Any], bool]:
    """`types=` as a test of one row, as `list_events` filters them."""
    parsed = parse_types(types) if types else None
    if parsed is None:
        return lambda row: True
    exact, objects = parsed
    return lambda row: row.type in exact or row.object_type in objects


@dataclass(frozen=True)
class EventQuery:
    after: int | None = None
    types: str | None = None
    limit: int = 50
    updated_since: datetime | None = None


def _null(data: dict[str, Any], *fields: str) -> dict[str, Any]:
    return {**data, **dict.fromkeys(fields)}


def _shaped(ctx: TeamContext, base_currency: str, row: Any) -> dict[str, Any]:
    """`data` as the read endpoints show it to the caller's role."""
    data: dict[str, Any] = row.data
    if row.type.endswith(".deleted"):
        return data
    kind = row.object_type
    if kind == "time_entry" and not sees_rates(ctx, Access.OWN):
        data = _null(data, "bill_rate_amount", "billable_amount")
        data.update(rate_missing=False, currency=base_currency)
    # A client's rate applies team-wide (ALL); a project's to its members (PROJECTS).
    hidden_rate = (kind == "client" and not sees_rates(ctx, Access.ALL)) or (
        kind == "project" and not sees_rates(ctx, Access.PROJECTS)
    )
    if hidden_rate:
        data = _null(data, "hourly_rate_amount")
    return data


def event_out(ctx: TeamContext, base_currency: str, row: Any) -> EventOut:
    """A row of the record as the caller's role reads it."""
    return EventOut(
        id=row.id,
        type=row.type,
        created_at=row.created_at,
        actor=ActorOut(type=row.actor_type, id=row.actor_id),
        data=_shaped(ctx, base_currency, row),
    )


def sees_all(ctx: TeamContext, object_types: set[str]) -> bool:
    """True when the caller's role reads every object of these types (no row to check)."""
    return all(kind in RULES and ctx.grant(RULES[kind][0]) is Access.ALL for kind in object_types)


async def visible_ids(session: AsyncSession, ctx: TeamContext, ids: list[int]) -> set[int]:
    """Which of these events the caller may see (the rules of `visible_events`)."""
    found = await session.scalars(
        select(Event.id).where(in_team(Event, ctx), any_of(Event.id, ids), visible_events(ctx))
    )
    return set(found)


@shaped
def _event_list(reaches: Reaches, after: bool, types: bool, since: bool) -> Select[Any]:
    """The events list's statement for one shape (`app.core.statements`): the caller's
    reaches and which filters are set; one page of `limit` rows, oldest first."""
    stmt = team_rows(Event, BOUND_CALLER).where(
        Event.id < visible_below(), _visible(BOUND_CALLER, reaches)
    )
    if after:
        stmt = stmt.where(Event.id > bound("after", Event.id))
    if types:
        stmt = stmt.where(_types_filter())
    if since:
        stmt = stmt.where(Event.created_at >= bound("updated_since", Event.created_at))
    return stmt.order_by(Event.id).limit(bindparam("limit", type_=Integer))


async def list_events(session: AsyncSession, ctx: TeamContext, query: EventQuery) -> Page[EventOut]:
    """Events the caller may see, oldest first, after `query.after`; only events of
    transactions older than every one still in flight (see `app.events.record`)."""
    parsed = parse_types(query.types) if query.types else None
    exact, objects = parsed or (set(), set())
    stmt = _event_list(
        reaches_of(ctx),
        query.after is not None,
        parsed is not None,
        query.updated_since is not None,
    )
    values = {
        **caller_values(ctx),
        "after": query.after,
        "types": sorted(exact),
        "object_types": sorted(objects),
        "updated_since": query.updated_since,
        "limit": query.limit + 1,
    }
    rows = list((await session.execute(stmt, values)).all())
    has_more = len(rows) > query.limit
    rows = rows[: query.limit]
    team = await team_by_id(session, ctx.team_id)
    items = [event_out(ctx, team.base_currency, r) for r in rows]
    cursor = str(rows[-1].id) if has_more else None
    return Slice(rows, has_more, cursor).page(items)


def cursor_after(after: int | None, cursor: str | None) -> int | None:
    """`cursor` (a page's `next_cursor`) and `after` name the same place: the last id read."""
    if cursor:
        if not cursor.isdigit() or int(cursor) > MAX_ID:
            raise BadRequest("The cursor is not valid.", code="invalid_cursor")
        value = int(cursor)
        return max(value, after or 0)
    return after

"""The one tenant-scoping helper.

Every statement over a team-owned table is scoped here: `team_select` and `get_in_team`
for reads, `in_team(Model, ctx)` as the condition of subqueries, joins, UPDATE and DELETE.
A row of another team is therefore indistinguishable from a missing row: a 404, never a
403, so ids do not leak across teams. `tests/test_architecture.py` fails on a comparison
with a `team_id` column anywhere else in `app/`.

Behind these filters stands a second wall, PostgreSQL row-level security: a team-scoped
transaction runs as the role `hourline_app` with `app.team_id` naming its team
(`scope_to_team`, `enter_team`), and that role sees no other team's rows even through a
statement that forgot its filter. `docs/security.md` lists the few cross-team paths.
"""

import uuid
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from sqlalchemy import ColumnElement, Select, Text, Uuid, cast, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, QueryableAttribute

from app.core.context import TeamContext
from app.core.errors import Forbidden, NotFound
from app.core.permissions import Access, Permission

# Created by the row-security migration; its policies read TEAM_SETTING.
APP_ROLE = "hourline_app"
TEAM_SETTING = "app.team_id"
# The execution option that marks a select of plain rows (`team_rows`), so readers need
# not inspect the statement to know (`app.core.pagination`).
ROWS = "hourline_rows"


def scope_to_team(team_id: Any) -> tuple[ColumnElement[str], ColumnElement[str]]:
    """Two columns that, selected, confine the rest of the transaction to one team.

    `SET LOCAL app.team_id` and `SET LOCAL ROLE hourline_app` as expressions, so the
    query that finds the team (the request's authentication query) scopes the transaction
    in the same round trip. Both end with the transaction.
    """
    return (
        func.set_config(TEAM_SETTING, cast(team_id, Text), True).label("scoped_team"),
        func.set_config("role", APP_ROLE, True).label("scoped_role"),
    )


async def enter_team(session: AsyncSession, team_id: uuid.UUID) -> None:
    """Confine the session's transaction to `team_id` (jobs, and paths that find their
    team by a token): from here on, only that team's rows are visible or writable."""
    await session.execute(select(*scope_to_team(literal(team_id, Uuid))))


class HasTeam(Protocol):
    @property
    def team_id(self) -> uuid.UUID: ...


M = TypeVar("M")


TeamRef = HasTeam | uuid.UUID | ColumnElement[uuid.UUID] | QueryableAttribute[uuid.UUID]


def in_team(model: type[M], team: TeamRef) -> ColumnElement[bool]:
    """`model.team_id = <team>`: the scope of one team, for any WHERE or ON clause.

    `team` is a context (request or job), a team id where a job only knows the id, or a
    column such as `Team.id` when joining a user's memberships to their teams.
    """
    column: InstrumentedAttribute[uuid.UUID] = model.team_id  # type: ignore[attr-defined]
    if isinstance(team, uuid.UUID | ColumnElement | QueryableAttribute):
        return column == team
    return column == team.team_id


def same_team(left: type[Any], right: type[Any]) -> ColumnElement[bool]:
    """`left.team_id = right.team_id`: the team half of a composite-key join."""
    return left.team_id == right.team_id  # type: ignore[no-any-return]


def team_select(model: type[M], ctx: TeamRef) -> Select[tuple[M]]:
    """`SELECT model` scoped to one team."""
    return select(model).where(in_team(model, ctx))


def team_rows(model: type[M], ctx: TeamRef) -> Select[Any]:
    """`SELECT` every column of `model`'s table, scoped to one team, as plain rows.

    For lists: rows cost a fraction of ORM objects to load, and schemas validate from
    their attributes all the same.
    """
    return (
        select(model.__table__)  # type: ignore[attr-defined]
        .where(in_team(model, ctx))
        .execution_options(**{ROWS: True})
    )


async def get_in_team(
    session: AsyncSession,
    model: type[M],
    ctx: HasTeam,
    object_id: uuid.UUID,
    *,
    what: str,
    visible: ColumnElement[bool] | None = None,
    for_update: bool = False,
) -> M:
    """The row `object_id` of the caller's team, or NotFound(`what`).

    `visible` narrows further to what the caller's role may see (also a 404: a caller
    does not learn that a row it may not see exists).
    """
    stmt = team_select(model, ctx).where(model.id == object_id)  # type: ignore[attr-defined]
    if visible is not None:
        stmt = stmt.where(visible)
    if for_update:
        stmt = stmt.with_for_update()
    row = (await session.execute(stmt)).scalar_one_or_none()
    if row is None:
        raise NotFound(what)
    return row


Visibility = Callable[[TeamContext, Access], ColumnElement[bool]]


async def get_authorized(
    session: AsyncSession,
    model: type[M],
    ctx: TeamContext,
    object_id: uuid.UUID,
    *,
    what: str,
    visible: Visibility,
    read: Permission,
    write: Permission | None = None,
    writable: Visibility | None = None,
    for_update: bool = False,
) -> M:
    """A row the caller may see with `read` (404 otherwise) and, with `write`, may change.

    `visible(ctx, reach)` turns a permission's reach into a filter on `model`; when the
    row is visible but outside the `write` reach (`writable`, default `visible`), the
    answer is 403: the caller knows the row exists.
    """
    row = await get_in_team(
        session,
        model,
        ctx,
        object_id,
        what=what,
        visible=visible(ctx, ctx.access(read)),
        for_update=for_update,
    )
    if write is not None:
        reach = ctx.access(write)
        if reach is not Access.ALL and not await session.scalar(
            select(model.id).where(  # type: ignore[attr-defined]
                model.id == row.id,  # type: ignore[attr-defined]
                (writable or visible)(ctx, reach),
            )
        ):
            raise Forbidden(f"Your role may not change this {what.lower()}.")
    return row

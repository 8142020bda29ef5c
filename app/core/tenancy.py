"""The one tenant-scoping helper.

Every read of a team-owned table goes through `team_select` or `get_in_team`, which add
`team_id = ctx.team_id`. A row of another team is therefore indistinguishable from a
missing row: a 404, never a 403, so ids do not leak across teams.
"""

import uuid
from typing import Protocol, TypeVar

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from app.core.errors import NotFound


class HasTeam(Protocol):
    @property
    def team_id(self) -> uuid.UUID: ...


M = TypeVar("M")


def team_select(model: type[M], ctx: HasTeam) -> Select[tuple[M]]:
    column: InstrumentedAttribute[uuid.UUID] = model.team_id  # type: ignore[attr-defined]
    return select(model).where(column == ctx.team_id)


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

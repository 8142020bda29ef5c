"""Replace the set of users linked to a row (client members, contact assignees)."""

import uuid
from collections.abc import Iterable
from functools import cache
from typing import Any

from sqlalchemy import Select, any_, bindparam, delete, insert, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.rows import read_rows


async def replace_links(
    session: AsyncSession,
    model: Any,
    *,
    team_id: uuid.UUID,
    parent: str,
    parent_id: uuid.UUID,
    user_ids: Iterable[uuid.UUID],
) -> None:
    ids = set(user_ids)
    await session.execute(delete(model).where(getattr(model, parent) == parent_id))
    if ids:
        await session.execute(
            insert(model),
            [{"team_id": team_id, parent: parent_id, "user_id": u} for u in ids],
        )


@cache
def _links(model: Any, parent: str) -> Select[Any]:
    """(parent id, user id) of the parents `:ids`, built once per link table."""
    column = getattr(model, parent)
    ids = bindparam("ids", type_=ARRAY(column.type))
    return select(column, model.user_id).where(column == any_(ids)).order_by(model.user_id)


async def links_of(
    session: AsyncSession, model: Any, *, parent: str, parent_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, list[uuid.UUID]]:
    """user ids per parent id, for a whole page of parents in one query."""
    ids = list(parent_ids)
    result: dict[uuid.UUID, list[uuid.UUID]] = {i: [] for i in ids}
    if not ids:
        return result
    rows = await read_rows(session, _links(model, parent), {"ids": ids})
    for parent_id, user_id in rows:
        result[parent_id].append(user_id)
    return result

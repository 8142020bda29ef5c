"""Keyset (cursor) pagination shared by every list endpoint.

Rows are ordered by a key that ends with the primary key, so the order is total and a
cursor (the key of the last row returned) resumes exactly after it: rows inserted
between two pages are neither repeated nor cause skips. With `updated_since` the key
becomes `(updated_at, id)` so an integration can sync changes incrementally.
"""

import base64
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel
from sqlalchemy import Select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from app.core.errors import BadRequest
from app.core.rows import read_rows
from app.core.schemas import Instant
from app.core.tenancy import ROWS

T = TypeVar("T")
R = TypeVar("R")
S = TypeVar("S", bound=BaseModel)


class Page(BaseModel, Generic[T]):
    data: list[T]
    has_more: bool
    next_cursor: str | None


@dataclass(frozen=True)
class PageParams:
    limit: int = 50
    cursor: str | None = None
    updated_since: datetime | None = None


async def page_params(
    limit: Annotated[int, Query(ge=1, le=200, description="Page size")] = 50,
    cursor: Annotated[
        str | None, Query(description="`next_cursor` of the previous page; empty: the first")
    ] = None,
    updated_since: Annotated[
        Instant | None, Query(description="Only rows changed at or after this instant")
    ] = None,
) -> PageParams:
    return PageParams(limit=limit, cursor=cursor or None, updated_since=updated_since)


PageQuery = Annotated[PageParams, Depends(page_params)]


def _encode(values: Sequence[Any]) -> str:
    tagged = []
    for v in values:
        if isinstance(v, datetime):
            tagged.append(["t", v.isoformat()])
        elif isinstance(v, uuid.UUID):
            tagged.append(["u", str(v)])
        else:
            tagged.append(["v", v])
    raw = json.dumps(tagged, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str, width: int) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        tagged = json.loads(raw)
        values: list[Any] = []
        for tag, v in tagged:
            if tag == "t":
                values.append(datetime.fromisoformat(v))
            elif tag == "u":
                values.append(uuid.UUID(v))
            elif tag == "v" and isinstance(v, str | int):
                values.append(v)
            else:
                raise ValueError(tag)
    except (ValueError, TypeError, json.JSONDecodeError):
        raise BadRequest("The cursor is not valid.", code="invalid_cursor") from None
    if len(values) != width:
        raise BadRequest("The cursor does not belong to this list.", code="invalid_cursor")
    return values


@dataclass(frozen=True)
class Slice(Generic[R]):
    """One page of rows before shaping: the rows and where the next page starts."""

    rows: list[R]
    has_more: bool
    next_cursor: str | None

    def page(self, items: list[S]) -> Page[S]:
        """The page as the API shows it; `items` are the shaped rows, in order.

        The one place a list response is built. Built without validation (the items are
        schema instances already) and as the exact `Page[Item]` class, so the endpoint's
        `response_model` accepts it as is and serializes it straight to JSON.
        """
        kind: type[Page[Any]] = Page[type(items[0])] if items else Page[Any]  # type: ignore[misc]
        return kind.model_construct(  # type: ignore[return-value]
            data=items, has_more=self.has_more, next_cursor=self.next_cursor
        )

    def page_of(self, schema: type[S], convert: Callable[[R], S] | None = None) -> Page[S]:
        """The page with each row shaped by `convert` (default `schema.model_validate`)."""
        make = convert or schema.model_validate
        return self.page([make(r) for r in self.rows])


def _keyed(
    stmt: Select[Any],
    updated_since: datetime | None,
    *,
    model: Any,
    order_by: Sequence[InstrumentedAttribute[Any]] | None,
    descending: bool,
    pk: InstrumentedAttribute[Any] | None,
) -> tuple[Select[Any], list[Any], bool]:
    """`stmt` with the `updated_since` filter, its sort keys (ending with the primary key,
    so the order is total) and their direction."""
    pk = pk if pk is not None else model.id
    if updated_since is not None:
        return stmt.where(model.updated_at >= updated_since), [model.updated_at, pk], False
    return stmt, [*(order_by or []), pk], descending


def _ordered(stmt: Select[Any], keys: list[Any], descending: bool) -> Select[Any]:
    return stmt.order_by(*(k.desc() if descending else k.asc() for k in keys))


async def paginate(
    session: AsyncSession,
    stmt: Select[Any],
    params: PageParams,
    *,
    model: Any,
    order_by: Sequence[InstrumentedAttribute[Any]] | None = None,
    descending: bool = False,
    pk: InstrumentedAttribute[Any] | None = None,
) -> Slice[Any]:
    """One page of `stmt`.

    `order_by` is made total by appending the primary key (`pk`, default `model.id`).
    """
    stmt, keys, descending = _keyed(
        stmt, params.updated_since, model=model, order_by=order_by, descending=descending, pk=pk
    )
    if params.cursor is not None:
        after = _decode(params.cursor, len(keys))
        for key, value in zip(keys, after, strict=True):
            if not isinstance(value, key.type.python_type):
                raise BadRequest("The cursor does not belong to this list.", code="invalid_cursor")
        if descending:
            stmt = stmt.where(tuple_(*keys) < tuple_(*after))
        else:
            stmt = stmt.where(tuple_(*keys) > tuple_(*after))
    stmt = _ordered(stmt, keys, descending).limit(params.limit + 1)
    if _one_entity(stmt):  # one ORM entity (or column): its objects
        rows = list((await session.execute(stmt)).scalars().all())
    else:  # columns (`team_rows`): plain rows, cheaper to read
        rows = list(await read_rows(session, stmt))
    has_more = len(rows) > params.limit
    rows = rows[: params.limit]
    cursor = None
    if has_more:
        last = rows[-1]
        cursor = _encode([getattr(last, k.key) for k in keys])
    return Slice(rows, has_more, cursor)


def _one_entity(stmt: Select[Any]) -> bool:
    """Whether `stmt` reads one ORM entity (or one column) rather than rows of columns.
    `team_rows` says so itself: inspecting the columns builds the ORM's compile state,
    which costs a hot read more than its own statement."""
    if stmt.get_execution_options().get(ROWS):
        return False
    return len(stmt.column_descriptions) == 1


# Rows read per round trip when a list is read whole: memory stays bounded by one batch.
BATCH_SIZE = 1000


@dataclass(frozen=True)
class Listing(Generic[S]):
    """A list endpoint before it is read: its filtered statement, its order, and how a
    batch of rows becomes the items the API shows (`shape`, the same for any batch).

    `page` reads one keyset page (the JSON list); `every_batch` reads every matching row
    over one server-side cursor (the CSV export): one statement, so one snapshot, and
    never more than `BATCH_SIZE` rows in memory. Services build it (permissions,
    filters, role-dependent shaping); routers only choose how to read it.
    """

    stmt: Select[Any]
    model: Any
    shape: Callable[[list[Any]], Awaitable[list[S]]]
    order_by: Sequence[InstrumentedAttribute[Any]] = ()
    descending: bool = False
    pk: InstrumentedAttribute[Any] | None = None

    async def page(self, session: AsyncSession, params: PageParams) -> Page[S]:
        found = await paginate(
            session,
            self.stmt,
            params,
            model=self.model,
            order_by=self.order_by,
            descending=self.descending,
            pk=self.pk,
        )
        return found.page(await self.shape(found.rows))

    async def every_batch(
        self,
        session: AsyncSession,
        updated_since: datetime | None = None,
        size: int | None = None,
    ) -> AsyncIterator[list[S]]:
        """Every matching row, in the page order, `size` at a time, shaped.

        The caller must be inside the unit of work's transaction (the cursor lives in
        it); shaping may run its own queries between two fetches.
        """
        size = size or BATCH_SIZE
        stmt, keys, descending = _keyed(
            self.stmt,
            updated_since,
            model=self.model,
            order_by=self.order_by,
            descending=self.descending,
            pk=self.pk,
        )
        stmt = _ordered(stmt, keys, descending).execution_options(yield_per=size)
        if _one_entity(stmt):
            result: Any = await session.stream_scalars(stmt)
        else:
            result = await (await session.connection()).stream(stmt)
        try:
            async for rows in result.partitions(size):
                yield await self.shape(list(rows))
        finally:
            await result.close()


def shaped_by(
    schema: type[S], convert: Callable[[Any], S] | None = None
) -> Callable[[list[Any]], Awaitable[list[S]]]:
    """A `Listing.shape` that needs no query: each row through `convert` (default
    `schema.model_validate`)."""
    make = convert or schema.model_validate

    async def shape(rows: list[Any]) -> list[S]:
        return [make(r) for r in rows]

    return shape

"""Keyset (cursor) pagination shared by every list endpoint.

Rows are ordered by a key that ends with the primary key, so the order is total and a
cursor (the key of the last row returned) resumes exactly after it: rows inserted
between two pages are neither repeated nor cause skips. With `updated_since` the key
becomes `(updated_at, id)` so an integration can sync changes incrementally.
"""

import base64
import functools
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar
from weakref import WeakKeyDictionary

from fastapi import Depends, Query
from pydantic import BaseModel
from sqlalchemy import Integer, Select, bindparam, tuple_
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

# How many of a page's rows (in order) to keep, at least one; the page ends there and
# the next starts after it. For lists whose items can weigh far more than others (an
# invoice billing thousands of entries lists their ids): a page stays bounded in bytes.
Keep = Callable[[AsyncSession, list[Any]], Awaitable[int]]


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


@functools.cache
def _page_class(item: Any) -> type[Page[Any]]:
    """`Page[item]`, looked up once (pydantic's own lookup of a parametrized class costs
    more than building a small page)."""
    return Page[item]  # type: ignore[valid-type,no-any-return]


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
        kind = _page_class(type(items[0]) if items else Any)
        return kind.model_construct(  # type: ignore[return-value]
            data=items, has_more=self.has_more, next_cursor=self.next_cursor
        )

    def page_of(self, schema: type[S], convert: Callable[[R], S] | None = None) -> Page[S]:
        """The page with each row shaped by `convert` (default `schema.model_validate`)."""
        make = convert or schema.model_validate
        return self.page([make(r) for r in self.rows])


def _keyed(
    stmt: Select[Any],
    updated_since: bool,
    *,
    model: Any,
    order_by: Sequence[InstrumentedAttribute[Any]] | None,
    descending: bool,
    pk: InstrumentedAttribute[Any] | None,
) -> tuple[Select[Any], list[Any], bool]:
    """`stmt` with the `updated_since` filter (bound as `page_updated_since`), its sort
    keys (ending with the primary key, so the order is total) and their direction."""
    pk = pk if pk is not None else model.id
    if updated_since:
        since = bindparam("page_updated_since", type_=model.updated_at.type)
        return stmt.where(model.updated_at >= since), [model.updated_at, pk], False
    return stmt, [*(order_by or []), pk], descending


def _ordered(stmt: Select[Any], keys: list[Any], descending: bool) -> Select[Any]:
    return stmt.order_by(*(k.desc() if descending else k.asc() for k in keys))


@dataclass(frozen=True, slots=True)
class _Paged:
    """A list statement as one page reads it: filtered, ordered, after the cursor's
    values (`page_after_0`, ...) and limited (`page_limit`), all bound."""

    stmt: Select[Any]
    keys: list[Any]
    entities: bool  # one ORM entity (or column): read as objects


# The paged forms of a list statement, per (options, updated_since?, cursor?); kept as
# long as the statement (statements built once per shape live for the process).
_paged: WeakKeyDictionary[Select[Any], dict[Any, _Paged]] = WeakKeyDictionary()


def _paged_form(
    stmt: Select[Any],
    model: Any,
    order_by: Sequence[InstrumentedAttribute[Any]],
    descending: bool,
    pk: InstrumentedAttribute[Any] | None,
    *,
    updated_since: bool,
    after: bool,
) -> _Paged:
    forms = _paged.get(stmt)
    if forms is None:
        forms = _paged[stmt] = {}
    # Attributes by identity: comparing two with `==` would build SQL, not a bool.
    key = (model, tuple(map(id, order_by)), descending, id(pk), updated_since, after)
    found = forms.get(key)
    if found is not None:
        return found
    paged, keys, descending = _keyed(
        stmt, updated_since, model=model, order_by=order_by, descending=descending, pk=pk
    )
    if after:
        values = [bindparam(f"page_after_{i}", type_=k.type) for i, k in enumerate(keys)]
        beyond = tuple_(*keys) < tuple_(*values) if descending else tuple_(*keys) > tuple_(*values)
        paged = paged.where(beyond)
    paged = _ordered(paged, keys, descending).limit(bindparam("page_limit", type_=Integer))
    found = forms[key] = _Paged(paged, keys, _one_entity(paged))
    return found


async def paginate(
    session: AsyncSession,
    stmt: Select[Any],
    params: PageParams,
    *,
    model: Any,
    order_by: Sequence[InstrumentedAttribute[Any]] | None = None,
    descending: bool = False,
    pk: InstrumentedAttribute[Any] | None = None,
    values: Mapping[str, Any] | None = None,
    keep: Keep | None = None,
) -> Slice[Any]:
    """One page of `stmt` (with `values` for its bound parameters, `app.core.statements`).

    `order_by` is made total by appending the primary key (`pk`, default `model.id`).
    `keep` may end the page early (`Keep`).
    """
    form = _paged_form(
        stmt,
        model,
        order_by or (),
        descending,
        pk,
        updated_since=params.updated_since is not None,
        after=params.cursor is not None,
    )
    bind: dict[str, Any] = {**(values or {}), "page_limit": params.limit + 1}
    if params.updated_since is not None:
        bind["page_updated_since"] = params.updated_since
    if params.cursor is not None:
        after = _decode(params.cursor, len(form.keys))
        for i, (key, value) in enumerate(zip(form.keys, after, strict=True)):
            if not isinstance(value, key.type.python_type):
                raise BadRequest("The cursor does not belong to this list.", code="invalid_cursor")
            bind[f"page_after_{i}"] = value
    if form.entities:  # one ORM entity (or column): its objects
        rows = list((await session.execute(form.stmt, bind)).scalars().all())
    else:  # columns (`team_rows`): plain rows, cheaper to read
        rows = list(await read_rows(session, form.stmt, bind))
    has_more = len(rows) > params.limit
    rows = rows[: params.limit]
    if keep is not None and rows:
        kept = max(1, await keep(session, rows))
        if kept < len(rows):
            rows, has_more = rows[:kept], True
    cursor = None
    if has_more:
        last = rows[-1]
        cursor = _encode([getattr(last, k.key) for k in form.keys])
    return Slice(rows, has_more, cursor)


def _one_entity(stmt: Select[Any]) -> bool:
    """Whether `stmt` reads one ORM entity (or one column) rather than rows of columns.
    `team_rows` says so itself: inspecting the columns builds the ORM's compile state."""
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
    values: Mapping[str, Any] | None = None
    keep: Keep | None = None

    async def page(self, session: AsyncSession, params: PageParams) -> Page[S]:
        found = await paginate(
            session,
            self.stmt,
            params,
            model=self.model,
            order_by=self.order_by,
            descending=self.descending,
            pk=self.pk,
            values=self.values,
            keep=self.keep,
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
            updated_since is not None,
            model=self.model,
            order_by=self.order_by,
            descending=self.descending,
            pk=self.pk,
        )
        stmt = _ordered(stmt, keys, descending).execution_options(yield_per=size)
        bind = {**(self.values or {}), "page_updated_since": updated_since}
        if updated_since is None:
            del bind["page_updated_since"]
        if _one_entity(stmt):
            result: Any = await session.stream_scalars(stmt, bind)
        else:
            result = await (await session.connection()).stream(stmt, bind)
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

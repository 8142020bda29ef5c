"""CSV: the one writer every list (and report) answers `?format=csv` with.

RFC 4180 (Python's `csv` module, CRLF, a header row), `text/csv; charset=utf-8`, streamed
batch by batch. A list declares its columns once, from its JSON item schema
(`CsvColumns.of`), so the CSV carries what the JSON shows the same caller (a field a role
may not read is null in JSON and empty here). Cells:

- money (`amount`, `*_amount`, `amount_*`): decimal major units by the currency's
  exponent (`1234.50`, `1235` JPY, `1.234` KWD), beside the row's currency column;
- durations (`*_seconds`): the raw seconds, then `*_hours` with two decimals;
- lists of ids or codes: joined with `;`; a nested object: one column per field
  (`actor_type`); a free-form mapping: its JSON; dates and instants: ISO 8601;
  booleans: `true`/`false`; null: empty;
- text that starts with `=`, `+`, `-`, `@`, tab or carriage return gets a leading `'`,
  so a spreadsheet shows it instead of running it (numbers we format are left alone: a
  negative amount stays a number).

The response keeps the request's unit of work open until its last byte (the rows are
read from the request's transaction while they are sent; see `CsvResponse`).
"""

import csv
import io
import json
import uuid
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Sequence,
)
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from operator import attrgetter
from types import UnionType
from typing import Annotated, Any, Generic, Literal, TypeVar, Union, get_args, get_origin

from fastapi import Depends, Query, Request
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import ClientDisconnect
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from app.core.db import hand_over_unit_of_work
from app.core.money import div_half_up, exponent
from app.core.pagination import Listing, Page, PageParams

T = TypeVar("T", bound=BaseModel)

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


# ---------------------------------------------------------------- cells


def defuse(text: str) -> str:
    """Text a spreadsheet would run as a formula, prefixed with `'` so it is shown."""
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def major_units(amount: int | None, currency: str | None) -> str:
    """`123450, "EUR"` -> `1234.50`; `1235, "JPY"` -> `1235`; exact, no floats."""
    if amount is None or currency is None:
        return ""
    exp = exponent(currency)
    sign = "-" if amount < 0 else ""
    units, minor = divmod(abs(amount), 10**exp)
    return f"{sign}{units}" if exp == 0 else f"{sign}{units}.{minor:0{exp}d}"


def hours(seconds: int | None) -> str:
    """Seconds as hours with two decimals, half-up: `5400` -> `1.50`."""
    if seconds is None:
        return ""
    hundredths = div_half_up(seconds * 100, 3600)
    sign = "-" if hundredths < 0 else ""
    whole, part = divmod(abs(hundredths), 100)
    return f"{sign}{whole}.{part:02d}"


def text(value: Any) -> str:
    """A plain cell: null empty, booleans `true`/`false`, ISO dates, enum values, lists
    joined with `;`; text defused."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return defuse(str(value.value))
    if isinstance(value, list | tuple | set | frozenset):
        return defuse(";".join(text(v) for v in value))
    if isinstance(value, dict):
        return defuse(json.dumps(value, default=str, separators=(",", ":")))
    return defuse(str(value))


# ---------------------------------------------------------------- columns


@dataclass(frozen=True)
class Column(Generic[T]):
    name: str
    cell: Callable[[T], str]


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The schema of a field holding one nested object (`X` or `X | None`)."""
    for arg in (annotation, *get_args(annotation)):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return None


def _is_model_list(annotation: Any) -> bool:
    for arg in (annotation, *get_args(annotation)):
        if get_origin(arg) is list and any(_model_of(a) for a in get_args(arg)):
            return True
    return False


def _nested(name: str, cell: Callable[[Any], str]) -> Callable[[Any], str]:
    def read(item: Any) -> str:
        inner = getattr(item, name)
        return "" if inner is None else cell(inner)

    return read


def _is_money(name: str) -> bool:
    return name == "amount" or name.endswith("_amount") or name.startswith("amount_")


def _uuid_cell(value: uuid.UUID | None) -> str:
    return "" if value is None else str(value)  # hex digits: nothing to defuse


def _iso_cell(value: date | None) -> str:
    return "" if value is None else value.isoformat()


def _str_cell(value: str | None) -> str:
    return "" if value is None else defuse(value)


# The cell of a field by its type, where it is one plain type (the rest: `text`); a
# million rows make the generic checks worth skipping.
_CELLS: dict[Any, Callable[[Any], str]] = {
    uuid.UUID: _uuid_cell,
    datetime: _iso_cell,
    date: _iso_cell,
    str: _str_cell,
}


def _plain(name: str, annotation: Any) -> Callable[[Any], str]:
    origin = get_origin(annotation)
    if origin is None:
        kinds = [annotation]
    elif origin in (Union, UnionType):  # `X | None`
        kinds = [a for a in get_args(annotation) if a is not type(None)]
    else:  # a list, a literal: the generic cell
        kinds = []
    fmt = _CELLS.get(kinds[0], text) if len(kinds) == 1 else text
    get = attrgetter(name)
    return lambda item: fmt(get(item))


def _money(name: str, currency: str) -> Callable[[Any], str]:
    return lambda item: major_units(getattr(item, name), getattr(item, currency))


def _hours(name: str) -> Callable[[Any], str]:
    return lambda item: hours(getattr(item, name))


@dataclass(frozen=True)
class CsvColumns(Generic[T]):
    """The columns of one list's CSV, in order, each with how it reads an item."""

    columns: tuple[Column[T], ...]

    @classmethod
    def of(
        cls,
        schema: type[T],
        *,
        exclude: Iterable[str] = (),
        currency_of: dict[str, str] | None = None,
    ) -> "CsvColumns[T]":
        """The columns of `schema`'s fields, in its order (`created_at`, `updated_at` last).

        Money fields are read in the currency named by `currency_of[field]` (default the
        item's `currency`). A nested object becomes its own columns (`actor` ->
        `actor_type`, `actor_id`); a free-form mapping one JSON cell. A list of objects
        must be excluded: it has no one cell, and a new one should be a decision, not a
        silent drop.
        """
        currency_of = currency_of or {}
        excluded = set(exclude)
        names = [n for n in schema.model_fields if n not in excluded]
        names.sort(key=lambda n: n in ("created_at", "updated_at"))
        columns: list[Column[T]] = []
        for name in names:
            annotation = schema.model_fields[name].annotation
            if _is_model_list(annotation):
                raise TypeError(f"{schema.__name__}.{name} holds objects: exclude it")
            nested = _model_of(annotation)
            if nested is not None:  # one object: its fields, as `<field>_<its field>`
                for column in CsvColumns.of(nested).columns:
                    columns.append(Column(f"{name}_{column.name}", _nested(name, column.cell)))
                continue
            integer = int in (annotation, *get_args(annotation))
            if integer and _is_money(name):
                currency = currency_of.get(name, "currency")
                if currency not in schema.model_fields:
                    raise TypeError(f"{schema.__name__}.{name}: no currency field {currency}")
                columns.append(Column(name, _money(name, currency)))
            elif integer and (name == "seconds" or name.endswith("_seconds")):
                hours_name = (
                    "hours" if name == "seconds" else name.removesuffix("_seconds") + "_hours"
                )
                columns.append(Column(name, _plain(name, annotation)))
                columns.append(Column(hours_name, _hours(name)))
            else:
                columns.append(Column(name, _plain(name, annotation)))
        return cls(tuple(columns))

    @property
    def header(self) -> list[str]:
        return [c.name for c in self.columns]

    def row(self, item: T) -> list[str]:
        return [c.cell(item) for c in self.columns]


# ---------------------------------------------------------------- the writer


async def csv_chunks(
    columns: CsvColumns[T], batches: AsyncIterator[Sequence[T]]
) -> AsyncGenerator[bytes]:
    """The header row, then one chunk of UTF-8 bytes per batch of items."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")  # RFC 4180: CRLF, minimal quoting

    def take() -> bytes:
        data = buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
        return data

    writer.writerow(columns.header)
    yield take()
    async for batch in batches:
        writer.writerows(columns.row(item) for item in batch)
        yield take()


def csv_filename(name: str, start: date | datetime | None = None, end: Any = None) -> str:
    """`time-entries-2026-11-01_2026-11-30.csv`; without a period just `time-entries.csv`."""

    def day(value: Any) -> str:
        return value.date().isoformat() if isinstance(value, datetime) else value.isoformat()

    if start is None and end is None:
        return f"{name}.csv"
    first = day(start) if start is not None else "start"
    last = day(end) if end is not None else "now"
    return f"{name}-{first}_{last}.csv"


class CsvResponse(StreamingResponse):
    """A streamed CSV read from the request's own transaction.

    The request's unit of work (`app.core.deps.get_session`) normally ends when the
    endpoint returns; this response takes it over and ends it after the last byte, so
    every batch is read in that one transaction: committed after a full stream (it only
    read), rolled back if sending failed. An error after the first byte cannot become a
    problem response any more: the connection is cut, so a client never mistakes a
    truncated file for a whole one (the chunked body has no final chunk).
    """

    def __init__(
        self,
        session: AsyncSession,
        columns: CsvColumns[T],
        batches: AsyncIterator[Sequence[T]],
        filename: str,
    ) -> None:
        self._chunks = self._whole_file(csv_chunks(columns, batches))
        self._sent_all = False
        super().__init__(
            self._chunks,
            media_type=CSV_MEDIA_TYPE,
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )
        self._work: AsyncExitStack | None = None
        hand_over_unit_of_work(session, self._take_over)

    def _take_over(self, work: AsyncExitStack) -> None:
        self._work = work

    async def _whole_file(self, chunks: AsyncGenerator[bytes]) -> AsyncGenerator[bytes]:
        try:
            async for chunk in chunks:
                yield chunk
            self._sent_all = True
        finally:
            await chunks.aclose()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        except ClientDisconnect as exc:
            # The client left (an ASGI 2.4 server says so on send): a normal end.
            await self._end(exc)
            return
        except BaseException as exc:
            await self._end(exc)
            raise
        # Under older servers a client that left just stops the stream early.
        await self._end(None if self._sent_all else ClientDisconnect())

    async def _end(self, exc: BaseException | None) -> None:
        """Close the rows' generator (and its cursor), then the unit of work: commit
        after a whole file, roll back otherwise."""
        await self._chunks.aclose()
        if self._work is None:
            return
        if exc is None:
            await self._work.aclose()
        else:
            await self._work.__aexit__(type(exc), exc, exc.__traceback__)


# ---------------------------------------------------------------- negotiation

ListFormatName = Literal["json", "csv"]


@dataclass(frozen=True)
class ListFormat:
    csv: bool


def _accepts_csv(accept: str) -> bool:
    """`Accept` names `text/csv` with a weight above `application/json`'s (wildcards
    do not choose CSV)."""
    weights: dict[str, float] = {}
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        weights[media.lower()] = max(q, weights.get(media.lower(), 0.0))
    csv_q = weights.get("text/csv", 0.0)
    return csv_q > 0 and csv_q > weights.get("application/json", 0.0)


async def list_format(
    request: Request,
    format: Annotated[
        ListFormatName | None,
        Query(
            description="`csv`: every matching row as CSV (no pagination; `limit` and "
            "`cursor` are ignored); the same as `Accept: text/csv`. Default JSON."
        ),
    ] = None,
) -> ListFormat:
    if format is not None:
        return ListFormat(csv=format == "csv")
    return ListFormat(csv=_accepts_csv(request.headers.get("accept", "")))


FormatQuery = Annotated[ListFormat, Depends(list_format)]

# A list route's extra `responses=`: the 200 also comes as CSV.
CSV_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "One page as JSON; with `?format=csv` (or `Accept: text/csv`) every "
        "matching row as CSV, with a header row",
        "content": {"text/csv": {"schema": {"type": "string"}}},
    }
}


async def every_page(
    read: Callable[[str | None], Awaitable[Page[T]]],
) -> AsyncIterator[list[T]]:
    """The items of a cursor-paginated list, page by page, for a list that is not a
    `Listing` (the events list): `read(cursor)` returns the page after `cursor` (None:
    the first), as the list endpoint would. Each page is its own statement: fine for an
    append-only list; a list whose rows change should be a `Listing`."""
    cursor: str | None = None
    while True:
        page = await read(cursor)
        yield page.data
        if not page.has_more or page.next_cursor is None:
            return
        cursor = page.next_cursor


async def list_response(
    session: AsyncSession,
    listing: Listing[T],
    page: PageParams,
    fmt: ListFormat,
    columns: CsvColumns[T],
    filename: str,
) -> Page[T] | CsvResponse:
    """One page of `listing` as JSON, or all of it as CSV, as the caller asked."""
    if not fmt.csv:
        return await listing.page(session, page)
    batches = listing.every_batch(session, updated_since=page.updated_since)
    return CsvResponse(session, columns, batches, filename)

"""The one CSV writer: RFC 4180 quoting, formula injection defused, money in major units
by the currency's exponent, hours beside seconds, the header row, format negotiation."""

import csv
import io
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum

import pytest
from pydantic import BaseModel

from app.core.csv_export import (
    CsvColumns,
    _accepts_csv,
    csv_chunks,
    csv_filename,
    defuse,
    every_page,
    hours,
    major_units,
)
from app.core.pagination import Page


class Kind(StrEnum):
    a = "alpha"


class Line(BaseModel):
    x: int


class Item(BaseModel):
    created_at: datetime
    id: uuid.UUID
    note: str | None
    currency: str
    hourly_rate_amount: int | None
    amount_due: int
    base_currency: str
    base_amount: int
    duration_seconds: int | None
    ids: list[uuid.UUID]
    kind: Kind
    billable: bool
    day: date | None
    exchange_rate: Decimal | None
    count: int


COLUMNS = CsvColumns.of(Item, currency_of={"base_amount": "base_currency"})


def item(**fields) -> Item:
    base = {
        "created_at": datetime(2026, 11, 1, 9, 30, tzinfo=UTC),
        "id": uuid.UUID(int=1),
        "note": "plain",
        "currency": "EUR",
        "hourly_rate_amount": 123450,
        "amount_due": -5,
        "base_currency": "JPY",
        "base_amount": 1235,
        "duration_seconds": 5400,
        "ids": [uuid.UUID(int=2), uuid.UUID(int=3)],
        "kind": Kind.a,
        "billable": True,
        "day": date(2026, 11, 30),
        "exchange_rate": Decimal("1.0850"),
        "count": -3,
    }
    return Item(**{**base, **fields})


async def written(items: list[Item]) -> str:
    async def batches():
        yield items[:1]
        yield items[1:]

    return b"".join([chunk async for chunk in csv_chunks(COLUMNS, batches())]).decode()


def parsed(body: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body, newline="")))


async def test_header_row_names_every_column_in_order_timestamps_last():
    body = await written([])
    assert body == (
        "id,note,currency,hourly_rate_amount,amount_due,base_currency,base_amount,"
        "duration_seconds,duration_hours,ids,kind,billable,day,exchange_rate,count,"
        "created_at\r\n"
    )


async def test_commas_quotes_and_newlines_are_quoted_by_rfc_4180():
    note = 'a, "quoted"\nsecond line\r\nthird'
    body = await written([item(note=note), item(note="simple")])
    assert '"a, ""quoted""\nsecond line\r\nthird"' in body
    rows = parsed(body)
    assert [r["note"] for r in rows] == [note, "simple"]
    assert body.count("\r\n") == 4  # header, two rows, and the one inside the quoted note


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
async def test_a_cell_that_a_spreadsheet_would_run_gets_a_leading_quote(start):
    evil = f'{start}HYPERLINK("http://x")'
    [row] = parsed(await written([item(note=evil)]))
    assert row["note"] == "'" + evil
    assert defuse("fine =1") == "fine =1"
    assert defuse("") == ""


async def test_numbers_we_format_are_not_defused_but_text_inside_lists_is():
    [row] = parsed(await written([item()]))
    assert row["amount_due"] == "-0.05"
    assert row["count"] == "-3"
    assert row["ids"] == f"{uuid.UUID(int=2)};{uuid.UUID(int=3)}"


async def test_money_is_in_major_units_of_each_columns_currency():
    [row] = parsed(await written([item()]))
    assert row["hourly_rate_amount"] == "1234.50"
    assert row["currency"] == "EUR"
    assert row["base_amount"] == "1235"  # JPY has no minor unit
    assert major_units(1234, "KWD") == "1.234"
    assert major_units(5, "KWD") == "0.005"
    assert major_units(-123450, "EUR") == "-1234.50"
    assert major_units(0, "EUR") == "0.00"
    assert major_units(None, "EUR") == ""


async def test_hours_have_two_decimals_beside_the_raw_seconds():
    [row] = parsed(await written([item()]))
    assert (row["duration_seconds"], row["duration_hours"]) == ("5400", "1.50")
    assert hours(1) == "0.00"
    assert hours(18) == "0.01"  # 0.005 h rounds half up
    assert hours(3599) == "1.00"
    assert hours(36_000_000) == "10000.00"
    [running] = parsed(await written([item(duration_seconds=None)]))
    assert (running["duration_seconds"], running["duration_hours"]) == ("", "")


async def test_plain_cells_null_bool_dates_enums_decimals():
    [row] = parsed(await written([item(note=None, day=None, billable=False)]))
    assert row["note"] == "" and row["day"] == "" and row["billable"] == "false"
    [row] = parsed(await written([item()]))
    assert row["kind"] == "alpha"
    assert row["day"] == "2026-11-30"
    assert row["created_at"] == "2026-11-01T09:30:00+00:00"
    assert row["exchange_rate"] == "1.0850"


def test_lists_of_objects_must_be_excluded_and_money_needs_a_currency():
    class WithLines(BaseModel):
        currency: str
        lines: list[Line]

    with pytest.raises(TypeError, match="lines"):
        CsvColumns.of(WithLines)
    assert CsvColumns.of(WithLines, exclude={"lines"}).header == ["currency"]

    class NoCurrency(BaseModel):
        amount: int

    with pytest.raises(TypeError, match="currency"):
        CsvColumns.of(NoCurrency)


async def test_a_nested_object_becomes_columns_and_a_mapping_one_json_cell():
    class Actor(BaseModel):
        type: str
        id: uuid.UUID | None

    class Event(BaseModel):
        id: int
        actor: Actor
        by: Actor | None
        data: dict

    columns = CsvColumns.of(Event)
    assert columns.header == ["id", "actor_type", "actor_id", "by_type", "by_id", "data"]
    event = Event(id=7, actor=Actor(type="user", id=uuid.UUID(int=5)), by=None, data={"a": 1})
    assert columns.row(event) == ["7", "user", str(uuid.UUID(int=5)), "", "", '{"a":1}']
    formula = Event(id=8, actor=Actor(type="=x", id=None), by=None, data={})
    assert columns.row(formula)[1:3] == ["'=x", ""]


async def test_every_page_follows_the_cursor_to_the_last_page():
    pages = {
        None: Page[Item](data=[item(count=1)], has_more=True, next_cursor="a"),
        "a": Page[Item](data=[item(count=2), item(count=3)], has_more=True, next_cursor="b"),
        "b": Page[Item](data=[], has_more=False, next_cursor=None),
    }
    asked: list[str | None] = []

    async def read(cursor: str | None) -> Page[Item]:
        asked.append(cursor)
        return pages[cursor]

    body = b"".join([c async for c in csv_chunks(COLUMNS, every_page(read))]).decode()
    assert [row["count"] for row in parsed(body)] == ["1", "2", "3"]
    assert asked == [None, "a", "b"]


def test_filename_names_the_period():
    assert (
        csv_filename("time-entries", date(2026, 11, 1), date(2026, 11, 30))
        == "time-entries-2026-11-01_2026-11-30.csv"
    )
    assert (
        csv_filename("time-entries", datetime(2026, 11, 1, 5, tzinfo=UTC), None)
        == "time-entries-2026-11-01_now.csv"
    )
    assert csv_filename("clients") == "clients.csv"


def test_accept_chooses_csv_only_when_it_outweighs_json():
    assert _accepts_csv("text/csv")
    assert _accepts_csv("text/csv, application/json;q=0.5")
    assert _accepts_csv("TEXT/CSV; charset=utf-8")
    assert not _accepts_csv("application/json, text/csv")
    assert not _accepts_csv("*/*")
    assert not _accepts_csv("text/*")
    assert not _accepts_csv("text/csv;q=0")
    assert not _accepts_csv("text/csv;q=abc")
    assert not _accepts_csv("")

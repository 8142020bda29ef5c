"""Statements built once per shape (`app.core.statements`): what may be kept, the bound
search text, and parts read together."""

import uuid
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import Date, Integer, Numeric, column, select, values

from app.clients.models import Client
from app.core.db import unit_of_work
from app.core.rows import read_rows
from app.core.statements import Bound, check_shaped, contains, like_pattern, shaped, together
from app.invoices.models import Invoice, InvoiceStatus
from app.time_tracking.models import TimeEntry


def test_a_statement_holding_a_request_value_is_never_kept():
    kept = select(TimeEntry.id).where(TimeEntry.user_id == Bound.user_id)
    assert check_shaped(kept) is kept
    for value in (uuid.uuid4(), date(2026, 3, 1), "Acme"):
        with pytest.raises(AssertionError, match="captured"):
            check_shaped(select(Client.id).where(Client.name == value))


def test_a_shape_is_built_once_and_checked():
    built: list[bool] = []

    @shaped
    def statement(search: bool):  # type: ignore[no-untyped-def]
        built.append(search)
        stmt = select(Client.id)
        return stmt.where(contains(Client.name, "q")) if search else stmt

    assert statement(True) is statement(True)
    assert statement(False) is not statement(True)
    assert built == [True, False]

    @shaped
    def leaky(name: str):  # type: ignore[no-untyped-def]
        return select(Client.id).where(Client.name == name)

    with pytest.raises(AssertionError, match="captured"):
        leaky("Acme")


def test_search_text_matches_its_wildcards_literally():
    assert like_pattern("50%_off/a") == "%50/%/_off//a%"
    assert like_pattern("") == "%%"
    sql = str(select(Client.id).where(contains(Client.name, "q")).compile())
    assert "lower(client.name) LIKE lower(:q) ESCAPE '/'" in sql


async def test_parts_read_together_come_back_apart_with_their_types(app):
    """`together`: one round trip, each part's rows with its own names and types (an enum,
    a date, a numeric) as they would come alone; the NULLs of the other parts do not leak."""
    numbers = values(column("n", Integer), column("amount", Numeric), name="numbers").data(
        [(1, Decimal("2.50")), (2, Decimal("0.125"))]
    )
    invoices = values(
        column("status", Invoice.status.type), column("day", Date), name="invoices"
    ).data([(InvoiceStatus.open, date(2026, 3, 1))])
    kept = together(select(numbers.c.n, numbers.c.amount), select(invoices))
    async with unit_of_work(app.state.db, app.state.redis) as session:
        rows = await read_rows(session, kept.statement)
    first, second = kept.split(rows)
    assert sorted(first) == [(1, Decimal("2.50")), (2, Decimal("0.125"))]
    assert [(r.status, r.day) for r in second] == [(InvoiceStatus.open, date(2026, 3, 1))]
    assert type(second[0].status) is InvoiceStatus and first[0]._fields == ("n", "amount")

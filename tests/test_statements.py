"""Statements built once per shape (`app.core.statements`): what may be kept, and the
bound search text."""

import uuid
from datetime import date

import pytest
from sqlalchemy import select

from app.clients.models import Client
from app.core.statements import Bound, check_shaped, contains, like_pattern, shaped
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

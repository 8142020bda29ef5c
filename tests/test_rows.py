"""`read_rows`: column selects executed on the asyncpg driver give what SQLAlchemy's own
execution gives (values and their Python types), inside the same transaction, and fail
the same way."""

import uuid
from decimal import Decimal

import pytest
from sqlalchemy import Numeric, bindparam, cast, func, literal, literal_column, select, text
from sqlalchemy.exc import DBAPIError

from app.clients.models import Client, ClientStatus, PaymentMethod
from app.core.db import unit_of_work
from app.core.rows import read_rows
from app.core.tenancy import enter_team, team_rows
from app.events.models import Event
from tests.factories.accounts import make_actor
from tests.factories.clients import new_client


async def _sqlalchemy_rows(session, stmt, params=None):  # type: ignore[no-untyped-def]
    return (await (await session.connection()).execute(stmt, params)).all()


async def test_rows_equal_sqlalchemys_own_values_and_types(app, client):
    owner = await make_actor(app)
    await new_client(client, owner, "Ünïcode", payment_methods=["stripe", "bank"])
    await new_client(client, owner, "Plain")
    statements = [
        team_rows(Client, owner.team_id).order_by(Client.name),
        select(Event.data, Event.type).order_by(Event.id),  # JSONB
        select(cast(literal("1.2500000000"), Numeric(20, 10)).label("rate"), func.now()),
        select(Client.status, Client.payment_methods, literal_column("'x'").label("x")),
    ]
    async with unit_of_work(app.state.db, app.state.redis, team_id=owner.team_id) as session:
        for stmt in statements:
            ours = await read_rows(session, stmt)
            theirs = await _sqlalchemy_rows(session, stmt)
            assert [tuple(r) for r in ours] == [tuple(r) for r in theirs]
            for mine, its in zip(ours, theirs, strict=True):
                assert [type(v) for v in mine] == [type(v) for v in its]
                assert mine._asdict() == its._asdict()
    rows = await _read(app, owner.team_id, team_rows(Client, owner.team_id).order_by(Client.name))
    assert rows[0].name == "Plain" and rows[0].status is ClientStatus.active
    assert rows[1].payment_methods == [PaymentMethod.stripe, PaymentMethod.bank]
    assert isinstance(
        (await _read(app, owner.team_id, select(Event.data)))[0].data, dict
    )  # JSON decoded
    numeric = select(cast(literal("1.25"), Numeric(20, 10)).label("rate"))
    assert (await _read(app, owner.team_id, numeric))[0].rate == Decimal("1.25")


async def _read(app, team_id, stmt, params=None):  # type: ignore[no-untyped-def]
    async with unit_of_work(app.state.db, app.state.redis, team_id=team_id) as session:
        return await read_rows(session, stmt, params)


async def test_values_built_into_a_statement_are_its_own_each_time(app, client):
    """One compiled plan per statement shape; the values come from each statement."""
    owner = await make_actor(app)
    a = await new_client(client, owner, "A")
    b = await new_client(client, owner, "B")
    for wanted in (a, b, a):
        stmt = select(Client.name).where(Client.id == uuid.UUID(wanted["id"]))
        assert [r.name for r in await _read(app, owner.team_id, stmt)] == [wanted["name"]]
    by_param = select(Client.name).where(Client.name == bindparam("n"))
    assert [r.name for r in await _read(app, owner.team_id, by_param, {"n": "B"})] == ["B"]
    # An expanding IN list (a statement the driver path leaves to SQLAlchemy) reads the same.
    both = select(Client.name).where(Client.name.in_(["A", "B"])).order_by(Client.name)
    assert [r.name for r in await _read(app, owner.team_id, both)] == ["A", "B"]


async def test_a_first_read_runs_inside_the_transaction(app):
    """The driver path begins the transaction as SQLAlchemy would: a setting made local by
    the first statement is seen by the next one, and a new transaction after a commit
    does not reuse the old one."""
    async with unit_of_work(app.state.db, app.state.redis) as session:
        first = await read_rows(
            session, select(func.set_config("hourline.probe", "here", True), func.txid_current())
        )
        assert await session.scalar(text("SELECT current_setting('hourline.probe', true)")) == (
            "here"
        )
        assert await session.scalar(text("SELECT txid_current()")) == first[0][1]
        await session.commit()
        after = await read_rows(session, select(func.txid_current().label("txid")))
        assert after[0].txid != first[0][1]
        assert await session.scalar(text("SELECT current_setting('hourline.probe', true)")) in (
            "",
            None,
        )


async def test_a_failing_read_raises_sqlalchemys_error_and_rolls_back(app, client):
    owner = await make_actor(app)
    with pytest.raises(DBAPIError) as raised:
        async with unit_of_work(app.state.db, app.state.redis, team_id=owner.team_id) as session:
            await session.execute(text("CREATE TEMP TABLE probe (n int) ON COMMIT DROP"))
            await read_rows(session, select(literal(1) / literal(0)))
    assert "division by zero" in str(raised.value)
    # The pool's connection is usable again, and the team's clients are still readable.
    await new_client(client, owner, "After")
    async with unit_of_work(app.state.db, app.state.redis) as session:
        await enter_team(session, owner.team_id)
        rows = await read_rows(session, team_rows(Client, owner.team_id))
        assert [r.name for r in rows] == ["After"]

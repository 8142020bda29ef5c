"""FX on payments: a payment in a foreign currency converts at the team's rate in force on
the day it was received (the invoice's fixed rate when there is none), and keeps the
difference to the invoice's rate as its realized FX gain or loss, in base minor units.
Also: what the payment migrations of issue 12 make of rows written before them."""

import asyncio
from decimal import Decimal

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from app.cli import alembic_config
from tests.factories import make_actor
from tests.factories.invoices import add_exchange_rate
from tests.factories.payments import open_invoice, pay
from tests.factories.teams import patch_team
from tests.test_migrations import _drop_database, _scratch_database


async def paid(http, actor, invoice_id: str, amount: int, paid_at: str) -> dict:
    r = await pay(http, actor, invoice_id, amount, paid_at=paid_at)
    assert r.status_code == 201, r.text
    return r.json()


def fx(payment: dict) -> tuple[Decimal, int, int]:
    return (
        Decimal(payment["exchange_rate"]),
        payment["base_amount"],
        payment["fx_difference_amount"],
    )


async def test_a_foreign_payment_converts_at_the_rate_of_the_day_it_was_paid(client, app):
    owner = await make_actor(app)  # base EUR
    await patch_team(client, owner, timezone="America/New_York")
    await add_exchange_rate(client, owner, "USD", "0.9", "2026-01-01")
    invoice = await open_invoice(client, owner, amount=100000, currency="USD")
    assert Decimal(invoice["exchange_rate"]) == Decimal("0.9")
    # The dollar rose after the invoice was issued (rates dated in the past are added
    # after finalizing, so the invoice keeps 0.9).
    await add_exchange_rate(client, owner, "USD", "0.95", "2026-02-01")
    await add_exchange_rate(client, owner, "USD", "0.8725", "2026-03-01")

    # 40.05 USD: at 0.95 = 38.0475 EUR -> 3805 (half-up); at the invoice's 0.9 = 36.045
    # -> 3605: a gain of 2.00 EUR.
    gain = await paid(client, owner, invoice["id"], 4005, "2026-02-10T12:00:00+00:00")
    assert fx(gain) == (Decimal("0.95"), 3805, 200)
    assert gain["base_currency"] == "EUR"

    # 2026-02-01 04:30 UTC is still January 31 in New York: the team's clock decides.
    january = await paid(client, owner, invoice["id"], 4005, "2026-02-01T04:30:00+00:00")
    assert fx(january) == (Decimal("0.9"), 3605, 0)

    # 12.34 USD at 0.8725 = 10.76665 EUR -> 1077; at 0.9 = 11.106 -> 1111: a loss.
    loss = await paid(client, owner, invoice["id"], 1234, "2026-03-15T09:00:00-05:00")
    assert fx(loss) == (Decimal("0.8725"), 1077, -34)

    # Before any rate was in force: the invoice's rate, no difference.
    early = await paid(client, owner, invoice["id"], 1000, "2025-11-30T09:00:00+00:00")
    assert fx(early) == (Decimal("0.9"), 900, 0)

    listed = {
        p["id"]: fx(p)
        for p in (
            await client.get(
                owner.url(f"/invoices/{invoice['id']}/payments"), headers=owner.headers
            )
        ).json()["data"]
    }
    assert listed[gain["id"]] == (Decimal("0.95"), 3805, 200)
    assert listed[loss["id"]] == (Decimal("0.8725"), 1077, -34)


async def test_a_payment_in_the_base_currency_has_no_fx_difference(client, app):
    owner = await make_actor(app)
    await add_exchange_rate(client, owner, "USD", "0.95", "2026-02-01")
    invoice = await open_invoice(client, owner, amount=10000, currency="EUR")
    payment = await paid(client, owner, invoice["id"], 2501, "2026-03-01T00:00:00+00:00")
    assert fx(payment) == (Decimal(1), 2501, 0)


async def _migrated(database_url: str, revision: str, before: list[str], after: str) -> tuple:
    """Upgrade a scratch database to just before `revision`, run the `before` statements,
    upgrade to `revision`, and return the row `after` selects."""
    url, name = await _scratch_database(database_url)
    try:
        config = alembic_config(url)
        previous = ScriptDirectory.from_config(config).get_revision(revision).down_revision
        await asyncio.to_thread(command.upgrade, config, previous)
        engine = create_async_engine(url)
        async with engine.begin() as conn:
            for statement in before:
                await conn.execute(text(statement))
        await asyncio.to_thread(command.upgrade, config, revision)
        async with engine.connect() as conn:
            row = (await conn.execute(text(after))).one()
        await engine.dispose()
        return tuple(row)
    finally:
        await _drop_database(database_url, name)


async def test_the_migration_gives_existing_payments_the_invoices_rate_and_no_difference(
    database_url,
):
    row = await _migrated(
        database_url,
        "3cdecd73d2d8",
        [_PAYMENT_BEFORE],
        "SELECT exchange_rate, base_amount, fx_difference_amount FROM payment",
    )
    assert row == (Decimal("0.9"), 3605, 0)


async def test_the_migration_gives_existing_refunds_their_payments_method(database_url):
    refund = """
        INSERT INTO refund (id, team_id, payment_id, amount)
        SELECT gen_random_uuid(), team_id, id, 100 FROM payment
    """
    row = await _migrated(
        database_url,
        "4f53b839a5bd",
        [_PAYMENT_BEFORE, refund],
        "SELECT method::text, reference FROM refund",
    )
    assert row == ("bank", None)


# A USD invoice fixed at 0.9 to EUR, and a payment of it made before the column existed
# (with a rate out of step with its invoice, which the migration corrects).
_PAYMENT_BEFORE = """
WITH t AS (INSERT INTO team (id, name) VALUES (gen_random_uuid(), 'T') RETURNING id),
c AS (
    INSERT INTO client (id, team_id, name, currency)
    SELECT gen_random_uuid(), t.id, 'C', 'USD' FROM t RETURNING id, team_id
),
i AS (
    INSERT INTO invoice (id, team_id, client_id, currency, pay_token, status, number,
                         total_amount, amount_paid, exchange_rate, base_currency)
    SELECT gen_random_uuid(), c.team_id, c.id, 'USD', 'tok', 'open', 'INV-1',
           10000, 4005, 0.9, 'EUR' FROM c
    RETURNING id, team_id
)
INSERT INTO payment (id, team_id, invoice_id, method, status, amount, currency,
                     exchange_rate, base_currency, base_amount, paid_at)
SELECT gen_random_uuid(), i.team_id, i.id, 'bank', 'succeeded', 4005, 'USD',
       0.85, 'EUR', 3605, now() FROM i
"""

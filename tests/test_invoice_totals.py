"""Invoice totals in EUR, JPY and KWD: per-line tax on the discounted amount, half-up to
each currency's minor unit, and the exchange rate to the team's base currency fixed when
the invoice is issued.

Every expected amount below is computed by hand in the comment next to it, from the rules
in app/invoices/totals.py (half-up everywhere, tax per line on the discounted amount)."""

from datetime import timedelta
from decimal import Decimal

from tests.factories import make_actor
from tests.factories.clients import new_client_project
from tests.factories.invoices import (
    MARCH,
    add_exchange_rate,
    create_invoice,
    finalize,
    get_invoice,
    manual_lines,
    number,
    put_invoice_settings,
    time_lines,
)
from tests.factories.rates import add_rate
from tests.factories.time_tracking import add_entry
from tests.helpers import assert_problem, at, today

# ------------------------------------------------------------------ totals and currencies


async def test_totals_in_eur_discount_and_tax_per_line(client, app):
    owner = await make_actor(app)
    cid, pid = await new_client_project(client, owner, "Euro GmbH", "EUR")
    await put_invoice_settings(client, owner, cid, tax_rate_bps=1900)
    await add_rate(client, owner, 9000)
    entry = await add_entry(client, owner, pid, at(2, 9), 6000)

    inv = await create_invoice(
        client,
        owner,
        cid,
        **MARCH,
        discount_bps=1250,
        lines=[
            {"description": "Licence", "quantity": "3", "unit_amount": 3333, "tax_rate_bps": 700},
            {"description": "Travel", "quantity": "0.5", "unit_amount": 1001, "tax_rate_bps": 0},
            {"description": "Workshop", "quantity": "1.25", "unit_amount": 19999},
            {"description": "Hosting", "quantity": "2", "unit_amount": 501},
        ],
    )

    [time_line] = time_lines(inv)
    # 6000 s * 9000 / 3600 = 15000; tax 15000 * 8750 * 1900 / 10^8 = 2493.75 -> 2494
    assert time_line["time_entry_ids"] == [entry["id"]]
    assert (time_line["amount"], time_line["tax_rate_bps"], time_line["tax_amount"]) == (
        15000,
        1900,
        2494,
    )
    by_name = {line["description"]: line for line in manual_lines(inv)}
    # 3 * 3333 = 9999; 9999 * 8750 * 700 / 10^8 = 612.43875 -> 612
    assert [by_name["Licence"][k] for k in ("amount", "tax_rate_bps", "tax_amount")] == [
        9999,
        700,
        612,
    ]
    # 0.5 * 1001 = 500.5 -> 501 (half-up; half-even would say 500); no tax
    assert [by_name["Travel"][k] for k in ("amount", "tax_rate_bps", "tax_amount")] == [501, 0, 0]
    # 1.25 * 19999 = 24998.75 -> 24999; default 19 %: 24999 * 0.16625 = 4156.08375 -> 4156
    assert [by_name["Workshop"][k] for k in ("amount", "tax_rate_bps", "tax_amount")] == [
        24999,
        1900,
        4156,
    ]
    # 2 * 501 = 1002; 1002 * 0.16625 = 166.5825 -> 167
    assert [by_name["Hosting"][k] for k in ("amount", "tax_rate_bps", "tax_amount")] == [
        1002,
        1900,
        167,
    ]
    # subtotal 15000 + 9999 + 501 + 24999 + 1002 = 51501
    # discount 51501 * 1250 / 10000 = 6437.625 -> 6438
    # tax 2494 + 612 + 0 + 4156 + 167 = 7429 (per line; taxing the 19 % lines together
    # would give 7428)
    # total 51501 - 6438 + 7429 = 52492
    assert inv["subtotal_amount"] == 51501
    assert inv["discount_bps"] == 1250
    assert inv["discount_amount"] == 6438
    assert inv["tax_amount"] == 7429
    assert inv["total_amount"] == 52492
    assert (inv["amount_paid"], inv["amount_due"]) == (0, 52492)

    # Same currency as the team's base: the exchange rate is 1.
    issued = await finalize(client, owner, inv["id"])
    assert Decimal(str(issued["exchange_rate"])) == 1
    assert issued["base_currency"] == "EUR"
    assert issued["total_amount"] == 52492


async def test_totals_in_jpy_have_no_decimals(client, app):
    owner = await make_actor(app)
    cid, pid = await new_client_project(client, owner, "Nippon KK", "JPY")
    await put_invoice_settings(client, owner, cid, tax_rate_bps=1000)
    await add_rate(client, owner, 12345, "JPY")  # 12,345 JPY per hour
    await add_entry(client, owner, pid, at(2, 9), 1800)

    inv = await create_invoice(
        client,
        owner,
        cid,
        **MARCH,
        discount_bps=333,
        lines=[{"description": "Materials", "quantity": "3", "unit_amount": 1234}],
    )

    assert inv["currency"] == "JPY"
    [time_line] = time_lines(inv)
    [materials] = manual_lines(inv)
    # 1800 * 12345 / 3600 = 6172.5 -> 6173 (whole yen); tax 6173 * 9667 * 1000 / 10^8
    # = 596.74391 -> 597
    assert (time_line["unit_amount"], time_line["amount"], time_line["tax_amount"]) == (
        12345,
        6173,
        597,
    )
    # 3 * 1234 = 3702; tax 3702 * 9667 * 1000 / 10^8 = 357.87234 -> 358
    assert (materials["amount"], materials["tax_rate_bps"], materials["tax_amount"]) == (
        3702,
        1000,
        358,
    )
    # subtotal 9875; discount 9875 * 333 / 10000 = 328.8375 -> 329; tax 955;
    # total 9875 - 329 + 955 = 10501
    assert (inv["subtotal_amount"], inv["discount_amount"], inv["tax_amount"]) == (9875, 329, 955)
    assert (inv["total_amount"], inv["amount_due"]) == (10501, 10501)

    r = await client.post(owner.url(f"/invoices/{inv['id']}/finalize"), headers=owner.headers)
    assert_problem(r, 422, "exchange_rate_missing")
    await add_exchange_rate(client, owner, "JPY", "0.0061")
    issued = await finalize(client, owner, inv["id"])
    assert Decimal(str(issued["exchange_rate"])) == Decimal("0.0061")
    assert issued["total_amount"] == 10501


async def test_totals_in_kwd_have_three_decimals_and_the_exchange_rate_is_fixed(client, app):
    owner = await make_actor(app)
    cid, pid = await new_client_project(client, owner, "Kuwait Trading", "KWD")
    await put_invoice_settings(client, owner, cid, tax_rate_bps=500, rounding_seconds=300)
    await add_rate(client, owner, 25000, "KWD")  # 25.000 KWD per hour
    await add_entry(client, owner, pid, at(2, 9), 2220)

    inv = await create_invoice(
        client,
        owner,
        cid,
        **MARCH,
        lines=[{"description": "Hardware", "quantity": "2.5", "unit_amount": 1999}],
    )

    [time_line] = time_lines(inv)
    [hardware] = manual_lines(inv)
    # 2220 s rounded up to 300 s steps = 2400; 2400 * 25000 / 3600 = 16666.67 -> 16667 fils;
    # tax 5 %: 833.35 -> 833
    assert (time_line["quantity_seconds"], time_line["amount"], time_line["tax_amount"]) == (
        2400,
        16667,
        833,
    )
    # 2.5 * 1999 = 4997.5 -> 4998; tax 249.9 -> 250
    assert (hardware["amount"], hardware["tax_amount"]) == (4998, 250)
    # subtotal 21665, no discount, tax 1083, total 22748 (22.748 KWD)
    assert (inv["subtotal_amount"], inv["discount_amount"], inv["tax_amount"]) == (21665, 0, 1083)
    assert (inv["total_amount"], inv["amount_due"]) == (22748, 22748)

    # No KWD -> EUR rate: the draft cannot be issued, and stays a draft without a number.
    r = await client.post(owner.url(f"/invoices/{inv['id']}/finalize"), headers=owner.headers)
    assert_problem(r, 422, "exchange_rate_missing")
    draft = await get_invoice(client, owner, inv["id"])
    assert (draft["status"], draft["number"], draft["exchange_rate"]) == ("draft", None, None)

    await add_exchange_rate(client, owner, "KWD", "3.25", "2026-01-01")
    future = (today() + timedelta(days=30)).isoformat()
    await add_exchange_rate(client, owner, "KWD", "9.99", future)  # not yet in effect
    issued = await finalize(client, owner, inv["id"])
    assert Decimal(str(issued["exchange_rate"])) == Decimal("3.25")
    assert issued["base_currency"] == "EUR"
    # The failed finalization took no number.
    assert issued["number"] == number(1)

    # A newer rate does not change what the issued invoice says.
    await add_exchange_rate(client, owner, "KWD", "4.00", today().isoformat())
    again = await get_invoice(client, owner, inv["id"])
    assert Decimal(str(again["exchange_rate"])) == Decimal("3.25")


async def test_exchange_rates_for_the_base_currency_are_refused(client, app):
    owner = await make_actor(app)
    r = await client.post(
        owner.url("/exchange-rates"),
        json={"currency": "EUR", "rate": "1.1", "effective_from": "2026-01-01"},
        headers=owner.headers,
    )
    assert_problem(r, 422)

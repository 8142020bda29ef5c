"""Refunds of crypto payments (the gateway's `refunded` callbacks) and refunds made outside
any provider, recorded by a manager with their method and reference; a fully refunded
invoice may then be voided."""

import asyncio
import json

from app.core.permissions import Role
from tests.factories import Actor, make_actor
from tests.factories.invoices import get_invoice
from tests.factories.payments import invoice_payments, open_invoice, pay, refund
from tests.fakes import (  # noqa: F401  (fixtures)
    crypto_callback,
    crypto_gateway_fixture,
    crypto_server_fixture,
)
from tests.helpers import assert_problem
from tests.test_crypto import accepted, callback, order_for


async def crypto_paid(http, owner: Actor, gateway, run_jobs, amount: int = 10000):
    """An invoice of `amount` EUR paid in full by one crypto callback: (invoice, order, txid)."""
    invoice = await open_invoice(http, owner, amount=amount)
    order = await order_for(http, owner, invoice, gateway)
    txid = "0xpaid" + invoice["id"].replace("-", "")
    major = f"{amount // 100}.{amount % 100:02d}"
    await accepted(http, crypto_callback(order, "paid", major, "EUR", txid=txid))
    await run_jobs(max_tries=6)
    assert (await get_invoice(http, owner, invoice["id"]))["status"] == "paid"
    return invoice, order, txid


async def state(http, owner: Actor, invoice_id: str) -> tuple[str, int, int]:
    """(invoice status, amount paid, what its one payment has had refunded)."""
    invoice = await get_invoice(http, owner, invoice_id)
    [payment] = await invoice_payments(http, owner, invoice_id)
    return invoice["status"], invoice["amount_paid"], payment["refunded_amount"]


async def void(http, owner: Actor, invoice_id: str):
    return await http.post(owner.url(f"/invoices/{invoice_id}/void"), headers=owner.headers)


# ------------------------------------------------------------------ the gateway's refunds


async def test_gateway_refunds_are_recorded_once_and_a_refunded_invoice_may_be_voided(
    client, app, run_jobs, crypto_gateway
):
    owner = await make_actor(app)
    invoice, order, txid = await crypto_paid(client, owner, crypto_gateway, run_jobs)
    first = crypto_callback(order, "refunded", "30.00", "EUR", txid=txid, refund_id="rf-1")
    # signed like every callback
    assert_problem(await callback(client, first, signature=None), 400, "missing_signature")
    await accepted(client, first)
    await run_jobs(max_tries=6)
    assert await state(client, owner, invoice["id"]) == ("open", 7000, 3000)
    assert_problem(await void(client, owner, invoice["id"]), 409, "invoice_paid")

    # the same refund reported again by a later callback: nothing changes
    again = crypto_callback(order, "refunded", "30.00", "EUR", txid=txid, refund_id="rf-1")
    await accepted(client, again)
    await run_jobs(max_tries=6)
    assert await state(client, owner, invoice["id"]) == ("open", 7000, 3000)

    rest = crypto_callback(order, "refunded", "70.00", "EUR", txid=txid, refund_id="rf-2")
    await accepted(client, rest)
    await run_jobs(max_tries=6)
    assert await state(client, owner, invoice["id"]) == ("open", 0, 10000)

    r = await void(client, owner, invoice["id"])
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "void"


async def test_a_gateway_refund_before_its_payment_waits_for_it(
    client, app, run_jobs, crypto_gateway
):
    owner = await make_actor(app)
    invoice = await open_invoice(client, owner, amount=10000)
    order = await order_for(client, owner, invoice, crypto_gateway)
    await accepted(
        client, crypto_callback(order, "refunded", "25.00", "EUR", txid="0xearly", refund_id="r")
    )
    await accepted(client, crypto_callback(order, "paid", "100.00", "EUR", txid="0xearly"))
    await run_jobs(max_tries=6)
    assert await state(client, owner, invoice["id"]) == ("open", 7500, 2500)


async def test_a_gateway_refund_the_payment_cannot_cover_changes_nothing(
    client, app, run_jobs, crypto_gateway
):
    owner = await make_actor(app)
    invoice, order, txid = await crypto_paid(client, owner, crypto_gateway, run_jobs)
    for body in (
        crypto_callback(order, "refunded", "100.01", "EUR", txid=txid, refund_id="too-much"),
        crypto_callback(order, "refunded", "10.00", "USD", txid=txid, refund_id="other-money"),
        json.dumps(
            {
                "event_id": "no-txid",
                "order_id": order,
                "status": "refunded",
                "amount": "1.00",
                "currency": "EUR",
            }
        ).encode(),
    ):
        await accepted(client, body)
    await run_jobs(max_tries=6)
    assert await state(client, owner, invoice["id"]) == ("paid", 10000, 0)


async def test_a_gateway_refund_of_money_never_applied_leaves_the_invoice_alone(
    client, app, run_jobs, crypto_gateway
):
    owner = await make_actor(app)
    invoice = await open_invoice(client, owner, amount=10000)
    order = await order_for(client, owner, invoice, crypto_gateway)
    await pay(client, owner, invoice["id"], 10000)  # paid by bank meanwhile
    await accepted(client, crypto_callback(order, "paid", "100.00", "EUR", txid="0xlate"))
    await run_jobs(max_tries=6)
    await accepted(
        client, crypto_callback(order, "refunded", "100.00", "EUR", txid="0xlate", refund_id="x")
    )
    await run_jobs(max_tries=6)
    payments = {p["method"]: p for p in await invoice_payments(client, owner, invoice["id"])}
    assert payments["crypto"]["status"] == "failed"
    assert payments["crypto"]["failure_reason"].startswith("received but not applied")
    assert payments["crypto"]["refunded_amount"] == 10000
    assert payments["bank"]["refunded_amount"] == 0
    after = await get_invoice(client, owner, invoice["id"])
    assert (after["status"], after["amount_paid"]) == ("paid", 10000)


# ------------------------------------------------------------------ refunds made outside


async def test_a_manager_records_an_outside_refund_of_a_crypto_payment(
    client, app, run_jobs, crypto_gateway
):
    owner = await make_actor(app)
    manager = await make_actor(app, team_id=owner.team_id, role=Role.org_manager)
    sales = await make_actor(app, team_id=owner.team_id, role=Role.sales_manager)
    invoice, _, _ = await crypto_paid(client, owner, crypto_gateway, run_jobs)
    [payment] = await invoice_payments(client, owner, invoice["id"])
    assert_problem(await refund(client, sales, payment["id"], 100), 403)

    r = await refund(client, manager, payment["id"], 4000, reason="returned", reference="0xback1")
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["amount"], body["method"], body["reference"]) == (4000, "crypto", "0xback1")
    assert (body["provider"], body["provider_refund_id"]) == (None, None)
    assert body["created_by_id"] == str(manager.user_id)
    assert await state(client, owner, invoice["id"]) == ("open", 6000, 4000)

    r = await refund(client, manager, payment["id"], 6000, method="bank", reference="SEPA 77")
    assert r.status_code == 201, r.text
    assert (r.json()["method"], r.json()["reference"]) == ("bank", "SEPA 77")
    assert await state(client, owner, invoice["id"]) == ("open", 0, 10000)
    assert_problem(await refund(client, manager, payment["id"], 1), 422, "refund_exceeds_payment")
    assert (await void(client, manager, invoice["id"])).status_code == 200


async def test_an_outside_refund_of_a_manual_payment_keeps_its_method_and_reference(client, app):
    owner = await make_actor(app)
    invoice = await open_invoice(client, owner, amount=10000)
    payment = (await pay(client, owner, invoice["id"], 10000, "bank")).json()
    r = await refund(client, owner, payment["id"], 1000)
    assert r.status_code == 201, r.text
    assert (r.json()["method"], r.json()["reference"]) == ("bank", None)  # as it came
    r = await refund(client, owner, payment["id"], 9000, method="cash", reference="till 3")
    assert r.status_code == 201, r.text
    assert (r.json()["method"], r.json()["reference"]) == ("cash", "till 3")
    assert_problem(await refund(client, owner, payment["id"], 1, method="stripe"), 422)
    assert (await void(client, owner, invoice["id"])).status_code == 200


async def test_racing_refunds_never_give_back_more_than_was_paid(
    client, app, run_jobs, crypto_gateway
):
    owner = await make_actor(app)
    invoice, order, txid = await crypto_paid(client, owner, crypto_gateway, run_jobs)
    [payment] = await invoice_payments(client, owner, invoice["id"])
    results = await asyncio.gather(
        *(refund(client, owner, payment["id"], 6000, method="crypto") for _ in range(2))
    )
    assert sorted(r.status_code for r in results) == [201, 422], [r.text for r in results]
    # and the gateway's refund of the rest competes with a manager's
    gateway = crypto_callback(order, "refunded", "40.00", "EUR", txid=txid, refund_id="g-1")
    await accepted(client, gateway)
    outside, _ = await asyncio.gather(
        refund(client, owner, payment["id"], 4000, method="bank"), run_jobs(max_tries=6)
    )
    assert outside.status_code in (201, 422), outside.text
    assert await state(client, owner, invoice["id"]) == ("open", 0, 10000)

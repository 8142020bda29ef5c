"""The PassimPay-style crypto gateway: orders against a local fake gateway, and
HMAC-SHA256 signed callbacks (docs/payments.md) applied by the real arq worker."""

import json
import uuid

from app.core.permissions import Role
from tests.factories import Actor, make_actor
from tests.factories.invoices import get_invoice
from tests.factories.payments import (
    checkout,
    invoice_payments,
    open_invoice,
    pay,
    recipients,
)
from tests.fakes import (  # noqa: F401  (fixtures)
    CRYPTO_API_KEY,
    CRYPTO_WEBHOOK_SECRET,
    crypto_callback,
    crypto_gateway_fixture,
    crypto_server_fixture,
    crypto_signature,
)
from tests.helpers import assert_problem

WEBHOOK = "/v1/webhooks/crypto"


async def order_for(http, actor: Actor, invoice: dict, gateway) -> str:
    """Start a crypto checkout; the gateway's order id."""
    r = await checkout(http, actor, invoice["id"], "crypto")
    assert r.status_code == 200, r.text
    return r.json()["url"].rsplit("/", 1)[-1]


async def callback(http, body: bytes, signature: str | None = "sign"):
    headers = {"Content-Type": "application/json"}
    if signature == "sign":
        headers["X-Signature"] = crypto_signature(body)
    elif signature is not None:
        headers["X-Signature"] = signature
    return await http.post(WEBHOOK, content=body, headers=headers)


async def accepted(http, body: bytes) -> dict:
    r = await callback(http, body)
    assert r.status_code == 200, r.text
    assert r.json()["received"] is True
    return r.json()


# ------------------------------------------------------------------ orders


async def test_checkout_creates_an_order_for_the_amount_due(client, app, settings, crypto_gateway):
    owner = await make_actor(app)
    invoice = await open_invoice(client, owner, amount=20000)
    assert (await pay(client, owner, invoice["id"], 7655)).status_code == 201

    r = await checkout(client, owner, invoice["id"], "crypto")
    assert r.status_code == 200, r.text
    body = r.json()
    [order] = crypto_gateway.orders
    assert body["url"].startswith("https://pay.crypto.test/order/ord_")
    assert (body["provider"], body["amount"], body["currency"]) == ("crypto", 12345, "EUR")

    assert order.method == "POST"
    assert order.headers["authorization"] == f"Bearer {CRYPTO_API_KEY}"
    assert order.headers["content-type"].startswith("application/json")
    sent = order.json
    assert sent["amount"] == "123.45"  # major units, a string
    assert sent["currency"] == "EUR"
    uuid.UUID(sent["reference"])  # Hourline's checkout id
    assert invoice["number"] in sent["description"]
    assert sent["callback_url"] == "https://api.hourline.test/v1/webhooks/crypto"
    assert sent["return_url"] == invoice["pay_url"]

    # every checkout is a new order with its own reference
    r = await checkout(client, owner, invoice["id"], "crypto")
    assert r.status_code == 200, r.text
    assert len(crypto_gateway.orders) == 2
    assert crypto_gateway.orders[1].json["reference"] != sent["reference"]
    assert r.json()["url"] != body["url"]


async def test_order_amounts_in_major_units(client, app, crypto_gateway):
    owner = await make_actor(app)
    r = await client.post(
        owner.url("/exchange-rates"),
        json={"currency": "JPY", "rate": "0.0061", "effective_from": "2026-01-01"},
        headers=owner.headers,
    )
    assert r.status_code == 201, r.text
    for amount, currency, expected in ((10000, "EUR", "100.00"), (5, "EUR", "0.05")):
        invoice = await open_invoice(client, owner, amount=amount, currency=currency)
        assert (await checkout(client, owner, invoice["id"], "crypto")).status_code == 200
        assert crypto_gateway.orders[-1].json["amount"] == expected
    invoice = await open_invoice(client, owner, amount=12000, currency="JPY")
    assert (await checkout(client, owner, invoice["id"], "crypto")).status_code == 200
    assert crypto_gateway.orders[-1].json["amount"] == "12000"
    assert crypto_gateway.orders[-1].json["currency"] == "JPY"


async def test_checkout_without_the_gateway_configured_is_503(
    client, app, settings, monkeypatch, crypto_gateway
):
    owner = await make_actor(app)
    invoice = await open_invoice(client, owner)
    monkeypatch.setattr(settings, "crypto_api_key", None)
    assert_problem(
        await checkout(client, owner, invoice["id"], "crypto"), 503, "provider_not_configured"
    )
    monkeypatch.setattr(settings, "crypto_api_key", CRYPTO_API_KEY)
    monkeypatch.setattr(settings, "crypto_api_base", None)
    assert_problem(
        await checkout(client, owner, invoice["id"], "crypto"), 503, "provider_not_configured"
    )
    assert crypto_gateway.requests == []


async def test_checkout_needs_crypto_among_the_clients_methods(client, app, crypto_gateway):
    owner = await make_actor(app)
    invoice = await open_invoice(client, owner, methods=["stripe", "bank"])
    assert_problem(
        await checkout(client, owner, invoice["id"], "crypto"), 422, "payment_method_not_allowed"
    )
    assert crypto_gateway.requests == []


async def test_a_gateway_refusing_the_order_is_reported(
    client, app, settings, monkeypatch, crypto_gateway
):
    owner = await make_actor(app)
    invoice = await open_invoice(client, owner)
    monkeypatch.setattr(settings, "crypto_api_key", "a-wrong-key")  # the fake answers 401
    r = await checkout(client, owner, invoice["id"], "crypto")
    assert r.status_code in (502, 503), r.text
    assert r.json()["code"] == "provider_error"
    [order] = crypto_gateway.orders
    assert order.headers["authorization"] == "Bearer a-wrong-key"


async def test_sales_managers_may_start_a_checkout_members_may_not(client, app, crypto_gateway):
    owner = await make_actor(app)
    sales_manager = await make_actor(app, team_id=owner.team_id, role=Role.sales_manager)
    member = await make_actor(app, team_id=owner.team_id, role=Role.member)
    invoice = await open_invoice(client, owner)
    assert (await checkout(client, sales_manager, invoice["id"], "crypto")).status_code == 200
    assert_problem(await checkout(client, member, invoice["id"], "crypto"), 403)
    assert len(crypto_gateway.orders) == 1


# ------------------------------------------------------------------ callbacks


async def test_callback_signature_is_verified(client, app, run_jobs, crypto_gateway):
    owner = await make_actor(app)
    invoice = await open_invoice(client, owner, amount=10000)
    order = await order_for(client, owner, invoice, crypto_gateway)
    body = crypto_callback(order, "paid", "100.00", "EUR")

    assert_problem(await callback(client, body, signature=None), 400, "missing_signature")
    assert_problem(await callback(client, body, signature=""), 400, "missing_signature")
    wrong = crypto_signature(body, secret="not-the-secret")
    assert_problem(await callback(client, body, signature=wrong), 400, "invalid_signature")
    assert_problem(await callback(client, body, signature="zz"), 400, "invalid_signature")
    # signed, then changed on the way
    tampered = body.replace(b'"100.00"', b'"1.00"')
    assert tampered != body
    r = await callback(client, tampered, signature=crypto_signature(body))
    assert_problem(r, 400, "invalid_signature")

    assert await run_jobs() == 0
    assert await invoice_payments(client, owner, invoice["id"]) == []

    # the signature is hex of HMAC-SHA256 over the raw body
    assert (await accepted(client, body))["duplicate"] is False
    await run_jobs(max_tries=6)
    assert (await get_invoice(client, owner, invoice["id"]))["status"] == "paid"


async def test_callbacks_without_a_configured_secret_are_503(
    client, app, settings, monkeypatch, crypto_gateway
):
    monkeypatch.setattr(settings, "crypto_webhook_secret", None)
    body = crypto_callback("ord_x", "paid", "1.00", "EUR")
    assert_problem(await callback(client, body), 503, "provider_not_configured")


async def test_a_partial_then_a_paid_callback_pay_the_invoice(
    client, app, run_jobs, mailbox, crypto_gateway
):
    owner = await make_actor(app)
    invoice = await open_invoice(client, owner, amount=10000)
    order = await order_for(client, owner, invoice, crypto_gateway)

    first = crypto_callback(order, "partial", "40.00", "EUR", txid="0xaaa1", event_id="cb-1")
    assert (await accepted(client, first))["duplicate"] is False
    await run_jobs(max_tries=6)
    after = await get_invoice(client, owner, invoice["id"])
    assert (after["status"], after["amount_paid"], after["amount_due"]) == ("open", 4000, 6000)
    [partial] = mailbox.messages
    assert "partial" in partial["Subject"].lower()
    mailbox.messages.clear()

    second = crypto_callback(order, "paid", "60.00", "EUR", txid="0xbbb2", event_id="cb-2")
    assert (await accepted(client, second))["duplicate"] is False
    await run_jobs(max_tries=6)
    after = await get_invoice(client, owner, invoice["id"])
    assert (after["status"], after["amount_paid"], after["amount_due"]) == ("paid", 10000, 0)

    payments = await invoice_payments(client, owner, invoice["id"])
    assert sorted((p["provider_payment_id"], p["amount"]) for p in payments) == [
        ("0xaaa1", 4000),
        ("0xbbb2", 6000),
    ]
    assert {(p["method"], p["provider"], p["status"]) for p in payments} == {
        ("crypto", "crypto", "succeeded")
    }
    [message] = mailbox.messages
    assert recipients(message) == {owner.email}
    assert invoice["number"] in message["Subject"]


async def test_the_same_callback_twice_is_one_payment(client, app, run_jobs, crypto_gateway):
    owner = await make_actor(app)
    invoice = await open_invoice(client, owner, amount=10000)
    order = await order_for(client, owner, invoice, crypto_gateway)
    body = crypto_callback(order, "partial", "25.00", "EUR", txid="0xfeed", event_id="cb-9")

    assert (await accepted(client, body))["duplicate"] is False
    assert (await accepted(client, body))["duplicate"] is True
    await run_jobs(max_tries=6)
    # the same transaction reported again under another event id
    again = crypto_callback(order, "partial", "25.00", "EUR", txid="0xfeed", event_id="cb-10")
    assert (await accepted(client, again))["duplicate"] is False
    await run_jobs(max_tries=6)

    [payment] = await invoice_payments(client, owner, invoice["id"])
    assert (payment["amount"], payment["provider_payment_id"]) == (2500, "0xfeed")
    after = await get_invoice(client, owner, invoice["id"])
    assert (after["status"], after["amount_paid"]) == ("open", 2500)


async def test_a_failed_callback_is_recorded_and_the_invoice_stays_open(
    client, app, run_jobs, mailbox, crypto_gateway
):
    owner = await make_actor(app)
    org_manager = await make_actor(app, team_id=owner.team_id, role=Role.org_manager)
    invoice = await open_invoice(client, owner, amount=10000)
    order = await order_for(client, owner, invoice, crypto_gateway)
    body = crypto_callback(order, "failed", "100.00", "EUR", reason="transaction expired")
    await accepted(client, body)
    await run_jobs(max_tries=6)

    [payment] = await invoice_payments(client, owner, invoice["id"])
    assert (payment["status"], payment["method"]) == ("failed", "crypto")
    assert payment["failure_reason"] == "transaction expired"
    after = await get_invoice(client, owner, invoice["id"])
    assert (after["status"], after["amount_paid"]) == ("open", 0)
    [message] = mailbox.messages
    assert recipients(message) == {owner.email, org_manager.email}
    assert "failed" in message["Subject"].lower()


async def test_callbacks_that_cannot_apply_change_nothing(client, app, run_jobs, crypto_gateway):
    owner = await make_actor(app)
    invoice = await open_invoice(client, owner, amount=10000)
    order = await order_for(client, owner, invoice, crypto_gateway)
    # another currency than the invoice's: kept once as money to refund, not applied
    callback_body = crypto_callback(order, "paid", "100.00", "USD")
    await accepted(client, callback_body)
    await run_jobs(max_tries=6)
    [kept] = await invoice_payments(client, owner, invoice["id"])
    assert kept["status"] == "failed"
    assert kept["failure_reason"].startswith("received but not applied (currency_mismatch")
    assert (await get_invoice(client, owner, invoice["id"]))["amount_paid"] == 0

    # a malformed but signed callback
    body = json.dumps({"event_id": "cb-x", "status": "paid"}).encode()
    assert_problem(await callback(client, body), 400, "invalid_payload")
    body = b"not json"
    assert_problem(await callback(client, body), 400)

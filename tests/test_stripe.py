"""Stripe: Checkout against a local fake of the Stripe API, and webhooks signed with
stripe-python's own scheme, applied by the real arq worker."""

import asyncio
import time
import uuid

from app.core.permissions import Role
from tests.factories import make_actor
from tests.factories.invoices import get_invoice
from tests.factories.payments import (
    checkout,
    invoice_payments,
    open_invoice,
    pay,
    payable_client,
    recipients,
    refund,
)
from tests.fakes import (  # noqa: F401  (fixtures)
    STRIPE_WEBHOOK_SECRET,
    charge_refunded,
    checkout_completed,
    payment_intent_event,
    stripe_api_fixture,
    stripe_server_fixture,
    stripe_signature,
)
from tests.helpers import assert_problem

WEBHOOK = "/v1/webhooks/stripe"


async def deliver(http, body: str, *, secret: str = STRIPE_WEBHOOK_SECRET, timestamp=None):
    """POST an event the way Stripe does: the exact body, signed."""
    return await http.post(
        WEBHOOK,
        content=body.encode(),
        headers={
            "Content-Type": "application/json",
            "Stripe-Signature": stripe_signature(body, secret, timestamp),
        },
    )


async def delivered(http, body: str) -> dict:
    r = await deliver(http, body)
    assert r.status_code == 200, r.text
    assert r.json()["received"] is True
    return r.json()


def pi() -> str:
    return f"pi_{uuid.uuid4().hex[:24]}"


# ------------------------------------------------------------------ checkout


async def test_checkout_creates_the_customer_once_and_a_session_for_the_amount_due(
    client, app, settings, stripe_api
):
    owner = await make_actor(app)
    client_id = await payable_client(client, owner, name="Acme GmbH", email="billing@acme-gmbh.com")
    invoice = await open_invoice(client, owner, amount=12345, client_id=client_id)
    assert (await pay(client, owner, invoice["id"], 2345)).status_code == 201

    r = await checkout(client, owner, invoice["id"])
    assert r.status_code == 200, r.text
    body = r.json()
    [customer] = stripe_api.customers
    [session] = stripe_api.sessions
    assert body["url"].startswith(f"{stripe_api.base_url}/c/pay/cs_test_")
    assert (body["provider"], body["amount"], body["currency"]) == ("stripe", 10000, "EUR")

    assert customer.headers["authorization"] == "Bearer sk_test_x"
    assert customer.form["name"] == "Acme GmbH"
    assert customer.form["email"] == "billing@acme-gmbh.com"
    assert customer.form["metadata[client_id]"] == client_id
    assert customer.form["metadata[team_id]"] == str(owner.team_id)

    f = session.form
    assert session.headers["authorization"] == "Bearer sk_test_x"
    assert f["mode"] == "payment"
    assert f["customer"].startswith("cus_test")
    assert f["line_items[0][quantity]"] == "1"
    assert f["line_items[0][price_data][unit_amount]"] == "10000"  # what is still due
    assert f["line_items[0][price_data][currency]"] == "eur"  # Stripe wants lower case
    assert invoice["number"] in f["line_items[0][price_data][product_data][name]"]
    assert f["metadata[invoice_id]"] == invoice["id"]
    assert f["payment_intent_data[metadata][invoice_id]"] == invoice["id"]
    assert f["success_url"].startswith(invoice["pay_url"])
    assert f["cancel_url"] == invoice["pay_url"]
    assert body["url"] == f"{stripe_api.base_url}/c/pay/{_session_id(body['url'])}"

    # A second checkout reuses the client's Stripe customer.
    r = await checkout(client, owner, invoice["id"])
    assert r.status_code == 200, r.text
    assert len(stripe_api.customers) == 1
    assert len(stripe_api.sessions) == 2
    assert stripe_api.sessions[1].form["customer"] == f["customer"]
    assert r.json()["url"] != body["url"]

    # ... and so does another invoice of the same client.
    other = await open_invoice(client, owner, amount=500, client_id=client_id)
    assert (await checkout(client, owner, other["id"])).status_code == 200
    assert len(stripe_api.customers) == 1
    assert stripe_api.sessions[2].form["customer"] == f["customer"]
    assert stripe_api.sessions[2].form["line_items[0][price_data][unit_amount]"] == "500"


def _session_id(url: str) -> str:
    return url.rsplit("/", 1)[-1]


async def test_checkout_in_a_foreign_currency_uses_its_lower_case_code(client, app, stripe_api):
    owner = await make_actor(app)
    r = await client.post(
        owner.url("/exchange-rates"),
        json={"currency": "USD", "rate": "0.9", "effective_from": "2026-01-01"},
        headers=owner.headers,
    )
    assert r.status_code == 201, r.text
    invoice = await open_invoice(client, owner, amount=777, currency="USD")
    r = await checkout(client, owner, invoice["id"])
    assert r.status_code == 200, r.text
    assert r.json()["currency"] == "USD"
    [session] = stripe_api.sessions
    assert session.form["line_items[0][price_data][currency]"] == "usd"
    assert session.form["line_items[0][price_data][unit_amount]"] == "777"


async def test_checkout_without_stripe_configured_is_503(client, app, settings, monkeypatch):
    monkeypatch.setattr(settings, "stripe_secret_key", None)
    owner = await make_actor(app)
    invoice = await open_invoice(client, owner)
    assert_problem(await checkout(client, owner, invoice["id"]), 503, "provider_not_configured")


async def test_checkout_needs_stripe_among_the_clients_methods(client, app, stripe_api):
    owner = await make_actor(app)
    invoice = await open_invoice(client, owner, methods=["bank", "crypto"])
    r = await checkout(client, owner, invoice["id"])
    assert_problem(r, 422, "payment_method_not_allowed")
    assert stripe_api.requests == []


async def test_checkout_needs_an_open_invoice_and_a_role_that_may_bill(client, app, stripe_api):
    owner = await make_actor(app)
    member = await make_actor(app, team_id=owner.team_id, role=Role.member)
    outsider = await make_actor(app)
    client_id = await payable_client(client, owner)
    r = await client.post(
        owner.url("/invoices"),
        json={
            "client_id": client_id,
            "lines": [{"description": "x", "quantity": "1", "unit_amount": 100}],
        },
        headers=owner.headers,
    )
    draft = r.json()
    assert_problem(await checkout(client, owner, draft["id"]), 409, "invoice_not_open")

    invoice = await open_invoice(client, owner, amount=100, client_id=client_id)
    assert_problem(await checkout(client, member, invoice["id"]), 403)
    r = await client.post(
        outsider.url(f"/invoices/{invoice['id']}/checkout"),
        json={"provider": "stripe"},
        headers=outsider.headers,
    )
    assert_problem(r, 404)
    r = await client.post(
        owner.url(f"/invoices/{invoice['id']}/checkout"), json={"provider": "stripe"}
    )
    assert_problem(r, 401)
    assert_problem(await checkout(client, owner, invoice["id"], "paypal"), 422)

    assert (await pay(client, owner, invoice["id"], 100)).status_code == 201
    assert_problem(await checkout(client, owner, invoice["id"]), 409, "invoice_not_open")
    assert stripe_api.requests == []


# ------------------------------------------------------------------ webhook signatures


async def test_webhook_signature_is_verified(client, app, run_jobs, stripe_api):
    owner = await make_actor(app)
    invoice = await open_invoice(client, owner, amount=10000)
    body = checkout_completed(invoice["id"], str(owner.team_id), 10000, "EUR", pi())

    r = await client.post(WEBHOOK, content=body, headers={"Content-Type": "application/json"})
    assert_problem(r, 400, "missing_signature")

    r = await deliver(client, body, secret="whsec_somebody_else")
    assert_problem(r, 400, "invalid_signature")

    r = await deliver(client, body, timestamp=int(time.time()) - 600)  # 10 min old, 5 allowed
    assert_problem(r, 400, "invalid_signature")

    # signed, then changed on the way
    header = stripe_signature(body, STRIPE_WEBHOOK_SECRET)
    tampered = body.replace('"amount_total": 10000', '"amount_total": 1')
    assert tampered != body
    r = await client.post(
        WEBHOOK,
        content=tampered,
        headers={"Content-Type": "application/json", "Stripe-Signature": header},
    )
    assert_problem(r, 400, "invalid_signature")

    r = await client.post(
        WEBHOOK,
        content=body,
        headers={"Content-Type": "application/json", "Stripe-Signature": "t=1,v1=deadbeef"},
    )
    assert_problem(r, 400, "invalid_signature")

    # nothing of that was stored or applied
    assert await run_jobs() == 0
    assert await invoice_payments(client, owner, invoice["id"]) == []
    assert (await get_invoice(client, owner, invoice["id"]))["status"] == "open"

    # a recent-enough signature passes
    r = await deliver(client, body, timestamp=int(time.time()) - 120)
    assert r.status_code == 200, r.text


async def test_webhook_signed_in_the_future_is_refused(client, app, run_jobs, stripe_api):
    owner = await make_actor(app)
    invoice = await open_invoice(client, owner, amount=10000)
    body = checkout_completed(invoice["id"], str(owner.team_id), 10000, "EUR", pi())

    # The 5 minutes hold both ways: an hour ahead is as stale as an hour behind.
    r = await deliver(client, body, timestamp=int(time.time()) + 3600)
    assert_problem(r, 400, "invalid_signature")
    r = await deliver(client, body, timestamp=int(time.time()) + 600)
    assert_problem(r, 400, "invalid_signature")
    assert await run_jobs() == 0
    assert await invoice_payments(client, owner, invoice["id"]) == []

    # A signer whose clock is a little ahead is fine.
    r = await deliver(client, body, timestamp=int(time.time()) + 120)
    assert r.status_code == 200, r.text


async def test_webhook_without_a_configured_secret_is_503(client, app, settings, monkeypatch):
    monkeypatch.setattr(settings, "stripe_webhook_secret", None)
    body = checkout_completed(str(uuid.uuid4()), str(uuid.uuid4()), 100, "EUR", pi())
    r = await deliver(client, body, secret="whsec_anything")
    assert_problem(r, 503, "provider_not_configured")


async def test_webhook_refuses_a_signed_body_that_is_not_an_event(client, stripe_api):
    body = '{"hello": "world"}'
    assert_problem(await deliver(client, body), 400)
    body = "not json"
    assert_problem(await deliver(client, body), 400)


# ------------------------------------------------------------------ webhook events


async def test_checkout_completed_delivered_three_times_pays_once(
    client, app, run_jobs, mailbox, stripe_api
):
    owner = await make_actor(app)
    invoice = await open_invoice(client, owner, amount=10000)
    intent = pi()
    body = checkout_completed(invoice["id"], str(owner.team_id), 10000, "EUR", intent)

    replies = [await delivered(client, body) for _ in range(3)]
    assert [r["duplicate"] for r in replies] == [False, True, True]
    # the endpoint answers at once; the job applies the event
    assert (await get_invoice(client, owner, invoice["id"]))["amount_paid"] == 0

    await run_jobs(max_tries=6)
    after = await get_invoice(client, owner, invoice["id"])
    assert (after["status"], after["amount_paid"], after["amount_due"]) == ("paid", 10000, 0)
    [payment] = await invoice_payments(client, owner, invoice["id"])
    assert payment["method"] == "stripe"
    assert payment["status"] == "succeeded"
    assert (payment["provider"], payment["provider_payment_id"]) == ("stripe", intent)
    assert (payment["amount"], payment["currency"]) == (10000, "EUR")
    assert payment["base_amount"] == 10000

    [message] = mailbox.messages
    assert recipients(message) == {owner.email}
    assert invoice["number"] in message["Subject"]

    # delivered again later: still one payment
    assert (await delivered(client, body))["duplicate"] is True
    await run_jobs(max_tries=6)
    assert len(await invoice_payments(client, owner, invoice["id"])) == 1
    assert len(mailbox.messages) == 1


async def test_concurrent_deliveries_of_one_event_store_it_once(client, app, run_jobs, stripe_api):
    owner = await make_actor(app)
    invoice = await open_invoice(client, owner, amount=10000)
    body = checkout_completed(invoice["id"], str(owner.team_id), 10000, "EUR", pi())
    replies = await asyncio.gather(*(deliver(client, body) for _ in range(4)))
    assert [r.status_code for r in replies] == [200] * 4, [r.text for r in replies]
    assert sorted(r.json()["duplicate"] for r in replies) == [False, True, True, True]
    await run_jobs(max_tries=6)
    assert len(await invoice_payments(client, owner, invoice["id"])) == 1


async def test_unpaid_checkout_session_records_nothing(client, app, run_jobs, stripe_api):
    owner = await make_actor(app)
    invoice = await open_invoice(client, owner, amount=10000)
    body = checkout_completed(
        invoice["id"], str(owner.team_id), 10000, "EUR", pi(), payment_status="unpaid"
    )
    await delivered(client, body)
    await run_jobs(max_tries=6)
    assert await invoice_payments(client, owner, invoice["id"]) == []
    assert (await get_invoice(client, owner, invoice["id"]))["status"] == "open"


async def test_session_completed_and_intent_succeeded_are_one_payment(
    client, app, run_jobs, stripe_api
):
    owner = await make_actor(app)
    team = str(owner.team_id)
    for first_intent_event in (False, True):
        invoice = await open_invoice(client, owner, amount=10000)
        intent = pi()
        session = checkout_completed(invoice["id"], team, 10000, "EUR", intent)
        succeeded = payment_intent_event(
            "payment_intent.succeeded", invoice["id"], team, 10000, "EUR", intent
        )
        bodies = [succeeded, session] if first_intent_event else [session, succeeded]
        for body in bodies:
            assert (await delivered(client, body))["duplicate"] is False
        await run_jobs(max_tries=6)

        payments = await invoice_payments(client, owner, invoice["id"])
        assert [(p["status"], p["amount"], p["provider_payment_id"]) for p in payments] == [
            ("succeeded", 10000, intent)
        ], payments
        after = await get_invoice(client, owner, invoice["id"])
        assert (after["status"], after["amount_paid"]) == ("paid", 10000)


async def test_failed_payment_is_recorded_and_managers_are_told(
    client, app, run_jobs, mailbox, stripe_api
):
    owner = await make_actor(app)
    org_manager = await make_actor(app, team_id=owner.team_id, role=Role.org_manager)
    await make_actor(app, team_id=owner.team_id, role=Role.sales_manager)
    invoice = await open_invoice(client, owner, amount=10000)
    intent = pi()
    body = payment_intent_event(
        "payment_intent.payment_failed",
        invoice["id"],
        str(owner.team_id),
        10000,
        "EUR",
        intent,
        error="Your card has insufficient funds.",
    )
    await delivered(client, body)
    await run_jobs(max_tries=6)

    [payment] = await invoice_payments(client, owner, invoice["id"])
    assert payment["status"] == "failed"
    assert (payment["method"], payment["provider"]) == ("stripe", "stripe")
    assert payment["provider_payment_id"] == intent
    assert payment["amount"] == 10000
    assert "insufficient funds" in payment["failure_reason"]
    after = await get_invoice(client, owner, invoice["id"])
    assert (after["status"], after["amount_paid"], after["amount_due"]) == ("open", 0, 10000)

    [message] = mailbox.messages
    assert recipients(message) == {owner.email, org_manager.email}
    assert "failed" in message["Subject"].lower()
    assert invoice["number"] in message["Subject"]

    # The customer tries again with the same PaymentIntent and succeeds.
    ok = checkout_completed(invoice["id"], str(owner.team_id), 10000, "EUR", intent)
    await delivered(client, ok)
    await run_jobs(max_tries=6)
    payments = await invoice_payments(client, owner, invoice["id"])
    assert sorted(p["status"] for p in payments) == ["failed", "succeeded"]
    assert (await get_invoice(client, owner, invoice["id"]))["status"] == "paid"


async def test_refund_arriving_before_its_payment_is_applied_once_it_is_there(
    client, app, run_jobs, stripe_api
):
    owner = await make_actor(app)
    team = str(owner.team_id)
    invoice = await open_invoice(client, owner, amount=10000)
    intent = pi()
    refunded = charge_refunded(intent, 10000, "EUR", [("re_first", 4000)])
    completed = checkout_completed(invoice["id"], team, 10000, "EUR", intent)
    succeeded = payment_intent_event(
        "payment_intent.succeeded", invoice["id"], team, 10000, "EUR", intent
    )

    await delivered(client, refunded)
    await delivered(client, completed)
    await run_jobs(max_tries=6)

    [payment] = await invoice_payments(client, owner, invoice["id"])
    assert (payment["status"], payment["amount"], payment["refunded_amount"]) == (
        "succeeded",
        10000,
        4000,
    )
    after = await get_invoice(client, owner, invoice["id"])
    assert (after["status"], after["amount_paid"], after["amount_due"]) == ("open", 6000, 4000)

    # Every event again (Stripe retries), and the PaymentIntent's own event: nothing changes.
    for body in (refunded, completed):
        assert (await delivered(client, body))["duplicate"] is True
    assert (await delivered(client, succeeded))["duplicate"] is False
    # the same refund, reported by a later event of the charge
    again = charge_refunded(intent, 10000, "EUR", [("re_first", 4000)])
    assert (await delivered(client, again))["duplicate"] is False
    await run_jobs(max_tries=6)

    [payment] = await invoice_payments(client, owner, invoice["id"])
    assert (payment["amount"], payment["refunded_amount"]) == (10000, 4000)
    after = await get_invoice(client, owner, invoice["id"])
    assert (after["status"], after["amount_paid"], after["amount_due"]) == ("open", 6000, 4000)


async def test_a_full_refund_reopens_the_invoice(client, app, run_jobs, stripe_api):
    owner = await make_actor(app)
    invoice = await open_invoice(client, owner, amount=10000)
    intent = pi()
    await delivered(
        client, checkout_completed(invoice["id"], str(owner.team_id), 10000, "EUR", intent)
    )
    await run_jobs(max_tries=6)
    assert (await get_invoice(client, owner, invoice["id"]))["status"] == "paid"

    await delivered(client, charge_refunded(intent, 10000, "EUR", [("re_all", 10000)]))
    await run_jobs(max_tries=6)
    after = await get_invoice(client, owner, invoice["id"])
    assert (after["status"], after["amount_paid"], after["amount_due"]) == ("open", 0, 10000)
    [payment] = await invoice_payments(client, owner, invoice["id"])
    assert payment["refunded_amount"] == 10000


async def test_a_second_partial_refund_of_a_charge_is_recorded(client, app, run_jobs, stripe_api):
    """`charge.refunded` lists all the charge's refunds (newest first): the second event
    repeats the first refund, already recorded, next to the new one."""
    owner = await make_actor(app)
    invoice = await open_invoice(client, owner, amount=10000)
    intent = pi()
    charge = f"ch_{uuid.uuid4().hex[:16]}"
    await delivered(
        client, checkout_completed(invoice["id"], str(owner.team_id), 10000, "EUR", intent)
    )
    await delivered(
        client, charge_refunded(intent, 10000, "EUR", [("re_one", 6000)], charge_id=charge)
    )
    await run_jobs(max_tries=6)
    [payment] = await invoice_payments(client, owner, invoice["id"])
    assert payment["refunded_amount"] == 6000

    await delivered(
        client,
        charge_refunded(
            intent, 10000, "EUR", [("re_two", 4000), ("re_one", 6000)], charge_id=charge
        ),
    )
    await run_jobs(max_tries=6)
    [payment] = await invoice_payments(client, owner, invoice["id"])
    assert payment["refunded_amount"] == 10000
    after = await get_invoice(client, owner, invoice["id"])
    assert (after["status"], after["amount_paid"], after["amount_due"]) == ("open", 0, 10000)


async def test_money_the_invoice_cannot_take_is_kept_once_as_a_failed_payment(
    client, app, run_jobs, stripe_api
):
    """Paid at Stripe after the invoice was settled by hand: kept for a person to refund,
    once, though both events of the payment arrive."""
    owner = await make_actor(app)
    team = str(owner.team_id)
    invoice = await open_invoice(client, owner, amount=10000)
    assert (await checkout(client, owner, invoice["id"])).status_code == 200
    assert (await pay(client, owner, invoice["id"], 10000)).status_code == 201

    intent = pi()
    await delivered(client, checkout_completed(invoice["id"], team, 10000, "EUR", intent))
    await delivered(
        client,
        payment_intent_event("payment_intent.succeeded", invoice["id"], team, 10000, "EUR", intent),
    )
    await run_jobs(max_tries=6)

    payments = await invoice_payments(client, owner, invoice["id"])
    stripe_payments = [p for p in payments if p["provider"] == "stripe"]
    assert [(p["status"], p["amount"]) for p in stripe_payments] == [("failed", 10000)], payments
    assert "refund" in stripe_payments[0]["failure_reason"].lower()
    after = await get_invoice(client, owner, invoice["id"])
    assert (after["status"], after["amount_paid"]) == ("paid", 10000)


async def test_stripe_payments_are_refunded_at_stripe_not_here(client, app, run_jobs, stripe_api):
    owner = await make_actor(app)
    invoice = await open_invoice(client, owner, amount=10000)
    await delivered(
        client, checkout_completed(invoice["id"], str(owner.team_id), 10000, "EUR", pi())
    )
    await run_jobs(max_tries=6)
    [payment] = await invoice_payments(client, owner, invoice["id"])
    assert_problem(await refund(client, owner, payment["id"], 100), 409, "refund_at_provider")
    [payment] = await invoice_payments(client, owner, invoice["id"])
    assert payment["refunded_amount"] == 0


async def test_events_for_unknown_invoices_change_nothing(client, app, run_jobs, stripe_api):
    owner = await make_actor(app)
    invoice = await open_invoice(client, owner, amount=10000)
    team = str(owner.team_id)
    await delivered(client, checkout_completed(str(uuid.uuid4()), team, 10000, "EUR", pi()))
    await delivered(
        client,
        payment_intent_event("payment_intent.succeeded", "not-a-uuid", team, 10000, "EUR", pi()),
    )
    await delivered(
        client,
        payment_intent_event("customer.created", invoice["id"], team, 10000, "EUR", pi()),
    )
    await run_jobs(max_tries=6)
    assert await invoice_payments(client, owner, invoice["id"]) == []
    r = await client.get(owner.url("/payments"), headers=owner.headers)
    assert r.json()["data"] == []


async def test_concurrent_checkouts_of_one_client_create_one_stripe_customer(
    client, app, stripe_api
):
    owner = await make_actor(app)
    client_id = await payable_client(client, owner)
    invoices = [await open_invoice(client, owner, amount=100, client_id=client_id) for _ in "abc"]
    replies = await asyncio.gather(*(checkout(client, owner, inv["id"]) for inv in invoices))
    assert [r.status_code for r in replies] == [200, 200, 200], [r.text for r in replies]
    assert len(stripe_api.sessions) == 3
    assert len(stripe_api.created_customers) == 1, "one client, one Stripe customer"
    assert len({s.form["customer"] for s in stripe_api.sessions}) == 1


async def test_a_stripe_api_error_is_a_provider_error_not_a_crash(
    client, app, settings, monkeypatch, stripe_api
):
    owner = await make_actor(app)
    invoice = await open_invoice(client, owner)
    monkeypatch.setattr(settings, "stripe_secret_key", "sk_test_revoked")  # the fake answers 401
    r = await checkout(client, owner, invoice["id"])
    assert r.status_code in (502, 503), r.text
    assert r.json()["code"] == "provider_error"
    assert stripe_api.customers[0].headers["authorization"] == "Bearer sk_test_revoked"


async def test_a_stored_event_whose_job_was_lost_is_queued_again_on_redelivery(
    client, app, run_jobs, stripe_api
):
    owner = await make_actor(app)
    invoice = await open_invoice(client, owner, amount=10000)
    body = checkout_completed(invoice["id"], str(owner.team_id), 10000, "EUR", pi())
    assert (await delivered(client, body))["duplicate"] is False
    # The queue loses the job (Redis flushed): the event is stored but unhandled.
    await app.state.redis.flushdb()
    assert await run_jobs() == 0
    assert (await get_invoice(client, owner, invoice["id"]))["amount_paid"] == 0
    # Stripe redelivers it: still a duplicate for the store, but handled this time.
    assert (await delivered(client, body))["duplicate"] is True
    await run_jobs(max_tries=6)
    assert (await get_invoice(client, owner, invoice["id"]))["status"] == "paid"
    assert len(await invoice_payments(client, owner, invoice["id"])) == 1

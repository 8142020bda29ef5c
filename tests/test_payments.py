"""Manual payments and refunds, listing, roles, notifications, and the public pay link.

Amounts are minor units."""

import asyncio
import uuid
from decimal import Decimal

from app.core.permissions import Role
from tests.factories import Actor, make_actor
from tests.factories.invoices import get_invoice, manual_draft
from tests.factories.payments import (
    invoice_payments,
    open_invoice,
    pay,
    pay_token,
    payable_client,
    recipients,
    refund,
)
from tests.fakes import (  # noqa: F401  (fixtures)
    crypto_gateway_fixture,
    crypto_server_fixture,
    stripe_api_fixture,
    stripe_server_fixture,
)
from tests.helpers import assert_problem

# ------------------------------------------------------------------ recording payments


async def test_partial_then_full_payment_in_a_foreign_currency(client, app):
    owner = await make_actor(app)  # team base currency EUR
    r = await client.post(
        owner.url("/exchange-rates"),
        json={"currency": "USD", "rate": "0.9", "effective_from": "2026-01-01"},
        headers=owner.headers,
    )
    assert r.status_code == 201, r.text
    invoice = await open_invoice(client, owner, amount=10000, currency="USD")
    assert invoice["currency"] == "USD"
    assert Decimal(invoice["exchange_rate"]) == Decimal("0.9")

    # 40.05 USD * 0.9 = 36.045 EUR -> 3604.5 cents -> 3605 half-up (banker's would say 3604)
    r = await pay(
        client,
        owner,
        invoice["id"],
        4005,
        reference="wire 0001",
        paid_at="2026-11-02T10:00:00+01:00",
    )
    assert r.status_code == 201, r.text
    first = r.json()
    assert first["invoice_id"] == invoice["id"]
    assert first["amount"] == 4005
    assert first["currency"] == "USD"
    assert first["method"] == "bank"
    assert first["status"] == "succeeded"
    assert first["reference"] == "wire 0001"
    assert first["refunded_amount"] == 0
    assert first["provider"] is None
    assert Decimal(first["exchange_rate"]) == Decimal("0.9")
    assert first["base_currency"] == "EUR"
    assert first["base_amount"] == 3605
    assert first["paid_at"].startswith("2026-11-02T09:00:00")

    after = await get_invoice(client, owner, invoice["id"])
    assert (after["status"], after["amount_paid"], after["amount_due"]) == ("open", 4005, 5995)

    # 59.95 USD * 0.9 = 53.955 EUR -> 5395.5 cents -> 5396
    r = await pay(client, owner, invoice["id"], 5995, method="cash")
    assert r.status_code == 201, r.text
    second = r.json()
    assert (second["method"], second["base_amount"]) == ("cash", 5396)

    after = await get_invoice(client, owner, invoice["id"])
    assert (after["status"], after["amount_paid"], after["amount_due"]) == ("paid", 10000, 0)
    listed = await invoice_payments(client, owner, invoice["id"])
    assert sorted(p["amount"] for p in listed) == [4005, 5995]


async def test_overpayment_is_refused_and_changes_nothing(client, app):
    owner = await make_actor(app)
    invoice = await open_invoice(client, owner, amount=10000)

    assert_problem(await pay(client, owner, invoice["id"], 10001), 422, "overpayment")
    assert (await get_invoice(client, owner, invoice["id"]))["amount_paid"] == 0

    assert (await pay(client, owner, invoice["id"], 6000)).status_code == 201
    assert_problem(await pay(client, owner, invoice["id"], 4001), 422, "overpayment")
    after = await get_invoice(client, owner, invoice["id"])
    assert (after["status"], after["amount_paid"]) == ("open", 6000)
    assert len(await invoice_payments(client, owner, invoice["id"])) == 1

    assert (await pay(client, owner, invoice["id"], 4000)).status_code == 201
    # Nothing is due on a paid invoice: it is not open any more.
    assert_problem(await pay(client, owner, invoice["id"], 1), 409, "invoice_not_open")


async def test_payment_amount_and_method_are_validated(client, app):
    owner = await make_actor(app)
    invoice = await open_invoice(client, owner)
    for body in (
        {"amount": 0, "method": "bank"},
        {"amount": -5, "method": "bank"},
        {"amount": 100, "method": "stripe"},  # provider payments arrive by webhook only
        {"amount": 100},
        {"amount": "1.5", "method": "bank"},
    ):
        r = await client.post(
            owner.url(f"/invoices/{invoice['id']}/payments"), json=body, headers=owner.headers
        )
        assert_problem(r, 422)
    assert await invoice_payments(client, owner, invoice["id"]) == []


async def test_payment_on_a_draft_or_void_invoice_is_refused(client, app):
    owner = await make_actor(app)
    client_id = await payable_client(client, owner)
    draft = await manual_draft(client, owner, client_id)
    assert_problem(await pay(client, owner, draft["id"], 100), 409, "invoice_not_open")

    invoice = await open_invoice(client, owner, client_id=client_id)
    r = await client.post(owner.url(f"/invoices/{invoice['id']}/void"), headers=owner.headers)
    assert r.status_code == 200, r.text
    assert_problem(await pay(client, owner, invoice["id"], 100), 409, "invoice_not_open")
    assert await invoice_payments(client, owner, draft["id"]) == []
    assert await invoice_payments(client, owner, invoice["id"]) == []


async def test_concurrent_payments_never_overpay(client, app):
    owner = await make_actor(app)
    invoice = await open_invoice(client, owner, amount=10000)

    results = await asyncio.gather(*(pay(client, owner, invoice["id"], 4000) for _ in range(3)))
    codes = sorted(r.status_code for r in results)
    assert codes == [201, 201, 422], [r.text for r in results]
    refused = next(r for r in results if r.status_code == 422)
    assert_problem(refused, 422, "overpayment")

    after = await get_invoice(client, owner, invoice["id"])
    assert (after["status"], after["amount_paid"], after["amount_due"]) == ("open", 8000, 2000)
    assert [p["amount"] for p in await invoice_payments(client, owner, invoice["id"])] == [
        4000,
        4000,
    ]


async def test_concurrent_full_payments_pay_once(client, app):
    owner = await make_actor(app)
    invoice = await open_invoice(client, owner, amount=10000)

    results = await asyncio.gather(*(pay(client, owner, invoice["id"], 10000) for _ in range(4)))
    assert sorted(r.status_code for r in results) == [201, 409, 409, 409], [r.text for r in results]
    after = await get_invoice(client, owner, invoice["id"])
    assert (after["status"], after["amount_paid"]) == ("paid", 10000)
    assert len(await invoice_payments(client, owner, invoice["id"])) == 1


# ------------------------------------------------------------------ refunds


async def test_refund_reopens_a_paid_invoice_and_never_exceeds_the_payment(client, app):
    owner = await make_actor(app)
    invoice = await open_invoice(client, owner, amount=10000)
    r = await pay(client, owner, invoice["id"], 10000)
    assert r.status_code == 201, r.text
    payment = r.json()
    assert (await get_invoice(client, owner, invoice["id"]))["status"] == "paid"

    r = await refund(client, owner, payment["id"], 2500, reason="goodwill")
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["payment_id"], body["amount"], body["reason"]) == (payment["id"], 2500, "goodwill")
    assert body["provider"] is None

    after = await get_invoice(client, owner, invoice["id"])
    assert (after["status"], after["amount_paid"], after["amount_due"]) == ("open", 7500, 2500)
    [listed] = await invoice_payments(client, owner, invoice["id"])
    assert (listed["amount"], listed["refunded_amount"]) == (10000, 2500)

    assert_problem(await refund(client, owner, payment["id"], 7501), 422, "refund_exceeds_payment")
    assert (await refund(client, owner, payment["id"], 7500)).status_code == 201
    assert_problem(await refund(client, owner, payment["id"], 1), 422, "refund_exceeds_payment")

    after = await get_invoice(client, owner, invoice["id"])
    assert (after["status"], after["amount_paid"], after["amount_due"]) == ("open", 0, 10000)
    [listed] = await invoice_payments(client, owner, invoice["id"])
    assert listed["refunded_amount"] == 10000

    # The reopened invoice takes money again.
    assert (await pay(client, owner, invoice["id"], 10000)).status_code == 201
    assert (await get_invoice(client, owner, invoice["id"]))["status"] == "paid"


async def test_refund_of_a_partial_payment_keeps_the_invoice_open(client, app):
    owner = await make_actor(app)
    invoice = await open_invoice(client, owner, amount=10000)
    payment = (await pay(client, owner, invoice["id"], 3000)).json()
    assert (await refund(client, owner, payment["id"], 1000)).status_code == 201
    after = await get_invoice(client, owner, invoice["id"])
    assert (after["status"], after["amount_paid"], after["amount_due"]) == ("open", 2000, 8000)


async def test_refund_of_unknown_or_other_teams_payment_is_404(client, app):
    owner = await make_actor(app)
    other = await make_actor(app)
    invoice = await open_invoice(client, owner)
    payment = (await pay(client, owner, invoice["id"], 100)).json()
    assert_problem(await refund(client, other, payment["id"], 50), 404)
    assert_problem(await refund(client, owner, str(uuid.uuid4()), 50), 404)
    [listed] = await invoice_payments(client, owner, invoice["id"])
    assert listed["refunded_amount"] == 0


# ------------------------------------------------------------------ listing


async def _listing(http, owner: Actor, **params) -> list[str]:
    r = await http.get(owner.url("/payments"), params=params, headers=owner.headers)
    assert r.status_code == 200, r.text
    return [p["id"] for p in r.json()["data"]]


async def _paid(http, owner: Actor, invoice: dict, amount: int, method: str, when: str) -> str:
    r = await pay(http, owner, invoice["id"], amount, method, paid_at=when)
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def test_payments_are_listed_per_invoice_and_filtered_for_the_team(client, app):
    owner = await make_actor(app)
    acme_id = await payable_client(client, owner, name="Acme")
    globex_id = await payable_client(client, owner, name="Globex")
    acme = await open_invoice(client, owner, client_id=acme_id)
    acme2 = await open_invoice(client, owner, client_id=acme_id)
    globex = await open_invoice(client, owner, client_id=globex_id)

    a_bank = await _paid(client, owner, acme, 1000, "bank", "2026-03-05T12:00:00Z")
    a_cash = await _paid(client, owner, acme2, 2000, "cash", "2026-03-20T12:00:00Z")
    g_bank = await _paid(client, owner, globex, 3000, "bank", "2026-04-02T12:00:00Z")
    g_other = await _paid(client, owner, globex, 4000, "other", "2026-03-31T23:30:00Z")

    async def listed(**params) -> list[str]:
        return await _listing(client, owner, **params)

    # newest first
    assert await listed() == [g_bank, g_other, a_cash, a_bank]
    assert await listed(client_id=acme_id) == [a_cash, a_bank]
    assert await listed(client_id=globex_id) == [g_bank, g_other]
    assert await listed(method="bank") == [g_bank, a_bank]
    assert await listed(method="cash", client_id=acme_id) == [a_cash]
    assert await listed(method="cash", client_id=globex_id) == []
    assert await listed(client_id=str(uuid.uuid4())) == []
    # instants are taken as is, `to` exclusive
    assert await listed(**{"from": "2026-03-05T12:00:00Z", "to": "2026-03-20T12:00:00Z"}) == [
        a_bank
    ]
    assert await listed(**{"from": "2026-03-05T12:00:01Z"}) == [g_bank, g_other, a_cash]
    assert await listed(**{"from": "2026-03-31T19:00:00-05:00"}, method="other") == []
    assert await listed(**{"from": "2026-03-31T18:30:00-05:00"}, method="other") == [g_other]

    assert {p["id"] for p in await invoice_payments(client, owner, globex["id"])} == {
        g_bank,
        g_other,
    }
    assert [p["id"] for p in await invoice_payments(client, owner, acme["id"])] == [a_bank]

    # another team sees none of them
    other = await make_actor(app)
    r = await client.get(other.url("/payments"), headers=other.headers)
    assert r.status_code == 200 and r.json()["data"] == []
    r = await client.get(other.url(f"/invoices/{acme['id']}/payments"), headers=other.headers)
    assert_problem(r, 404)
    r = await client.get(owner.url("/payments"), params={"method": "wire"}, headers=owner.headers)
    assert_problem(r, 422)


async def test_payment_date_filters_are_whole_days_in_the_team_time_zone(client, app):
    """`from`/`to` as dates: those days in the team's time zone, `to` inclusive."""
    owner = await make_actor(app)
    r = await client.patch(
        owner.url(), json={"timezone": "America/New_York"}, headers=owner.headers
    )
    assert r.status_code == 200, r.text
    invoice = await open_invoice(client, owner, amount=10000)
    # 2026-03-05 23:00 in New York (EST, UTC-5)
    march_5 = await _paid(client, owner, invoice, 1000, "bank", "2026-03-06T04:00:00Z")
    # 2026-03-31 22:00 in New York (EDT, UTC-4)
    march_31 = await _paid(client, owner, invoice, 2000, "bank", "2026-04-01T02:00:00Z")
    # 2026-04-01 09:00 in New York
    april_1 = await _paid(client, owner, invoice, 3000, "bank", "2026-04-01T13:00:00Z")

    async def listed(**params) -> list[str]:
        return await _listing(client, owner, **params)

    assert await listed(to="2026-03-05") == [march_5]
    assert await listed(**{"from": "2026-03-06", "to": "2026-03-31"}) == [march_31]
    assert await listed(**{"from": "2026-03-31", "to": "2026-03-31"}) == [march_31]
    assert await listed(**{"from": "2026-04-01"}) == [april_1]
    assert await listed(**{"from": "2026-03-05", "to": "2026-04-01"}) == [
        april_1,
        march_31,
        march_5,
    ]


# ------------------------------------------------------------------ roles


async def test_who_may_record_and_see_payments(client, app):
    owner = await make_actor(app)
    org_manager = await make_actor(app, team_id=owner.team_id, role=Role.org_manager)
    sales_manager = await make_actor(app, team_id=owner.team_id, role=Role.sales_manager)
    member = await make_actor(app, team_id=owner.team_id, role=Role.member)
    project_manager = await make_actor(app, team_id=owner.team_id, role=Role.project_manager)
    outsider = await make_actor(app)
    invoice = await open_invoice(client, owner, amount=10000)
    iid = invoice["id"]

    r = await pay(client, org_manager, iid, 1000)
    assert r.status_code == 201, r.text
    payment_id = r.json()["id"]

    assert_problem(await pay(client, sales_manager, iid, 1000), 403)
    assert_problem(await pay(client, member, iid, 1000), 403)
    assert_problem(await pay(client, project_manager, iid, 1000), 403)
    assert_problem(await refund(client, sales_manager, payment_id, 10), 403)
    assert_problem(await refund(client, member, payment_id, 10), 403)

    # sales managers read invoices and payments; members do not
    assert len(await invoice_payments(client, sales_manager, iid)) == 1
    r = await client.get(sales_manager.url("/payments"), headers=sales_manager.headers)
    assert r.status_code == 200 and len(r.json()["data"]) == 1
    r = await client.get(member.url(f"/invoices/{iid}/payments"), headers=member.headers)
    assert_problem(r, 403)
    r = await client.get(member.url("/payments"), headers=member.headers)
    assert_problem(r, 403)

    # another team's invoice, through the outsider's own team: unknown
    r = await client.post(
        outsider.url(f"/invoices/{iid}/payments"),
        json={"amount": 1000, "method": "bank"},
        headers=outsider.headers,
    )
    assert_problem(r, 404)
    r = await client.get(outsider.url(f"/invoices/{iid}/payments"), headers=outsider.headers)
    assert_problem(r, 404)
    # ... and through the owner's team: not a member
    r = await client.post(
        owner.url(f"/invoices/{iid}/payments"),
        json={"amount": 1000, "method": "bank"},
        headers=outsider.headers,
    )
    assert r.status_code in (403, 404), r.text

    r = await client.post(
        owner.url(f"/invoices/{iid}/payments"), json={"amount": 1, "method": "bank"}
    )
    assert_problem(r, 401)
    r = await client.get(owner.url("/payments"))
    assert_problem(r, 401)
    r = await client.post(owner.url(f"/payments/{payment_id}/refund"), json={"amount": 1})
    assert_problem(r, 401)

    after = await get_invoice(client, owner, iid)
    assert after["amount_paid"] == 1000


# ------------------------------------------------------------------ notifications


async def test_managers_are_emailed_when_an_invoice_is_paid(client, app, mailbox, run_jobs):
    owner = await make_actor(app)
    org_manager = await make_actor(app, team_id=owner.team_id, role=Role.org_manager)
    sales_manager = await make_actor(app, team_id=owner.team_id, role=Role.sales_manager)
    await make_actor(app, team_id=owner.team_id, role=Role.member)
    other_team = await make_actor(app)
    invoice = await open_invoice(client, owner, amount=10000)

    assert (await pay(client, owner, invoice["id"], 4000)).status_code == 201
    await run_jobs()
    [partial] = mailbox.messages  # partial payments: see test_payment_notices.py
    assert "partial" in partial["Subject"].lower()
    mailbox.messages.clear()

    assert (await pay(client, org_manager, invoice["id"], 6000)).status_code == 201
    await run_jobs()
    [message] = mailbox.messages
    assert recipients(message) == {owner.email, org_manager.email}
    assert sales_manager.email not in str(message["To"])
    assert other_team.email not in str(message["To"])
    assert invoice["number"] in message["Subject"]
    assert "paid" in message["Subject"].lower()


# ------------------------------------------------------------------ public pay link


async def test_pay_link_shows_the_invoice_and_the_usable_methods(
    client, app, settings, monkeypatch
):
    for name in ("stripe_secret_key", "crypto_api_base", "crypto_api_key"):
        monkeypatch.setattr(settings, name, None)
    owner = await make_actor(app)
    invoice = await open_invoice(client, owner, amount=10000)
    assert (await pay(client, owner, invoice["id"], 2500)).status_code == 201
    assert invoice["pay_url"].startswith("https://api.hourline.test/pay/")
    token = pay_token(invoice)

    r = await client.get(f"/v1/pay/{token}")  # no login
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["number"] == invoice["number"]
    assert body["client_name"] == "Acme"
    assert (body["status"], body["currency"]) == ("open", "EUR")
    assert (body["total_amount"], body["amount_paid"], body["amount_due"]) == (10000, 2500, 7500)
    assert body["payment_methods"] == ["bank"]  # no provider configured
    assert "id" not in body and "client_id" not in body

    monkeypatch.setattr(settings, "stripe_secret_key", "sk_test_x")
    r = await client.get(f"/v1/pay/{token}")
    assert r.json()["payment_methods"] == ["stripe", "bank"]

    monkeypatch.setattr(settings, "crypto_api_base", "http://127.0.0.1:9")
    monkeypatch.setattr(settings, "crypto_api_key", "k")
    r = await client.get(f"/v1/pay/{token}")
    assert r.json()["payment_methods"] == ["stripe", "crypto", "bank"]

    # a client that does not take bank transfers and pays by crypto only
    crypto_only = await open_invoice(client, owner, methods=["crypto"])
    r = await client.get(f"/v1/pay/{pay_token(crypto_only)}")
    assert r.json()["payment_methods"] == ["crypto"]
    monkeypatch.setattr(settings, "crypto_api_key", None)
    r = await client.get(f"/v1/pay/{pay_token(crypto_only)}")
    assert r.json()["payment_methods"] == []


async def test_pay_link_of_a_draft_or_unknown_token_is_404(client, app):
    owner = await make_actor(app)
    client_id = await payable_client(client, owner)
    draft = await manual_draft(client, owner, client_id)
    assert draft["status"] == "draft" and draft["pay_url"]
    assert_problem(await client.get(f"/v1/pay/{pay_token(draft)}"), 404)
    r = await client.post(f"/v1/pay/{pay_token(draft)}/checkout", json={"provider": "stripe"})
    assert_problem(r, 404)
    assert_problem(await client.get("/v1/pay/not-a-real-token"), 404)
    r = await client.post("/v1/pay/not-a-real-token/checkout", json={"provider": "stripe"})
    assert_problem(r, 404)


async def test_pay_link_checkout_works_without_login(client, app, stripe_api, crypto_gateway):
    owner = await make_actor(app)
    invoice = await open_invoice(client, owner, amount=10000)
    assert (await pay(client, owner, invoice["id"], 4000)).status_code == 201
    token = pay_token(invoice)

    r = await client.get(f"/v1/pay/{token}")
    assert r.json()["payment_methods"] == ["stripe", "crypto", "bank"]

    r = await client.post(f"/v1/pay/{token}/checkout", json={"provider": "stripe"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["url"].startswith(f"{stripe_api.base_url}/c/pay/")
    assert (body["provider"], body["amount"], body["currency"]) == ("stripe", 6000, "EUR")
    [session] = stripe_api.sessions
    assert session.form["line_items[0][price_data][unit_amount]"] == "6000"
    assert session.form["metadata[invoice_id]"] == invoice["id"]

    r = await client.post(f"/v1/pay/{token}/checkout", json={"provider": "crypto"})
    assert r.status_code == 200, r.text
    assert r.json()["url"].startswith("https://pay.crypto.test/order/")
    [order] = crypto_gateway.orders
    assert order.json["amount"] == "60.00"
    assert order.json["return_url"] == invoice["pay_url"]

    # bank is not a checkout provider
    r = await client.post(f"/v1/pay/{token}/checkout", json={"provider": "bank"})
    assert_problem(r, 422)


async def test_pay_link_checkout_respects_the_clients_methods_and_state(
    client, app, stripe_api, crypto_gateway
):
    owner = await make_actor(app)
    bank_only = await open_invoice(client, owner, methods=["bank"])
    r = await client.post(f"/v1/pay/{pay_token(bank_only)}/checkout", json={"provider": "stripe"})
    assert_problem(r, 422, "payment_method_not_allowed")
    r = await client.post(f"/v1/pay/{pay_token(bank_only)}/checkout", json={"provider": "crypto"})
    assert_problem(r, 422, "payment_method_not_allowed")

    paid = await open_invoice(client, owner, amount=500)
    assert (await pay(client, owner, paid["id"], 500)).status_code == 201
    r = await client.get(f"/v1/pay/{pay_token(paid)}")
    assert (r.json()["status"], r.json()["amount_due"]) == ("paid", 0)
    r = await client.post(f"/v1/pay/{pay_token(paid)}/checkout", json={"provider": "stripe"})
    assert_problem(r, 409, "invoice_not_open")

    assert stripe_api.requests == []
    assert crypto_gateway.requests == []

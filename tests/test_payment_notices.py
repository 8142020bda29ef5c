"""Who is told of money moving on an invoice: the team's members who may record payments
hear of partial payments, full payment, refunds and failed payments, each kind as the
team's settings say; the client gets a receipt for each payment unless turned off."""

from app.core.permissions import Role
from tests.factories import make_actor
from tests.factories.clients import new_client
from tests.factories.invoices import finalize, manual_draft
from tests.factories.payments import checkout, open_invoice, pay, recipients, refund
from tests.factories.teams import patch_team
from tests.fakes import (  # noqa: F401  (fixtures)
    crypto_callback,
    crypto_gateway_fixture,
    crypto_server_fixture,
    crypto_signature,
)
from tests.helpers import assert_problem

NOTICES = ("notify_paid", "notify_partial_payment", "notify_refund", "notify_payment_failed")


def body_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


async def failed_crypto_payment(http, owner, invoice: dict) -> None:
    """A crypto order for the invoice whose gateway reports it failed."""
    r = await checkout(http, owner, invoice["id"], "crypto")
    assert r.status_code == 200, r.text
    order = r.json()["url"].rsplit("/", 1)[-1]
    body = crypto_callback(order, "failed", "100.00", "EUR", reason="transaction expired")
    r = await http.post(
        "/v1/webhooks/crypto",
        content=body,
        headers={"Content-Type": "application/json", "X-Signature": crypto_signature(body)},
    )
    assert r.status_code == 200, r.text


async def test_partial_payments_refunds_and_failures_tell_the_invoicing_managers(
    client, app, mailbox, run_jobs, crypto_gateway
):
    owner = await make_actor(app)
    org_manager = await make_actor(app, team_id=owner.team_id, role=Role.org_manager)
    await make_actor(app, team_id=owner.team_id, role=Role.sales_manager)
    await make_actor(app, team_id=owner.team_id, role=Role.member)
    await make_actor(app)  # another team
    managers = {owner.email, org_manager.email}
    invoice = await open_invoice(client, owner, amount=10000)
    label = invoice["number"]

    r = await pay(client, owner, invoice["id"], 4000)
    assert r.status_code == 201, r.text
    payment_id = r.json()["id"]
    await run_jobs()
    [partial] = mailbox.messages
    assert recipients(partial) == managers
    assert label in partial["Subject"] and "partial" in partial["Subject"].lower()
    assert "40.00 EUR" in body_of(partial) and "60.00 EUR" in body_of(partial)

    mailbox.messages.clear()
    assert (await refund(client, owner, payment_id, 1500, reason="goodwill")).status_code == 201
    await run_jobs()
    [refunded] = mailbox.messages
    assert recipients(refunded) == managers
    assert label in refunded["Subject"] and "refund" in refunded["Subject"].lower()
    assert "15.00 EUR" in body_of(refunded) and "goodwill" in body_of(refunded)

    mailbox.messages.clear()
    await failed_crypto_payment(client, owner, invoice)
    await run_jobs(max_tries=6)
    [failed] = mailbox.messages
    assert recipients(failed) == managers
    assert "failed" in failed["Subject"].lower()

    mailbox.messages.clear()
    assert (await pay(client, owner, invoice["id"], 7500)).status_code == 201
    await run_jobs()
    [paid] = mailbox.messages
    assert recipients(paid) == managers
    assert paid["Subject"] == f"Invoice {label} is paid"


async def test_each_kind_of_notice_is_a_team_setting(
    client, app, mailbox, run_jobs, crypto_gateway
):
    owner = await make_actor(app)
    team = (await client.get(owner.url(""), headers=owner.headers)).json()
    assert all(team[name] is True for name in (*NOTICES, "payment_receipts")), team
    r = await client.patch(
        owner.url(""), json={"notify_partial_payment": None}, headers=owner.headers
    )
    assert_problem(r, 422)
    admin_only = await make_actor(app, team_id=owner.team_id, role=Role.org_manager)
    r = await client.patch(owner.url(""), json={"notify_refund": False}, headers=admin_only.headers)
    assert_problem(r, 403)

    off = await patch_team(client, owner, **{name: False for name in NOTICES})
    assert all(off[name] is False for name in NOTICES)
    invoice = await open_invoice(client, owner, amount=10000)
    r = await pay(client, owner, invoice["id"], 4000)
    payment_id = r.json()["id"]
    assert (await refund(client, owner, payment_id, 1000)).status_code == 201
    await failed_crypto_payment(client, owner, invoice)
    assert (await pay(client, owner, invoice["id"], 7000)).status_code == 201
    await run_jobs(max_tries=6)
    assert mailbox.messages == []

    # Each switch governs its own kind only.
    await patch_team(client, owner, notify_refund=True)
    assert (await refund(client, owner, payment_id, 500)).status_code == 201
    await run_jobs()
    [message] = mailbox.messages
    assert "refund" in message["Subject"].lower()


async def test_client_receipts_can_be_turned_off(client, app, mailbox, run_jobs):
    owner = await make_actor(app)
    await patch_team(client, owner, notify_partial_payment=False, notify_paid=False)
    acme = await new_client(client, owner, "Acme", email="office@acme.com")
    invoice = await finalize(client, owner, (await manual_draft(client, owner, acme["id"]))["id"])

    assert (await pay(client, owner, invoice["id"], 1000)).status_code == 201
    await run_jobs()
    [receipt] = mailbox.messages
    assert recipients(receipt) == {"office@acme.com"}

    mailbox.messages.clear()
    assert (await patch_team(client, owner, payment_receipts=False))["payment_receipts"] is False
    assert (await pay(client, owner, invoice["id"], 1000)).status_code == 201
    await run_jobs()
    assert mailbox.messages == []

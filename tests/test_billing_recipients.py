"""Who receives a client's invoices and payment receipts: its billing contacts, or the
client's own email when none is marked; never any other contact."""

from tests.factories import make_actor
from tests.factories.clients import new_client
from tests.factories.contacts import get_contact, new_contact
from tests.factories.invoices import finalize, invoice_mails, manual_draft
from tests.factories.payments import pay, recipients
from tests.helpers import assert_problem


async def patch_contact(http, actor, contact_id: str, **body):
    return await http.patch(actor.url(f"/contacts/{contact_id}"), json=body, headers=actor.headers)


async def send(http, actor, invoice_id: str):
    return await http.post(actor.url(f"/invoices/{invoice_id}/send"), headers=actor.headers)


def receipt_mails(mailbox) -> list:
    return [m for m in mailbox.messages if m["Subject"].startswith("Payment received")]


async def test_invoices_go_to_billing_contacts_else_to_the_client_email(
    client, app, mailbox, run_jobs
):
    owner = await make_actor(app)
    globex = await new_client(client, owner, "Globex", email="office@globex.com")
    pat = await new_contact(client, owner, "Pat", email="pat@globex.com", client_id=globex["id"])
    ada = await new_contact(client, owner, "Ada", email="ada@globex.com", client_id=globex["id"])
    assert pat["billing_contact"] is False and ada["billing_contact"] is False
    other = await new_client(client, owner, "Initech")
    await new_contact(
        client,
        owner,
        "Ian",
        email="ian@initech.com",
        client_id=other["id"],
        billing_contact=True,
    )
    invoice = await finalize(client, owner, (await manual_draft(client, owner, globex["id"]))["id"])

    # No billing contact marked: the client's own email, not its contacts.
    r = await send(client, owner, invoice["id"])
    assert r.status_code == 202, r.text
    await run_jobs()
    [message] = invoice_mails(mailbox)
    assert recipients(message) == {"office@globex.com"}

    # Marked: only the billing contacts (not the client's email, nor other contacts).
    r = await patch_contact(client, owner, ada["id"], billing_contact=True)
    assert r.status_code == 200, r.text
    assert r.json()["billing_contact"] is True
    mailbox.messages.clear()
    assert (await send(client, owner, invoice["id"])).status_code == 202
    await run_jobs()
    [message] = invoice_mails(mailbox)
    assert recipients(message) == {"ada@globex.com"}


async def test_contacts_alone_are_not_a_billing_address(client, app, mailbox, run_jobs):
    owner = await make_actor(app)
    acme = await new_client(client, owner, "Acme")  # no email of its own
    pat = await new_contact(client, owner, "Pat", email="pat@acme.com", client_id=acme["id"])
    draft = await manual_draft(client, owner, acme["id"])

    r = await send(client, owner, draft["id"])
    assert_problem(r, 422, "no_billing_contact")
    await run_jobs()
    assert invoice_mails(mailbox) == []

    assert (await patch_contact(client, owner, pat["id"], billing_contact=True)).status_code == 200
    assert (await send(client, owner, draft["id"])).status_code == 202
    await run_jobs()
    [message] = invoice_mails(mailbox)
    assert recipients(message) == {"pat@acme.com"}


async def test_a_billing_contact_needs_an_email_and_a_client(client, app):
    owner = await make_actor(app)
    acme = await new_client(client, owner, "Acme")
    initech = await new_client(client, owner, "Initech")

    r = await client.post(
        owner.url("/contacts"),
        json={"name": "No mail", "client_id": acme["id"], "billing_contact": True},
        headers=owner.headers,
    )
    assert_problem(r, 422, "contact_email_required")
    r = await client.post(
        owner.url("/contacts"),
        json={"name": "Loose", "email": "loose@example.com", "billing_contact": True},
        headers=owner.headers,
    )
    assert_problem(r, 422, "contact_client_required")

    pat = await new_contact(
        client, owner, "Pat", email="pat@acme.com", client_id=acme["id"], billing_contact=True
    )
    assert pat["billing_contact"] is True
    assert_problem(await patch_contact(client, owner, pat["id"], email=None), 422)
    assert_problem(
        await patch_contact(client, owner, pat["id"], client_id=None, billing_contact=True),
        422,
        "contact_client_required",
    )
    assert_problem(await patch_contact(client, owner, pat["id"], billing_contact=None), 422)
    assert (await get_contact(client, owner, pat["id"]))["billing_contact"] is True

    # Moving to another client, or to none: it is not that client's billing contact
    # unless told so.
    r = await patch_contact(client, owner, pat["id"], client_id=initech["id"])
    assert r.status_code == 200, r.text
    assert r.json()["billing_contact"] is False
    r = await patch_contact(client, owner, pat["id"], client_id=acme["id"], billing_contact=True)
    assert r.json()["billing_contact"] is True
    r = await patch_contact(client, owner, pat["id"], client_id=None)
    assert r.status_code == 200, r.text
    assert r.json()["billing_contact"] is False
    r = await patch_contact(client, owner, pat["id"], client_id=acme["id"], billing_contact=True)
    assert r.status_code == 200, r.text
    assert r.json()["billing_contact"] is True


async def test_payment_receipts_go_to_the_billing_contacts(client, app, mailbox, run_jobs):
    owner = await make_actor(app)
    acme = await new_client(client, owner, "Acme", email="office@acme.com")
    await new_contact(client, owner, "Pat", email="pat@acme.com", client_id=acme["id"])
    await new_contact(
        client, owner, "Ada", email="ada@acme.com", client_id=acme["id"], billing_contact=True
    )
    invoice = await finalize(
        client, owner, (await manual_draft(client, owner, acme["id"], 10000))["id"]
    )

    assert (await pay(client, owner, invoice["id"], 4000)).status_code == 201
    await run_jobs()
    [receipt] = receipt_mails(mailbox)
    assert recipients(receipt) == {"ada@acme.com"}
    assert invoice["number"] in receipt["Subject"]
    body = receipt.get_body(preferencelist=("plain",)).get_content()
    assert "40.00 EUR" in body and "60.00 EUR" in body  # paid now, still due

    # Without billing contacts the client's own email gets them.
    bare = await new_client(client, owner, "Bare", email="bare@example.com")
    other = await finalize(
        client, owner, (await manual_draft(client, owner, bare["id"], 5000))["id"]
    )
    mailbox.messages.clear()
    assert (await pay(client, owner, other["id"], 5000)).status_code == 201
    await run_jobs()
    [receipt] = receipt_mails(mailbox)
    assert recipients(receipt) == {"bare@example.com"}

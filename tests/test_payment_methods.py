"""How a client may pay has one source, the client's `payment_methods`: invoice settings
show it (writing it there writes the client's), and the pay link, checkout and the PDF
offer exactly what it allows (with a configured provider)."""

import io

import pypdf

from tests.factories import make_actor
from tests.factories.clients import new_client
from tests.factories.invoices import finalize, manual_draft, put_invoice_settings
from tests.factories.payments import checkout, pay_token
from tests.fakes import (  # noqa: F401  (fixtures)
    stripe_api_fixture,
    stripe_server_fixture,
)
from tests.helpers import assert_problem


def pdf_text(content: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(content))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


async def client_methods(http, actor, client_id: str) -> list[str]:
    r = await http.get(actor.url(f"/clients/{client_id}"), headers=actor.headers)
    assert r.status_code == 200, r.text
    return r.json()["payment_methods"]


async def settings_methods(http, actor, client_id: str) -> list[str]:
    r = await http.get(actor.url(f"/clients/{client_id}/invoice-settings"), headers=actor.headers)
    assert r.status_code == 200, r.text
    return r.json()["payment_methods"]


async def pay_link_methods(http, invoice: dict) -> list[str]:
    r = await http.get(f"/v1/pay/{pay_token(invoice)}")
    assert r.status_code == 200, r.text
    return r.json()["payment_methods"]


async def pdf_words(http, actor, invoice: dict) -> str:
    r = await http.get(actor.url(f"/invoices/{invoice['id']}/pdf"), headers=actor.headers)
    assert r.status_code == 200, r.text
    return pdf_text(r.content)


async def test_invoice_settings_show_and_write_the_clients_methods(client, app):
    owner = await make_actor(app)
    acme = await new_client(client, owner, "Acme", payment_methods=["bank"])
    assert await settings_methods(client, owner, acme["id"]) == ["bank"]

    # Changing the client's methods is seen in its invoice settings.
    r = await client.patch(
        owner.url(f"/clients/{acme['id']}"),
        json={"payment_methods": ["bank", "stripe"]},
        headers=owner.headers,
    )
    assert r.status_code == 200, r.text
    assert await settings_methods(client, owner, acme["id"]) == ["bank", "stripe"]

    # Writing them in the invoice settings writes the client's, which the pay link reads.
    invoice = await finalize(client, owner, (await manual_draft(client, owner, acme["id"]))["id"])
    saved = await put_invoice_settings(client, owner, acme["id"], payment_methods=["crypto"])
    assert saved["payment_methods"] == ["crypto"]
    assert await client_methods(client, owner, acme["id"]) == ["crypto"]
    saved = await put_invoice_settings(client, owner, acme["id"], payment_methods=["bank"])
    assert await client_methods(client, owner, acme["id"]) == ["bank"]
    assert await pay_link_methods(client, invoice) == ["bank"]

    # Leaving them out of a PUT leaves the client's methods alone.
    saved = await put_invoice_settings(client, owner, acme["id"], due_days=30)
    assert saved["payment_methods"] == ["bank"] and saved["due_days"] == 30
    assert await client_methods(client, owner, acme["id"]) == ["bank"]


async def test_checkout_pay_link_and_pdf_follow_the_client(client, app, stripe_api):
    owner = await make_actor(app)
    acme = await new_client(client, owner, "Acme", payment_methods=["stripe"])
    invoice = await finalize(client, owner, (await manual_draft(client, owner, acme["id"]))["id"])
    assert await pay_link_methods(client, invoice) == ["stripe"]
    words = await pdf_words(client, owner, invoice)
    assert "card (Stripe)" in words and "bank transfer" not in words

    # The settings take stripe away (through the client): no method is left anywhere.
    await put_invoice_settings(client, owner, acme["id"], payment_methods=[])
    assert await pay_link_methods(client, invoice) == []
    assert_problem(await checkout(client, owner, invoice["id"]), 422, "payment_method_not_allowed")
    r = await client.post(f"/v1/pay/{pay_token(invoice)}/checkout", json={"provider": "stripe"})
    assert_problem(r, 422, "payment_method_not_allowed")
    words = await pdf_words(client, owner, invoice)
    assert "bank transfer" not in words and "Stripe" not in words

    # Bank again: the PDF (of the same invoice version) says so.
    await put_invoice_settings(client, owner, acme["id"], payment_methods=["bank"])
    words = await pdf_words(client, owner, invoice)
    assert "bank transfer" in words and "Stripe" not in words


async def test_the_pdf_offers_only_providers_that_are_configured(client, app):
    owner = await make_actor(app)  # no provider configured
    acme = await new_client(client, owner, "Acme", payment_methods=["stripe", "crypto", "bank"])
    invoice = await finalize(client, owner, (await manual_draft(client, owner, acme["id"]))["id"])
    assert await pay_link_methods(client, invoice) == ["bank"]
    words = await pdf_words(client, owner, invoice)
    assert "bank transfer" in words
    assert "Stripe" not in words and "crypto" not in words.lower()

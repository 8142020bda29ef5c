"""The hosted pay page (`/pay/{token}`, HTML): each state, its buttons, the team's
language, its security headers, and the form post that sends the client to the provider.
(tests/test_pay_page_browser.py clicks through it in a real browser.)"""

import re

import pytest

from tests.factories import make_actor
from tests.factories.payments import open_invoice, pay, pay_token
from tests.factories.teams import patch_team
from tests.fakes import (  # noqa: F401  (fixtures)
    crypto_gateway_fixture,
    crypto_server_fixture,
    stripe_api_fixture,
    stripe_server_fixture,
)

BANK = "Acme Studio SL\nIBAN ES91 2100 0418 4502 0005 1332"


@pytest.fixture
def providers(stripe_api, crypto_gateway):  # type: ignore[no-untyped-def]
    return stripe_api, crypto_gateway


async def _open(client, app, **team):  # type: ignore[no-untyped-def]
    owner = await make_actor(app)
    if team:
        await patch_team(client, owner, **team)
    invoice = await open_invoice(client, owner, amount=36000, methods=["stripe", "crypto", "bank"])
    return owner, invoice


def _buttons(html: str) -> list[str]:
    return re.findall(r'name="provider" value="(\w+)"', html)


async def test_an_open_invoice_is_a_page_to_pay_it_from(client, app, providers):
    owner, invoice = await _open(client, app, bank_transfer_instructions=BANK)
    r = await client.get(f"/pay/{pay_token(invoice)}")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    html = r.text
    assert '<html lang="en">' in html
    assert invoice["number"] in html
    assert f'data-total="{invoice["total_amount"]}"' in html
    assert "€360.00" in html  # Babel, for the team's locale
    assert _buttons(html) == ["stripe", "crypto"]
    assert "Pay by card" in html and "Pay with crypto" in html
    assert "IBAN ES91 2100 0418 4502 0005 1332" in html
    assert f"Use {invoice['number']} as the reference." in html
    assert f'href="/pay/{pay_token(invoice)}/pdf"' in html
    assert "<script" not in html
    # What the team keeps to itself stays out.
    assert owner.email not in html and str(owner.team_id) not in html


async def test_security_headers(client, app, providers):
    _, invoice = await _open(client, app)
    r = await client.get(f"/pay/{pay_token(invoice)}")
    policy = r.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "frame-ancestors 'none'" in policy
    assert re.search(r"style-src 'sha256-[A-Za-z0-9+/=]+'", policy)
    assert "script-src" not in policy  # nothing runs
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["x-content-type-options"] == "nosniff"


async def test_the_page_speaks_the_teams_language(client, app, providers):
    _, invoice = await _open(client, app, locale="es")
    html = (await client.get(f"/pay/{pay_token(invoice)}")).text
    assert '<html lang="es">' in html
    assert "Pagar con tarjeta" in html and "Importe pendiente" in html
    assert "360,00\xa0€" in html


async def test_a_button_posts_to_checkout_and_is_sent_to_the_provider(
    client, app, providers, settings
):
    stripe_api, _ = providers
    _, invoice = await _open(client, app)
    r = await client.post(f"/pay/{pay_token(invoice)}/checkout", data={"provider": "stripe"})
    assert r.status_code == 303
    assert r.headers["location"].startswith(stripe_api.base_url)
    r = await client.post(f"/pay/{pay_token(invoice)}/checkout", data={"provider": "crypto"})
    assert r.status_code == 303
    assert r.headers["location"].startswith("https://pay.crypto.test/order/")  # the fake's


async def test_a_method_the_client_may_not_use_shows_the_page_with_why(client, app, providers):
    owner = await make_actor(app)
    invoice = await open_invoice(client, owner, methods=["bank"])
    r = await client.post(f"/pay/{pay_token(invoice)}/checkout", data={"provider": "stripe"})
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("text/html")
    assert 'role="alert"' in r.text and "does not pay by stripe" in r.text


async def test_paid_void_unknown_and_draft(client, app, providers):
    owner, invoice = await _open(client, app)
    token = pay_token(invoice)
    r = await client.get(f"/pay/{token}", params={"status": "paid"})  # the return proves nothing
    assert 'data-status="open"' in r.text and "confirming your payment" in r.text
    assert '<meta http-equiv="refresh" content="5">' in r.text
    assert (await pay(client, owner, invoice["id"], 36000)).status_code == 201
    r = await client.get(f"/pay/{token}", params={"status": "paid"})
    assert 'data-status="paid"' in r.text and "This invoice is paid" in r.text
    assert _buttons(r.text) == [] and "refresh" not in r.text

    other = await open_invoice(client, owner, amount=5000)
    r = await client.post(owner.url(f"/invoices/{other['id']}/void"), headers=owner.headers)
    assert r.status_code == 200, r.text
    r = await client.get(f"/pay/{pay_token(other)}")
    assert r.status_code == 200 and 'data-status="void"' in r.text and _buttons(r.text) == []

    for missing in ("/pay/not-a-real-token", "/pay/not-a-real-token/pdf"):
        r = await client.get(missing)
        assert r.status_code == 404
        assert r.headers["content-type"].startswith("text/html")
        assert "Invoice not found" in r.text
    r = await client.post("/pay/not-a-real-token/checkout", data={"provider": "stripe"})
    assert r.status_code == 404 and "Invoice not found" in r.text


async def test_the_pdf_downloads_from_the_page(client, app, providers):
    _, invoice = await _open(client, app)
    r = await client.get(f"/pay/{pay_token(invoice)}/pdf")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF")
    assert f'filename="{invoice["number"]}.pdf"' in r.headers["content-disposition"]


async def test_the_team_sets_its_locale_and_bank_instructions(client, app):
    owner = await make_actor(app)
    team = await patch_team(client, owner, locale="es", bank_transfer_instructions=BANK)
    assert team["locale"] == "es" and team["bank_transfer_instructions"] == BANK
    r = await client.patch(owner.url(), json={"locale": "fr"}, headers=owner.headers)
    assert r.status_code == 422

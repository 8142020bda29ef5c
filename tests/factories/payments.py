"""Payments driven through the API: a client who may pay every way, an open invoice to
pay, manual payments and refunds, checkout; and who a payment mail went to."""

from tests.factories.accounts import Actor
from tests.factories.clients import new_client
from tests.factories.invoices import finalize, manual_draft

ALL_METHODS = ["stripe", "crypto", "bank"]


async def payable_client(
    http,
    actor: Actor,
    *,
    name: str = "Acme",
    currency: str = "EUR",
    methods: list[str] | None = None,
    **extra,
) -> str:
    """The id of a new client who may pay by `methods` (every method by default)."""
    methods = ALL_METHODS if methods is None else methods
    client = await new_client(
        http, actor, name, currency=currency, payment_methods=methods, **extra
    )
    return client["id"]


async def open_invoice(
    http,
    actor: Actor,
    *,
    amount: int = 10000,
    currency: str = "EUR",
    methods: list[str] | None = None,
    client_id: str | None = None,
) -> dict:
    """An open invoice of one manual line of `amount` (no tax), for a new client."""
    if client_id is None:
        client_id = await payable_client(http, actor, currency=currency, methods=methods)
    draft = await manual_draft(http, actor, client_id, amount)
    invoice = await finalize(http, actor, draft["id"])
    assert invoice["total_amount"] == amount, invoice
    assert invoice["amount_due"] == amount
    return invoice


async def invoice_payments(http, actor: Actor, invoice_id: str) -> list[dict]:
    r = await http.get(actor.url(f"/invoices/{invoice_id}/payments"), headers=actor.headers)
    assert r.status_code == 200, r.text
    return r.json()["data"]


async def pay(http, actor: Actor, invoice_id: str, amount: int, method: str = "bank", **extra):
    """The request recording a payment; the response, whatever it is."""
    return await http.post(
        actor.url(f"/invoices/{invoice_id}/payments"),
        json={"amount": amount, "method": method, **extra},
        headers=actor.headers,
    )


async def refund(http, actor: Actor, payment_id: str, amount: int, **extra):
    """The request refunding (part of) a payment; the response, whatever it is."""
    return await http.post(
        actor.url(f"/payments/{payment_id}/refund"),
        json={"amount": amount, **extra},
        headers=actor.headers,
    )


async def checkout(http, actor: Actor, invoice_id: str, provider: str = "stripe"):
    """The request starting a checkout with `provider`; the response, whatever it is."""
    return await http.post(
        actor.url(f"/invoices/{invoice_id}/checkout"),
        json={"provider": provider},
        headers=actor.headers,
    )


def pay_token(invoice: dict) -> str:
    return invoice["pay_url"].rstrip("/").rsplit("/", 1)[-1]


def recipients(message) -> set[str]:
    return {a.strip() for a in str(message["To"]).split(",")}

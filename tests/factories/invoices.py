"""Invoices driven through the API: drafts (from time, or of manual lines), finalizing,
the client's invoice settings, exchange rates; and reading lines, numbers and mails back."""

from tests.factories.accounts import Actor
from tests.helpers import today

MARCH = {"period_start": "2026-03-01", "period_end": "2026-03-31"}


def number(seq: int, year: int | None = None) -> str:
    """The team's `seq`th invoice number of `year` (this year by default)."""
    return f"INV-{year or today().year}-{seq:04d}"


async def put_invoice_settings(http, actor: Actor, client_id: str, **fields) -> dict:
    r = await http.put(
        actor.url(f"/clients/{client_id}/invoice-settings"), json=fields, headers=actor.headers
    )
    assert r.status_code == 200, r.text
    return r.json()


async def add_exchange_rate(
    http, actor: Actor, currency: str, rate: str, effective_from: str = "2026-01-01"
) -> dict:
    r = await http.post(
        actor.url("/exchange-rates"),
        json={"currency": currency, "rate": rate, "effective_from": effective_from},
        headers=actor.headers,
    )
    assert r.status_code == 201, r.text
    return r.json()


# ------------------------------------------------------------------ drafts


async def post_invoice(http, actor: Actor, client_id: str, **body):
    """The request drafting an invoice for the client; the response, whatever it is."""
    return await http.post(
        actor.url("/invoices"), json={"client_id": client_id, **body}, headers=actor.headers
    )


async def create_invoice(http, actor: Actor, client_id: str, **body) -> dict:
    r = await post_invoice(http, actor, client_id, **body)
    assert r.status_code == 201, r.text
    return r.json()


async def manual_draft(
    http, actor: Actor, client_id: str, unit_amount: int = 10000, **body
) -> dict:
    """A draft with one manual line and no time."""
    lines = [{"description": "Consulting", "quantity": "1", "unit_amount": unit_amount}]
    return await create_invoice(http, actor, client_id, lines=lines, **body)


async def get_invoice(http, actor: Actor, invoice_id: str) -> dict:
    r = await http.get(actor.url(f"/invoices/{invoice_id}"), headers=actor.headers)
    assert r.status_code == 200, r.text
    return r.json()


async def finalize(http, actor: Actor, invoice_id: str) -> dict:
    """Issue the draft: it must become open."""
    r = await http.post(actor.url(f"/invoices/{invoice_id}/finalize"), headers=actor.headers)
    assert r.status_code == 200, r.text
    invoice = r.json()
    assert invoice["status"] == "open", invoice
    return invoice


# ------------------------------------------------------------------ reading back


async def entry_invoice_id(http, actor: Actor, entry_id: str) -> str | None:
    """The invoice a time entry is billed on, if any."""
    r = await http.get(actor.url(f"/time-entries/{entry_id}"), headers=actor.headers)
    assert r.status_code == 200, r.text
    return r.json()["invoice_id"]


def line_for(invoice: dict, project_id: str, user_id) -> dict:
    """The one time line billing `user_id`'s time on the project."""
    found = [
        line
        for line in invoice["lines"]
        if line["project_id"] == project_id and line["user_id"] == str(user_id)
    ]
    assert len(found) == 1, invoice["lines"]
    return found[0]


def manual_lines(invoice: dict) -> list[dict]:
    return [line for line in invoice["lines"] if line["kind"] == "manual"]


def time_lines(invoice: dict) -> list[dict]:
    return [line for line in invoice["lines"] if line["kind"] == "time"]


def invoice_mails(mailbox) -> list:
    return [m for m in mailbox.messages if m["Subject"].startswith("Invoice ")]

"""Invoice PDFs rendered with Typst, cached per invoice version and content."""

import asyncio
import hashlib
import json
import uuid
from decimal import Decimal
from pathlib import Path

import typst
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.clients.models import Client
from app.config import Settings
from app.core.context import TeamContext
from app.core.money import format_amount
from app.invoices.models import Invoice, InvoiceLine, InvoicePdf, InvoiceStatus, LineKind
from app.invoices.payment_methods import payment_instructions, usable_methods
from app.invoices.service import get_invoice, lines_of, pay_url
from app.teams.models import Team

TEMPLATE = (Path(__file__).parent / "invoice.typ").read_bytes()


def _hours(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d} h"


def _quantity(line: InvoiceLine) -> str:
    if line.kind is LineKind.time:
        return _hours(line.quantity_seconds or 0)
    return format(line.quantity.normalize() if line.quantity is not None else Decimal(0), "f")


def _bps(bps: int) -> str:
    """1000 -> "10 %", 1950 -> "19.5 %", 0 -> "0 %"."""
    whole, rest = divmod(bps, 100)
    return (f"{whole}" if rest == 0 else f"{whole}.{rest:02d}".rstrip("0")) + " %"


def document_data(
    settings: Settings, team: Team, client: Client, invoice: Invoice, lines: list[InvoiceLine]
) -> dict[str, object]:
    """Everything the template prints, already formatted (amounts in the currency's digits)."""
    cur = invoice.currency
    money = lambda amount: format_amount(amount, cur)  # noqa: E731
    heading = {
        InvoiceStatus.draft: "Draft invoice",
        InvoiceStatus.void: "Void invoice",
    }.get(invoice.status, "Invoice")
    period = None
    if invoice.period_start and invoice.period_end:
        period = f"{invoice.period_start.isoformat()} to {invoice.period_end.isoformat()}"
    methods = usable_methods(settings, client)
    online = any(m.value != "bank" for m in methods)
    return {
        "title": f"{heading} {invoice.number or ''}".strip(),
        "heading": heading,
        "number": invoice.number,
        "status": invoice.status.value,
        "team_name": team.name,
        "client_name": client.name,
        "client_address_lines": (client.address or "").splitlines(),
        "client_tax_id": client.tax_id,
        "issue_date": invoice.issue_date.isoformat() if invoice.issue_date else None,
        "due_date": invoice.due_date.isoformat() if invoice.due_date else None,
        "period": period,
        "lines": [
            {
                "description": line.description,
                "quantity": _quantity(line),
                "unit": money(line.unit_amount) + (" / h" if line.kind is LineKind.time else ""),
                "tax": _bps(line.tax_rate_bps),
                "amount": money(line.amount),
            }
            for line in lines
        ],
        "subtotal": money(invoice.subtotal_amount),
        "discount": money(invoice.discount_amount) if invoice.discount_bps else None,
        "discount_rate": _bps(invoice.discount_bps),
        "tax": money(invoice.tax_amount),
        "total": money(invoice.total_amount),
        "paid": money(invoice.amount_paid),
        "due": money(invoice.total_amount - invoice.amount_paid),
        "notes": invoice.notes,
        "payment_instructions": payment_instructions(methods),
        "pay_label": "Pay online" if online else "View online",
        "pay_url": pay_url(settings, invoice),
    }


def render(data: dict[str, object]) -> bytes:
    """The PDF of the template filled with `data`."""
    return typst.compile(  # type: ignore[no-any-return]
        TEMPLATE, sys_inputs={"data": json.dumps(data)}, ignore_system_fonts=True
    )


def fingerprint(data: dict[str, object]) -> str:
    """What a render depends on: the template and the data it prints."""
    digest = hashlib.sha256(TEMPLATE)
    digest.update(json.dumps(data, sort_keys=True).encode())
    return digest.hexdigest()


async def invoice_pdf(session: AsyncSession, settings: Settings, invoice: Invoice) -> bytes:
    """The PDF of the invoice's current version, rendered once and then served from cache.

    The cache is keyed by version and by what the document prints, so what is read from
    outside the invoice (the client's payment methods, which providers are configured)
    renders afresh when it changes.
    """
    team = await session.get(Team, invoice.team_id)
    client = await session.get(Client, invoice.client_id)
    assert team is not None and client is not None
    lines = (await lines_of(session, [invoice.id]))[invoice.id]
    data = document_data(settings, team, client, invoice, lines)
    key = fingerprint(data)
    cached = await session.scalar(
        select(InvoicePdf.content).where(
            InvoicePdf.invoice_id == invoice.id,
            InvoicePdf.version == invoice.version,
            InvoicePdf.fingerprint == key,
        )
    )
    if cached is not None:
        return cached
    # Typst is CPU-bound: keep the event loop free while it works.
    content = await asyncio.to_thread(render, data)
    stmt = insert(InvoicePdf).values(
        team_id=invoice.team_id,
        invoice_id=invoice.id,
        version=invoice.version,
        fingerprint=key,
        content=content,
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[InvoicePdf.invoice_id],
            set_={
                "version": stmt.excluded.version,
                "fingerprint": stmt.excluded.fingerprint,
                "content": stmt.excluded.content,
            },
        )
    )
    return content


async def pdf_download(
    session: AsyncSession, ctx: TeamContext, settings: Settings, invoice_id: uuid.UUID
) -> tuple[bytes, str]:
    """The PDF of an invoice the caller may see, and its file name."""
    invoice = await get_invoice(session, ctx, invoice_id)
    content = await invoice_pdf(session, settings, invoice)
    name = invoice.number or f"draft-{invoice.id}"
    return content, f"{name}.pdf"

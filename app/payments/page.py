"""The hosted pay page: `/pay/{token}` (outside `/v1`), the invoice a pay link names as a
server-rendered HTML page a client can pay from, with no front end built.

- One page per state: open (a button per payment method the client may use: card,
  crypto, and the team's bank transfer instructions), paid, void; an unknown token or a
  draft is a 404 page. Never JSON: `GET /v1/pay/{token}` stays for front ends that build
  their own page.
- The buttons are plain forms posting to `/pay/{token}/checkout`, which starts a checkout
  with the payments service and answers 303 to the provider: it works with JavaScript
  off. The provider returns to `/pay/{token}?status=paid`; the page shows what the
  provider's webhook recorded, never what the return claims (until the webhook arrives it
  says the payment is being confirmed, and refreshes itself).
- The team's `locale` (en, es) picks the words; Babel formats amounts and dates for it.
- Strict security headers on every page: a Content-Security-Policy allowing nothing but
  its own inline stylesheet (by hash) and form posts to itself and to providers,
  `frame-ancestors 'none'`, `Referrer-Policy: no-referrer` (the token is in the URL).
"""

import base64
import hashlib
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from babel.dates import format_date
from babel.numbers import format_currency
from fastapi import Form, Query
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.core.deps import DbSession, SettingsDep
from app.core.errors import AppError, NotFound
from app.core.money import exponent
from app.core.openapi import PDF_RESPONSE, PROBLEM_RESPONSES
from app.core.responses import pdf_response
from app.core.routing import APIRouter
from app.core.schemas import Problem
from app.invoices import service as invoice_service
from app.invoices.models import InvoiceStatus
from app.invoices.pdf import invoice_pdf
from app.payments import checkout
from app.payments.schemas import Provider
from app.teams.service import team_by_id

page_router = APIRouter(tags=["pay_page"])

_TEMPLATES = Path(__file__).resolve().parent / "templates"
_ENV = Environment(
    loader=FileSystemLoader(_TEMPLATES), autoescape=select_autoescape(["html"]), auto_reload=False
)
_CSS = (_TEMPLATES / "pay.css").read_text()
_CSS_HASH = base64.b64encode(hashlib.sha256(_CSS.encode()).digest()).decode()

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "invoice": "Invoice",
        "from": "From",
        "billed_to": "Billed to",
        "issued": "Issued",
        "due_date": "Due",
        "description": "Description",
        "amount": "Amount",
        "subtotal": "Subtotal",
        "discount": "Discount",
        "tax": "Tax",
        "total": "Total",
        "paid": "Paid",
        "due": "Amount due",
        "status": "Status",
        "status_open": "Open",
        "status_overdue": "Overdue",
        "status_paid": "Paid",
        "status_void": "Void",
        "pay": "Pay",
        "pay_stripe": "Pay by card",
        "pay_crypto": "Pay with crypto",
        "bank": "Pay by bank transfer",
        "bank_reference": "Use {number} as the reference.",
        "download": "Download the PDF",
        "paid_note": "This invoice is paid. Thank you!",
        "void_note": "This invoice was cancelled: nothing is due.",
        "confirming": "Thank you! We are confirming your payment; this page will update "
        "itself shortly.",
        "not_found_title": "Invoice not found",
        "not_found": "This payment link is not valid. Please ask the sender for a new one.",
        "error": "The payment could not be started: {detail}",
        "no_methods": "Online payment is not available for this invoice. Please contact "
        "the sender.",
    },
    "es": {
        "invoice": "Factura",
        "from": "De",
        "billed_to": "Facturado a",
        "issued": "Emitida",
        "due_date": "Vencimiento",
        "description": "Concepto",
        "amount": "Importe",
        "subtotal": "Subtotal",
        "discount": "Descuento",
        "tax": "Impuestos",
        "total": "Total",
        "paid": "Pagado",
        "due": "Importe pendiente",
        "status": "Estado",
        "status_open": "Pendiente",
        "status_overdue": "Vencida",
        "status_paid": "Pagada",
        "status_void": "Anulada",
        "pay": "Pagar",
        "pay_stripe": "Pagar con tarjeta",
        "pay_crypto": "Pagar con criptomonedas",
        "bank": "Pagar por transferencia bancaria",
        "bank_reference": "Indica {number} como referencia.",
        "download": "Descargar el PDF",
        "paid_note": "Esta factura está pagada. ¡Gracias!",
        "void_note": "Esta factura fue anulada: no hay nada pendiente.",
        "confirming": "¡Gracias! Estamos confirmando tu pago; esta página se actualizará "
        "sola en breve.",
        "not_found_title": "Factura no encontrada",
        "not_found": "Este enlace de pago no es válido. Pide uno nuevo a quien te lo envió.",
        "error": "No se pudo iniciar el pago: {detail}",
        "no_methods": "El pago en línea no está disponible para esta factura. Ponte en "
        "contacto con quien la envió.",
    },
}
DEFAULT_LOCALE = "en"


def _headers(settings: Settings) -> dict[str, str]:
    """No script, no third party: the page's own stylesheet, and forms that post to the
    page (whose 303 then goes to a provider: form-action must allow the provider too)."""
    targets = ["'self'", "https:"]
    for base in (settings.stripe_api_base, settings.crypto_api_base):
        if base:  # a local provider (tests, development) may be plain http
            parts = urlsplit(base)
            targets.append(f"{parts.scheme}://{parts.netloc}")
    policy = "; ".join(
        [
            "default-src 'none'",
            f"style-src 'sha256-{_CSS_HASH}'",
            "img-src 'self'",
            f"form-action {' '.join(dict.fromkeys(targets))}",
            "frame-ancestors 'none'",
            "base-uri 'none'",
        ]
    )
    return {
        "Content-Security-Policy": policy,
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Cache-Control": "no-store",
    }


def _money(amount: int, currency: str, locale: str) -> str:
    major = Decimal(amount).scaleb(-exponent(currency))
    return format_currency(major, currency, locale=locale, currency_digits=True)


def _render(
    settings: Settings, name: str, locale: str, status_code: int = 200, **context: Any
) -> HTMLResponse:
    words = WORDS.get(locale, WORDS[DEFAULT_LOCALE])
    html = _ENV.get_template(name).render(words=words, locale=locale, css=_CSS, **context)
    return HTMLResponse(html, status_code=status_code, headers=_headers(settings))


async def _page(
    session: AsyncSession,
    settings: Settings,
    token: str,
    *,
    returned: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    found = await invoice_service.invoice_by_pay_token(session, token)
    invoice = await checkout.public_view(session, settings, found)
    team = await team_by_id(session, found.team_id)  # loaded by the view: no query
    locale = team.locale if team.locale in WORDS else DEFAULT_LOCALE
    methods = [m.value for m in invoice.payment_methods] if invoice.amount_due > 0 else []
    confirming = (
        returned == "paid" and invoice.status is InvoiceStatus.open and invoice.amount_due > 0
    )
    return _render(
        settings,
        "pay.html",
        locale,
        status_code,
        token=token,
        invoice=invoice,
        money=lambda amount: _money(amount, invoice.currency, locale),
        day=lambda value: format_date(value, format="long", locale=locale) if value else "",
        online=[m for m in methods if m in (Provider.stripe.value, Provider.crypto.value)],
        bank=team.bank_transfer_instructions if "bank" in methods else None,
        confirming=confirming,
        error=error,
    )


def _not_found(settings: Settings) -> HTMLResponse:
    return _render(settings, "not_found.html", DEFAULT_LOCALE, 404)


_HTML = {"text/html": {"schema": {"type": "string"}}}


def _page_error(description: str) -> dict[str, Any]:
    """An error a page answers as a page (HTML), or, when it arises before the page's own
    code runs (a malformed form, an unreachable database), as problem+json."""
    return {"model": Problem, "description": description, "content": _HTML}


_PAGE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": _HTML, "description": "The page"},
    400: PROBLEM_RESPONSES[400],
    422: PROBLEM_RESPONSES[422],
    404: _page_error("An unknown link, or a draft: a page saying so"),
    500: PROBLEM_RESPONSES[500],
    503: PROBLEM_RESPONSES[503],
}
_CHECKOUT_RESPONSES: dict[int | str, dict[str, Any]] = {
    **{status: r for status, r in _PAGE_RESPONSES.items() if status != 200},
    303: {"description": "To the provider's payment page"},
    409: _page_error("The page again, saying why the payment could not start"),
    422: _page_error("The page again, saying why (or a malformed form, as problem+json)"),
    503: _page_error("The page again: the provider is not configured or unreachable"),
}


@page_router.get("/pay/{token}", response_class=Response, responses=_PAGE_RESPONSES)
async def show(
    token: str,
    session: DbSession,
    settings: SettingsDep,
    status: Annotated[
        str | None,
        Query(max_length=20, description="Set by the provider's return: shown, never trusted"),
    ] = None,
) -> HTMLResponse:
    """The invoice behind a pay link as a page its client can pay from."""
    try:
        return await _page(session, settings, token, returned=status)
    except NotFound:
        return _not_found(settings)


@page_router.get(
    "/pay/{token}/pdf",
    response_class=Response,
    responses={
        **_PAGE_RESPONSES,
        200: PDF_RESPONSE,
    },
)
async def download_pdf(token: str, session: DbSession, settings: SettingsDep) -> Response:
    """The PDF of the invoice behind a pay link."""
    try:
        invoice = await invoice_service.invoice_by_pay_token(session, token)
    except NotFound:
        return _not_found(settings)
    content = await invoice_pdf(session, settings, invoice)
    name = f"{invoice.number or 'invoice'}.pdf"
    return pdf_response(content, name, download=True, headers=_headers(settings))


@page_router.post(
    "/pay/{token}/checkout",
    response_class=Response,
    status_code=303,
    responses=_CHECKOUT_RESPONSES,
)
async def pay_with(
    token: str,
    provider: Annotated[Provider, Form(description="`stripe` (card) or `crypto`")],
    session: DbSession,
    settings: SettingsDep,
) -> Response:
    """A pay page's button: start paying at the provider (a plain form post, answered with
    a redirect)."""
    try:
        started = await checkout.checkout_by_pay_token(session, settings, token, provider)
    except NotFound:
        return _not_found(settings)
    except AppError as exc:
        return await _page(session, settings, token, error=exc.detail, status_code=exc.status)
    return RedirectResponse(started.url, status_code=303, headers=_headers(settings))

"""A PassimPay-style crypto gateway: orders over HTTP, HMAC-SHA256 signed callbacks.

Wire format: docs/payments.md.
"""

import hashlib
import hmac
import json
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.core.errors import AppError, BadRequest, ServiceUnavailable, Unprocessable
from app.core.money import exponent, is_currency
from app.invoices.models import Invoice
from app.payments import service
from app.payments.models import Checkout, Payment, PaymentMethodUsed, PaymentStatus
from app.payments.providers import EventNotReady

PROVIDER = "crypto"
SIGNATURE_HEADER = "X-Signature"


def configured(settings: Settings) -> bool:
    """True when the gateway's base URL and API key are set."""
    return settings.crypto_configured


def sign(secret: str, body: bytes) -> str:
    """The hex HMAC-SHA256 of `body` under `secret`."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def major_units(amount: int, currency: str) -> str:
    """Minor units as the gateway's decimal string in major units."""
    return f"{Decimal(amount).scaleb(-exponent(currency)):f}"


def minor_units(value: str, currency: str) -> int:
    """The gateway's decimal amount in minor units; 400 if not a positive whole amount."""
    try:
        amount = Decimal(value).scaleb(exponent(currency))
    except InvalidOperation:
        raise BadRequest("`amount` is not a number.", code="invalid_payload") from None
    if amount != amount.to_integral_value() or amount <= 0:
        raise BadRequest("`amount` has more digits than the currency.", code="invalid_payload")
    return int(amount)


async def create_order(
    settings: Settings, invoice: Invoice, reference: str, amount: int, return_url: str
) -> tuple[str, str]:
    """Create a payment order at the gateway; returns (order id, payment page url)."""
    if not configured(settings):
        raise ServiceUnavailable(
            "The crypto provider is not configured.", code="provider_not_configured"
        )
    body = json.dumps(
        {
            "reference": reference,
            "amount": major_units(amount, invoice.currency),
            "currency": invoice.currency,
            "description": f"Invoice {invoice.number}",
            "callback_url": f"{settings.api_url}/v1/webhooks/crypto",
            "return_url": return_url,
        },
        separators=(",", ":"),
    ).encode()
    headers = {
        "Authorization": f"Bearer {settings.crypto_api_key}",
        "Content-Type": "application/json",
    }
    async with httpx.AsyncClient(base_url=settings.crypto_api_base or "", timeout=15) as http:
        try:
            response = await http.post("/v1/orders", content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(
                f"The crypto provider did not answer: {exc}", code="provider_error"
            ) from None
    if response.status_code >= 300:
        raise ServiceUnavailable(
            f"The crypto provider refused the order ({response.status_code}).",
            code="provider_error",
        )
    try:
        data = response.json()
        return str(data["id"]), str(data["url"])
    except (ValueError, KeyError, TypeError):
        raise ServiceUnavailable(
            "The crypto provider answered without an order id and url.", code="provider_error"
        ) from None


def verify(settings: Settings, payload: bytes, signature: str | None) -> dict[str, Any]:
    """The callback, if its signature matches the body and it has the fields needed."""
    if not settings.crypto_webhook_secret:
        raise ServiceUnavailable(
            "Crypto webhooks are not configured.", code="provider_not_configured"
        )
    if not signature:
        raise BadRequest(f"Missing {SIGNATURE_HEADER} header.", code="missing_signature")
    if not hmac.compare_digest(
        sign(settings.crypto_webhook_secret, payload), signature.strip().lower()
    ):
        raise AppError("The signature does not match the body.", code="invalid_signature")
    try:
        event = json.loads(payload)
    except ValueError:
        raise BadRequest("The body is not JSON.", code="invalid_payload") from None
    required = {"event_id", "order_id", "status", "amount", "currency"}
    if not isinstance(event, dict) or not required <= event.keys():
        raise BadRequest("Missing fields: " + ", ".join(sorted(required)), code="invalid_payload")
    return event


async def apply_event(session: AsyncSession, event: dict[str, Any]) -> None:
    """`paid`/`partial`: record that payment (keyed by its txid); `failed`: record the
    attempt; `refunded`: record the refund of the payment `txid` (keyed by `refund_id`)."""
    checkout = await session.scalar(
        select(Checkout).where(
            Checkout.provider == PROVIDER, Checkout.provider_checkout_id == str(event["order_id"])
        )
    )
    if checkout is None:
        raise EventNotReady(f"unknown order {event['order_id']}")
    invoice = await service.lock_invoice(session, checkout.invoice_id)
    paid_in = str(event["currency"]).upper()
    amount = minor_units(
        str(event["amount"]), paid_in if is_currency(paid_in) else invoice.currency
    )
    txid = str(event.get("txid") or event["event_id"])
    if event["status"] in ("paid", "partial"):
        if str(event["currency"]).upper() != invoice.currency:
            await service.record_unapplied(
                session,
                invoice,
                amount=amount,
                method=PaymentMethodUsed.crypto,
                provider=PROVIDER,
                provider_payment_id=txid,
                code=f"currency_mismatch: paid {event['amount']} {event['currency']}",
            )
            return
        await service.apply_provider_payment(
            session,
            invoice,
            amount=amount,
            method=PaymentMethodUsed.crypto,
            provider=PROVIDER,
            provider_payment_id=txid,
            paid_at=datetime.now(UTC),
        )
    elif event["status"] == "refunded":
        await _refunded(session, invoice, event, amount, paid_in)
    elif event["status"] == "failed":
        await service.record_failure(
            session,
            invoice,
            amount=amount,
            method=PaymentMethodUsed.crypto,
            provider=PROVIDER,
            provider_payment_id=txid,
            reason=str(event.get("reason") or "failed"),
        )


async def _refunded(
    session: AsyncSession, invoice: Invoice, event: dict[str, Any], amount: int, currency: str
) -> None:
    """The gateway gave back `amount` of the payment `txid` (the invoice is locked)."""
    txid = event.get("txid")
    if not txid:
        raise BadRequest("A refund names the refunded payment's `txid`.", code="invalid_payload")
    payments = (
        await session.scalars(
            select(Payment)
            .where(Payment.provider == PROVIDER, Payment.provider_payment_id == str(txid))
            .order_by(Payment.created_at)
        )
    ).all()
    # The payment itself, else money kept as "received but not applied".
    payment = next((p for p in payments if p.status is PaymentStatus.succeeded), None) or next(
        (p for p in payments if (p.failure_reason or "").startswith(service.UNAPPLIED)), None
    )
    if payment is None:
        raise EventNotReady(f"no payment recorded yet for {txid}")
    if payment.invoice_id != invoice.id:
        raise Unprocessable(
            "The refunded payment belongs to another order.", code="refund_payment_mismatch"
        )
    if currency != payment.currency:
        raise Unprocessable(
            f"A refund in {currency} of a payment in {payment.currency}.", code="currency_mismatch"
        )
    payment = await session.get(Payment, payment.id, with_for_update=True, populate_existing=True)
    assert payment is not None
    await service.apply_refund(
        session,
        invoice,
        payment,
        amount=amount,
        reason=str(event["reason"])[:500] if event.get("reason") else None,
        provider=PROVIDER,
        provider_refund_id=str(event.get("refund_id") or event["event_id"])[:200],
    )

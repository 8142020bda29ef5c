"""Stripe Checkout and Stripe webhook events, through stripe-python's StripeClient."""

import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import stripe
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.clients.models import Client
from app.config import Settings
from app.core.errors import AppError, BadRequest, ServiceUnavailable
from app.invoices.models import Invoice
from app.payments import service
from app.payments.models import Payment, PaymentMethodUsed, PaymentStatus
from app.payments.providers import EventNotReady

PROVIDER = "stripe"
# How far a signature's timestamp may be from now, either way.
SIGNATURE_TOLERANCE_SECONDS = 300


def configured(settings: Settings) -> bool:
    """True when a Stripe secret key is set."""
    return settings.stripe_configured


def client_for(settings: Settings) -> stripe.StripeClient:
    """A Stripe API client for the configured account; 503 when not configured."""
    if not settings.stripe_secret_key:
        raise ServiceUnavailable("Stripe is not configured.", code="provider_not_configured")
    base = {"api": settings.stripe_api_base} if settings.stripe_api_base else None
    return stripe.StripeClient(
        settings.stripe_secret_key,
        base_addresses=base,  # type: ignore[arg-type]
        http_client=stripe.HTTPXClient(),
        max_network_retries=2,
    )


async def create_checkout(
    session: AsyncSession,
    settings: Settings,
    invoice: Invoice,
    client: Client,
    amount: int,
    return_url: str,
) -> tuple[str, str]:
    """A Checkout Session for `amount` of the invoice; returns (session id, url).

    The client's Stripe customer is created on first use and stored on the client.
    """
    api = client_for(settings)
    try:
        if not client.stripe_customer_id:
            await _ensure_customer(session, api, client)
        return await _checkout(api, invoice, client, amount, return_url)
    except stripe.StripeError as exc:
        raise ServiceUnavailable(
            f"Stripe refused or did not answer: {exc.user_message or exc}", code="provider_error"
        ) from None


async def _ensure_customer(session: AsyncSession, api: stripe.StripeClient, client: Client) -> None:
    """The client's Stripe customer, created once: Stripe's idempotency key makes
    concurrent first checkouts get the same customer, and only the first id is stored."""
    customer = await api.v1.customers.create_async(
        params={
            "name": client.name,
            **({"email": client.email} if client.email else {}),
            "metadata": {"client_id": str(client.id), "team_id": str(client.team_id)},
        },
        options={"idempotency_key": f"hourline-customer-{client.id}"},
    )
    await session.execute(
        update(Client)
        .where(Client.id == client.id, Client.stripe_customer_id.is_(None))
        .values(stripe_customer_id=customer.id)
    )
    await session.refresh(client, ["stripe_customer_id"])


async def _checkout(
    api: stripe.StripeClient, invoice: Invoice, client: Client, amount: int, return_url: str
) -> tuple[str, str]:
    metadata = {"invoice_id": str(invoice.id), "team_id": str(invoice.team_id)}
    checkout = await api.v1.checkout.sessions.create_async(
        params={
            "mode": "payment",
            "customer": client.stripe_customer_id,
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": invoice.currency.lower(),
                        "unit_amount": amount,
                        "product_data": {"name": f"Invoice {invoice.number}"},
                    },
                }
            ],
            "metadata": metadata,
            "payment_intent_data": {"metadata": metadata},
            "success_url": f"{return_url}?status=paid",
            "cancel_url": return_url,
        }
    )
    if not checkout.url:
        raise BadRequest("Stripe returned no checkout URL.", code="provider_error")
    return checkout.id, checkout.url


def verify(settings: Settings, payload: bytes, signature: str | None) -> dict[str, Any]:
    """The event, if the `Stripe-Signature` header signs this exact body, dated within
    the tolerance of now (stripe-python checks only the past side)."""
    if not settings.stripe_webhook_secret:
        raise ServiceUnavailable(
            "Stripe webhooks are not configured.", code="provider_not_configured"
        )
    if not signature:
        raise BadRequest("Missing Stripe-Signature header.", code="missing_signature")
    try:
        stripe.WebhookSignature.verify_header(
            payload.decode("utf-8"),
            signature,
            settings.stripe_webhook_secret,
            tolerance=SIGNATURE_TOLERANCE_SECONDS,
        )
    except stripe.SignatureVerificationError as exc:
        raise AppError(str(exc), code="invalid_signature") from None
    except UnicodeDecodeError:
        raise BadRequest("The body is not UTF-8.", code="invalid_payload") from None
    if _signed_at(signature) > time.time() + SIGNATURE_TOLERANCE_SECONDS:
        raise AppError("The signature is dated in the future.", code="invalid_signature")
    try:
        event = json.loads(payload)
    except ValueError:
        raise BadRequest("The body is not JSON.", code="invalid_payload") from None
    if not isinstance(event, dict) or "id" not in event or "type" not in event:
        raise BadRequest("Not a Stripe event.", code="invalid_payload")
    return event


def _signed_at(signature: str) -> int:
    """The `t=` of a header stripe-python has verified (so it is there, an integer),
    read the way stripe-python reads it."""
    for item in signature.split(","):
        parts = item.split("=", 2)
        if parts[0] == "t":
            return int(parts[1])
    raise AppError("The signature has no timestamp.", code="invalid_signature")


def _invoice_id(obj: dict[str, Any]) -> uuid.UUID | None:
    raw = (obj.get("metadata") or {}).get("invoice_id")
    try:
        return uuid.UUID(raw) if raw else None
    except ValueError:
        return None


async def _received(
    session: AsyncSession, invoice_id: uuid.UUID, amount: int, intent: str, created: int
) -> None:
    invoice = await service.lock_invoice(session, invoice_id)
    await service.apply_provider_payment(
        session,
        invoice,
        amount=amount,
        method=PaymentMethodUsed.stripe,
        provider=PROVIDER,
        provider_payment_id=intent,
        paid_at=datetime.fromtimestamp(created, UTC),
    )


async def apply_event(session: AsyncSession, event: dict[str, Any]) -> None:
    """Apply one Stripe event; replays change nothing (payments and refunds are keyed by
    Stripe's ids). Raises EventNotReady when a refund arrives before its payment."""
    obj = event["data"]["object"]
    kind = event["type"]
    created = int(event.get("created") or datetime.now(UTC).timestamp())
    if kind == "checkout.session.completed":
        invoice_id = _invoice_id(obj)
        if invoice_id is None or obj.get("payment_status") != "paid":
            return
        intent = obj.get("payment_intent") or obj["id"]
        await _received(session, invoice_id, int(obj["amount_total"]), intent, created)
    elif kind == "payment_intent.succeeded":
        invoice_id = _invoice_id(obj)
        if invoice_id is None:
            return
        await _received(session, invoice_id, int(obj["amount_received"]), obj["id"], created)
    elif kind == "payment_intent.payment_failed":
        invoice_id = _invoice_id(obj)
        if invoice_id is None:
            return
        invoice = await service.lock_invoice(session, invoice_id)
        error = obj.get("last_payment_error") or {}
        await service.record_failure(
            session,
            invoice,
            amount=int(obj.get("amount") or 0),
            method=PaymentMethodUsed.stripe,
            provider=PROVIDER,
            provider_payment_id=obj["id"],
            reason=error.get("message") or "payment failed",
        )
    elif kind == "charge.refunded":
        await _refunded(session, obj)


async def _refunded(session: AsyncSession, charge: dict[str, Any]) -> None:
    intent = charge.get("payment_intent")
    payment = await session.scalar(
        select(Payment).where(
            Payment.provider == PROVIDER,
            Payment.provider_payment_id == intent,
            Payment.status == PaymentStatus.succeeded,
        )
    )
    if payment is None:
        raise EventNotReady(f"no payment recorded yet for {intent}")
    invoice = await service.lock_invoice(session, payment.invoice_id)
    payment = await session.get(Payment, payment.id, with_for_update=True, populate_existing=True)
    assert payment is not None
    refunds = ((charge.get("refunds") or {}).get("data")) or []
    if refunds:
        for refund in refunds:
            await service.apply_refund(
                session,
                invoice,
                payment,
                amount=int(refund["amount"]),
                provider=PROVIDER,
                provider_refund_id=refund["id"],
            )
        return
    # Without the refund list, bring the payment to Stripe's cumulative refunded amount.
    delta = int(charge.get("amount_refunded") or 0) - payment.refunded_amount
    if delta > 0:
        await service.apply_refund(
            session,
            invoice,
            payment,
            amount=delta,
            provider=PROVIDER,
            provider_refund_id=f"{charge['id']}:{charge['amount_refunded']}",
        )

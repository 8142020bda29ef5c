import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, status
from pydantic import AwareDatetime
from sqlalchemy import select

from app.auth.dependencies import TeamCtx
from app.core.clock import period_bounds
from app.core.deps import DbSession, SettingsDep
from app.core.errors import NotFound
from app.core.pagination import Page, PageQuery, page_of
from app.core.permissions import Permission
from app.invoices import service as invoice_service
from app.invoices.models import Invoice, InvoiceStatus
from app.invoices.schemas import PublicInvoice
from app.invoices.service import get_invoice
from app.payments import service, webhooks
from app.payments.checkout import available_methods, start_checkout
from app.payments.models import PaymentMethodUsed
from app.payments.providers import crypto, stripe
from app.payments.schemas import CheckoutIn, CheckoutOut, PaymentIn, PaymentOut, RefundIn, RefundOut
from app.teams.service import team_by_id

router = APIRouter(prefix="/teams/{team_id}", tags=["payments"])
public_router = APIRouter(tags=["payments"])


@router.post(
    "/invoices/{invoice_id}/payments",
    status_code=status.HTTP_201_CREATED,
    response_model=PaymentOut,
)
async def record_payment(
    invoice_id: uuid.UUID, data: PaymentIn, ctx: TeamCtx, session: DbSession
) -> PaymentOut:
    """Record a manual (bank, cash, other) or partial payment on an open invoice."""
    return PaymentOut.model_validate(
        await service.create_manual_payment(session, ctx, invoice_id, data)
    )


@router.get("/invoices/{invoice_id}/payments", response_model=Page[PaymentOut])
async def list_invoice_payments(
    invoice_id: uuid.UUID, ctx: TeamCtx, session: DbSession, page: PageQuery
) -> Page[PaymentOut]:
    """The invoice's payments, failed attempts included."""
    return page_of(await service.list_invoice_payments(session, ctx, invoice_id, page), PaymentOut)


@router.get("/payments", response_model=Page[PaymentOut])
async def list_payments(
    ctx: TeamCtx,
    session: DbSession,
    page: PageQuery,
    client_id: uuid.UUID | None = None,
    method: PaymentMethodUsed | None = None,
    from_: Annotated[AwareDatetime | date | None, Query(alias="from")] = None,
    to: AwareDatetime | date | None = None,
) -> Page[PaymentOut]:
    """The team's payments, newest first."""
    team = await team_by_id(session, ctx.team_id)
    paid_from, paid_before = period_bounds(team.timezone, from_, to)
    result = await service.list_payments(
        session,
        ctx,
        page,
        client_id=client_id,
        method=method,
        paid_from=paid_from,
        paid_before=paid_before,
    )
    return page_of(result, PaymentOut)


@router.post(
    "/payments/{payment_id}/refund", status_code=status.HTTP_201_CREATED, response_model=RefundOut
)
async def refund_payment(
    payment_id: uuid.UUID, data: RefundIn, ctx: TeamCtx, session: DbSession
) -> RefundOut:
    """Refund (part of) a manual payment; a paid invoice reopens."""
    return RefundOut.model_validate(await service.refund_payment(session, ctx, payment_id, data))


@router.post("/invoices/{invoice_id}/checkout", response_model=CheckoutOut)
async def checkout(
    invoice_id: uuid.UUID, data: CheckoutIn, ctx: TeamCtx, session: DbSession, settings: SettingsDep
) -> CheckoutOut:
    """A provider payment page (Stripe Checkout or a crypto order) for the amount due."""
    invoice = await get_invoice(session, ctx, invoice_id, write=Permission.INVOICES_WRITE)
    client = await service.client_of(session, invoice)
    started = await start_checkout(session, settings, invoice, client, data.provider)
    return CheckoutOut(
        url=started.url, provider=data.provider, amount=started.amount, currency=started.currency
    )


@public_router.get("/pay/{token}", response_model=PublicInvoice, tags=["pay"])
async def public_invoice(token: str, session: DbSession, settings: SettingsDep) -> PublicInvoice:
    """The invoice behind a pay link and how it can be paid: no login, nothing else."""
    return await invoice_service.public_invoice(
        session, token, lambda client: available_methods(settings, client)
    )


@public_router.post("/pay/{token}/checkout", response_model=CheckoutOut, tags=["pay"])
async def public_checkout(
    token: str, data: CheckoutIn, session: DbSession, settings: SettingsDep
) -> CheckoutOut:
    """Start paying an invoice from its pay link, without logging in."""
    invoice = await session.scalar(select(Invoice).where(Invoice.pay_token == token))
    if invoice is None or invoice.status is InvoiceStatus.draft:
        raise NotFound("Invoice")
    client = await service.client_of(session, invoice)
    started = await start_checkout(session, settings, invoice, client, data.provider)
    return CheckoutOut(
        url=started.url, provider=data.provider, amount=started.amount, currency=started.currency
    )


@public_router.post("/webhooks/stripe", tags=["webhooks"])
async def stripe_webhook(
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    stripe_signature: Annotated[str | None, Header(alias="Stripe-Signature")] = None,
) -> dict[str, bool]:
    """Stripe events, verified with the endpoint secret; stored once, applied by a job."""
    event = stripe.verify(settings, await request.body(), stripe_signature)
    new = await webhooks.store(
        session, stripe.PROVIDER, event, str(event["id"]), str(event["type"])
    )
    return {"received": True, "duplicate": not new}


@public_router.post("/webhooks/crypto", tags=["webhooks"])
async def crypto_webhook(
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    signature: Annotated[str | None, Header(alias=crypto.SIGNATURE_HEADER)] = None,
) -> dict[str, bool]:
    """Crypto gateway callbacks, HMAC-SHA256 signed; stored once, applied by a job."""
    event = crypto.verify(settings, await request.body(), signature)
    new = await webhooks.store(
        session, crypto.PROVIDER, event, str(event["event_id"]), f"order.{event['status']}"
    )
    return {"received": True, "duplicate": not new}

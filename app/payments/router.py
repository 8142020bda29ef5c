import uuid
from typing import Annotated

from fastapi import Header, Query, Request, status

from app.auth.dependencies import TeamCtx
from app.core.csv_export import (
    CSV_RESPONSES,
    CsvResponse,
    FormatQuery,
    csv_filename,
    list_response,
)
from app.core.deps import DbSession, SettingsDep
from app.core.pagination import Page, PageQuery
from app.core.routing import APIRouter
from app.core.schemas import Day, Instant
from app.invoices.schemas import PublicInvoice
from app.payments import checkout as checkouts
from app.payments import service, webhooks
from app.payments.models import PaymentMethodUsed
from app.payments.providers import crypto
from app.payments.schemas import (
    PAYMENT_CSV,
    CheckoutIn,
    CheckoutOut,
    PaymentIn,
    PaymentOut,
    RefundIn,
    RefundOut,
)

router = APIRouter(prefix="/teams/{team_id}", tags=["payments"])
public_router = APIRouter(tags=["pay"])
webhook_router = APIRouter(prefix="/webhooks", tags=["webhooks"])


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


@router.get(
    "/invoices/{invoice_id}/payments", response_model=Page[PaymentOut], responses=CSV_RESPONSES
)
async def list_payments_of_invoice(
    invoice_id: uuid.UUID, ctx: TeamCtx, session: DbSession, page: PageQuery, fmt: FormatQuery
) -> Page[PaymentOut] | CsvResponse:
    """The invoice's payments, failed attempts included."""
    listing = await service.list_invoice_payments(session, ctx, invoice_id)
    return await list_response(session, listing, page, fmt, PAYMENT_CSV, "payments.csv")


@router.get("/payments", response_model=Page[PaymentOut], responses=CSV_RESPONSES)
async def list_payments(
    ctx: TeamCtx,
    session: DbSession,
    page: PageQuery,
    fmt: FormatQuery,
    client_id: uuid.UUID | None = None,
    method: PaymentMethodUsed | None = None,
    from_: Annotated[Instant | Day | None, Query(alias="from")] = None,
    to: Instant | Day | None = None,
) -> Page[PaymentOut] | CsvResponse:
    """The team's payments, newest first."""
    listing = await service.list_payments(
        session, ctx, client_id=client_id, method=method, paid_from=from_, paid_to=to
    )
    filename = csv_filename("payments", from_, to)
    return await list_response(session, listing, page, fmt, PAYMENT_CSV, filename)


@router.post(
    "/payments/{payment_id}/refund", status_code=status.HTTP_201_CREATED, response_model=RefundOut
)
async def refund_payment(
    payment_id: uuid.UUID, data: RefundIn, ctx: TeamCtx, session: DbSession
) -> RefundOut:
    """Record a refund made outside any provider (of a manual or crypto payment); a paid
    invoice reopens."""
    return RefundOut.model_validate(await service.refund_payment(session, ctx, payment_id, data))


@router.post("/invoices/{invoice_id}/checkout", response_model=CheckoutOut)
async def checkout(
    invoice_id: uuid.UUID, data: CheckoutIn, ctx: TeamCtx, session: DbSession, settings: SettingsDep
) -> CheckoutOut:
    """A provider payment page (Stripe Checkout or a crypto order) for the amount due."""
    return await checkouts.checkout_invoice(session, ctx, settings, invoice_id, data.provider)


@public_router.get("/pay/{token}", response_model=PublicInvoice)
async def get_invoice(token: str, session: DbSession, settings: SettingsDep) -> PublicInvoice:
    """The invoice behind a pay link and how it can be paid: no login, nothing else."""
    return await checkouts.public_invoice(session, settings, token)


@public_router.post("/pay/{token}/checkout", response_model=CheckoutOut)
async def checkout_invoice(
    token: str, data: CheckoutIn, session: DbSession, settings: SettingsDep
) -> CheckoutOut:
    """Start paying an invoice from its pay link, without logging in."""
    return await checkouts.checkout_by_pay_token(session, settings, token, data.provider)


@webhook_router.post("/stripe")
async def stripe_webhook(
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    stripe_signature: Annotated[str | None, Header(alias="Stripe-Signature")] = None,
) -> dict[str, bool]:
    """Stripe events, verified with the endpoint secret; stored once, applied by a job."""
    return await webhooks.receive_stripe(session, settings, await request.body(), stripe_signature)


@webhook_router.post("/crypto")
async def crypto_webhook(
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    signature: Annotated[str | None, Header(alias=crypto.SIGNATURE_HEADER)] = None,
) -> dict[str, bool]:
    """Crypto gateway callbacks, HMAC-SHA256 signed; stored once, applied by a job."""
    return await webhooks.receive_crypto(session, settings, await request.body(), signature)

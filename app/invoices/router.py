import uuid

from fastapi import Response, status

from app.auth.dependencies import TeamCtx
from app.core.csv_export import (
    CSV_RESPONSES,
    CsvResponse,
    FormatQuery,
    list_response,
)
from app.core.deps import DbSession, SettingsDep
from app.core.openapi import PDF_RESPONSE
from app.core.pagination import Page, PageQuery
from app.core.responses import pdf_response
from app.core.routing import APIRouter
from app.invoices import billing_settings, drafts, exchange_rates, lifecycle, runs, service
from app.invoices.models import InvoiceStatus
from app.invoices.pdf import pdf_download
from app.invoices.schemas import (
    EXCHANGE_RATE_CSV,
    INVOICE_CSV,
    INVOICE_RUN_CSV,
    ExchangeRateIn,
    ExchangeRateOut,
    InvoiceIn,
    InvoiceOut,
    InvoicePatch,
    InvoiceRunAccepted,
    InvoiceRunIn,
    InvoiceRunOut,
    InvoiceSettingsIn,
    InvoiceSettingsOut,
)

router = APIRouter(prefix="/teams/{team_id}", tags=["invoices"])


@router.get("/clients/{client_id}/invoice-settings", response_model=InvoiceSettingsOut)
async def get_invoice_settings(
    client_id: uuid.UUID, ctx: TeamCtx, session: DbSession
) -> InvoiceSettingsOut:
    """How and when the client is invoiced."""
    return await billing_settings.get_invoice_settings(session, ctx, client_id)


@router.put("/clients/{client_id}/invoice-settings", response_model=InvoiceSettingsOut)
async def put_invoice_settings(
    client_id: uuid.UUID, data: InvoiceSettingsIn, ctx: TeamCtx, session: DbSession
) -> InvoiceSettingsOut:
    """Replace the client's invoice settings (omitted fields take their defaults)."""
    return await billing_settings.put_invoice_settings(session, ctx, client_id, data)


@router.get("/invoices", response_model=Page[InvoiceOut], responses=CSV_RESPONSES)
async def list_invoices(
    ctx: TeamCtx,
    session: DbSession,
    settings: SettingsDep,
    page: PageQuery,
    fmt: FormatQuery,
    status: InvoiceStatus | None = None,
    client_id: uuid.UUID | None = None,
) -> Page[InvoiceOut] | CsvResponse:
    """Invoices the caller may see, newest first, each with every line and entry id.

    A page ends early (`has_more` true, fewer than `limit` invoices) once its invoices'
    lines list 10,000 entry ids; it always holds one invoice at least."""
    listing = await service.list_invoices(
        session, ctx, settings, status=status, client_id=client_id
    )
    return await list_response(session, listing, page, fmt, INVOICE_CSV, "invoices.csv")


@router.post("/invoices", status_code=status.HTTP_201_CREATED, response_model=InvoiceOut)
async def create_invoice(
    data: InvoiceIn, ctx: TeamCtx, session: DbSession, settings: SettingsDep
) -> InvoiceOut:
    """A draft from the client's uninvoiced billable time in the period, plus manual lines."""
    return await drafts.create_invoice(session, ctx, settings, data)


@router.get("/invoices/{invoice_id}", response_model=InvoiceOut)
async def get_invoice(
    invoice_id: uuid.UUID, ctx: TeamCtx, session: DbSession, settings: SettingsDep
) -> InvoiceOut:
    """One invoice with its lines."""
    return await service.get_invoice_out(session, ctx, settings, invoice_id)


@router.patch("/invoices/{invoice_id}", response_model=InvoiceOut)
async def update_invoice(
    invoice_id: uuid.UUID,
    data: InvoicePatch,
    ctx: TeamCtx,
    session: DbSession,
    settings: SettingsDep,
) -> InvoiceOut:
    """Edit a draft (dates, notes, discount, manual lines)."""
    return await drafts.update_invoice(session, ctx, settings, invoice_id, data)


@router.delete("/invoices/{invoice_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_invoice(invoice_id: uuid.UUID, ctx: TeamCtx, session: DbSession) -> None:
    """Delete a draft; its time becomes billable again."""
    await drafts.delete_invoice(session, ctx, invoice_id)


@router.delete("/invoices/{invoice_id}/lines/{line_id}", response_model=InvoiceOut)
async def delete_line(
    invoice_id: uuid.UUID,
    line_id: uuid.UUID,
    ctx: TeamCtx,
    session: DbSession,
    settings: SettingsDep,
) -> InvoiceOut:
    """Remove a line from a draft; its time becomes billable again."""
    return await drafts.delete_line(session, ctx, settings, invoice_id, line_id)


@router.post("/invoices/{invoice_id}/finalize", response_model=InvoiceOut)
async def finalize_invoice(
    invoice_id: uuid.UUID, ctx: TeamCtx, session: DbSession, settings: SettingsDep
) -> InvoiceOut:
    """Issue a draft: assigns the next number, fixes dates and the exchange rate."""
    return await lifecycle.finalize_invoice(session, ctx, settings, invoice_id)


@router.post(
    "/invoices/{invoice_id}/send", status_code=status.HTTP_202_ACCEPTED, response_model=InvoiceOut
)
async def send_invoice(
    invoice_id: uuid.UUID, ctx: TeamCtx, session: DbSession, settings: SettingsDep
) -> InvoiceOut:
    """Email the invoice with its PDF to the client's billing contacts (a draft is issued first)."""
    return await lifecycle.send_invoice(session, ctx, settings, invoice_id)


@router.post("/invoices/{invoice_id}/void", response_model=InvoiceOut)
async def void_invoice(
    invoice_id: uuid.UUID, ctx: TeamCtx, session: DbSession, settings: SettingsDep
) -> InvoiceOut:
    """Void an invoice without payments; its time becomes billable again."""
    return await lifecycle.void_invoice(session, ctx, settings, invoice_id)


@router.get(
    "/invoices/{invoice_id}/pdf",
    response_class=Response,
    responses={200: PDF_RESPONSE},
)
async def get_invoice_pdf(
    invoice_id: uuid.UUID, ctx: TeamCtx, session: DbSession, settings: SettingsDep
) -> Response:
    """The invoice as a PDF (cached per invoice version)."""
    content, filename = await pdf_download(session, ctx, settings, invoice_id)
    return pdf_response(content, filename)


@router.get("/exchange-rates", response_model=Page[ExchangeRateOut], responses=CSV_RESPONSES)
async def list_exchange_rates(
    ctx: TeamCtx, session: DbSession, page: PageQuery, fmt: FormatQuery
) -> Page[ExchangeRateOut] | CsvResponse:
    """Rates to the team's base currency, by currency and date."""
    listing = exchange_rates.list_exchange_rates(ctx)
    return await list_response(session, listing, page, fmt, EXCHANGE_RATE_CSV, "exchange-rates.csv")


@router.post("/exchange-rates", status_code=status.HTTP_201_CREATED, response_model=ExchangeRateOut)
async def create_exchange_rate(
    data: ExchangeRateIn, ctx: TeamCtx, session: DbSession
) -> ExchangeRateOut:
    """Add a rate: one unit of `currency` is worth `rate` units of the base currency."""
    rate = await exchange_rates.create_exchange_rate(session, ctx, data)
    return ExchangeRateOut.model_validate(rate)


@router.delete("/exchange-rates/{rate_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_exchange_rate(rate_id: uuid.UUID, ctx: TeamCtx, session: DbSession) -> None:
    """Delete an exchange rate (issued invoices keep the rate they were fixed with)."""
    await exchange_rates.delete_exchange_rate(session, ctx, rate_id)


@router.post(
    "/invoice-runs", status_code=status.HTTP_202_ACCEPTED, response_model=InvoiceRunAccepted
)
async def start_invoice_run(
    data: InvoiceRunIn, ctx: TeamCtx, session: DbSession
) -> InvoiceRunAccepted:
    """Generate (and finalize) the period's invoices now, in the background."""
    return await runs.start_run(session, ctx, data)


@router.get("/invoice-runs", response_model=Page[InvoiceRunOut], responses=CSV_RESPONSES)
async def list_invoice_runs(
    ctx: TeamCtx, session: DbSession, page: PageQuery, fmt: FormatQuery
) -> Page[InvoiceRunOut] | CsvResponse:
    """Invoice runs (scheduled and manual) with their status and invoice, newest first."""
    listing = runs.list_runs(ctx)
    return await list_response(session, listing, page, fmt, INVOICE_RUN_CSV, "invoice-runs.csv")

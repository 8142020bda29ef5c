import uuid
from datetime import date

from fastapi import APIRouter, Response, status

from app.auth.dependencies import TeamCtx
from app.core.clock import today_in
from app.core.deps import DbSession, SettingsDep
from app.core.errors import Unprocessable
from app.core.pagination import Page, PageQuery, page_of
from app.core.permissions import Permission
from app.invoices import service
from app.invoices import settings as settings_service
from app.invoices.models import Invoice, InvoiceLine, InvoiceStatus
from app.invoices.pdf import invoice_pdf
from app.invoices.schemas import (
    ExchangeRateIn,
    ExchangeRateOut,
    InvoiceIn,
    InvoiceLineOut,
    InvoiceOut,
    InvoicePatch,
    InvoiceRunAccepted,
    InvoiceRunIn,
    InvoiceRunOut,
    InvoiceSettingsIn,
    InvoiceSettingsOut,
)
from app.invoices.sending import queue_send
from app.teams.service import team_by_id

router = APIRouter(prefix="/teams/{team_id}", tags=["invoices"])


def invoice_out(settings, invoice: Invoice, lines: list[InvoiceLine], today: date) -> InvoiceOut:  # type: ignore[no-untyped-def]
    return InvoiceOut.model_validate(
        {
            **invoice.__dict__,
            "lines": [InvoiceLineOut.model_validate(line) for line in lines],
            "amount_due": invoice.total_amount - invoice.amount_paid,
            "overdue": service.is_overdue(invoice, today),
            "pay_url": service.pay_url(settings, invoice),
        }
    )


async def _one(session: DbSession, settings: SettingsDep, invoice: Invoice) -> InvoiceOut:
    team = await team_by_id(session, invoice.team_id)
    lines = (await service.lines_of(session, [invoice.id]))[invoice.id]
    return invoice_out(settings, invoice, lines, today_in(team.timezone))


@router.get("/clients/{client_id}/invoice-settings", response_model=InvoiceSettingsOut)
async def get_invoice_settings(
    client_id: uuid.UUID, ctx: TeamCtx, session: DbSession
) -> InvoiceSettingsOut:
    """How and when the client is invoiced."""
    found = await settings_service.get_settings(session, ctx, client_id)
    return InvoiceSettingsOut.model_validate(found)


@router.put("/clients/{client_id}/invoice-settings", response_model=InvoiceSettingsOut)
async def put_invoice_settings(
    client_id: uuid.UUID, data: InvoiceSettingsIn, ctx: TeamCtx, session: DbSession
) -> InvoiceSettingsOut:
    """Replace the client's invoice settings (omitted fields take their defaults)."""
    stored = await settings_service.put_settings(session, ctx, client_id, data)
    return InvoiceSettingsOut.model_validate(stored)


@router.get("/invoices", response_model=Page[InvoiceOut])
async def list_invoices(
    ctx: TeamCtx,
    session: DbSession,
    settings: SettingsDep,
    page: PageQuery,
    status: InvoiceStatus | None = None,
    client_id: uuid.UUID | None = None,
) -> Page[InvoiceOut]:
    """Invoices the caller may see, newest first."""
    rows, has_more, cursor = await service.list_invoices(
        session, ctx, page, status=status, client_id=client_id
    )
    lines = await service.lines_of(session, [i.id for i in rows])
    team = await team_by_id(session, ctx.team_id)
    today = today_in(team.timezone)
    return Page[InvoiceOut](
        data=[invoice_out(settings, i, lines[i.id], today) for i in rows],
        has_more=has_more,
        next_cursor=cursor,
    )


@router.post("/invoices", status_code=status.HTTP_201_CREATED, response_model=InvoiceOut)
async def create_invoice(
    data: InvoiceIn, ctx: TeamCtx, session: DbSession, settings: SettingsDep
) -> InvoiceOut:
    """A draft from the client's uninvoiced billable time in the period, plus manual lines."""
    return await _one(session, settings, await service.create_invoice(session, ctx, data))


@router.get("/invoices/{invoice_id}", response_model=InvoiceOut)
async def get_invoice(
    invoice_id: uuid.UUID, ctx: TeamCtx, session: DbSession, settings: SettingsDep
) -> InvoiceOut:
    """One invoice with its lines."""
    return await _one(session, settings, await service.get_invoice(session, ctx, invoice_id))


@router.patch("/invoices/{invoice_id}", response_model=InvoiceOut)
async def update_invoice(
    invoice_id: uuid.UUID,
    data: InvoicePatch,
    ctx: TeamCtx,
    session: DbSession,
    settings: SettingsDep,
) -> InvoiceOut:
    """Edit a draft (dates, notes, discount, manual lines)."""
    invoice = await service.update_invoice(session, ctx, invoice_id, data)
    return await _one(session, settings, invoice)


@router.delete("/invoices/{invoice_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_invoice(invoice_id: uuid.UUID, ctx: TeamCtx, session: DbSession) -> None:
    """Delete a draft; its time becomes billable again."""
    await service.delete_invoice(session, ctx, invoice_id)


@router.delete("/invoices/{invoice_id}/lines/{line_id}", response_model=InvoiceOut)
async def delete_line(
    invoice_id: uuid.UUID,
    line_id: uuid.UUID,
    ctx: TeamCtx,
    session: DbSession,
    settings: SettingsDep,
) -> InvoiceOut:
    """Remove a line from a draft; its time becomes billable again."""
    invoice = await service.delete_line(session, ctx, invoice_id, line_id)
    return await _one(session, settings, invoice)


@router.post("/invoices/{invoice_id}/finalize", response_model=InvoiceOut)
async def finalize_invoice(
    invoice_id: uuid.UUID, ctx: TeamCtx, session: DbSession, settings: SettingsDep
) -> InvoiceOut:
    """Issue a draft: assigns the next number, fixes dates and the exchange rate."""
    return await _one(session, settings, await service.finalize_invoice(session, ctx, invoice_id))


@router.post(
    "/invoices/{invoice_id}/send", status_code=status.HTTP_202_ACCEPTED, response_model=InvoiceOut
)
async def send_invoice(
    invoice_id: uuid.UUID, ctx: TeamCtx, session: DbSession, settings: SettingsDep
) -> InvoiceOut:
    """Email the invoice with its PDF to the client's billing contacts (a draft is issued first)."""
    invoice = await service.get_invoice(
        session, ctx, invoice_id, write=Permission.INVOICES_WRITE, for_update=True
    )
    if invoice.status is InvoiceStatus.void:
        raise Unprocessable("A void invoice cannot be sent.", code="invoice_void")
    if invoice.status is InvoiceStatus.draft:
        team = await team_by_id(session, ctx.team_id)
        invoice = await service.finalize(session, team, invoice)
    await queue_send(session, invoice)
    await session.refresh(invoice)
    return await _one(session, settings, invoice)


@router.post("/invoices/{invoice_id}/void", response_model=InvoiceOut)
async def void_invoice(
    invoice_id: uuid.UUID, ctx: TeamCtx, session: DbSession, settings: SettingsDep
) -> InvoiceOut:
    """Void an invoice without payments; its time becomes billable again."""
    return await _one(session, settings, await service.void_invoice(session, ctx, invoice_id))


@router.get(
    "/invoices/{invoice_id}/pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "The invoice as PDF"}},
)
async def invoice_pdf_file(
    invoice_id: uuid.UUID, ctx: TeamCtx, session: DbSession, settings: SettingsDep
) -> Response:
    """The invoice as a PDF (cached per invoice version)."""
    invoice = await service.get_invoice(session, ctx, invoice_id)
    content = await invoice_pdf(session, settings, invoice)
    name = invoice.number or f"draft-{invoice.id}"
    return Response(
        content,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{name}.pdf"'},
    )


@router.get("/exchange-rates", response_model=Page[ExchangeRateOut])
async def list_exchange_rates(
    ctx: TeamCtx, session: DbSession, page: PageQuery
) -> Page[ExchangeRateOut]:
    """Rates to the team's base currency, by currency and date."""
    return page_of(await service.list_exchange_rates(session, ctx, page), ExchangeRateOut)


@router.post("/exchange-rates", status_code=status.HTTP_201_CREATED, response_model=ExchangeRateOut)
async def create_exchange_rate(
    data: ExchangeRateIn, ctx: TeamCtx, session: DbSession
) -> ExchangeRateOut:
    """Add a rate: one unit of `currency` is worth `rate` units of the base currency."""
    return ExchangeRateOut.model_validate(await service.create_exchange_rate(session, ctx, data))


@router.delete("/exchange-rates/{rate_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_exchange_rate(rate_id: uuid.UUID, ctx: TeamCtx, session: DbSession) -> None:
    """Delete an exchange rate (issued invoices keep the rate they were fixed with)."""
    await service.delete_exchange_rate(session, ctx, rate_id)


@router.post(
    "/invoice-runs", status_code=status.HTTP_202_ACCEPTED, response_model=InvoiceRunAccepted
)
async def start_invoice_run(
    data: InvoiceRunIn, ctx: TeamCtx, session: DbSession
) -> InvoiceRunAccepted:
    """Generate (and finalize) the period's invoices now, in the background."""
    job_id = await service.start_run(session, ctx, data)
    return InvoiceRunAccepted(
        period_start=data.period_start,
        period_end=data.period_end,
        client_ids=data.client_ids,
        job_id=job_id,
    )


@router.get("/invoice-runs", response_model=Page[InvoiceRunOut])
async def list_invoice_runs(
    ctx: TeamCtx, session: DbSession, page: PageQuery
) -> Page[InvoiceRunOut]:
    """Invoice runs (scheduled and manual) with their status and invoice, newest first."""
    return page_of(await service.list_runs(session, ctx, page), InvoiceRunOut)

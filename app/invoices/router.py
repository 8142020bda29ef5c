import uuid

from fastapi import APIRouter

from app.core.auth import TeamCtx
from app.core.deps import DbSession
from app.invoices import service
from app.invoices.schemas import InvoiceSettingsIn, InvoiceSettingsOut

router = APIRouter(prefix="/teams/{team_id}", tags=["invoices"])


@router.get("/clients/{client_id}/invoice-settings", response_model=InvoiceSettingsOut)
async def get_invoice_settings(
    client_id: uuid.UUID, ctx: TeamCtx, session: DbSession
) -> InvoiceSettingsOut:
    """How and when the client is invoiced."""
    return InvoiceSettingsOut.model_validate(await service.get_settings(session, ctx, client_id))


@router.put("/clients/{client_id}/invoice-settings", response_model=InvoiceSettingsOut)
async def put_invoice_settings(
    client_id: uuid.UUID, data: InvoiceSettingsIn, ctx: TeamCtx, session: DbSession
) -> InvoiceSettingsOut:
    """Replace the client's invoice settings (omitted fields take their defaults)."""
    return InvoiceSettingsOut.model_validate(
        await service.put_settings(session, ctx, client_id, data)
    )

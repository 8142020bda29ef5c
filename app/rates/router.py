import uuid

from fastapi import status

from app.auth.dependencies import TeamCtx
from app.core.csv_export import CSV_RESPONSES, CsvResponse, FormatQuery, list_response
from app.core.deps import DbSession
from app.core.pagination import Page, PageQuery
from app.core.routing import APIRouter
from app.rates import service
from app.rates.models import RateKind, RateScope
from app.rates.schemas import RATE_CSV, RateIn, RateOut, RatePatch

router = APIRouter(prefix="/teams/{team_id}/rates", tags=["rates"])


@router.get("", response_model=Page[RateOut], responses=CSV_RESPONSES)
async def list_rates(
    ctx: TeamCtx,
    session: DbSession,
    page: PageQuery,
    fmt: FormatQuery,
    kind: RateKind | None = None,
    scope: RateScope | None = None,
    user_id: uuid.UUID | None = None,
    client_id: uuid.UUID | None = None,
    project_id: uuid.UUID | None = None,
) -> Page[RateOut] | CsvResponse:
    """Rates and their history (one row per effective date)."""
    listing = service.list_rates(
        ctx,
        kind=kind,
        scope=scope,
        user_id=user_id,
        client_id=client_id,
        project_id=project_id,
    )
    return await list_response(session, listing, page, fmt, RATE_CSV, "rates.csv")


@router.post("", status_code=status.HTTP_201_CREATED, response_model=RateOut)
async def create_rate(data: RateIn, ctx: TeamCtx, session: DbSession) -> RateOut:
    """Add a rate effective from a date; earlier rows stay as history."""
    return RateOut.model_validate(await service.create_rate(session, ctx, data))


@router.get("/{rate_id}", response_model=RateOut)
async def get_rate(rate_id: uuid.UUID, ctx: TeamCtx, session: DbSession) -> RateOut:
    """One rate row."""
    return RateOut.model_validate(await service.get_rate(session, ctx, rate_id))


@router.patch("/{rate_id}", response_model=RateOut)
async def update_rate(
    rate_id: uuid.UUID, data: RatePatch, ctx: TeamCtx, session: DbSession
) -> RateOut:
    """Correct a rate row (issued invoices keep the rates they were made with)."""
    return RateOut.model_validate(await service.update_rate(session, ctx, rate_id, data))


@router.delete("/{rate_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_rate(rate_id: uuid.UUID, ctx: TeamCtx, session: DbSession) -> None:
    """Delete a rate row."""
    await service.delete_rate(session, ctx, rate_id)

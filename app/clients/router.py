import uuid
from typing import Annotated

from fastapi import Query, status

from app.auth.dependencies import TeamCtx
from app.clients import service
from app.clients.models import ClientStatus
from app.clients.schemas import CLIENT_CSV, ClientCreated, ClientIn, ClientOut, ClientPatch
from app.core.csv_export import CSV_RESPONSES, CsvResponse, FormatQuery, list_response
from app.core.deps import DbSession, SecretsDep, SettingsDep
from app.core.pagination import Page, PageQuery
from app.core.routing import APIRouter
from app.onboarding import clients as onboarding

router = APIRouter(prefix="/teams/{team_id}/clients", tags=["clients"])


@router.get("", response_model=Page[ClientOut], responses=CSV_RESPONSES)
async def list_clients(
    ctx: TeamCtx,
    session: DbSession,
    page: PageQuery,
    fmt: FormatQuery,
    q: Annotated[str | None, Query(max_length=200, description="Name or email contains")] = None,
    status: ClientStatus = ClientStatus.active,
    owner_id: uuid.UUID | None = None,
) -> Page[ClientOut] | CsvResponse:
    """Clients the caller may see; archived ones only with `status=archived`."""
    listing = await service.list_clients(session, ctx, q=q, status=status, owner_id=owner_id)
    return await list_response(session, listing, page, fmt, CLIENT_CSV, "clients.csv")


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ClientCreated)
async def create_client(
    data: ClientIn, ctx: TeamCtx, session: DbSession, secrets: SecretsDep, settings: SettingsDep
) -> ClientCreated:
    """Create a client; optionally with its project and board and invited portal contacts."""
    return await onboarding.onboard_client(session, ctx, secrets, settings, data)


@router.get("/{client_id}", response_model=ClientOut)
async def get_client(client_id: uuid.UUID, ctx: TeamCtx, session: DbSession) -> ClientOut:
    """One client."""
    return await service.read_client(session, ctx, client_id)


@router.patch("/{client_id}", response_model=ClientOut)
async def update_client(
    client_id: uuid.UUID, data: ClientPatch, ctx: TeamCtx, session: DbSession
) -> ClientOut:
    """Change a client; `status: active` restores an archived one."""
    return await service.update_client(session, ctx, client_id, data)


@router.delete("/{client_id}", status_code=status.HTTP_204_NO_CONTENT)
async def archive_client(client_id: uuid.UUID, ctx: TeamCtx, session: DbSession) -> None:
    """Archive a client: it leaves default lists and takes no new projects or time."""
    await service.archive_client(session, ctx, client_id)

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from app.auth.dependencies import TeamCtx
from app.clients import service
from app.clients.models import Client, ClientStatus
from app.clients.schemas import ClientCreated, ClientIn, ClientOut, ClientPatch, OnboardedContact
from app.core.deps import DbSession, SecretsDep, SettingsDep
from app.core.pagination import Page, PageQuery
from app.onboarding import clients as onboarding

router = APIRouter(prefix="/teams/{team_id}/clients", tags=["clients"])


def _out(ctx: TeamCtx, client: Client, member_ids: list[uuid.UUID]) -> ClientOut:
    return ClientOut.model_validate(
        {
            **client.__dict__,
            "member_ids": member_ids,
            "hourly_rate_amount": service.shown_rate(ctx, client),
        }
    )


async def _one(session: DbSession, ctx: TeamCtx, client: Client) -> ClientOut:
    return _out(ctx, client, (await service.member_ids(session, [client]))[client.id])


@router.get("", response_model=Page[ClientOut])
async def list_clients(
    ctx: TeamCtx,
    session: DbSession,
    page: PageQuery,
    q: Annotated[str | None, Query(max_length=200, description="Name or email contains")] = None,
    status: ClientStatus = ClientStatus.active,
    owner_id: uuid.UUID | None = None,
) -> Page[ClientOut]:
    """Clients the caller may see; archived ones only with `status=archived`."""
    rows, has_more, cursor = await service.list_clients(
        session, ctx, page, q=q, status=status, owner_id=owner_id
    )
    members = await service.member_ids(session, rows)
    return Page[ClientOut](
        data=[_out(ctx, c, members[c.id]) for c in rows], has_more=has_more, next_cursor=cursor
    )


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ClientCreated)
async def create_client(
    data: ClientIn, ctx: TeamCtx, session: DbSession, secrets: SecretsDep, settings: SettingsDep
) -> ClientCreated:
    """Create a client; optionally with its project and board and invited portal contacts."""
    done = await onboarding.onboard_client(session, ctx, secrets, settings, data)
    out = await _one(session, ctx, done.client)
    return ClientCreated(
        **out.model_dump(),
        project_id=done.project.id if done.project else None,
        board_id=done.board.id if done.board else None,
        contacts=[OnboardedContact.model_validate(c) for c in done.contacts],
    )


@router.get("/{client_id}", response_model=ClientOut)
async def get_client(client_id: uuid.UUID, ctx: TeamCtx, session: DbSession) -> ClientOut:
    """One client."""
    return await _one(session, ctx, await service.get_client(session, ctx, client_id))


@router.patch("/{client_id}", response_model=ClientOut)
async def update_client(
    client_id: uuid.UUID, data: ClientPatch, ctx: TeamCtx, session: DbSession
) -> ClientOut:
    """Change a client; `status: active` restores an archived one."""
    return await _one(session, ctx, await service.update_client(session, ctx, client_id, data))


@router.delete("/{client_id}", status_code=status.HTTP_204_NO_CONTENT)
async def archive_client(client_id: uuid.UUID, ctx: TeamCtx, session: DbSession) -> None:
    """Archive a client: it leaves default lists and takes no new projects or time."""
    await service.archive_client(session, ctx, client_id)

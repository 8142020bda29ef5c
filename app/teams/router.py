import uuid

from fastapi import status

from app.auth.dependencies import TeamCtx
from app.core.csv_export import (
    CSV_RESPONSES,
    CsvResponse,
    FormatQuery,
    list_response,
)
from app.core.deps import DbSession, SecretsDep, SettingsDep
from app.core.pagination import Page, PageQuery
from app.core.routing import APIRouter
from app.onboarding import invitations
from app.teams import service
from app.teams.schemas import (
    API_KEY_CSV,
    INVITATION_CSV,
    MEMBER_CSV,
    AcceptIn,
    AcceptOut,
    ApiKeyCreated,
    ApiKeyIn,
    ApiKeyOut,
    InvitationIn,
    InvitationOut,
    MemberOut,
    MemberPatch,
    TeamOut,
    TeamPatch,
)

router = APIRouter(prefix="/teams/{team_id}", tags=["teams"])
public_router = APIRouter(tags=["teams"])


@router.get("", response_model=TeamOut)
async def get_team(ctx: TeamCtx, session: DbSession) -> TeamOut:
    """The team's settings."""
    return TeamOut.model_validate(await service.get_team(session, ctx))


@router.patch("", response_model=TeamOut)
async def update_team(data: TeamPatch, ctx: TeamCtx, session: DbSession) -> TeamOut:
    """Change the team's name, base currency, time zone or minimum entry length."""
    return TeamOut.model_validate(await service.update_team(session, ctx, data))


@router.delete("", status_code=status.HTTP_204_NO_CONTENT)
async def delete_team(ctx: TeamCtx, session: DbSession) -> None:
    """Delete the team and everything it owns."""
    await service.delete_team(session, ctx)


@router.get("/members", response_model=Page[MemberOut], responses=CSV_RESPONSES)
async def list_members(
    ctx: TeamCtx, session: DbSession, page: PageQuery, fmt: FormatQuery
) -> Page[MemberOut] | CsvResponse:
    """The team's members and their roles."""
    listing = service.list_members(ctx)
    return await list_response(session, listing, page, fmt, MEMBER_CSV, "members.csv")


@router.patch("/members/{user_id}", response_model=MemberOut)
async def change_role(
    user_id: uuid.UUID, data: MemberPatch, ctx: TeamCtx, session: DbSession
) -> MemberOut:
    """Change a member's role."""
    return MemberOut.of(await service.change_role(session, ctx, user_id, data.role))


@router.delete("/members/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_member(user_id: uuid.UUID, ctx: TeamCtx, session: DbSession) -> None:
    """Remove a member from the team (or leave it); the member's API keys stop working."""
    await service.remove_member(session, ctx, user_id)


@router.post("/invitations", status_code=status.HTTP_201_CREATED, response_model=InvitationOut)
async def invite(
    data: InvitationIn, ctx: TeamCtx, session: DbSession, secrets: SecretsDep, settings: SettingsDep
) -> InvitationOut:
    """Invite someone by email; the link is mailed after the request commits."""
    return InvitationOut.model_validate(await service.invite(session, ctx, secrets, settings, data))


@router.get("/invitations", response_model=Page[InvitationOut], responses=CSV_RESPONSES)
async def list_invitations(
    ctx: TeamCtx, session: DbSession, page: PageQuery, fmt: FormatQuery
) -> Page[InvitationOut] | CsvResponse:
    """Invitations of the team, pending and past."""
    listing = service.list_invitations(ctx)
    return await list_response(session, listing, page, fmt, INVITATION_CSV, "invitations.csv")


@router.delete("/invitations/{invitation_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_invitation(invitation_id: uuid.UUID, ctx: TeamCtx, session: DbSession) -> None:
    """Revoke a pending invitation."""
    await service.revoke_invitation(session, ctx, invitation_id)


@router.post("/api-keys", status_code=status.HTTP_201_CREATED, response_model=ApiKeyCreated)
async def create_api_key(
    data: ApiKeyIn, ctx: TeamCtx, session: DbSession, secrets: SecretsDep
) -> ApiKeyCreated:
    """Create an API key; its secret `key` is shown only in this response."""
    return await service.create_api_key(session, ctx, secrets, data)


@router.get("/api-keys", response_model=Page[ApiKeyOut], responses=CSV_RESPONSES)
async def list_api_keys(
    ctx: TeamCtx, session: DbSession, page: PageQuery, fmt: FormatQuery
) -> Page[ApiKeyOut] | CsvResponse:
    """The team's API keys (never their secrets)."""
    listing = service.list_api_keys(ctx)
    return await list_response(session, listing, page, fmt, API_KEY_CSV, "api-keys.csv")


@router.delete("/api-keys/{key_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_api_key(key_id: uuid.UUID, ctx: TeamCtx, session: DbSession) -> None:
    """Revoke an API key at once."""
    await service.revoke_api_key(session, ctx, key_id)


@public_router.post("/invitations/{token}/accept", response_model=AcceptOut)
async def accept_invitation(
    token: str, data: AcceptIn, session: DbSession, secrets: SecretsDep, settings: SettingsDep
) -> AcceptOut:
    """Accept an invitation: joins the existing account of the address or creates one."""
    return await invitations.accept_invitation(session, secrets, settings, token, data)

from fastapi import Request, status

from app.accounts import service
from app.accounts.schemas import (
    LoginIn,
    MeOut,
    RefreshIn,
    SignupIn,
    SignupOut,
    TokenPair,
)
from app.auth.dependencies import CurrentCaller
from app.core.deps import DbSession, RedisDep, SecretsDep, SettingsDep
from app.core.routing import APIRouter
from app.onboarding import signup as onboarding

router = APIRouter(tags=["auth"])


@router.post("/auth/signup", status_code=status.HTTP_201_CREATED, response_model=SignupOut)
async def signup(
    data: SignupIn, session: DbSession, secrets: SecretsDep, settings: SettingsDep
) -> SignupOut:
    """Create a user and the team it owns, and log it in."""
    return await onboarding.signup(session, secrets, settings, data)


@router.post("/auth/login", response_model=TokenPair)
async def login(
    data: LoginIn,
    request: Request,
    session: DbSession,
    secrets: SecretsDep,
    settings: SettingsDep,
    redis: RedisDep,
) -> TokenPair:
    """Exchange email and password for an access and a refresh token."""
    client_ip = request.client.host if request.client else "unknown"
    return await service.login(session, secrets, settings, redis, data, client_ip)


@router.post("/auth/refresh", response_model=TokenPair)
async def refresh(
    data: RefreshIn, session: DbSession, secrets: SecretsDep, settings: SettingsDep
) -> TokenPair:
    """Rotate a refresh token; reusing an old one revokes the whole session."""
    return await service.refresh(session, secrets, settings, data.refresh_token)


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(caller: CurrentCaller, session: DbSession) -> None:
    """End the current session: its access and refresh tokens stop working."""
    await service.logout(session, caller)


@router.get("/me", response_model=MeOut)
async def me(caller: CurrentCaller, session: DbSession) -> MeOut:
    """The calling user and its teams with its role in each."""
    return await service.me(session, caller)

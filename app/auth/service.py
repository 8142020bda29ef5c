"""The look-ups behind authentication: who a token or an API key is, and its role in a team."""

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.accounts.models import AuthSession, User
from app.core.context import Caller
from app.core.errors import Unauthorized
from app.core.permissions import Role
from app.core.security import API_KEY_PREFIX, Secrets, api_key_checksum_ok
from app.core.tenancy import in_team, same_team
from app.teams.models import ApiKey, Membership

# Writing last_used_at on every call would turn every read into a write.
_LAST_USED_GRANULARITY = timedelta(minutes=1)


async def caller_for_token(
    session: AsyncSession, engine: AsyncEngine, secrets: Secrets, token: str
) -> Caller:
    """The caller a bearer token (access token or `hl_` API key) stands for, or 401."""
    if token.startswith(API_KEY_PREFIX):
        return await _api_key_caller(session, engine, secrets, token)
    return await _user_caller(session, secrets, token)


async def _api_key_caller(
    session: AsyncSession, engine: AsyncEngine, secrets: Secrets, token: str
) -> Caller:
    if not api_key_checksum_ok(token):
        raise Unauthorized("Malformed API key.", code="invalid_api_key")
    now = datetime.now(UTC)
    row = (
        await session.execute(
            select(ApiKey, Membership.role)
            .join(
                Membership,
                same_team(Membership, ApiKey) & (Membership.user_id == ApiKey.created_by_id),
            )
            .where(
                ApiKey.key_hash == secrets.keyed_hash(token),
                ApiKey.revoked_at.is_(None),
                or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > now),
            )
        )
    ).one_or_none()
    if row is None:
        raise Unauthorized("Unknown, revoked or expired API key.", code="invalid_api_key")
    key, creator_role = row
    if key.last_used_at is None or key.last_used_at < now - _LAST_USED_GRANULARITY:
        # Its own short transaction: a use counts even when the request then fails.
        async with engine.begin() as conn:
            await conn.execute(update(ApiKey).where(ApiKey.id == key.id).values(last_used_at=now))
    return Caller(
        kind="api_key",
        user_id=key.created_by_id,
        api_key_id=key.id,
        api_key_team_id=key.team_id,
        api_key_role=key.role,
        creator_role=creator_role,
    )


async def _user_caller(session: AsyncSession, secrets: Secrets, token: str) -> Caller:
    claims = secrets.decode_access_token(token)
    if claims is None:
        raise Unauthorized("Invalid or expired access token.", code="invalid_token")
    try:
        user_id, session_id = uuid.UUID(claims["sub"]), uuid.UUID(claims["sid"])
    except (KeyError, ValueError):
        raise Unauthorized("Invalid access token.", code="invalid_token") from None
    alive = (
        await session.execute(
            select(AuthSession.id)
            .join(User, User.id == AuthSession.user_id)
            .where(
                AuthSession.id == session_id,
                AuthSession.user_id == user_id,
                AuthSession.revoked_at.is_(None),
            )
        )
    ).scalar_one_or_none()
    if alive is None:
        raise Unauthorized("This session has ended; log in again.", code="session_revoked")
    return Caller(kind="user", user_id=user_id, session_id=session_id)


async def role_in_team(
    session: AsyncSession, team_id: uuid.UUID, user_id: uuid.UUID
) -> Role | None:
    """The role `user_id` holds in `team_id`, or None when it is not a member."""
    return (
        await session.execute(
            select(Membership.role).where(
                in_team(Membership, team_id), Membership.user_id == user_id
            )
        )
    ).scalar_one_or_none()

"""Who is calling, resolved once per request.

`Caller` is the authenticated subject (a user by access token, or an API key acting as
its creator). `TeamContext` adds the team of the path and the role the caller holds in
it. Endpoints declare what they need with the `Annotated` aliases at the bottom.
"""

import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import or_, select, update

from app.core.deps import DbSession, SecretsDep
from app.core.errors import Forbidden, NotFound, Unauthorized
from app.core.permissions import Access, Permission, Role, access_of, key_role
from app.core.security import API_KEY_PREFIX, api_key_checksum_ok

_bearer = HTTPBearer(auto_error=False, description="User access token or `hl_` API key")

# Writing last_used_at on every call would turn every read into a write.
_LAST_USED_GRANULARITY = timedelta(minutes=1)


@dataclass(frozen=True)
class Caller:
    kind: Literal["user", "api_key"]
    user_id: uuid.UUID
    session_id: uuid.UUID | None = None
    api_key_id: uuid.UUID | None = None
    api_key_team_id: uuid.UUID | None = None
    api_key_role: Role | None = None
    # A key never acts above its creator, even after the creator was demoted.
    creator_role: Role | None = None


@dataclass(frozen=True)
class TeamContext:
    caller: Caller
    team_id: uuid.UUID
    role: Role

    @property
    def user_id(self) -> uuid.UUID:
        return self.caller.user_id

    def grant(self, permission: Permission) -> Access | None:
        return access_of(self.role, permission)

    def access(self, permission: Permission) -> Access:
        """The reach of `permission` for this caller, or Forbidden."""
        reach = self.grant(permission)
        if reach is None:
            raise Forbidden()
        return reach


async def get_caller(
    request: Request,
    session: DbSession,
    secrets: SecretsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    # Local imports: the domain models import app.core, not the other way round at load.
    from app.accounts.models import AuthSession, User
    from app.teams.models import ApiKey, Membership

    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("Send `Authorization: Bearer <token>`.", code="not_authenticated")
    token = credentials.credentials

    if token.startswith(API_KEY_PREFIX):
        if not api_key_checksum_ok(token):
            raise Unauthorized("Malformed API key.", code="invalid_api_key")
        now = datetime.now(UTC)
        row = (
            await session.execute(
                select(ApiKey, Membership.role)
                .join(
                    Membership,
                    (Membership.team_id == ApiKey.team_id)
                    & (Membership.user_id == ApiKey.created_by_id),
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
            async with request.app.state.db.engine.begin() as conn:
                await conn.execute(
                    update(ApiKey).where(ApiKey.id == key.id).values(last_used_at=now)
                )
        return Caller(
            kind="api_key",
            user_id=key.created_by_id,
            api_key_id=key.id,
            api_key_team_id=key.team_id,
            api_key_role=key.role,
            creator_role=creator_role,
        )

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


CurrentCaller = Annotated[Caller, Depends(get_caller)]


async def get_team_context(
    team_id: uuid.UUID, caller: CurrentCaller, session: DbSession
) -> TeamContext:
    """The caller's role in the path's team; a team the caller is not in is a 404."""
    from app.teams.models import Membership

    if caller.kind == "api_key":
        if caller.api_key_team_id != team_id or caller.api_key_role is None:
            raise NotFound("Team")
        assert caller.creator_role is not None
        role = key_role(caller.api_key_role, caller.creator_role)
        if role is None:
            raise Forbidden(
                "This key's role no longer fits its creator's role; issue a new key.",
                code="api_key_suspended",
            )
        return TeamContext(caller=caller, team_id=team_id, role=role)
    role = (
        await session.execute(
            select(Membership.role).where(
                Membership.team_id == team_id, Membership.user_id == caller.user_id
            )
        )
    ).scalar_one_or_none()
    if role is None:
        raise NotFound("Team")
    return TeamContext(caller=caller, team_id=team_id, role=role)


TeamCtx = Annotated[TeamContext, Depends(get_team_context)]


def require(permission: Permission) -> Callable[..., Coroutine[Any, Any, TeamContext]]:
    """Dependency: the team context, after checking the role grants `permission`."""

    async def dependency(ctx: TeamCtx) -> TeamContext:
        ctx.access(permission)
        return ctx

    return dependency

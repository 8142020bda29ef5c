"""Who is calling, resolved once per request.

Endpoints declare what they need with the `Annotated` aliases: `CurrentCaller` (any
authenticated subject) or `TeamCtx` (the caller, the path's team and its role there).
"""

import uuid
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.auth import service
from app.core.context import Caller, TeamContext
from app.core.deps import DbSession, SecretsDep
from app.core.errors import Forbidden, NotFound, Unauthorized
from app.core.permissions import key_role

_bearer = HTTPBearer(auto_error=False, description="User access token or `hl_` API key")


async def get_caller(
    request: Request,
    session: DbSession,
    secrets: SecretsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("Send `Authorization: Bearer <token>`.", code="not_authenticated")
    return await service.caller_for_token(
        session, request.app.state.redis, secrets, credentials.credentials
    )


CurrentCaller = Annotated[Caller, Depends(get_caller)]


async def get_team_context(
    team_id: uuid.UUID, caller: CurrentCaller, session: DbSession
) -> TeamContext:
    """The caller's role in the path's team; a team the caller is not in is a 404."""
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
    role = await service.role_in_team(session, team_id, caller.user_id)
    if role is None:
        raise NotFound("Team")
    return TeamContext(caller=caller, team_id=team_id, role=role)


TeamCtx = Annotated[TeamContext, Depends(get_team_context)]

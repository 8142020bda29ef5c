"""Who is calling, resolved once per request.

Endpoints declare what they need with the `Annotated` aliases: `CurrentCaller` (any
authenticated subject) or `TeamCtx` (the caller, the path's team and its role there,
resolved together in one query).
"""

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.auth import service
from app.core.context import Caller, PortalContext, TeamContext
from app.core.deps import DbSession
from app.core.errors import Unauthorized
from app.events.record import act_as, act_as_contact

_bearer = HTTPBearer(auto_error=False, description="User access token or `hl_` API key")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def _token(credentials: HTTPAuthorizationCredentials | None) -> str:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("Send `Authorization: Bearer <token>`.", code="not_authenticated")
    return credentials.credentials


async def get_caller(request: Request, session: DbSession, credentials: Credentials) -> Caller:
    state = request.app.state
    return await service.caller_for_token(session, state.redis, state.secrets, _token(credentials))


CurrentCaller = Annotated[Caller, Depends(get_caller)]


async def get_team_context(
    team_id: uuid.UUID,
    request: Request,
    session: DbSession,
    credentials: Credentials,
) -> TeamContext:
    """The caller's role in the path's team; a team the caller is not in is a 404.

    The process's secrets and queue come from the app's state, not from dependencies:
    every team request solves this one, and each dependency costs FastAPI ~10 us.
    """
    state = request.app.state
    ctx = await service.team_context_for_token(
        session, state.redis, state.secrets, _token(credentials), team_id
    )
    act_as(session, ctx)  # the actor of the events this request records
    return ctx


TeamCtx = Annotated[TeamContext, Depends(get_team_context)]
# The dependencies that resolve (and so scope) a path's team: `get_team_context` and
# those `team_context_reading` makes (tests/test_row_security.py checks every team path).
TEAM_SCOPES: set[Callable[..., Any]] = {get_team_context}


def team_context_reading(
    lookup: service.TeamLookup,
) -> Callable[..., Awaitable[tuple[TeamContext, Any]]]:
    """A dependency like `get_team_context` that also gives the row `lookup` read (more
    of the team, read in the same query: see `service.team_lookup`)."""

    async def get_team_context_and_row(
        team_id: uuid.UUID, request: Request, session: DbSession, credentials: Credentials
    ) -> tuple[TeamContext, Any]:
        state = request.app.state
        ctx, row = await service.team_row_for_token(
            session, state.redis, state.secrets, _token(credentials), team_id, lookup
        )
        act_as(session, ctx)
        return ctx, row

    TEAM_SCOPES.add(get_team_context_and_row)
    return get_team_context_and_row


async def get_bearer_token(credentials: Credentials) -> str:
    """The request's bearer token itself (an event stream re-checks it as it runs)."""
    return _token(credentials)


BearerToken = Annotated[str, Depends(get_bearer_token)]


# The portal's own scheme: a portal session token (`hlp_...`) and nothing else.
_portal_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="portalToken",
    description="A portal session token (`hlp_...`) from `POST /v1/portal/sessions`",
)
PortalCredentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_portal_bearer)]


async def get_portal_context(
    request: Request, session: DbSession, credentials: PortalCredentials
) -> PortalContext:
    """The signed-in client contact; its transaction is confined to the contact's team.
    A user's access token or an API key is a 401 here, as a portal token is on team paths."""
    ctx = await service.portal_context_for_token(
        session, request.app.state.secrets, _token(credentials)
    )
    act_as_contact(session, ctx.contact_id)  # a checkout it starts is the contact's doing
    return ctx


PortalCtx = Annotated[PortalContext, Depends(get_portal_context)]


async def get_portal_token(credentials: PortalCredentials) -> str:
    """The portal session token itself (the portal's event stream re-checks it)."""
    return _token(credentials)


PortalToken = Annotated[str, Depends(get_portal_token)]

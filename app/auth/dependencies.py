"""Who is calling, resolved once per request.

Endpoints declare what they need with the `Annotated` aliases: `CurrentCaller` (any
authenticated subject) or `TeamCtx` (the caller, the path's team and its role there,
resolved together in one query).

The bearer token is read from the `Authorization` header by `bearer_token`, not by a
FastAPI security dependency: every authenticated request solves these, and each
dependency costs FastAPI tens of microseconds. What OpenAPI says each operation takes
comes from `security_requirement`, which finds these dependencies in the route's.
"""

import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from app.auth import service
from app.core.context import Caller, PortalContext, TeamContext
from app.core.deps import DbSession
from app.core.errors import Unauthorized
from app.core.openapi import PORTAL_SCHEME, TEAM_SCHEMES
from app.core.security import bearer_of
from app.events.record import act_as, act_as_contact


def bearer_token(request: Request) -> str:
    """The token of `Authorization: Bearer <token>` (the scheme in any case), or 401."""
    token = bearer_of(request.headers.get("authorization", ""))
    if token is None:
        raise Unauthorized("Send `Authorization: Bearer <token>`.", code="not_authenticated")
    return token


async def get_caller(request: Request, session: DbSession) -> Caller:
    state = request.app.state
    return await service.caller_for_token(
        session, state.redis, state.secrets, bearer_token(request)
    )


CurrentCaller = Annotated[Caller, Depends(get_caller)]


async def get_team_context(
    team_id: uuid.UUID,
    request: Request,
    session: DbSession,
) -> TeamContext:
    """The caller's role in the path's team; a team the caller is not in is a 404.

    The process's secrets and queue come from the app's state, not from dependencies:
    every team request solves this one, and each dependency costs FastAPI tens of us.
    """
    state = request.app.state
    ctx = await service.team_context_for_token(
        session, state.redis, state.secrets, bearer_token(request), team_id
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
        team_id: uuid.UUID, request: Request, session: DbSession
    ) -> tuple[TeamContext, Any]:
        state = request.app.state
        ctx, row = await service.team_row_for_token(
            session, state.redis, state.secrets, bearer_token(request), team_id, lookup
        )
        act_as(session, ctx)
        return ctx, row

    TEAM_SCOPES.add(get_team_context_and_row)
    return get_team_context_and_row


async def get_bearer_token(request: Request) -> str:
    """The request's bearer token itself (an event stream re-checks it as it runs)."""
    return bearer_token(request)


BearerToken = Annotated[str, Depends(get_bearer_token)]


async def get_portal_context(request: Request, session: DbSession) -> PortalContext:
    """The signed-in client contact; its transaction is confined to the contact's team.
    A user's access token or an API key is a 401 here, as a portal token is on team paths."""
    ctx = await service.portal_context_for_token(
        session, request.app.state.secrets, bearer_token(request)
    )
    act_as_contact(session, ctx.contact_id)  # a checkout it starts is the contact's doing
    return ctx


PortalCtx = Annotated[PortalContext, Depends(get_portal_context)]


async def get_portal_token(request: Request) -> str:
    """The portal session token itself (the portal's event stream re-checks it)."""
    return bearer_token(request)


PortalToken = Annotated[str, Depends(get_portal_token)]


# The dependencies that take a user's token or an API key, and those that take a portal
# session token: an operation solving one of them requires that kind of bearer token.
BEARER_DEPENDENCIES: set[Callable[..., Any]] = {get_caller, get_bearer_token}
PORTAL_DEPENDENCIES: set[Callable[..., Any]] = {get_portal_context, get_portal_token}


def dependency_calls(dependant: Dependant) -> Iterator[Any]:
    """Every dependency a route (or dependency) solves, however deeply nested."""
    for sub in dependant.dependencies:
        yield sub.call
        yield from dependency_calls(sub)


def security_requirement(route: APIRoute) -> list[dict[str, list[str]]] | None:
    """The OpenAPI `security` of `route`: the bearer schemes its dependencies take."""
    calls = set(dependency_calls(route.dependant))
    if calls & PORTAL_DEPENDENCIES:
        return [{PORTAL_SCHEME: []}]
    if calls & (BEARER_DEPENDENCIES | TEAM_SCOPES):
        return [{name: []} for name in TEAM_SCHEMES]
    return None

"""Request-scoped resources: the unit-of-work session and the Redis/arq client.

Dependencies are `async def` even when they do not await: FastAPI runs plain `def`
dependencies in a thread pool, which costs more than the work they do.
"""

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Annotated

from arq.connections import ArqRedis
from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.core.db import handover_of, unit_of_work
from app.core.errors import ServiceUnavailable
from app.core.security import Secrets


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's one transaction; committed before the response is sent, except
    where a streamed response takes it over (`hand_over_unit_of_work`, the CSV export)
    and ends it after its last byte."""
    if request.app.state.db is None or request.app.state.redis is None:
        raise ServiceUnavailable("DATABASE_URL or REDIS_URL is not set.", code="not_configured")
    async with AsyncExitStack() as stack:
        session = await stack.enter_async_context(
            unit_of_work(request.app.state.db, request.app.state.redis)
        )
        yield session
        take = handover_of(session)
        if take is not None:  # a streamed response ends the unit of work after sending
            take(stack.pop_all())


async def get_redis(request: Request) -> ArqRedis:
    if request.app.state.redis is None:
        raise ServiceUnavailable("REDIS_URL is not set.", code="not_configured")
    return request.app.state.redis  # type: ignore[no-any-return]


async def get_secrets(request: Request) -> Secrets:
    return request.app.state.secrets  # type: ignore[no-any-return]


async def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


# scope="function": the commit happens before the response leaves, so a failed commit
# is a 500 and never a 201 for data that was not saved.
DbSession = Annotated[AsyncSession, Depends(get_session, scope="function")]
RedisDep = Annotated[ArqRedis, Depends(get_redis)]
SecretsDep = Annotated[Secrets, Depends(get_secrets)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]

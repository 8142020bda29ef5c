"""The look-ups behind authentication: who a token or an API key is, and its role in a team."""

import uuid
from datetime import UTC, datetime, timedelta

from arq.connections import ArqRedis
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import AuthSession, User
from app.core.context import Caller
from app.core.errors import Unauthorized
from app.core.permissions import Role
from app.core.security import API_KEY_PREFIX, Secrets, api_key_checksum_ok
from app.core.tenancy import in_team, same_team
from app.teams.models import ApiKey, Membership

# Writing last_used_at on every call would turn every read into a write.
_LAST_USED_GRANULARITY = timedelta(minutes=1)
TOUCH_API_KEY_JOB = "touch_api_key"


async def caller_for_token(
    session: AsyncSession, queue: ArqRedis, secrets: Secrets, token: str
) -> Caller:
    """The caller a bearer token (access token or `hl_` API key) stands for, or 401."""
    if token.startswith(API_KEY_PREFIX):
        return await _api_key_caller(session, queue, secrets, token)
    return await _user_caller(session, secrets, token)


async def _api_key_caller(
    session: AsyncSession, queue: ArqRedis, secrets: Secrets, token: str
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
        await _note_api_key_use(queue, key.id, key.last_used_at, now)
    return Caller(
        kind="api_key",
        user_id=key.created_by_id,
        api_key_id=key.id,
        api_key_team_id=key.team_id,
        api_key_role=key.role,
        creator_role=creator_role,
    )


async def _note_api_key_use(
    queue: ArqRedis, key_id: uuid.UUID, stale: datetime | None, now: datetime
) -> None:
    """Have the worker record the use.

    Never on a second pooled connection while the request holds one: a burst of requests
    with a stale key would empty the pool and stall the process. Enqueued at once, not
    after the commit, so a use counts even when the request then fails. The job id names
    the stamp it replaces, so a burst that saw the same stale stamp makes one job.
    """
    replaces = stale.isoformat() if stale else "never"
    await queue.enqueue_job(
        TOUCH_API_KEY_JOB,
        str(key_id),
        now.isoformat(),
        _job_id=f"{TOUCH_API_KEY_JOB}:{key_id}:{replaces}",
    )


async def record_api_key_use(session: AsyncSession, key_id: uuid.UUID, used_at: datetime) -> None:
    """Move `last_used_at` forward (jobs may run out of order)."""
    await session.execute(
        update(ApiKey)
        .where(
            ApiKey.id == key_id,
            or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < used_at),
        )
        .values(last_used_at=used_at)
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

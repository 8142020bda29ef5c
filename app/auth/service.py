"""The look-ups behind authentication: who a token or an API key is, and its role in a team.

A team request resolves caller, team and role in one query: the session joined to its
membership in the path's team, or the API key joined to its creator's membership.
"""

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from arq.connections import ArqRedis
from sqlalchemy import Select, Uuid, bindparam, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import AuthSession
from app.clients.models import Client, ClientStatus
from app.contacts.models import Contact, PortalSession
from app.core.context import Caller, PortalContext, TeamContext
from app.core.errors import Forbidden, NotFound, Unauthorized
from app.core.jobs import REDIS_DOWN
from app.core.permissions import Role, key_role
from app.core.rows import read_rows
from app.core.security import API_KEY_PREFIX, PORTAL_TOKEN_PREFIX, Secrets, api_key_checksum_ok
from app.core.tenancy import in_team, same_team, scope_to_team
from app.teams.models import ApiKey, Membership, Team

log = logging.getLogger(__name__)

# Writing last_used_at on every call would turn every read into a write.
_LAST_USED_GRANULARITY = timedelta(minutes=1)
TOUCH_API_KEY_JOB = "touch_api_key"
# Stale stamps this process already asked the worker to replace: while the worker has not
# run yet, later requests skip the queue instead of asking again.
_NOTED: dict[uuid.UUID, datetime | None] = {}
_NOTED_MAX = 10_000


# Built once: every request runs one of these, and building a statement costs more than
# running it.
_LIVE_SESSION = (
    AuthSession.id == bindparam("session_id"),
    AuthSession.user_id == bindparam("user_id"),
    AuthSession.revoked_at.is_(None),
)
# The session (401 when none) and the user's role in the path's team (404 when null).
# A session's user exists: the foreign key deletes sessions with their user.
# The team look-ups also confine the rest of the transaction to the team they resolve
# (`scope_to_team`): the request's later statements run under row-level security.
_SESSION = select(AuthSession.id).where(*_LIVE_SESSION)
_PATH_TEAM = bindparam("team_id", type_=Uuid)
_SESSION_ROLE = (
    select(AuthSession.id, Membership.role, *scope_to_team(_PATH_TEAM))
    .outerjoin(
        Membership,
        (Membership.user_id == AuthSession.user_id) & in_team(Membership, _PATH_TEAM),
    )
    .where(*_LIVE_SESSION)
)
# The key, and its creator's current role in the key's team.
_KEY = (
    select(
        ApiKey.id,
        ApiKey.team_id,
        ApiKey.created_by_id,
        ApiKey.role,
        ApiKey.last_used_at,
        Membership.role.label("creator_role"),
    )
    .join(Membership, same_team(Membership, ApiKey) & (Membership.user_id == ApiKey.created_by_id))
    .where(
        ApiKey.key_hash == bindparam("key_hash"),
        ApiKey.revoked_at.is_(None),
        or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > bindparam("now")),
    )
)
_KEY_SCOPED = _KEY.add_columns(*scope_to_team(ApiKey.team_id))


@dataclass(frozen=True)
class TeamLookup:
    """The team look-ups (a session's, a key's), reading more of the team on the way."""

    session: Select[Any]
    key: Select[Any]


def team_lookup(*columns: Any) -> TeamLookup:
    """Team look-ups that also read `columns` (expressions over `Team`, such as a
    transaction setting), so a route that needs them saves a round trip. Build once."""
    return TeamLookup(
        session=_SESSION_ROLE.add_columns(*columns).outerjoin(Team, Team.id == _PATH_TEAM),
        key=_KEY_SCOPED.add_columns(*columns).join(Team, in_team(ApiKey, Team.id)),
    )


_PLAIN = TeamLookup(session=_SESSION_ROLE, key=_KEY_SCOPED)
# A live portal session: not revoked or expired, its contact still has portal access and
# still belongs to the session's client, and that client is not archived. Checked on
# every request, so each way of ending access takes effect at once. Confines the rest of
# the transaction to the session's team, like the team look-ups.
_PORTAL_SESSION = (
    select(
        PortalSession.id,
        PortalSession.team_id,
        PortalSession.contact_id,
        PortalSession.client_id,
        *scope_to_team(PortalSession.team_id),
    )
    .join(
        Contact,
        same_team(Contact, PortalSession)
        & (Contact.id == PortalSession.contact_id)
        & (Contact.client_id == PortalSession.client_id),
    )
    .join(Client, same_team(Client, PortalSession) & (Client.id == PortalSession.client_id))
    .where(
        PortalSession.token_hash == bindparam("token_hash"),
        PortalSession.revoked_at.is_(None),
        PortalSession.expires_at > bindparam("now"),
        Contact.portal_access.is_(True),
        Client.status == ClientStatus.active,
    )
)


async def caller_for_token(
    session: AsyncSession, queue: ArqRedis, secrets: Secrets, token: str
) -> Caller:
    """The caller a bearer token (access token or `hl_` API key) stands for, or 401."""
    if token.startswith(API_KEY_PREFIX):
        caller, _ = await _api_key_caller(session, queue, secrets, token, _KEY)
        return caller
    user_id, session_id = _claims(secrets, token)
    found = await session.scalar(_SESSION, {"session_id": session_id, "user_id": user_id})
    if found is None:
        raise _session_ended()
    return Caller(kind="user", user_id=user_id, session_id=session_id)


async def team_context_for_token(
    session: AsyncSession, queue: ArqRedis, secrets: Secrets, token: str, team_id: uuid.UUID
) -> TeamContext:
    """The caller and its role in `team_id`, in one query; another team is a 404."""
    ctx, _ = await team_row_for_token(session, queue, secrets, token, team_id, _PLAIN)
    return ctx


async def team_row_for_token(
    session: AsyncSession,
    queue: ArqRedis,
    secrets: Secrets,
    token: str,
    team_id: uuid.UUID,
    lookup: TeamLookup,
) -> tuple[TeamContext, Any]:
    """`team_context_for_token` by `lookup`, with the row it read (its extra columns)."""
    if token.startswith(API_KEY_PREFIX):
        caller, row = await _api_key_caller(session, queue, secrets, token, lookup.key)
        return _key_context(caller, row.creator_role, team_id), row
    user_id, session_id = _claims(secrets, token)
    rows = await read_rows(
        session, lookup.session, {"session_id": session_id, "user_id": user_id, "team_id": team_id}
    )
    if not rows:
        raise _session_ended()
    row = rows[0]
    if row.role is None:
        raise NotFound("Team")
    caller = Caller(kind="user", user_id=user_id, session_id=session_id)
    return TeamContext(caller=caller, team_id=team_id, role=row.role), row


async def portal_context_for_token(
    session: AsyncSession, secrets: Secrets, token: str
) -> PortalContext:
    """The contact a portal session token stands for, its transaction confined to the
    contact's team; any other token (a user's, an API key) is a 401."""
    if not token.startswith(PORTAL_TOKEN_PREFIX):
        raise _portal_session_invalid()
    rows = await read_rows(
        session,
        _PORTAL_SESSION,
        {"token_hash": secrets.keyed_hash(token), "now": datetime.now(UTC)},
    )
    if not rows:
        raise _portal_session_invalid()
    row = rows[0]
    return PortalContext(
        session_id=row.id, team_id=row.team_id, contact_id=row.contact_id, client_id=row.client_id
    )


def _portal_session_invalid() -> Unauthorized:
    return Unauthorized(
        "Unknown, expired or ended portal session; ask for a new login link.",
        code="invalid_portal_session",
    )


def _key_context(caller: Caller, creator_role: Role, team_id: uuid.UUID) -> TeamContext:
    if caller.api_key_team_id != team_id or caller.api_key_role is None:
        raise NotFound("Team")
    role = key_role(caller.api_key_role, creator_role)
    if role is None:
        raise Forbidden(
            "This key's role no longer fits its creator's role; issue a new key.",
            code="api_key_suspended",
        )
    return TeamContext(caller=caller, team_id=team_id, role=role)


def _claims(secrets: Secrets, token: str) -> tuple[uuid.UUID, uuid.UUID]:
    subject = secrets.access_token_subject(token)
    if subject is None:
        raise Unauthorized("Invalid or expired access token.", code="invalid_token")
    return subject


def _session_ended() -> Unauthorized:
    return Unauthorized("This session has ended; log in again.", code="session_revoked")


async def _api_key_caller(
    session: AsyncSession, queue: ArqRedis, secrets: Secrets, token: str, lookup: Select[Any]
) -> tuple[Caller, Any]:
    """The key's caller and the row `lookup` found (its creator's current role in the
    key's team: `creator_role`), or 401."""
    if not api_key_checksum_ok(token):
        raise Unauthorized("Malformed API key.", code="invalid_api_key")
    now = datetime.now(UTC)
    rows = await read_rows(session, lookup, {"key_hash": secrets.keyed_hash(token), "now": now})
    row = rows[0] if rows else None
    if row is None:
        raise Unauthorized("Unknown, revoked or expired API key.", code="invalid_api_key")
    if row.last_used_at is None or row.last_used_at < now - _LAST_USED_GRANULARITY:
        await _note_api_key_use(queue, row.id, row.last_used_at, now)
    caller = Caller(
        kind="api_key",
        user_id=row.created_by_id,
        api_key_id=row.id,
        api_key_team_id=row.team_id,
        api_key_role=row.role,
        creator_role=row.creator_role,
    )
    return caller, row


async def _note_api_key_use(
    queue: ArqRedis, key_id: uuid.UUID, stale: datetime | None, now: datetime
) -> None:
    """Have the worker record the use.

    Never on a second pooled connection while the request holds one: a burst of requests
    with a stale key would empty the pool and stall the process. Enqueued at once, not
    after the commit, so a use counts even when the request then fails. The job id names
    the stamp it replaces, so a burst that saw the same stale stamp makes one job.
    """
    if key_id in _NOTED and _NOTED[key_id] == stale:
        return
    replaces = stale.isoformat() if stale else "never"
    try:
        await queue.enqueue_job(
            TOUCH_API_KEY_JOB,
            str(key_id),
            now.isoformat(),
            _job_id=f"{TOUCH_API_KEY_JOB}:{key_id}:{replaces}",
        )
    except REDIS_DOWN as exc:
        # Redis is down: the call goes on; a use after Redis is back records the stamp.
        log.warning("API key use not recorded: %s", exc)
        return
    if len(_NOTED) >= _NOTED_MAX:
        _NOTED.clear()
    _NOTED[key_id] = stale


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

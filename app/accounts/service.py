"""Users and their sessions: signup, login, refresh-token rotation, logout."""

import hashlib
import uuid
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import AuthSession, RefreshToken, User
from app.accounts.schemas import LoginIn, MeOut, TeamRole, TokenPair, UserOut
from app.config import Settings
from app.core.context import Caller
from app.core.db import flush_or_raise
from app.core.errors import BadRequest, Conflict, Unauthorized
from app.core.notices import credentials_changed
from app.core.permissions import key_role
from app.core.ratelimit import hit
from app.core.security import Secrets, opaque_token
from app.core.tenancy import in_team
from app.teams.models import Membership, Team


async def find_user_by_email(session: AsyncSession, email: str) -> User | None:
    stmt = select(User).where(func.lower(User.email) == email.lower())
    return (await session.execute(stmt)).scalar_one_or_none()


async def create_user(
    session: AsyncSession, secrets: Secrets, *, email: str, name: str, password: str
) -> User:
    """A new user; 409 `email_taken` when the address is used (case-insensitively)."""
    if await find_user_by_email(session, email) is not None:
        raise Conflict("An account with this email already exists.", code="email_taken")
    user = User(email=email, name=name, password_hash=secrets.hash_password(password))
    session.add(user)
    # A concurrent signup with the same address may win the race after the check above.
    await flush_or_raise(
        session,
        {
            "uq_user_account_email_lower": Conflict(
                "An account with this email already exists.", code="email_taken"
            )
        },
    )
    return user


async def start_session(
    session: AsyncSession, secrets: Secrets, settings: Settings, user_id: uuid.UUID
) -> TokenPair:
    """A new login: a session (token family) and its first token pair."""
    auth_session = AuthSession(user_id=user_id)
    session.add(auth_session)
    await session.flush()
    return await _issue(session, secrets, settings, auth_session)


async def _issue(
    session: AsyncSession, secrets: Secrets, settings: Settings, auth_session: AuthSession
) -> TokenPair:
    refresh = opaque_token()
    session.add(
        RefreshToken(
            session_id=auth_session.id,
            token_hash=secrets.keyed_hash(refresh),
            expires_at=datetime.now(UTC) + timedelta(days=settings.refresh_token_ttl_days),
        )
    )
    await session.flush()
    access, ttl = secrets.issue_access_token(auth_session.user_id, auth_session.id)
    return TokenPair(access_token=access, refresh_token=refresh, expires_in=ttl)


def _email_bucket(email: str) -> str:
    return "login:email:" + hashlib.sha256(email.lower().encode()).hexdigest()


async def login(
    session: AsyncSession,
    secrets: Secrets,
    settings: Settings,
    redis: Redis,
    data: LoginIn,
    client_ip: str,
) -> TokenPair:
    window = settings.login_rate_limit_window_seconds
    await hit(
        redis,
        f"login:ip:{client_ip}",
        limit=settings.login_rate_limit_per_ip,
        window_seconds=window,
    )
    await hit(
        redis,
        _email_bucket(data.email),
        limit=settings.login_rate_limit_per_email,
        window_seconds=window,
    )
    user = await find_user_by_email(session, data.email)
    # Same work and same answer for an unknown email and a wrong password.
    if (
        not secrets.verify_password(data.password, user.password_hash if user else None)
        or user is None
    ):
        raise Unauthorized("Wrong email or password.", code="invalid_credentials")
    return await start_session(session, secrets, settings, user.id)


async def refresh(
    session: AsyncSession, secrets: Secrets, settings: Settings, token: str
) -> TokenPair:
    """Exchange a refresh token for a new pair; a reused token revokes its whole family."""
    now = datetime.now(UTC)
    row = (
        await session.execute(
            select(RefreshToken, AuthSession)
            .join(AuthSession, AuthSession.id == RefreshToken.session_id)
            .where(RefreshToken.token_hash == secrets.keyed_hash(token))
            .with_for_update(of=RefreshToken)
        )
    ).one_or_none()
    if row is None:
        raise Unauthorized("Unknown refresh token.", code="invalid_refresh_token")
    stored, auth_session = row
    if auth_session.revoked_at is not None:
        raise Unauthorized("This session has ended; log in again.", code="session_revoked")
    if stored.used_at is not None:
        await revoke_session(session, auth_session.id, reason="refresh_token_reused")
        raise Unauthorized(
            "This refresh token was already used; the session is revoked.",
            code="refresh_token_reused",
            keep_changes=True,
        )
    if stored.expires_at <= now:
        raise Unauthorized("The refresh token has expired.", code="refresh_token_expired")
    stored.used_at = now
    return await _issue(session, secrets, settings, auth_session)


async def revoke_session(session: AsyncSession, session_id: uuid.UUID, *, reason: str) -> None:
    await session.execute(
        update(AuthSession)
        .where(AuthSession.id == session_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=func.now(), revoked_reason=reason)
    )
    credentials_changed(session)  # its open event streams end


async def logout(session: AsyncSession, caller: Caller) -> None:
    if caller.session_id is None:
        raise BadRequest("API keys have no session; revoke the key instead.", code="not_a_session")
    await revoke_session(session, caller.session_id, reason="logout")


async def me(session: AsyncSession, caller: Caller) -> MeOut:
    """The calling user and its teams with its role in each."""
    user = (await session.execute(select(User).where(User.id == caller.user_id))).scalar_one()
    stmt = (
        select(Team, Membership.role)
        .join(Membership, in_team(Membership, Team.id))
        .where(Membership.user_id == user.id)
        .order_by(Team.id)
    )
    if caller.api_key_team_id is not None:
        stmt = stmt.where(Team.id == caller.api_key_team_id)
    teams = [(team, role) for team, role in (await session.execute(stmt)).all()]
    if caller.api_key_role is not None:
        assert caller.creator_role is not None
        # After the creator's demotion the key acts with the narrower role (or none).
        shown = key_role(caller.api_key_role, caller.creator_role) or caller.creator_role
        teams = [(team, shown) for team, _ in teams]
    return MeOut(
        **UserOut.model_validate(user).model_dump(),
        teams=[TeamRole(id=t.id, name=t.name, role=role) for t, role in teams],
    )

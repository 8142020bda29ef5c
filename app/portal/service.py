"""Signing in to the client portal: login links by email, sessions, the signed-in contact.

A login link is asked for by address alone, so the request itself does nothing that
depends on the address: it counts the attempt and queues a job, which finds the
contacts (in every team) and emails each its own link. Redeeming a link opens a session
for that contact and the client it belongs to then; every portal request checks the
session is still live (`app.auth.service.portal_context_for_token`).
"""

import hashlib
import uuid
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.clients.models import Client, ClientStatus
from app.config import Settings
from app.contacts.models import Contact, PortalSession, PortalToken
from app.contacts.service import send_login_link
from app.core.context import PortalContext
from app.core.errors import RateLimited, Unauthorized
from app.core.jobs import defer
from app.core.notices import credentials_changed
from app.core.ratelimit import hit
from app.core.security import Secrets, new_portal_token
from app.core.tenancy import enter_team, get_in_team, in_team, same_team
from app.portal.schemas import (
    LoginLinkAccepted,
    PortalClient,
    PortalContact,
    PortalMe,
    PortalSessionOut,
    PortalTeam,
)
from app.teams import service as teams_service

SEND_LOGIN_LINKS_JOB = "send_portal_login_links"
ACCEPTED = LoginLinkAccepted(
    detail="If this address may use the client portal, a login link is on its way."
)


def _bucket(kind: str, value: str) -> str:
    return f"portal-link:{kind}:" + hashlib.sha256(value.encode()).hexdigest()


async def request_login_links(
    session: AsyncSession, redis: Redis, settings: Settings, email: str, client_ip: str
) -> LoginLinkAccepted:
    """Queue the login links of `email`: the same answer, and the same work in this
    request, whether or not any contact has it; over the limits, silently nothing."""
    window = settings.portal_link_rate_limit_window_seconds
    try:
        await hit(
            redis,
            _bucket("ip", client_ip),
            limit=settings.portal_link_rate_limit_per_ip,
            window_seconds=window,
        )
        await hit(
            redis,
            _bucket("email", email.lower()),
            limit=settings.portal_link_rate_limit_per_email,
            window_seconds=window,
        )
    except RateLimited:
        return ACCEPTED
    defer(session, SEND_LOGIN_LINKS_JOB, email.lower())
    return ACCEPTED


async def contacts_to_link(session: AsyncSession, email: str) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """(team id, contact id) of every contact, in any team, with this address and portal
    access, of an active client. A cross-team read (docs/security.md)."""
    rows = await session.execute(
        select(Contact.team_id, Contact.id)
        .join(Client, same_team(Client, Contact) & (Client.id == Contact.client_id))
        .where(
            func.lower(Contact.email) == email.lower(),
            Contact.portal_access.is_(True),
            Client.status == ClientStatus.active,
        )
        .order_by(Contact.team_id, Contact.id)
    )
    return [(team_id, contact_id) for team_id, contact_id in rows]


async def email_login_link(
    session: AsyncSession,
    secrets: Secrets,
    settings: Settings,
    team_id: uuid.UUID,
    contact_id: uuid.UUID,
) -> bool:
    """Email one contact its login link (in its team's transaction), if it still may
    sign in."""
    contact = await session.scalar(
        select(Contact).where(
            in_team(Contact, team_id), Contact.id == contact_id, Contact.portal_access.is_(True)
        )
    )
    if contact is None or not contact.email:
        return False
    team = await teams_service.team_by_id(session, team_id)
    await send_login_link(session, secrets, settings, contact, team.name)
    return True


def _invalid_token() -> Unauthorized:
    return Unauthorized(
        "This login link is used, expired or unknown; ask for a new one.",
        code="invalid_portal_token",
    )


async def open_session(
    session: AsyncSession, secrets: Secrets, settings: Settings, token: str
) -> PortalSessionOut:
    """Redeem a login link (once: concurrent redemptions queue on the row and all but
    the first find it used) for a portal session of its contact."""
    now = datetime.now(UTC)
    used = (
        await session.execute(
            update(PortalToken)
            .where(
                PortalToken.token_hash == secrets.keyed_hash(token),
                PortalToken.used_at.is_(None),
                PortalToken.expires_at > now,
            )
            .values(used_at=now)
            .returning(PortalToken.team_id, PortalToken.contact_id)
        )
    ).first()
    if used is None:
        raise _invalid_token()
    # The token named the team: the rest of the transaction is confined to it.
    await enter_team(session, used.team_id)
    contact = await session.scalar(
        select(Contact)
        .join(Client, same_team(Client, Contact) & (Client.id == Contact.client_id))
        .where(
            in_team(Contact, used.team_id),
            Contact.id == used.contact_id,
            Contact.portal_access.is_(True),
            Client.status == ClientStatus.active,
        )
    )
    if contact is None or contact.client_id is None:
        raise _invalid_token()
    access_token = new_portal_token()
    lifetime = timedelta(hours=settings.portal_session_hours)
    session.add(
        PortalSession(
            team_id=contact.team_id,
            contact_id=contact.id,
            client_id=contact.client_id,
            token_hash=secrets.keyed_hash(access_token),
            expires_at=now + lifetime,
        )
    )
    await session.flush()
    return PortalSessionOut(
        access_token=access_token,
        expires_in=int(lifetime.total_seconds()),
        contact=PortalContact.model_validate(contact),
    )


async def close_session(session: AsyncSession, ctx: PortalContext) -> None:
    """End the caller's portal session (and its open streams)."""
    credentials_changed(session)
    await session.execute(
        update(PortalSession)
        .where(in_team(PortalSession, ctx), PortalSession.id == ctx.session_id)
        .values(revoked_at=func.now())
    )


async def me(session: AsyncSession, ctx: PortalContext) -> PortalMe:
    """The signed-in contact, its client and the team it deals with."""
    contact = await get_in_team(session, Contact, ctx, ctx.contact_id, what="Contact")
    client = await get_in_team(session, Client, ctx, ctx.client_id, what="Client")
    team = await teams_service.team_by_id(session, ctx.team_id)
    return PortalMe(
        contact=PortalContact.model_validate(contact),
        client=PortalClient.model_validate(client),
        team=PortalTeam.model_validate(team),
    )

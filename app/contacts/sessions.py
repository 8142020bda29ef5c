"""Ending portal sessions: a contact's (access revoked, deleted, moved) or a client's
(archived). Apart from the contacts service, which imports the clients service, so the
clients service can end its contacts' sessions too."""

from sqlalchemy import ColumnElement, func, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.contacts.models import PortalSession
from app.core.context import TeamContext
from app.core.notices import credentials_changed
from app.core.tenancy import in_team


async def revoke_portal_sessions(
    session: AsyncSession, ctx: TeamContext, whose: ColumnElement[bool]
) -> None:
    """End the live portal sessions matching `whose` at once, their open portal streams
    with them (the next request, or the stream's re-check, is a 401)."""
    credentials_changed(session)
    await session.execute(
        update(PortalSession)
        .where(in_team(PortalSession, ctx), whose, PortalSession.revoked_at.is_(None))
        .values(revoked_at=func.now())
    )

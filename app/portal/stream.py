"""The portal's event stream: the team's event record, heard by a client contact.

The machinery is the team stream's (`app.events.stream`: one feed per team and process,
resume by `Last-Event-ID`, keep-alives, limits, re-checks on revocation); what differs
is who listens: a portal session, shown what `app.portal.views.event_views` lets it see,
shaped as the portal shows it.
"""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.service import portal_context_for_token
from app.core.context import PortalContext
from app.core.errors import AppError
from app.events.stream import EventStreams
from app.portal.views import event_views


class PortalAudience:
    """A contact signed in to the portal."""

    def __init__(self, streams: EventStreams, ctx: PortalContext, token: str) -> None:
        self._streams = streams
        self._token = token
        self.ctx = ctx
        self.team_id = ctx.team_id
        # A contact's streams count apart from the team's members' (5 each, 20 a team).
        self.slot_keys = (f"contact:{ctx.contact_id}", f"portal:{ctx.team_id}")

    async def check(self, session: AsyncSession) -> bool:
        try:
            self.ctx = await portal_context_for_token(session, self._streams.secrets, self._token)
        except AppError:
            return False
        return self.ctx.team_id == self.team_id

    def needs_query(self, rows: list[Any]) -> bool:
        return bool(rows)

    async def show(self, session: AsyncSession | None, rows: list[Any], currency: str) -> list[Any]:
        if session is None:  # no rows
            return []
        return await event_views(session, self.ctx, self._streams.settings, rows)

"""Who is calling, as services see it.

`Caller` is the authenticated subject (a user by access token, or an API key acting as
its creator). `TeamContext` adds the team of the path and the role the caller holds in
it. Both are resolved once per request by `app.auth.dependencies`; services receive
`TeamContext` and ask it for permissions, never for a role.
"""

import uuid
from dataclasses import dataclass
from typing import Literal

from app.core.errors import Forbidden
from app.core.permissions import Access, Permission, Role, access_of


@dataclass(frozen=True)
class Caller:
    kind: Literal["user", "api_key"]
    user_id: uuid.UUID
    session_id: uuid.UUID | None = None
    api_key_id: uuid.UUID | None = None
    api_key_team_id: uuid.UUID | None = None
    api_key_role: Role | None = None
    # A key never acts above its creator, even after the creator was demoted.
    creator_role: Role | None = None


@dataclass(frozen=True)
class TeamContext:
    caller: Caller
    team_id: uuid.UUID
    role: Role

    @property
    def user_id(self) -> uuid.UUID:
        return self.caller.user_id

    def grant(self, permission: Permission) -> Access | None:
        return access_of(self.role, permission)

    def access(self, permission: Permission) -> Access:
        """The reach of `permission` for this caller, or Forbidden."""
        reach = self.grant(permission)
        if reach is None:
            raise Forbidden()
        return reach


@dataclass(frozen=True)
class PortalContext:
    """A client contact signed in to the portal: its session, its team (the transaction
    is confined to it) and the client it sees (`app.auth.service.portal_context_for_token`)."""

    session_id: uuid.UUID
    team_id: uuid.UUID
    contact_id: uuid.UUID
    client_id: uuid.UUID

"""Who in a team is told of something: the members whose role grants a permission.

Kept apart from `app.teams.service` (which records events) so the event record's own
dependencies (outgoing webhooks) can tell a team's managers without an import cycle.
"""

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import User
from app.core.permissions import Permission, roles_with
from app.core.tenancy import in_team
from app.teams.models import Membership


async def emails_of_members_with(
    session: AsyncSession, team_id: uuid.UUID, permission: Permission
) -> list[str]:
    """Emails of the team's members whose role grants `permission` (whom to tell of
    payments, of a failing invoice run, ...), sorted."""
    rows = await session.execute(
        select(User.email)
        .join(Membership, Membership.user_id == User.id)
        .where(in_team(Membership, team_id), Membership.role.in_(roles_with(permission)))
        .order_by(User.email)
    )
    return list(rows.scalars())

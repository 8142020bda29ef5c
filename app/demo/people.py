"""The demo team and its people, made by the services signup and invitation acceptance
use (the API adds a member only through an emailed invitation, whose token only the
email carries); finding the team again; a session for its superadmin.

Users outlive a deleted team (they may belong to others), so a reset finds them again
and keeps their passwords.
"""

import uuid
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import service as accounts_service
from app.accounts.models import User
from app.config import Settings
from app.core.permissions import Role
from app.core.security import Secrets
from app.core.tenancy import in_team
from app.demo.agency import BASE_CURRENCY, OWNER, PASSWORD, PEOPLE, TEAM_NAME, TIMEZONE
from app.teams import service as teams_service
from app.teams.models import Membership, Team


@dataclass
class DemoTeam:
    team_id: uuid.UUID
    # Person key -> user id.
    users: dict[str, uuid.UUID]


async def find_demo_team(session: AsyncSession) -> uuid.UUID | None:
    """The demo team: the team of that name whose members include the demo superadmin
    (a read across teams, like the jobs' candidate queries)."""
    return await session.scalar(
        select(Team.id)
        .join(Membership, in_team(Membership, Team.id))
        .join(User, User.id == Membership.user_id)
        .where(Team.name == TEAM_NAME, func.lower(User.email) == OWNER.email)
        .order_by(Team.created_at)
        .limit(1)
    )


async def _user(session: AsyncSession, secrets: Secrets, name: str, email: str) -> User:
    found = await accounts_service.find_user_by_email(session, email)
    if found is not None:
        return found
    return await accounts_service.create_user(
        session, secrets, email=email, name=name, password=PASSWORD
    )


async def create_demo_team(session: AsyncSession, secrets: Secrets) -> DemoTeam:
    """The team, owned by the demo superadmin, with one member of each other role; each
    joins as accepting an invitation would make it (`member.created`)."""
    users = {p.key: await _user(session, secrets, p.name, p.email) for p in PEOPLE}
    team = await teams_service.create_team(
        session,
        owner_id=users[OWNER.key].id,
        name=TEAM_NAME,
        base_currency=BASE_CURRENCY,
        timezone=TIMEZONE,
    )
    for person in PEOPLE:
        if person is OWNER:
            continue
        user_id = users[person.key].id
        session.add(Membership(team_id=team.id, user_id=user_id, role=Role(person.role)))
        await session.flush()
        await teams_service.record_member_event(session, "member.created", team.id, user_id)
    return DemoTeam(team.id, {key: user.id for key, user in users.items()})


async def owner_token(session: AsyncSession, secrets: Secrets, settings: Settings) -> str:
    """An access token of the demo superadmin (a login without the password round trip)."""
    owner = await accounts_service.find_user_by_email(session, OWNER.email)
    assert owner is not None, "the demo superadmin exists once its team does"
    tokens = await accounts_service.start_session(session, secrets, settings, owner.id)
    return tokens.access_token

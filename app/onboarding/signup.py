"""Signing up: a user and the team it owns, logged in, in one transaction."""

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import service as accounts_service
from app.accounts.schemas import SignupIn, SignupOut, UserOut
from app.config import Settings
from app.core.security import Secrets
from app.teams import service as teams_service
from app.teams.schemas import TeamOut


async def signup(
    session: AsyncSession, secrets: Secrets, settings: Settings, data: SignupIn
) -> SignupOut:
    """A user and the team it owns (as superadmin), logged in."""
    user = await accounts_service.create_user(
        session, secrets, email=data.email, name=data.name, password=data.password
    )
    team = await teams_service.create_team(
        session,
        owner_id=user.id,
        name=data.team_name,
        base_currency=data.base_currency,
        timezone=data.timezone,
    )
    tokens = await accounts_service.start_session(session, secrets, settings, user.id)
    return SignupOut(
        user=UserOut.model_validate(user), team=TeamOut.model_validate(team), **tokens.model_dump()
    )

"""Accepting an invitation: the account of the invited address joins the team."""

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import service as accounts_service
from app.config import Settings
from app.core.errors import Conflict, NotFound, Unprocessable
from app.core.security import Secrets
from app.core.tenancy import enter_team
from app.teams import service as teams_service
from app.teams.models import Invitation, Membership, Team
from app.teams.schemas import AcceptedUser, AcceptIn, AcceptOut, TeamOut


async def accept_invitation(
    session: AsyncSession, secrets: Secrets, settings: Settings, token: str, data: AcceptIn
) -> AcceptOut:
    """Join the team: links the existing account of the address, or creates one."""
    invitation = (
        await session.execute(
            select(Invitation)
            .where(
                Invitation.token_hash == secrets.keyed_hash(token),
                Invitation.accepted_at.is_(None),
                Invitation.revoked_at.is_(None),
            )
            .with_for_update()
        )
    ).scalar_one_or_none()
    if invitation is None:
        raise NotFound("Invitation")
    if invitation.expires_at <= datetime.now(UTC):
        raise Conflict("The invitation has expired; ask for a new one.", code="invitation_expired")
    # The token named the team: the rest of the transaction is confined to it.
    await enter_team(session, invitation.team_id)
    tokens = None
    user = await accounts_service.find_user_by_email(session, invitation.email)
    if user is None:
        if not data.name or not data.password:
            raise Unprocessable(
                "There is no account for this address yet: send `name` and `password`.",
                code="name_and_password_required",
            )
        user = await accounts_service.create_user(
            session, secrets, email=invitation.email, name=data.name, password=data.password
        )
        tokens = await accounts_service.start_session(session, secrets, settings, user.id)
    existing = await session.get(Membership, (invitation.team_id, user.id))
    if existing is not None:
        raise Conflict("You are already a member of this team.", code="already_member")
    session.add(Membership(team_id=invitation.team_id, user_id=user.id, role=invitation.role))
    invitation.accepted_at = datetime.now(UTC)
    await session.flush()
    await teams_service.record_member_event(session, "member.created", invitation.team_id, user.id)
    team = await session.get(Team, invitation.team_id)
    return AcceptOut(
        user=AcceptedUser.model_validate(user),
        team=TeamOut.model_validate(team),
        role=invitation.role,
        **(tokens.model_dump() if tokens else {}),
    )

"""Client onboarding: one transaction creates the client and everything it starts with."""

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from app.clients import service as clients_service
from app.clients.models import Client
from app.clients.schemas import ClientIn
from app.config import Settings
from app.contacts import service as contacts_service
from app.contacts.models import Contact
from app.contacts.schemas import ContactIn
from app.core.context import TeamContext
from app.core.errors import Unprocessable
from app.core.security import Secrets
from app.invoices import billing_settings as invoice_settings
from app.projects import service as projects_service
from app.projects.models import Board, Project
from app.teams.models import Team


@dataclass
class Onboarded:
    client: Client
    project: Project | None = None
    board: Board | None = None
    contacts: list[Contact] = field(default_factory=list)


async def onboard_client(
    session: AsyncSession, ctx: TeamContext, secrets: Secrets, settings: Settings, data: ClientIn
) -> Onboarded:
    """Create the client, its invoice settings, optionally its project and board, and its
    contacts with portal access (login links emailed after commit). Any failure rolls
    back all of it: the caller's unit of work commits once."""
    emails = [c.email for c in data.invite_contacts]
    if len(emails) != len(set(emails)):
        raise Unprocessable(
            "`invite_contacts` lists an email twice.", code="duplicate_contact_email"
        )

    client = await clients_service.create_client(session, ctx, data)
    await invoice_settings.create_default_settings(session, client)
    result = Onboarded(client=client)
    if data.create_project:
        result.project, result.board = await projects_service.create_for_new_client(
            session, ctx, client, data.project_name or client.name
        )
    if data.invite_contacts:
        team = await session.get(Team, ctx.team_id)
        team_name = team.name if team else ""
        for invite in data.invite_contacts:
            contact = await contacts_service.create_contact(
                session, ctx, ContactIn(name=invite.name, email=invite.email, client_id=client.id)
            )
            await contacts_service.grant_portal_access(
                session, ctx, secrets, settings, contact, team_name=team_name
            )
            if result.project is not None:
                await projects_service.attach_viewer(session, ctx, result.project, contact)
            await session.refresh(contact)
            result.contacts.append(contact)
    return result

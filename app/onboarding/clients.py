"""Client onboarding: one transaction creates the client and everything it starts with."""

from sqlalchemy.ext.asyncio import AsyncSession

from app.clients import service as clients_service
from app.clients.schemas import ClientCreated, ClientIn, OnboardedContact
from app.config import Settings
from app.contacts import service as contacts_service
from app.contacts.schemas import ContactIn
from app.core.context import TeamContext
from app.core.errors import Unprocessable
from app.core.security import Secrets
from app.invoices import billing_settings as invoice_settings
from app.projects import service as projects_service
from app.projects.models import ViewerRole


async def onboard_client(
    session: AsyncSession, ctx: TeamContext, secrets: Secrets, settings: Settings, data: ClientIn
) -> ClientCreated:
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
    project = board = None
    if data.create_project:
        project, board = await projects_service.create_for_new_client(
            session, ctx, client, data.project_name or client.name
        )
    contacts: list[OnboardedContact] = []
    for invite in data.invite_contacts:
        contact = await contacts_service.create_contact(
            session,
            ctx,
            ContactIn(
                name=invite.name,
                email=invite.email,
                client_id=client.id,
                billing_contact=invite.billing_contact,
            ),
        )
        await contacts_service.grant_portal_access(session, ctx, secrets, settings, contact)
        if project is not None:
            await projects_service.attach_viewer(
                session, ctx, project, contact, ViewerRole(invite.project_role)
            )
        await session.refresh(contact)
        contacts.append(OnboardedContact.model_validate(contact))
    out = (await clients_service.client_outs(session, ctx, [client]))[0]
    return ClientCreated(
        **out.model_dump(),
        project_id=project.id if project else None,
        board_id=board.id if board else None,
        contacts=contacts,
    )

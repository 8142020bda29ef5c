"""Contacts, their activity history and their client-portal access."""

import uuid
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import ColumnElement, Select, delete, exists, func, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.clients.models import Client
from app.clients.service import held_by_caller, require_client, visible_clients
from app.config import Settings
from app.contacts.models import Activity, Contact, ContactAssignee, PortalSession, PortalToken
from app.contacts.schemas import (
    ActivityIn,
    ActivityOut,
    ActivityPatch,
    ContactIn,
    ContactOut,
    ContactPatch,
)
from app.contacts.sessions import revoke_portal_sessions
from app.core.context import TeamContext
from app.core.db import flush_or_raise
from app.core.errors import Conflict, Forbidden, Unprocessable
from app.core.links import links_of, replace_links
from app.core.mail import queue_email
from app.core.pagination import Listing, shaped_by
from app.core.permissions import Access, Permission
from app.core.security import Secrets, opaque_token
from app.core.statements import BOUND_CALLER, bound, caller_values, contains, like_pattern, shaped
from app.core.tenancy import get_authorized, get_in_team, in_team, same_team, team_rows
from app.events.record import record_event
from app.projects.models import Project, ProjectViewer
from app.teams import service as teams_service

# A login link is single use and short-lived: a new one is a `POST /v1/portal/login-links`
# away (the links sent at onboarding and by `portal-access` are the same kind).
PORTAL_LINK_TTL = timedelta(minutes=30)


def visible_contacts(ctx: TeamContext, reach: Access) -> ColumnElement[bool]:
    """OWN: contacts the caller owns or is assigned to, or of clients it owns or is
    assigned to; PROJECTS: contacts of the clients of the caller's projects."""
    if reach is Access.ALL:
        return true()
    of_visible_client = exists().where(
        Client.id == Contact.client_id,
        same_team(Client, Contact),
        visible_clients(ctx, reach),
    )
    if reach is Access.PROJECTS:
        return of_visible_client
    return or_(held_by_caller(ctx, Contact, ContactAssignee, "contact_id"), of_visible_client)


async def get_contact(
    session: AsyncSession,
    ctx: TeamContext,
    contact_id: uuid.UUID,
    *,
    write: bool = False,
    for_update: bool = False,
) -> Contact:
    """A contact the caller may see (404 otherwise); `write`: one it may change (403)."""
    return await get_authorized(
        session,
        Contact,
        ctx,
        contact_id,
        what="Contact",
        visible=visible_contacts,
        read=Permission.CRM_READ,
        write=Permission.CRM_WRITE if write else None,
        for_update=for_update,
    )


async def _outs(session: AsyncSession, contacts: list[Contact]) -> list[ContactOut]:
    """Contacts as the API shows them: assignees of all of them in one query."""
    assignees = await links_of(
        session, ContactAssignee, parent="contact_id", parent_ids=[c.id for c in contacts]
    )
    return [ContactOut.of(c, assignee_ids=assignees[c.id]) for c in contacts]


async def _out(session: AsyncSession, contact: Contact) -> ContactOut:
    return (await _outs(session, [contact]))[0]


async def _record(session: AsyncSession, event_type: str, contact: Contact) -> None:
    data = {"id": contact.id} if event_type == "contact.deleted" else await _out(session, contact)
    await record_event(session, contact.team_id, event_type, data, client_id=contact.client_id)


async def read_contact(
    session: AsyncSession, ctx: TeamContext, contact_id: uuid.UUID
) -> ContactOut:
    """A contact the caller may see, as the API shows it."""
    return await _out(session, await get_contact(session, ctx, contact_id))


@shaped
def _contact_list(reach: Access, client: bool, owner: bool, search: bool) -> Select[Any]:
    """The contacts list's statement for one shape (`app.core.statements`)."""
    stmt = team_rows(Contact, BOUND_CALLER).where(visible_contacts(BOUND_CALLER, reach))
    if client:
        stmt = stmt.where(Contact.client_id == bound("client_id", Contact.client_id))
    if owner:
        stmt = stmt.where(Contact.owner_id == bound("owner_id", Contact.owner_id))
    if search:
        stmt = stmt.where(or_(contains(Contact.name, "q"), contains(Contact.email, "q")))
    return stmt


async def list_contacts(
    session: AsyncSession,
    ctx: TeamContext,
    *,
    client_id: uuid.UUID | None,
    owner_id: uuid.UUID | None,
    q: str | None,
) -> Listing[ContactOut]:
    """Contacts the caller may see, filtered."""
    reach = ctx.access(Permission.CRM_READ)
    stmt = _contact_list(reach, client_id is not None, owner_id is not None, bool(q))
    values = {
        **caller_values(ctx),
        "client_id": client_id,
        "owner_id": owner_id,
        "q": like_pattern(q or ""),
    }
    return Listing(stmt, Contact, partial(_outs, session), values=values)


async def _flush_unique_email(session: AsyncSession) -> None:
    await flush_or_raise(
        session,
        {
            "uq_contact_team_id_lower_email": Conflict(
                "Another contact of the team has this email.", code="contact_email_taken"
            )
        },
    )


def _check_billing_contact(billing: bool, email: str | None, client_id: uuid.UUID | None) -> None:
    """A billing contact is mailed its client's invoices: it needs both."""
    if not billing:
        return
    if not email:
        raise Unprocessable("A billing contact needs an email.", code="contact_email_required")
    if client_id is None:
        raise Unprocessable(
            "A billing contact is the contact of a client.", code="contact_client_required"
        )


async def create_contact(session: AsyncSession, ctx: TeamContext, data: ContactIn) -> Contact:
    """The contact row and its assignees (onboarding builds on it)."""
    ctx.access(Permission.CRM_CREATE)
    _check_billing_contact(data.billing_contact, data.email, data.client_id)
    if data.client_id is not None:
        await require_client(session, ctx, data.client_id)
    owner_id = data.owner_id or ctx.user_id
    await teams_service.ensure_members(session, ctx.team_id, [owner_id], field="owner_id")
    await teams_service.ensure_members(
        session, ctx.team_id, data.assignee_ids or [], field="assignee_ids"
    )
    contact = Contact(
        team_id=ctx.team_id,
        name=data.name,
        email=data.email,
        phone=data.phone,
        title=data.title,
        client_id=data.client_id,
        billing_contact=data.billing_contact,
        owner_id=owner_id,
        created_by_id=ctx.user_id,
        notes=data.notes,
    )
    session.add(contact)
    await _flush_unique_email(session)
    await _replace_assignees(session, ctx, contact, data.assignee_ids or [])
    await session.refresh(contact)
    await _record(session, "contact.created", contact)
    return contact


async def add_contact(session: AsyncSession, ctx: TeamContext, data: ContactIn) -> ContactOut:
    """Create a contact, answered as the API shows it."""
    return await _out(session, await create_contact(session, ctx, data))


async def _replace_assignees(
    session: AsyncSession, ctx: TeamContext, contact: Contact, user_ids: list[uuid.UUID]
) -> None:
    await replace_links(
        session,
        ContactAssignee,
        team_id=ctx.team_id,
        parent="contact_id",
        parent_id=contact.id,
        user_ids=user_ids,
    )


async def update_contact(
    session: AsyncSession, ctx: TeamContext, contact_id: uuid.UUID, patch: ContactPatch
) -> ContactOut:
    """Change a contact the caller may change; answers it as the API shows it."""
    contact = await get_contact(session, ctx, contact_id, write=True, for_update=True)
    fields = patch.changes()
    if fields.get("client_id") is not None:
        await require_client(session, ctx, fields["client_id"])
    if fields.get("owner_id") is not None:
        await teams_service.ensure_members(
            session, ctx.team_id, [fields["owner_id"]], field="owner_id"
        )
    if "assignee_ids" in fields:
        ids = fields.pop("assignee_ids") or []
        await teams_service.ensure_members(session, ctx.team_id, ids, field="assignee_ids")
        await _replace_assignees(session, ctx, contact, ids)
    if "email" in fields and fields["email"] is None and contact.portal_access:
        raise Unprocessable(
            "A contact with portal access needs an email.", code="contact_email_required"
        )
    moved = "client_id" in fields and fields["client_id"] != contact.client_id
    if moved:
        # Billing for one client says nothing about the next.
        fields.setdefault("billing_contact", False)
    _check_billing_contact(
        fields.get("billing_contact", contact.billing_contact),
        fields.get("email", contact.email),
        fields.get("client_id", contact.client_id),
    )
    for field, value in fields.items():
        setattr(contact, field, value)
    contact.updated_at = func.now()
    await _flush_unique_email(session)
    if moved:
        await _leave_other_clients_projects(session, ctx, contact)
        await end_portal_sessions(session, ctx, contact)
    await session.refresh(contact)
    await _record(session, "contact.updated", contact)
    return await _out(session, contact)


async def _leave_other_clients_projects(
    session: AsyncSession, ctx: TeamContext, contact: Contact
) -> None:
    """Viewer rows open a client's projects to its contacts (the portal): a contact keeps
    those of its own client's projects only, none when it has no client.

    The caller holds the contact's row lock; adding a viewer share-locks the contact
    (`app.projects.service.add_viewer`), so a viewer added during a move either commits
    first and is removed here, or sees the new client and is refused.
    """
    stmt = delete(ProjectViewer).where(
        in_team(ProjectViewer, ctx), ProjectViewer.contact_id == contact.id
    )
    if contact.client_id is not None:
        stmt = stmt.where(
            ProjectViewer.project_id.notin_(
                select(Project.id).where(
                    in_team(Project, ctx), Project.client_id == contact.client_id
                )
            )
        )
    await session.execute(stmt)


async def delete_contact(session: AsyncSession, ctx: TeamContext, contact_id: uuid.UUID) -> None:
    """Delete a contact the caller may change, with its activities."""
    contact = await get_contact(session, ctx, contact_id, write=True)
    await session.delete(contact)
    await session.flush()
    await _record(session, "contact.deleted", contact)


# ---------------------------------------------------------------- portal access


async def grant_portal_access(
    session: AsyncSession, ctx: TeamContext, secrets: Secrets, settings: Settings, contact: Contact
) -> None:
    """Give the contact portal access and email it a one-time login link after commit."""
    if not contact.email:
        raise Unprocessable(
            "The contact has no email to send a login link to.", code="contact_email_required"
        )
    if not contact.portal_access:
        contact.portal_access = True
        contact.portal_access_granted_at = datetime.now(UTC)
    team_name = (await teams_service.team_by_id(session, ctx.team_id)).name
    await send_login_link(session, secrets, settings, contact, team_name)


async def send_login_link(
    session: AsyncSession, secrets: Secrets, settings: Settings, contact: Contact, team_name: str
) -> None:
    """Email the contact a one-time portal login link after commit: a random token, kept
    as a keyed hash, redeemed once within `PORTAL_LINK_TTL` (`POST /v1/portal/sessions`)."""
    assert contact.email is not None
    token = opaque_token()
    session.add(
        PortalToken(
            team_id=contact.team_id,
            contact_id=contact.id,
            token_hash=secrets.keyed_hash(token),
            expires_at=datetime.now(UTC) + PORTAL_LINK_TTL,
        )
    )
    await session.flush()
    base = settings.front_url
    minutes = int(PORTAL_LINK_TTL.total_seconds() // 60)
    queue_email(
        session,
        to=[contact.email],
        subject=f"Your client portal at {team_name}",
        text=(
            f"Hello {contact.name},\n\n{team_name} invites you to its client portal, where you "
            f"can follow your projects, the time spent on them and your invoices.\n\n"
            f"Sign in: {base}/portal/login?token={token}\n\n"
            f"The link works once and expires in {minutes} minutes; you can ask for a new "
            f"one at {base}/portal/login."
        ),
    )


async def end_portal_sessions(session: AsyncSession, ctx: TeamContext, contact: Contact) -> None:
    """Sign the contact out of the portal everywhere, and void its unused login links."""
    await revoke_portal_sessions(session, ctx, PortalSession.contact_id == contact.id)
    await session.execute(
        update(PortalToken)
        .where(
            in_team(PortalToken, ctx),
            PortalToken.contact_id == contact.id,
            PortalToken.used_at.is_(None),
        )
        .values(expires_at=func.now())
    )


async def give_portal_access(
    session: AsyncSession,
    ctx: TeamContext,
    secrets: Secrets,
    settings: Settings,
    contact_id: uuid.UUID,
) -> ContactOut:
    """Grant portal access to a contact the caller may change; answers the contact."""
    contact = await get_contact(session, ctx, contact_id, write=True, for_update=True)
    await grant_portal_access(session, ctx, secrets, settings, contact)
    await session.refresh(contact)
    await _record(session, "contact.updated", contact)
    return await _out(session, contact)


async def revoke_portal_access(
    session: AsyncSession, ctx: TeamContext, contact_id: uuid.UUID
) -> None:
    """Take a contact's portal access away."""
    contact = await get_contact(session, ctx, contact_id, write=True, for_update=True)
    contact.portal_access = False
    contact.portal_access_granted_at = None
    # Open sessions and outstanding login links die with the access.
    await end_portal_sessions(session, ctx, contact)
    await session.flush()
    await session.refresh(contact)
    await _record(session, "contact.updated", contact)


# ---------------------------------------------------------------- activities


def _may_moderate(ctx: TeamContext) -> bool:
    return ctx.grant(Permission.CRM_WRITE) is Access.ALL


@shaped
def _activity_list() -> Select[Any]:
    """The activities of one contact (bound as `contact_id`)."""
    return team_rows(Activity, BOUND_CALLER).where(
        Activity.contact_id == bound("contact_id", Activity.contact_id)
    )


async def list_activities(
    session: AsyncSession, ctx: TeamContext, contact_id: uuid.UUID
) -> Listing[ActivityOut]:
    """A visible contact's activities, newest first."""
    contact = await get_contact(session, ctx, contact_id)
    return Listing(
        _activity_list(),
        Activity,
        shaped_by(ActivityOut),
        order_by=[Activity.occurred_at],
        descending=True,
        values={**caller_values(ctx), "contact_id": contact.id},
    )


async def log_activity(
    session: AsyncSession, ctx: TeamContext, contact_id: uuid.UUID, data: ActivityIn
) -> Activity:
    """Anyone who may read the contact may log an activity; it bumps `last_contacted_at`."""
    contact = await get_contact(session, ctx, contact_id, for_update=True)
    occurred_at = data.occurred_at or datetime.now(UTC)
    activity = Activity(
        team_id=ctx.team_id,
        contact_id=contact.id,
        kind=data.kind,
        body=data.body,
        occurred_at=occurred_at,
        author_id=ctx.user_id,
    )
    session.add(activity)
    if contact.last_contacted_at is None or contact.last_contacted_at < occurred_at:
        contact.last_contacted_at = occurred_at
    await session.flush()
    await session.refresh(activity)
    return activity


async def _own_activity(
    session: AsyncSession, ctx: TeamContext, contact_id: uuid.UUID, activity_id: uuid.UUID
) -> Activity:
    contact = await get_contact(session, ctx, contact_id)
    activity = await get_in_team(
        session,
        Activity,
        ctx,
        activity_id,
        what="Activity",
        visible=Activity.contact_id == contact.id,
        for_update=True,
    )
    if activity.author_id != ctx.user_id and not _may_moderate(ctx):
        raise Forbidden("Only the author or a manager may change this activity.")
    return activity


async def update_activity(
    session: AsyncSession,
    ctx: TeamContext,
    contact_id: uuid.UUID,
    activity_id: uuid.UUID,
    patch: ActivityPatch,
) -> Activity:
    """Change an activity (its author or a manager)."""
    activity = await _own_activity(session, ctx, contact_id, activity_id)
    for field, value in patch.changes().items():
        setattr(activity, field, value)
    await session.flush()
    await session.refresh(activity)
    return activity


async def delete_activity(
    session: AsyncSession, ctx: TeamContext, contact_id: uuid.UUID, activity_id: uuid.UUID
) -> None:
    """Delete an activity (its author or a manager)."""
    activity = await _own_activity(session, ctx, contact_id, activity_id)
    await session.delete(activity)
    await session.flush()

"""Clients: visibility by role, CRUD and archiving (onboarding: `app/onboarding/clients.py`)."""

import uuid
from functools import partial
from typing import Any

from sqlalchemy import ColumnElement, Select, exists, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.selectable import ScalarSelect

from app.clients.currency import change_currency
from app.clients.models import Client, ClientMember, ClientStatus
from app.clients.schemas import ClientIn, ClientOut, ClientPatch
from app.contacts.models import PortalSession
from app.contacts.sessions import revoke_portal_sessions
from app.core.context import TeamContext
from app.core.errors import Unprocessable
from app.core.links import links_of, replace_links
from app.core.pagination import Listing
from app.core.permissions import Access, Permission
from app.core.statements import BOUND_CALLER, bound, caller_values, contains, like_pattern, shaped
from app.core.tenancy import get_authorized, in_team, team_rows, team_select
from app.events.record import record_event
from app.projects.membership import member_project_ids
from app.projects.models import Project
from app.rates.service import sees_rates
from app.teams import service as teams_service


def held_by_caller(ctx: TeamContext, model: Any, link: Any, parent: str) -> ColumnElement[bool]:
    """Rows of `model` the caller owns, created or is linked to through `link`.

    The OWN reach of the CRM: `link` is the row's user-link table (client members,
    contact assignees), `parent` its column naming the row.
    """
    return or_(
        model.owner_id == ctx.user_id,
        model.created_by_id == ctx.user_id,
        exists().where(getattr(link, parent) == model.id, link.user_id == ctx.user_id),
    )


def visible_clients(ctx: TeamContext, reach: Access) -> ColumnElement[bool]:
    """Which clients a reach covers, as a filter on `Client`.

    OWN (and OWN_CLIENTS): created by, owned by or assigned to the caller; PROJECTS:
    clients of projects the caller is a member of.
    """
    if reach is Access.ALL:
        return true()
    if reach in (Access.OWN, Access.OWN_CLIENTS):
        return held_by_caller(ctx, Client, ClientMember, "client_id")
    return exists().where(Project.client_id == Client.id, Project.id.in_(member_project_ids(ctx)))


def own_client_ids(ctx: TeamContext) -> ScalarSelect[uuid.UUID]:
    """`Client.id` of the clients the caller owns or is assigned to (a subquery)."""
    return (
        select(Client.id)
        .where(in_team(Client, ctx), visible_clients(ctx, Access.OWN))
        .scalar_subquery()
    )


def client_visible(ctx: TeamContext, reach: Access, client_id: Any) -> ColumnElement[bool]:
    """Whether a client is one the reach lets the caller see (what `get_client` checks),
    as an EXISTS to fold into another statement."""
    return exists().where(in_team(Client, ctx), Client.id == client_id, visible_clients(ctx, reach))


async def get_client(
    session: AsyncSession,
    ctx: TeamContext,
    client_id: uuid.UUID,
    *,
    permission: Permission = Permission.CRM_READ,
    for_update: bool = False,
) -> Client:
    """A client the caller may see; with CRM_WRITE, one it may change (403 if only seen)."""
    return await get_authorized(
        session,
        Client,
        ctx,
        client_id,
        what="Client",
        visible=visible_clients,
        read=Permission.CRM_READ,
        write=None if permission is Permission.CRM_READ else permission,
        for_update=for_update,
    )


async def client_outs(
    session: AsyncSession, ctx: TeamContext, clients: list[Client]
) -> list[ClientOut]:
    """Clients as the API shows them: members of all of them in one query."""
    members = await links_of(
        session, ClientMember, parent="client_id", parent_ids=[c.id for c in clients]
    )
    rates = sees_rates(ctx, Access.ALL)
    return [
        ClientOut.of(
            c,
            member_ids=members[c.id],
            hourly_rate_amount=c.hourly_rate_amount if rates else None,
        )
        for c in clients
    ]


async def record_client_event(session: AsyncSession, event_type: str, client: Client) -> None:
    """`client.*` with the client in full (the event list hides the rate from roles that
    may not read it)."""
    members = await links_of(session, ClientMember, parent="client_id", parent_ids=[client.id])
    out = ClientOut.of(client, member_ids=members[client.id])
    await record_event(session, client.team_id, event_type, out, client_id=client.id)


async def read_client(session: AsyncSession, ctx: TeamContext, client_id: uuid.UUID) -> ClientOut:
    """A client the caller may see, as the API shows it."""
    return (await client_outs(session, ctx, [await get_client(session, ctx, client_id)]))[0]


@shaped
def _client_list(reach: Access, status: ClientStatus, search: bool, owner: bool) -> Select[Any]:
    """The clients list's statement for one shape (`app.core.statements`)."""
    stmt = team_rows(Client, BOUND_CALLER).where(
        visible_clients(BOUND_CALLER, reach), Client.status == status
    )
    if search:
        stmt = stmt.where(or_(contains(Client.name, "q"), contains(Client.email, "q")))
    if owner:
        stmt = stmt.where(Client.owner_id == bound("owner_id", Client.owner_id))
    return stmt


async def list_clients(
    session: AsyncSession,
    ctx: TeamContext,
    *,
    q: str | None,
    status: ClientStatus,
    owner_id: uuid.UUID | None,
) -> Listing[ClientOut]:
    """Clients the caller may see, filtered."""
    reach = ctx.access(Permission.CRM_READ)
    stmt = _client_list(reach, status, bool(q), owner_id is not None)
    values = {**caller_values(ctx), "q": like_pattern(q or ""), "owner_id": owner_id}
    return Listing(stmt, Client, partial(client_outs, session, ctx), values=values)


async def create_client(session: AsyncSession, ctx: TeamContext, data: ClientIn) -> Client:
    """The client row and its assigned members (no onboarding side effects)."""
    ctx.access(Permission.CRM_CREATE)
    if data.hourly_rate_amount is not None:
        ctx.access(Permission.RATES_WRITE)
    owner_id = data.owner_id or ctx.user_id
    await teams_service.ensure_members(session, ctx.team_id, [owner_id], field="owner_id")
    await teams_service.ensure_members(
        session, ctx.team_id, data.member_ids or [], field="member_ids"
    )
    client = Client(
        team_id=ctx.team_id,
        name=data.name,
        email=data.email,
        currency=data.currency,
        owner_id=owner_id,
        created_by_id=ctx.user_id,
        payment_methods=[m.value for m in data.payment_methods or []],
        hourly_rate_amount=data.hourly_rate_amount,
        address=data.address,
        tax_id=data.tax_id,
        notes=data.notes,
    )
    session.add(client)
    await session.flush()
    await _replace_members(session, ctx, client, data.member_ids or [])
    await session.refresh(client)
    await record_client_event(session, "client.created", client)
    return client


async def _replace_members(
    session: AsyncSession, ctx: TeamContext, client: Client, user_ids: list[uuid.UUID]
) -> None:
    await replace_links(
        session,
        ClientMember,
        team_id=ctx.team_id,
        parent="client_id",
        parent_id=client.id,
        user_ids=user_ids,
    )


async def update_client(
    session: AsyncSession, ctx: TeamContext, client_id: uuid.UUID, patch: ClientPatch
) -> ClientOut:
    """Change a client the caller may change; answers it as the API shows it."""
    client = await get_client(
        session, ctx, client_id, permission=Permission.CRM_WRITE, for_update=True
    )
    fields = patch.changes()
    if "hourly_rate_amount" in fields:
        ctx.access(Permission.RATES_WRITE)
    if "currency" in fields:
        await change_currency(session, client, fields.pop("currency"))
    if fields.get("owner_id") is not None:
        await teams_service.ensure_members(
            session, ctx.team_id, [fields["owner_id"]], field="owner_id"
        )
    if "member_ids" in fields:
        ids = fields.pop("member_ids") or []
        await teams_service.ensure_members(session, ctx.team_id, ids, field="member_ids")
        await _replace_members(session, ctx, client, ids)
    if "payment_methods" in fields:
        fields["payment_methods"] = [m.value for m in fields["payment_methods"] or []]
    for field, value in fields.items():
        setattr(client, field, value)
    client.updated_at = func.now()
    await session.flush()
    await session.refresh(client)
    await record_client_event(session, "client.updated", client)
    return (await client_outs(session, ctx, [client]))[0]


async def archive_client(session: AsyncSession, ctx: TeamContext, client_id: uuid.UUID) -> Client:
    """Archive a client the caller may change; it takes no new work."""
    client = await get_client(
        session, ctx, client_id, permission=Permission.CRM_WRITE, for_update=True
    )
    client.status = ClientStatus.archived
    # Its contacts are signed out of the portal at once (and stay out if it is restored).
    await revoke_portal_sessions(session, ctx, PortalSession.client_id == client.id)
    await session.flush()
    await session.refresh(client)
    await record_client_event(session, "client.updated", client)
    return client


async def require_client(session: AsyncSession, ctx: TeamContext, client_id: uuid.UUID) -> Client:
    """A client the caller can see, named in a request body (422 otherwise)."""
    reach = ctx.access(Permission.CRM_READ)
    # A client the caller cannot see answers like a missing one (ids do not leak).
    client = await session.scalar(
        team_select(Client, ctx).where(Client.id == client_id, visible_clients(ctx, reach))
    )
    if client is None:
        raise Unprocessable("No such client in this team.", code="unknown_client")
    return client


async def require_active_client(
    session: AsyncSession, ctx: TeamContext, client_id: uuid.UUID
) -> Client:
    """An active client the caller can see, for attaching new work (422 otherwise)."""
    client = await require_client(session, ctx, client_id)
    if client.status is not ClientStatus.active:
        raise Unprocessable("The client is archived.", code="client_archived")
    return client

import uuid
from typing import Annotated

from fastapi import Query, status

from app.auth.dependencies import TeamCtx
from app.contacts import service
from app.contacts.schemas import (
    ACTIVITY_CSV,
    CONTACT_CSV,
    ActivityIn,
    ActivityOut,
    ActivityPatch,
    ContactIn,
    ContactOut,
    ContactPatch,
)
from app.core.csv_export import CSV_RESPONSES, CsvResponse, FormatQuery, list_response
from app.core.deps import DbSession, SecretsDep, SettingsDep
from app.core.pagination import Page, PageQuery
from app.core.routing import APIRouter

router = APIRouter(prefix="/teams/{team_id}/contacts", tags=["contacts"])


@router.get("", response_model=Page[ContactOut], responses=CSV_RESPONSES)
async def list_contacts(
    ctx: TeamCtx,
    session: DbSession,
    page: PageQuery,
    fmt: FormatQuery,
    client_id: uuid.UUID | None = None,
    owner_id: uuid.UUID | None = None,
    q: Annotated[str | None, Query(max_length=200, description="Name or email contains")] = None,
) -> Page[ContactOut] | CsvResponse:
    """Contacts the caller may see."""
    listing = await service.list_contacts(session, ctx, client_id=client_id, owner_id=owner_id, q=q)
    return await list_response(session, listing, page, fmt, CONTACT_CSV, "contacts.csv")


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ContactOut)
async def create_contact(data: ContactIn, ctx: TeamCtx, session: DbSession) -> ContactOut:
    """Create a contact (email unique in the team)."""
    return await service.add_contact(session, ctx, data)


@router.get("/{contact_id}", response_model=ContactOut)
async def get_contact(contact_id: uuid.UUID, ctx: TeamCtx, session: DbSession) -> ContactOut:
    """One contact."""
    return await service.read_contact(session, ctx, contact_id)


@router.patch("/{contact_id}", response_model=ContactOut)
async def update_contact(
    contact_id: uuid.UUID, data: ContactPatch, ctx: TeamCtx, session: DbSession
) -> ContactOut:
    """Change a contact."""
    return await service.update_contact(session, ctx, contact_id, data)


@router.delete("/{contact_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_contact(contact_id: uuid.UUID, ctx: TeamCtx, session: DbSession) -> None:
    """Delete a contact and its activity history."""
    await service.delete_contact(session, ctx, contact_id)


@router.post("/{contact_id}/portal-access", response_model=ContactOut)
async def grant_portal_access(
    contact_id: uuid.UUID,
    ctx: TeamCtx,
    session: DbSession,
    secrets: SecretsDep,
    settings: SettingsDep,
) -> ContactOut:
    """Give the contact client-portal access and email it a login link."""
    return await service.give_portal_access(session, ctx, secrets, settings, contact_id)


@router.delete("/{contact_id}/portal-access", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_portal_access(contact_id: uuid.UUID, ctx: TeamCtx, session: DbSession) -> None:
    """Take the contact's portal access away; pending login links stop working."""
    await service.revoke_portal_access(session, ctx, contact_id)


@router.get("/{contact_id}/activities", response_model=Page[ActivityOut], responses=CSV_RESPONSES)
async def list_activities(
    contact_id: uuid.UUID, ctx: TeamCtx, session: DbSession, page: PageQuery, fmt: FormatQuery
) -> Page[ActivityOut] | CsvResponse:
    """The contact's activity history, newest first."""
    listing = await service.list_activities(session, ctx, contact_id)
    return await list_response(session, listing, page, fmt, ACTIVITY_CSV, "activities.csv")


@router.post(
    "/{contact_id}/activities", status_code=status.HTTP_201_CREATED, response_model=ActivityOut
)
async def log_activity(
    contact_id: uuid.UUID, data: ActivityIn, ctx: TeamCtx, session: DbSession
) -> ActivityOut:
    """Log a note, call, email or meeting; updates the contact's `last_contacted_at`."""
    return ActivityOut.model_validate(await service.log_activity(session, ctx, contact_id, data))


@router.patch("/{contact_id}/activities/{activity_id}", response_model=ActivityOut)
async def update_activity(
    contact_id: uuid.UUID,
    activity_id: uuid.UUID,
    data: ActivityPatch,
    ctx: TeamCtx,
    session: DbSession,
) -> ActivityOut:
    """Change an activity (its author or a manager)."""
    return ActivityOut.model_validate(
        await service.update_activity(session, ctx, contact_id, activity_id, data)
    )


@router.delete("/{contact_id}/activities/{activity_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_activity(
    contact_id: uuid.UUID, activity_id: uuid.UUID, ctx: TeamCtx, session: DbSession
) -> None:
    """Delete an activity (its author or a manager)."""
    await service.delete_activity(session, ctx, contact_id, activity_id)

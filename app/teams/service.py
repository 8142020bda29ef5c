"""Teams, their members and roles, invitations and API keys."""

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, delete, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from app.accounts.models import User
from app.config import Settings
from app.core.context import TeamContext
from app.core.db import flush_or_raise
from app.core.errors import Conflict, Forbidden, NotFound, Unprocessable
from app.core.mail import queue_email
from app.core.notices import credentials_changed
from app.core.pagination import Listing, shaped_by
from app.core.permissions import (
    Permission,
    Role,
    may_assign_role,
    may_manage_member,
    role_within,
)
from app.core.security import Secrets, new_api_key, opaque_token
from app.core.statements import BOUND_CALLER, caller_values, shaped
from app.core.tenancy import get_in_team, in_team, team_rows, team_select
from app.events.record import record_event
from app.invoices.models import ExchangeRate, Invoice
from app.teams.models import ApiKey, Invitation, Membership, Team
from app.teams.schemas import (
    ApiKeyCreated,
    ApiKeyIn,
    ApiKeyOut,
    InvitationIn,
    InvitationOut,
    MemberOut,
    TeamPatch,
)

# ---------------------------------------------------------------- teams


async def record_member_event(
    session: AsyncSession, event_type: str, team_id: uuid.UUID, user_id: uuid.UUID
) -> None:
    """`member.created|updated` with the member as the API lists it; `member.deleted`
    with `{id}` (the user's id, which names a member)."""
    data: MemberOut | dict[str, uuid.UUID] = {"id": user_id}
    if event_type != "member.deleted":
        member = (
            await session.execute(
                select(Membership)
                .where(in_team(Membership, team_id), Membership.user_id == user_id)
                .options(joinedload(Membership.user))
                .execution_options(populate_existing=True)
            )
        ).scalar_one()
        data = MemberOut.of(member)
    await record_event(session, team_id, event_type, data, object_id=user_id, user_id=user_id)


async def create_team(
    session: AsyncSession, *, owner_id: uuid.UUID, name: str, base_currency: str, timezone: str
) -> Team:
    """A team owned by `owner_id`, who becomes its superadmin."""
    team = Team(name=name, base_currency=base_currency, timezone=timezone)
    session.add(team)
    await session.flush()
    session.add(Membership(team_id=team.id, user_id=owner_id, role=Role.superadmin))
    await session.flush()
    await record_member_event(session, "member.created", team.id, owner_id)
    return team


async def team_by_id(session: AsyncSession, team_id: uuid.UUID) -> Team:
    """The team row (for settings such as time zone and base currency)."""
    team = await session.get(Team, team_id)
    if team is None:
        raise NotFound("Team")
    return team


async def get_team(session: AsyncSession, ctx: TeamContext) -> Team:
    ctx.access(Permission.TEAM_READ)
    team = await session.get(Team, ctx.team_id)
    if team is None:
        raise NotFound("Team")
    return team


def _max_below_min() -> Unprocessable:
    return Unprocessable(
        "`time_entry_max_seconds` must not be below `time_entry_min_seconds`.",
        code="time_entry_max_below_min",
    )


async def _change_base_currency(session: AsyncSession, team: Team, currency: str) -> None:
    """409 `base_currency_locked` once an invoice fixed a rate to the base currency or an
    exchange rate is quoted against it.

    The team row is locked first: a finalization and a new exchange rate read the base
    currency under a share lock (`app/invoices/lifecycle.py`, `exchange_rates.py`), so
    they either commit first and are seen here, or wait and read the new currency.
    """
    await session.refresh(team, ["base_currency"], with_for_update={"key_share": True})
    if currency == team.base_currency:
        return
    finalized = exists().where(in_team(Invoice, team.id), Invoice.finalized_at.isnot(None))
    quoted = exists().where(in_team(ExchangeRate, team.id))
    if await session.scalar(select(or_(finalized, quoted))):
        raise Conflict(
            "The base currency cannot change once an invoice has been finalized or an "
            "exchange rate is quoted against it.",
            code="base_currency_locked",
        )
    team.base_currency = currency


async def update_team(session: AsyncSession, ctx: TeamContext, patch: TeamPatch) -> Team:
    ctx.access(Permission.TEAM_ADMIN)
    team = await get_team(session, ctx)
    changes = patch.changes()
    if "base_currency" in changes:
        await _change_base_currency(session, team, changes.pop("base_currency"))
    for field, value in changes.items():
        setattr(team, field, value)
    if team.time_entry_max_seconds < team.time_entry_min_seconds:
        raise _max_below_min()
    # Two admins changing one bound each: the CHECK sees the row both leave behind.
    await flush_or_raise(session, {"ck_team_max_seconds": _max_below_min()})
    await session.refresh(team)
    return team


async def delete_team(session: AsyncSession, ctx: TeamContext) -> None:
    ctx.access(Permission.TEAM_ADMIN)
    await session.execute(delete(Team).where(Team.id == ctx.team_id))
    credentials_changed(session)


# ---------------------------------------------------------------- members


def _members(ctx: TeamContext) -> Select[Any]:
    return team_select(Membership, ctx).options(joinedload(Membership.user))


@shaped
def _member_list() -> Select[Any]:
    """The members list's statement (`app.core.statements`)."""
    return _members(BOUND_CALLER)


def list_members(ctx: TeamContext) -> Listing[MemberOut]:
    """The team's members with their names, emails and roles."""
    ctx.access(Permission.MEMBERS_READ)
    return Listing(
        _member_list(),
        Membership,
        shaped_by(MemberOut, MemberOut.of),
        pk=Membership.user_id,
        values=caller_values(ctx),
    )


async def _membership(
    session: AsyncSession, ctx: TeamContext, user_id: uuid.UUID, *, for_update: bool = False
) -> Membership:
    stmt = _members(ctx).where(Membership.user_id == user_id)
    if for_update:
        stmt = stmt.with_for_update(of=Membership)
    member = (await session.execute(stmt)).scalar_one_or_none()
    if member is None:
        raise NotFound("Member")
    return member


async def _ensure_another_superadmin(
    session: AsyncSession, ctx: TeamContext, user_id: uuid.UUID
) -> None:
    """Refuse to leave the team without a superadmin.

    Locks every superadmin row of the team first, so two superadmins demoting each
    other at the same time cannot both succeed.
    """
    rows = (
        (
            await session.execute(
                team_select(Membership, ctx)
                .where(Membership.role == Role.superadmin)
                .order_by(Membership.user_id)
                .with_for_update()
            )
        )
        .scalars()
        .all()
    )
    if not any(m.user_id != user_id for m in rows):
        raise Conflict("A team needs at least one superadmin.", code="last_superadmin")


def _check_manage(ctx: TeamContext, target: Membership) -> None:
    ctx.access(Permission.MEMBERS_MANAGE)
    if not may_manage_member(ctx.role, target.role):
        raise Forbidden("Only a superadmin may change a superadmin.")


async def _lock_memberships(session: AsyncSession, ctx: TeamContext) -> None:
    """Serialise membership changes of a team (one lock, so no lock-order deadlocks).

    FOR NO KEY UPDATE leaves inserts that reference the team (key-share locks) alone.
    """
    await session.execute(
        select(Team.id).where(Team.id == ctx.team_id).with_for_update(key_share=True)
    )


async def change_role(
    session: AsyncSession, ctx: TeamContext, user_id: uuid.UUID, role: Role
) -> Membership:
    ctx.access(Permission.MEMBERS_MANAGE)
    await _lock_memberships(session, ctx)
    member = await _membership(session, ctx, user_id, for_update=True)
    _check_manage(ctx, member)
    if not may_assign_role(ctx.role, role):
        raise Forbidden("Only a superadmin may grant superadmin.")
    if member.role is Role.superadmin and role is not Role.superadmin:
        await _ensure_another_superadmin(session, ctx, user_id)
    member.role = role
    await session.flush()
    await session.refresh(member)
    await record_member_event(session, "member.updated", ctx.team_id, user_id)
    credentials_changed(session)  # open event streams see by the new role
    return member


async def remove_member(session: AsyncSession, ctx: TeamContext, user_id: uuid.UUID) -> None:
    """Remove a member (anyone may leave); the member's API keys in the team stop working."""
    await _lock_memberships(session, ctx)
    member = await _membership(session, ctx, user_id, for_update=True)
    if user_id != ctx.user_id or ctx.caller.kind == "api_key":
        _check_manage(ctx, member)
    if member.role is Role.superadmin:
        await _ensure_another_superadmin(session, ctx, user_id)
    await session.execute(
        update(ApiKey)
        .where(
            in_team(ApiKey, ctx),
            ApiKey.created_by_id == user_id,
            ApiKey.revoked_at.is_(None),
        )
        .values(revoked_at=func.now())
    )
    await session.delete(member)
    await session.flush()
    await record_member_event(session, "member.deleted", ctx.team_id, user_id)
    credentials_changed(session)  # its open event streams (and its keys') end


async def ensure_members(
    session: AsyncSession, team_id: uuid.UUID, user_ids: Iterable[uuid.UUID], *, field: str
) -> None:
    """422 `not_team_member` unless every id is a member of the team."""
    wanted = set(user_ids)
    if not wanted:
        return
    found = set(
        (
            await session.execute(
                select(Membership.user_id).where(
                    in_team(Membership, team_id), Membership.user_id.in_(wanted)
                )
            )
        ).scalars()
    )
    missing = wanted - found
    if missing:
        raise Unprocessable(
            f"`{field}` names users who are not members of the team: "
            + ", ".join(sorted(map(str, missing))),
            code="not_team_member",
        )


# ---------------------------------------------------------------- invitations


async def invite(
    session: AsyncSession,
    ctx: TeamContext,
    secrets: Secrets,
    settings: Settings,
    data: InvitationIn,
) -> Invitation:
    """Invite an address to the team; emails a one-time link after the commit."""
    ctx.access(Permission.MEMBERS_MANAGE)
    if not may_assign_role(ctx.role, data.role):
        raise Forbidden("Only a superadmin may invite a superadmin.")
    already = await session.execute(
        select(Membership.user_id)
        .join(User, User.id == Membership.user_id)
        .where(in_team(Membership, ctx), func.lower(User.email) == data.email)
    )
    if already.first() is not None:
        raise Conflict("This person is already a member of the team.", code="already_member")
    # A new invitation replaces a pending one for the same address.
    await session.execute(
        update(Invitation)
        .where(
            in_team(Invitation, ctx),
            func.lower(Invitation.email) == data.email,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
        )
        .values(revoked_at=func.now())
    )
    token = opaque_token()
    invitation = Invitation(
        team_id=ctx.team_id,
        email=data.email,
        role=data.role,
        token_hash=secrets.keyed_hash(token),
        invited_by_id=ctx.user_id,
        expires_at=datetime.now(UTC) + timedelta(days=settings.invitation_ttl_days),
    )
    session.add(invitation)
    await session.flush()
    await session.refresh(invitation)
    team = await get_team(session, ctx)
    link = f"{settings.front_url}/invitations/{token}"
    queue_email(
        session,
        to=[data.email],
        subject=f"You are invited to {team.name} on Hourline",
        text=(
            f"You have been invited to join {team.name} on Hourline as {data.role.value}.\n\n"
            f"Accept the invitation: {link}\n"
            f"(API: POST /v1/invitations/{token}/accept)\n\n"
            f"The link expires on {invitation.expires_at:%Y-%m-%d %H:%M} UTC."
        ),
    )
    return invitation


@shaped
def _invitation_list() -> Select[Any]:
    """The invitations list's statement (`app.core.statements`)."""
    return team_rows(Invitation, BOUND_CALLER)


def list_invitations(ctx: TeamContext) -> Listing[InvitationOut]:
    """The team's invitations, pending and past."""
    ctx.access(Permission.MEMBERS_MANAGE)
    return Listing(
        _invitation_list(), Invitation, shaped_by(InvitationOut), values=caller_values(ctx)
    )


async def revoke_invitation(
    session: AsyncSession, ctx: TeamContext, invitation_id: uuid.UUID
) -> None:
    ctx.access(Permission.MEMBERS_MANAGE)
    invitation = await get_in_team(session, Invitation, ctx, invitation_id, what="Invitation")
    if invitation.accepted_at is not None:
        raise Conflict("The invitation was already accepted.", code="invitation_accepted")
    if invitation.revoked_at is None:
        invitation.revoked_at = datetime.now(UTC)
        await session.flush()


# ---------------------------------------------------------------- API keys


async def create_api_key(
    session: AsyncSession, ctx: TeamContext, secrets: Secrets, data: ApiKeyIn
) -> ApiKeyCreated:
    """A new key acting as the caller in this team with `data.role`; the secret is returned once."""
    ctx.access(Permission.API_KEYS_MANAGE)
    if data.role is Role.superadmin:
        raise Unprocessable("An API key cannot be superadmin.", code="api_key_role_not_allowed")
    if not role_within(data.role, ctx.role):
        raise Forbidden("An API key cannot have more rights than its creator.")
    if data.expires_at is not None and data.expires_at <= datetime.now(UTC):
        raise Unprocessable("`expires_at` must be in the future.", code="expires_in_past")
    token = new_api_key()
    key = ApiKey(
        team_id=ctx.team_id,
        created_by_id=ctx.user_id,
        name=data.name,
        role=data.role,
        prefix=token[:10],
        key_hash=secrets.keyed_hash(token),
        expires_at=data.expires_at,
    )
    session.add(key)
    await session.flush()
    await session.refresh(key)
    return ApiKeyCreated(**ApiKeyOut.model_validate(key).model_dump(), key=token)


@shaped
def _api_key_list() -> Select[Any]:
    """The API keys list's statement (`app.core.statements`)."""
    return team_rows(ApiKey, BOUND_CALLER)


def list_api_keys(ctx: TeamContext) -> Listing[ApiKeyOut]:
    """The team's API keys (never their secrets)."""
    ctx.access(Permission.API_KEYS_MANAGE)
    return Listing(_api_key_list(), ApiKey, shaped_by(ApiKeyOut), values=caller_values(ctx))


async def revoke_api_key(session: AsyncSession, ctx: TeamContext, key_id: uuid.UUID) -> None:
    ctx.access(Permission.API_KEYS_MANAGE)
    key = await get_in_team(session, ApiKey, ctx, key_id, what="API key")
    if key.revoked_at is None:
        key.revoked_at = datetime.now(UTC)
        await session.flush()
        credentials_changed(session)  # its open event streams end

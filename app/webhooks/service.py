"""Outgoing webhook endpoints (superadmin and org_manager) and their delivery logs."""

import base64
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.core.context import TeamContext
from app.core.crypto import SecretBox
from app.core.errors import Conflict
from app.core.ids import new_id
from app.core.pagination import Listing, shaped_by
from app.core.permissions import Permission
from app.core.statements import BOUND_CALLER, bound, caller_values, shaped
from app.core.tenancy import get_in_team, team_rows
from app.webhooks import deliveries
from app.webhooks.models import DeliveryStatus, EndpointStatus, WebhookDelivery, WebhookEndpoint
from app.webhooks.schemas import (
    WebhookDeliveryOut,
    WebhookEndpointCreated,
    WebhookEndpointIn,
    WebhookEndpointOut,
    WebhookEndpointPatch,
    WebhookSecretOut,
)
from app.webhooks.targets import check_url, private_allowed

# After a rotation the old secret keeps signing, next to the new one, this long.
PREVIOUS_SECRET_TTL = timedelta(hours=24)
SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """`whsec_` + base64 of 24 random bytes (the Standard Webhooks secret format)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def _types(event_types: list[str]) -> list[str]:
    """Distinct, in the order given; `*` alone when it is among them."""
    unique = list(dict.fromkeys(event_types))
    return [deliveries.ALL_TYPES] if deliveries.ALL_TYPES in unique else unique


async def _endpoint(
    session: AsyncSession, ctx: TeamContext, endpoint_id: uuid.UUID, *, for_update: bool = False
) -> WebhookEndpoint:
    ctx.access(Permission.WEBHOOKS_MANAGE)
    return await get_in_team(
        session, WebhookEndpoint, ctx, endpoint_id, what="Webhook endpoint", for_update=for_update
    )


async def create_endpoint(
    session: AsyncSession,
    ctx: TeamContext,
    settings: Settings,
    box: SecretBox,
    data: WebhookEndpointIn,
) -> WebhookEndpointCreated:
    ctx.access(Permission.WEBHOOKS_MANAGE)
    await check_url(data.url, allow_private=private_allowed(data.url, settings))
    secret = new_secret()
    endpoint = WebhookEndpoint(
        team_id=ctx.team_id,
        url=data.url,
        description=data.description,
        event_types=_types(data.event_types),
        secret_sealed=box.seal(secret),
    )
    session.add(endpoint)
    await session.flush()
    await session.refresh(endpoint)
    return WebhookEndpointCreated(
        **WebhookEndpointOut.model_validate(endpoint).model_dump(), secret=secret
    )


@shaped
def _endpoint_list() -> Select[Any]:
    """The endpoints list's statement (`app.core.statements`)."""
    return team_rows(WebhookEndpoint, BOUND_CALLER)


def list_endpoints(ctx: TeamContext) -> Listing[WebhookEndpointOut]:
    ctx.access(Permission.WEBHOOKS_MANAGE)
    return Listing(
        _endpoint_list(),
        WebhookEndpoint,
        shaped_by(WebhookEndpointOut),
        values=caller_values(ctx),
    )


async def get_endpoint(
    session: AsyncSession, ctx: TeamContext, endpoint_id: uuid.UUID
) -> WebhookEndpointOut:
    return WebhookEndpointOut.model_validate(await _endpoint(session, ctx, endpoint_id))


async def update_endpoint(
    session: AsyncSession,
    ctx: TeamContext,
    settings: Settings,
    endpoint_id: uuid.UUID,
    patch: WebhookEndpointPatch,
) -> WebhookEndpointOut:
    changes = patch.changes()
    endpoint = await _endpoint(session, ctx, endpoint_id, for_update=True)
    if "url" in changes:
        url = changes["url"]
        await check_url(url, allow_private=private_allowed(url, settings))
    if "event_types" in changes:
        changes["event_types"] = _types(changes["event_types"])
    status = changes.pop("status", None)
    if status is EndpointStatus.enabled and endpoint.status is EndpointStatus.disabled:
        # Enabled again: the five days of failures that disable it start anew.
        endpoint.failing_since = None
        endpoint.disabled_at = None
    elif status is EndpointStatus.disabled and endpoint.status is EndpointStatus.enabled:
        endpoint.disabled_at = datetime.now(UTC)
    if status is not None:
        endpoint.status = status
    for field, value in changes.items():
        setattr(endpoint, field, value)
    await session.flush()
    await session.refresh(endpoint)
    return WebhookEndpointOut.model_validate(endpoint)


async def delete_endpoint(session: AsyncSession, ctx: TeamContext, endpoint_id: uuid.UUID) -> None:
    """Delete the endpoint and its delivery log; its queued attempts find nothing."""
    endpoint = await _endpoint(session, ctx, endpoint_id)
    await session.delete(endpoint)
    await session.flush()


async def rotate_secret(
    session: AsyncSession, ctx: TeamContext, box: SecretBox, endpoint_id: uuid.UUID
) -> WebhookSecretOut:
    """A new secret; the one it replaces keeps signing beside it for 24 hours (a secret
    older than that, from an earlier rotation, stops at once)."""
    endpoint = await _endpoint(session, ctx, endpoint_id, for_update=True)
    secret = new_secret()
    expires = datetime.now(UTC) + PREVIOUS_SECRET_TTL
    endpoint.previous_secret_sealed = endpoint.secret_sealed
    endpoint.previous_secret_expires_at = expires
    endpoint.secret_sealed = box.seal(secret)
    await session.flush()
    return WebhookSecretOut(secret=secret, previous_secret_expires_at=expires)


def _disabled() -> Conflict:
    return Conflict(
        "The webhook endpoint is disabled; enable it first.", code="webhook_endpoint_disabled"
    )


async def ping(
    session: AsyncSession, ctx: TeamContext, endpoint_id: uuid.UUID
) -> WebhookDeliveryOut:
    """Queue a `ping` event to this one endpoint, whatever types it subscribes to."""
    endpoint = await _endpoint(session, ctx, endpoint_id)
    if endpoint.status is EndpointStatus.disabled:
        raise _disabled()
    event_id = str(new_id())
    actor = {
        "type": ctx.caller.kind,
        "id": str(ctx.caller.api_key_id if ctx.caller.kind == "api_key" else ctx.user_id),
    }
    payload = {
        "id": event_id,
        "type": "ping",
        "created_at": datetime.now(UTC).isoformat(),
        "actor": actor,
        "data": {"endpoint_id": str(endpoint.id)},
    }
    (delivery,) = await deliveries.deliver_to(session, [endpoint], event_id, "ping", payload)
    return WebhookDeliveryOut.model_validate(delivery)


@shaped
def _delivery_list() -> Select[Any]:
    """The deliveries list's statement (`app.core.statements`)."""
    endpoint_id = bound("endpoint_id", WebhookDelivery.endpoint_id)
    return team_rows(WebhookDelivery, BOUND_CALLER).where(
        WebhookDelivery.endpoint_id == endpoint_id
    )


async def list_deliveries(
    session: AsyncSession, ctx: TeamContext, endpoint_id: uuid.UUID
) -> Listing[WebhookDeliveryOut]:
    """The endpoint's deliveries, newest first."""
    endpoint = await _endpoint(session, ctx, endpoint_id)
    return Listing(
        _delivery_list(),
        WebhookDelivery,
        shaped_by(WebhookDeliveryOut),
        descending=True,
        values={**caller_values(ctx), "endpoint_id": endpoint.id},
    )


async def retry_delivery(
    session: AsyncSession, ctx: TeamContext, endpoint_id: uuid.UUID, delivery_id: uuid.UUID
) -> WebhookDeliveryOut:
    """Send the delivery again now (whatever its status); an attempt already scheduled
    for it is superseded."""
    endpoint = await _endpoint(session, ctx, endpoint_id)
    delivery = await get_in_team(
        session,
        WebhookDelivery,
        ctx,
        delivery_id,
        what="Webhook delivery",
        visible=WebhookDelivery.endpoint_id == endpoint.id,
        for_update=True,
    )
    if endpoint.status is EndpointStatus.disabled:
        raise _disabled()
    delivery.status = DeliveryStatus.pending
    deliveries.schedule_attempt(session, delivery)
    await session.flush()
    await session.refresh(delivery)
    return WebhookDeliveryOut.model_validate(delivery)

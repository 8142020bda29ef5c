import uuid

from fastapi import status

from app.auth.dependencies import TeamCtx
from app.core.csv_export import CSV_RESPONSES, CsvResponse, FormatQuery, list_response
from app.core.deps import DbSession, SecretsDep, SettingsDep
from app.core.pagination import Page, PageQuery
from app.core.routing import APIRouter
from app.webhooks import service
from app.webhooks.schemas import (
    WEBHOOK_DELIVERY_CSV,
    WEBHOOK_ENDPOINT_CSV,
    WebhookDeliveryOut,
    WebhookEndpointCreated,
    WebhookEndpointIn,
    WebhookEndpointOut,
    WebhookEndpointPatch,
    WebhookSecretOut,
)

router = APIRouter(prefix="/teams/{team_id}/webhook-endpoints", tags=["webhook_endpoints"])


@router.post(
    "", status_code=status.HTTP_201_CREATED, response_model=WebhookEndpointCreated, name="create"
)
async def create_webhook_endpoint(
    data: WebhookEndpointIn,
    ctx: TeamCtx,
    session: DbSession,
    settings: SettingsDep,
    secrets: SecretsDep,
) -> WebhookEndpointCreated:
    """Add an endpoint for the team's events; its signing `secret` is shown only here."""
    return await service.create_endpoint(session, ctx, settings, secrets.webhook_box, data)


@router.get("", response_model=Page[WebhookEndpointOut], name="list", responses=CSV_RESPONSES)
async def list_webhook_endpoints(
    ctx: TeamCtx, session: DbSession, page: PageQuery, fmt: FormatQuery
) -> Page[WebhookEndpointOut] | CsvResponse:
    """The team's webhook endpoints (never their secrets)."""
    listing = service.list_endpoints(ctx)
    return await list_response(
        session, listing, page, fmt, WEBHOOK_ENDPOINT_CSV, "webhook-endpoints.csv"
    )


@router.get("/{endpoint_id}", response_model=WebhookEndpointOut, name="get")
async def get_webhook_endpoint(
    endpoint_id: uuid.UUID, ctx: TeamCtx, session: DbSession
) -> WebhookEndpointOut:
    """One webhook endpoint."""
    return await service.get_endpoint(session, ctx, endpoint_id)


@router.patch("/{endpoint_id}", response_model=WebhookEndpointOut, name="update")
async def update_webhook_endpoint(
    endpoint_id: uuid.UUID,
    data: WebhookEndpointPatch,
    ctx: TeamCtx,
    session: DbSession,
    settings: SettingsDep,
) -> WebhookEndpointOut:
    """Change the URL, description, event types, or enable/disable the endpoint."""
    return await service.update_endpoint(session, ctx, settings, endpoint_id, data)


@router.delete("/{endpoint_id}", status_code=status.HTTP_204_NO_CONTENT, name="delete")
async def delete_webhook_endpoint(endpoint_id: uuid.UUID, ctx: TeamCtx, session: DbSession) -> None:
    """Delete the endpoint and its delivery log."""
    await service.delete_endpoint(session, ctx, endpoint_id)


@router.post("/{endpoint_id}/rotate-secret", response_model=WebhookSecretOut, name="rotate_secret")
async def rotate_webhook_secret(
    endpoint_id: uuid.UUID, ctx: TeamCtx, session: DbSession, secrets: SecretsDep
) -> WebhookSecretOut:
    """A new signing secret, shown only here; the old one still signs for 24 hours."""
    return await service.rotate_secret(session, ctx, secrets.webhook_box, endpoint_id)


@router.post(
    "/{endpoint_id}/ping",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=WebhookDeliveryOut,
    name="ping",
)
async def ping_webhook_endpoint(
    endpoint_id: uuid.UUID, ctx: TeamCtx, session: DbSession
) -> WebhookDeliveryOut:
    """Queue a `ping` event to this endpoint; the answer is its delivery."""
    return await service.ping(session, ctx, endpoint_id)


@router.get(
    "/{endpoint_id}/deliveries",
    response_model=Page[WebhookDeliveryOut],
    name="list_deliveries",
    responses=CSV_RESPONSES,
)
async def list_webhook_deliveries(
    endpoint_id: uuid.UUID, ctx: TeamCtx, session: DbSession, page: PageQuery, fmt: FormatQuery
) -> Page[WebhookDeliveryOut] | CsvResponse:
    """The endpoint's deliveries, newest first, with their last answer."""
    listing = await service.list_deliveries(session, ctx, endpoint_id)
    return await list_response(
        session, listing, page, fmt, WEBHOOK_DELIVERY_CSV, "webhook-deliveries.csv"
    )


@router.post(
    "/{endpoint_id}/deliveries/{delivery_id}/retry",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=WebhookDeliveryOut,
    name="retry_delivery",
)
async def retry_webhook_delivery(
    endpoint_id: uuid.UUID, delivery_id: uuid.UUID, ctx: TeamCtx, session: DbSession
) -> WebhookDeliveryOut:
    """Send the delivery again now (any status); a retry already scheduled is superseded."""
    return await service.retry_delivery(session, ctx, endpoint_id, delivery_id)

from datetime import datetime
from typing import Annotated

from pydantic import Field

from app.core.csv_export import CsvColumns
from app.core.schemas import Id, InputSchema, PatchSchema, Schema, Timestamps
from app.webhooks.models import DeliveryStatus, EndpointStatus

# `invoice.paid`, `time_entry.moved`, `ping`; or `*` for every type.
EventType = Annotated[
    str, Field(min_length=1, max_length=100, pattern=r"^(\*|[a-z][a-z_]*(\.[a-z][a-z_]*)*)$")
]
EventTypes = Annotated[list[EventType], Field(min_length=1, max_length=100)]
Url = Annotated[
    str,
    Field(
        min_length=1,
        max_length=2000,
        description="`https://` (or `http://`) to a public address: a host resolving to a "
        "loopback, private, link-local, multicast or reserved address is refused (422 "
        "`webhook_url_not_allowed`), and checked again at each delivery.",
    ),
]
Description = Annotated[str, Field(max_length=500)]


class WebhookEndpointIn(InputSchema):
    url: Url
    description: Description = ""
    event_types: EventTypes = Field(description='Event types to receive, or `["*"]` for all.')


class WebhookEndpointPatch(PatchSchema):
    not_null = frozenset({"url", "description", "event_types", "status"})

    url: Url | None = None
    description: Description | None = None
    event_types: EventTypes | None = None
    # `enabled` again after a disable starts the five days of failures anew.
    status: EndpointStatus | None = None


class WebhookEndpointOut(Timestamps):
    id: Id
    url: str
    description: str
    event_types: list[str]
    status: EndpointStatus
    disabled_at: datetime | None
    # Until then, the secret before the last rotation signs each delivery too.
    previous_secret_expires_at: datetime | None


class WebhookEndpointCreated(WebhookEndpointOut):
    secret: str = Field(description="The signing secret (`whsec_...`), shown only here.")


class WebhookSecretOut(Schema):
    secret: str = Field(description="The new signing secret (`whsec_...`), shown only here.")
    previous_secret_expires_at: datetime = Field(
        description="Until then deliveries are signed with the old secret as well."
    )


class WebhookDeliveryOut(Timestamps):
    id: Id
    endpoint_id: Id
    event_id: str = Field(description="The event's id: the `webhook-id` header.")
    event_type: str
    status: DeliveryStatus
    attempts: int
    response_status: int | None
    response_body: str | None = Field(description="The first KiB of the last answer.")
    last_error: str | None
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None


WEBHOOK_ENDPOINT_CSV = CsvColumns.of(WebhookEndpointOut)
WEBHOOK_DELIVERY_CSV = CsvColumns.of(WebhookDeliveryOut)

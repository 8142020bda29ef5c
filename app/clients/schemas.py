from datetime import datetime
from typing import Literal

from pydantic import Field

from app.clients.models import ClientStatus, PaymentMethod
from app.core.csv_export import CsvColumns
from app.core.schemas import (
    MAX_RATE,
    Currency,
    Email,
    Id,
    InputSchema,
    Name,
    PatchSchema,
    Timestamps,
)

Text = Field(default=None, max_length=5000)


class InviteContact(InputSchema):
    name: Name
    email: Email
    billing_contact: bool = Field(
        default=False, description="Receives the client's invoices and payment receipts"
    )
    project_role: Literal["viewer", "collaborator"] = Field(
        default="viewer",
        description="Its role on the onboarding project (with `create_project`): `viewer` "
        "reads in the portal, `collaborator` also comments and requests tasks",
    )


class ClientBase(InputSchema):
    email: Email | None = None
    owner_id: Id | None = None
    member_ids: list[Id] | None = Field(default=None, max_length=100)
    payment_methods: list[PaymentMethod] | None = None
    hourly_rate_amount: int | None = Field(default=None, ge=0, le=MAX_RATE)
    address: str | None = Text
    tax_id: str | None = Field(default=None, max_length=64)
    notes: str | None = Text


class ClientIn(ClientBase):
    name: Name
    currency: Currency
    create_project: bool = False
    project_name: str | None = Field(default=None, min_length=1, max_length=255)
    invite_contacts: list[InviteContact] = Field(default_factory=list, max_length=50)


class ClientPatch(ClientBase, PatchSchema):
    not_null = frozenset({"name", "currency", "status"})

    name: Name | None = None
    currency: Currency | None = None
    status: ClientStatus | None = None


class ClientOut(Timestamps):
    id: Id
    name: str
    email: str | None
    currency: str
    status: ClientStatus
    owner_id: Id | None
    member_ids: list[Id]
    payment_methods: list[PaymentMethod]
    hourly_rate_amount: int | None
    address: str | None
    tax_id: str | None
    notes: str | None


CLIENT_CSV = CsvColumns.of(ClientOut)


class OnboardedContact(Timestamps):
    id: Id
    name: str
    email: str | None
    portal_access: bool
    billing_contact: bool
    portal_access_granted_at: datetime | None


class ClientCreated(ClientOut):
    """The client plus what onboarding created with it in the same transaction."""

    project_id: Id | None = None
    board_id: Id | None = None
    contacts: list[OnboardedContact] = Field(default_factory=list)

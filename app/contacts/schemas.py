from datetime import datetime

from pydantic import Field

from app.contacts.models import ActivityKind
from app.core.csv_export import CsvColumns
from app.core.schemas import Email, Id, InputSchema, Instant, Name, PatchSchema, Timestamps


class ContactBase(InputSchema):
    email: Email | None = None
    phone: str | None = Field(default=None, max_length=50)
    title: str | None = Field(default=None, max_length=200)
    client_id: Id | None = None
    owner_id: Id | None = None
    assignee_ids: list[Id] | None = Field(default=None, max_length=100)
    notes: str | None = Field(default=None, max_length=5000)


class ContactIn(ContactBase):
    name: Name
    billing_contact: bool = Field(
        default=False,
        description="Receives the client's invoices and payment receipts (needs an email and a "
        "client); with none marked, they go to the client's own email",
    )


class ContactPatch(ContactBase, PatchSchema):
    not_null = frozenset({"name", "billing_contact"})

    name: Name | None = None
    billing_contact: bool | None = Field(
        default=None,
        description="Moving the contact to another client clears it unless given in the same "
        "request",
    )


class ContactOut(Timestamps):
    id: Id
    name: str
    email: str | None
    phone: str | None
    title: str | None
    client_id: Id | None
    owner_id: Id | None
    assignee_ids: list[Id]
    portal_access: bool
    billing_contact: bool
    portal_access_granted_at: datetime | None
    last_contacted_at: datetime | None
    notes: str | None


CONTACT_CSV = CsvColumns.of(ContactOut)


class ActivityIn(InputSchema):
    kind: ActivityKind
    body: str = Field(min_length=1, max_length=10000)
    occurred_at: Instant | None = None


class ActivityPatch(PatchSchema):
    not_null = frozenset({"kind", "body", "occurred_at"})

    kind: ActivityKind | None = None
    body: str | None = Field(default=None, min_length=1, max_length=10000)
    occurred_at: Instant | None = None


class ActivityOut(Timestamps):
    id: Id
    contact_id: Id
    kind: ActivityKind
    body: str
    occurred_at: datetime
    author_id: Id | None


ACTIVITY_CSV = CsvColumns.of(ActivityOut)

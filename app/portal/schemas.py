"""What the client portal shows: its own schemas, built field by field for a client
contact. No team schema is reused with fields hidden, so a field added to the team API
never reaches the portal by accident; none carries a rate, a cost, internal notes or a
team member's id (`tests/test_portal_payloads.py` walks every response)."""

import datetime as dt
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

from pydantic import Field

from app.clients.models import PaymentMethod
from app.core.csv_export import CsvColumns
from app.core.schemas import Email, Id, InputSchema, Schema
from app.invoices.models import InvoiceStatus
from app.payments.schemas import Provider
from app.projects.models import ColumnKind, ProjectStatus


class LoginLinkIn(InputSchema):
    email: Email


class LoginLinkAccepted(Schema):
    detail: str = Field(description="Always the same: whether or not the address has portal access")


class SessionIn(InputSchema):
    token: str = Field(min_length=1, max_length=200, description="The token of a login link")


class PortalContact(Schema):
    id: Id
    name: str
    email: str | None
    phone: str | None
    title: str | None


class PortalSessionOut(Schema):
    access_token: str = Field(description="`hlp_...`: send as `Authorization: Bearer`")
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the session ends")
    contact: PortalContact


class PortalClient(Schema):
    id: Id
    name: str
    currency: str


class PortalTeam(Schema):
    name: str
    timezone: str


class PortalMe(Schema):
    contact: PortalContact
    client: PortalClient
    team: PortalTeam


class Progress(Schema):
    done_tasks: int
    total_tasks: int


class PortalProject(Schema):
    id: Id
    name: str
    status: ProjectStatus
    progress: Progress
    tracked_seconds: int
    budget_seconds: int | None
    comment_count: int = Field(description="Client comments on the project and its tasks")
    created_at: datetime
    updated_at: datetime


class PortalColumn(Schema):
    id: Id
    name: str
    kind: ColumnKind


class PortalTask(Schema):
    id: Id
    title: str
    column: PortalColumn
    position: int
    requested: bool = Field(description="Asked for by a collaborator contact in the portal")
    comment_count: int = Field(description="Client comments on the task")
    created_at: datetime
    updated_at: datetime


class PortalTimeEntry(Schema):
    id: Id
    project_id: Id
    date: dt.date = Field(description="The day it started, in the team's time zone")
    seconds: int
    note: str | None
    member_name: str = Field(description="Who tracked it (display name)")


class ReportGroup(StrEnum):
    project = "project"
    day = "day"
    week = "week"


class PortalReportRow(Schema):
    key: str = Field(description="The project id, the day, or the week's Monday")
    label: str
    seconds: int


class PortalReportTotals(Schema):
    seconds: int


class PortalTimeReport(Schema):
    from_: date | None = Field(alias="from", serialization_alias="from")
    to: date | None
    group_by: ReportGroup
    rows: list[PortalReportRow]
    totals: PortalReportTotals


class PortalInvoiceLine(Schema):
    description: str
    quantity_seconds: int | None = Field(description="Billed time of a time line")
    quantity: Decimal | None = Field(description="Quantity of a manual line")
    unit_amount: int
    amount: int
    tax_amount: int


class PortalInvoice(Schema):
    id: Id
    number: str | None
    status: InvoiceStatus
    overdue: bool
    currency: str
    issue_date: date | None
    due_date: date | None
    period_start: date | None
    period_end: date | None
    lines: list[PortalInvoiceLine]
    subtotal_amount: int
    discount_amount: int
    tax_amount: int
    total_amount: int
    amount_paid: int
    amount_due: int
    paid_at: datetime | None
    payment_methods: list[PaymentMethod] = Field(
        description="How it can be paid now (empty unless open with something due)"
    )
    created_at: datetime
    updated_at: datetime


class PortalCheckout(Schema):
    url: str
    provider: Provider
    amount: int
    currency: str


class PortalPayment(Schema):
    """Money received on one of the client's issued invoices (portal events only)."""

    id: Id
    invoice_id: Id
    status: str
    method: str
    amount: int
    currency: str
    paid_at: datetime


class PortalTaskRequestIn(InputSchema):
    title: str = Field(min_length=1, max_length=255)
    description: str | None = Field(
        default=None, max_length=5000, description="For the team (the portal shows titles)"
    )


class PortalTaskRequestPatch(InputSchema):
    title: str = Field(min_length=1, max_length=255)


class PortalEvent(Schema):
    """A change the contact may see, shaped as the portal shows the object now; for
    `*.deleted`, `{id}` only. No actor: the team's people are not named by id."""

    id: int = Field(description="Increases over time; `Last-Event-ID` resumes after it")
    type: str = Field(description="`<object>.<verb>`, e.g. `task.updated`")
    created_at: datetime
    data: dict[str, Any]


# The portal's lists as CSV: the same fields as their JSON (an invoice's lines stay in
# its JSON and PDF).
PORTAL_PROJECT_CSV = CsvColumns.of(PortalProject)
PORTAL_TASK_CSV = CsvColumns.of(PortalTask)
PORTAL_TIME_ENTRY_CSV = CsvColumns.of(PortalTimeEntry)
PORTAL_INVOICE_CSV = CsvColumns.of(PortalInvoice, exclude=("lines",))

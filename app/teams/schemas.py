from datetime import datetime
from typing import Literal

from pydantic import Field

from app.core.csv_export import CsvColumns
from app.core.permissions import Role
from app.core.schemas import (
    Currency,
    Email,
    Id,
    InputSchema,
    Instant,
    Name,
    PatchSchema,
    Schema,
    Timestamps,
    TimeZone,
)
from app.teams.models import LONGEST_ENTRY_SECONDS, Membership


class TeamOut(Timestamps):
    id: Id
    name: str
    base_currency: str
    timezone: str
    time_entry_min_seconds: int
    time_entry_max_seconds: int
    invoice_prefix: str
    notify_paid: bool
    notify_partial_payment: bool
    notify_refund: bool
    notify_payment_failed: bool
    payment_receipts: bool
    locale: str = Field(description="The language of the hosted pay page: `en` or `es`")
    bank_transfer_instructions: str | None = Field(
        description="Shown on the pay page to clients who may pay by bank transfer"
    )


class TeamPatch(PatchSchema):
    not_null = frozenset(
        {
            "name",
            "base_currency",
            "timezone",
            "time_entry_min_seconds",
            "time_entry_max_seconds",
            "invoice_prefix",
            "notify_paid",
            "notify_partial_payment",
            "notify_refund",
            "notify_payment_failed",
            "payment_receipts",
            "locale",
        }
    )

    name: Name | None = None
    base_currency: Currency | None = None
    timezone: TimeZone | None = None
    time_entry_min_seconds: int | None = Field(default=None, ge=0, le=86400)
    time_entry_max_seconds: int | None = Field(
        default=None,
        ge=60,
        le=LONGEST_ENTRY_SECONDS,
        description="Longest time entry (not below the minimum); a running timer stops there",
    )
    invoice_prefix: str | None = Field(
        default=None,
        max_length=20,
        pattern=r"^[A-Za-z0-9/_.-]*$",
        description="Numbers look like {prefix}{YYYY}-{seq:04d}",
    )
    notify_paid: bool | None = Field(
        default=None, description="Email the invoicing managers when an invoice is paid in full"
    )
    locale: Literal["en", "es"] | None = Field(
        default=None, description="The language of the hosted pay page"
    )
    bank_transfer_instructions: str | None = Field(
        default=None,
        max_length=2000,
        description="How to pay by bank transfer (account holder, IBAN, BIC...), shown on "
        "the pay page; the invoice number is the reference",
    )
    notify_partial_payment: bool | None = Field(
        default=None,
        description="Email the invoicing managers when a payment leaves something due",
    )
    notify_refund: bool | None = Field(
        default=None, description="Email the invoicing managers when a payment is refunded"
    )
    notify_payment_failed: bool | None = Field(
        default=None,
        description="Email the invoicing managers when a provider payment fails or cannot be "
        "applied",
    )
    payment_receipts: bool | None = Field(
        default=None,
        description="Email the client's billing recipients a receipt for each payment",
    )


class MemberOut(Timestamps):
    user_id: Id
    name: str
    email: str
    role: Role

    @classmethod
    def of(cls, member: Membership) -> "MemberOut":
        """A membership with its user loaded."""
        return cls(
            user_id=member.user_id,
            name=member.user.name,
            email=member.user.email,
            role=member.role,
            created_at=member.created_at,
            updated_at=member.updated_at,
        )


MEMBER_CSV = CsvColumns.of(MemberOut)


class MemberPatch(InputSchema):
    role: Role


class InvitationIn(InputSchema):
    email: Email
    role: Role


class InvitationOut(Timestamps):
    id: Id
    email: str
    role: Role
    invited_by_id: Id | None
    expires_at: datetime
    accepted_at: datetime | None
    revoked_at: datetime | None


class AcceptIn(InputSchema):
    name: Name | None = None
    password: str | None = Field(default=None, min_length=8, max_length=256)


class AcceptedUser(Schema):
    id: Id
    email: str
    name: str


class AcceptOut(Schema):
    user: AcceptedUser
    team: TeamOut
    role: Role
    # Only for a user created by this acceptance: it has no other way to log in yet.
    access_token: str | None = None
    refresh_token: str | None = None
    token_type: str | None = None
    expires_in: int | None = None


class ApiKeyIn(InputSchema):
    name: Name
    role: Role
    expires_at: Instant | None = None


class ApiKeyOut(Timestamps):
    id: Id
    name: str
    role: Role
    prefix: str
    created_by_id: Id
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The secret; shown only in this response.")


INVITATION_CSV = CsvColumns.of(InvitationOut)
API_KEY_CSV = CsvColumns.of(ApiKeyOut)

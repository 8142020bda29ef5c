"""What the reports answer. Money is in minor units of `currency` (the team's base currency
unless a field says otherwise); a money field is null for a role that may not read it."""

from datetime import date
from enum import StrEnum

from pydantic import ConfigDict, Field

from app.core.schemas import Id, Schema

HIDDEN = "Null for roles that may not read rates"
COST_HIDDEN = "Null for roles that may not read every rate (cost rates are the team's)"


class TimeGroup(StrEnum):
    client = "client"
    project = "project"
    user = "user"
    task = "task"
    day = "day"
    week = "week"


class RevenueGroup(StrEnum):
    client = "client"
    month = "month"


class TimeFigures(Schema):
    seconds: int
    billable_seconds: int
    billable_amount: int | None = Field(
        description="Billable seconds priced at the bill rate in force on each entry's date, "
        f"converted to the base currency at that date's exchange rate. {HIDDEN}"
    )
    unpriced_seconds: int | None = Field(
        description="Billable seconds with no bill rate (or no exchange rate) on their date: "
        f"not counted in `billable_amount`. {HIDDEN}"
    )
    cost_amount: int | None = Field(
        description=f"Seconds x the member's cost rate in force on each date. {COST_HIDDEN}"
    )
    uncosted_seconds: int | None = Field(
        description=f"Seconds with no cost rate: not counted in `cost_amount`. {COST_HIDDEN}"
    )


class TimeRow(TimeFigures):
    key: str | None = Field(
        description="The group's id (client, project, user, task), date (day) or Monday of "
        "the ISO week (week); null: no client, no task"
    )
    label: str
    then_key: str | None = Field(default=None, description="With `then_by`: the second group")
    then_label: str | None = None


class TimeReport(Schema):
    model_config = ConfigDict(populate_by_name=True)

    from_: date = Field(alias="from")
    to: date
    group_by: TimeGroup
    then_by: TimeGroup | None
    currency: str
    rows: list[TimeRow]
    totals: TimeFigures


class UninvoicedRow(Schema):
    client_id: Id | None
    client_name: str | None
    project_id: Id
    project_name: str
    seconds: int = Field(description="Uninvoiced billable seconds")
    currency: str = Field(description="The currency the time is billed in (the client's)")
    amount: int | None = Field(description=f"At the rates in force on each date. {HIDDEN}")
    base_amount: int | None = Field(
        description="`amount` in the base currency at today's exchange rate (the rate an "
        f"invoice finalized today would fix); null also without an exchange rate. {HIDDEN}"
    )
    unpriced_seconds: int | None = Field(description=f"Seconds with no bill rate. {HIDDEN}")
    oldest_entry_date: date = Field(description="In the team's time zone")


class UninvoicedReport(Schema):
    currency: str
    rows: list[UninvoicedRow]
    totals: dict[str, int | None] = Field(
        description="`seconds`, `base_amount` (null if a row's is) and `unpriced_seconds`"
    )


class RevenueFigures(Schema):
    invoiced_amount: int = Field(description="Totals of finalized, not void invoices")
    net_amount: int = Field(description="The same before tax")
    paid_amount: int = Field(description="Payments received, less refunds")
    fx_difference_amount: int = Field(
        description="Realized exchange differences of those payments against their invoices' "
        "fixed rates"
    )


class RevenueRow(RevenueFigures):
    key: str
    label: str


class RevenueReport(Schema):
    model_config = ConfigDict(populate_by_name=True)

    from_: date = Field(alias="from")
    to: date
    group_by: RevenueGroup
    currency: str
    rows: list[RevenueRow]
    totals: RevenueFigures


class AgingFigures(Schema):
    model_config = ConfigDict(populate_by_name=True, from_attributes=True)

    invoice_count: int
    outstanding_amount: int
    current: int = Field(description="Not yet due")
    days_1_30: int = Field(alias="1_30")
    days_31_60: int = Field(alias="31_60")
    days_61_90: int = Field(alias="61_90")
    over_90: int


class AgingRow(AgingFigures):
    client_id: Id
    label: str


class OutstandingReport(Schema):
    currency: str
    as_of: date = Field(description="Today in the team's time zone")
    rows: list[AgingRow]
    totals: AgingFigures


class ClientReport(Schema):
    model_config = ConfigDict(populate_by_name=True)

    client_id: Id
    from_: date = Field(alias="from")
    to: date
    currency: str
    revenue_amount: int | None = Field(
        description="Invoices issued in the period (finalized, not void), before tax; null "
        "for roles that may not read the client's invoices"
    )
    paid_amount: int | None
    outstanding_amount: int | None = Field(
        description="What is still due on the period's open invoices"
    )
    seconds: int
    billable_seconds: int
    billable_amount: int | None = Field(description=HIDDEN)
    unpriced_seconds: int | None = Field(description=HIDDEN)
    cost_amount: int | None = Field(description=COST_HIDDEN)
    uncosted_seconds: int | None = Field(description=COST_HIDDEN)
    profit_amount: int | None = Field(description="`revenue_amount - cost_amount`")
    margin_bps: int | None = Field(
        description="`profit_amount / revenue_amount` in basis points; null without revenue"
    )

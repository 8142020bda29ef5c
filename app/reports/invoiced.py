"""Invoice figures of the reports: revenue, outstanding invoices with their aging, and the
money half of a client's profitability.

Every amount is in the team's base currency at the rate fixed on its invoice (invoices)
or payment (payments), converted by `to_base_amount`, the conversion payments use: one
rounding per invoice or payment, half-up. An agency has thousands of invoices, not
millions, so they are summed here after one query each (built once per shape over
`Binds`, as the time figures are).
"""

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    DateTime,
    and_,
    cast,
    literal,
    null,
    select,
    true,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from app.clients.service import own_client_ids
from app.core.clock import local_date, period_bounds, today_in
from app.core.context import TeamContext
from app.core.db import any_of
from app.core.permissions import Access, Permission
from app.core.rows import read_rows
from app.core.statements import BOUND_CALLER, caller_values, shaped
from app.core.tenancy import in_team, same_team
from app.invoices.models import Invoice, InvoiceStatus
from app.payments.models import Payment, PaymentStatus
from app.payments.service import to_base_amount
from app.reports.time_figures import Binds, ReportTeam

ISSUED = (InvoiceStatus.open, InvoiceStatus.paid)
AGING = ((0, "current"), (30, "days_1_30"), (60, "days_31_60"), (90, "days_61_90"))


def invoice_reach(ctx: TeamContext) -> Access:
    """The invoices the caller's reports cover (403 without `INVOICES_READ`): ALL, or its
    own clients' (OWN_CLIENTS)."""
    ctx.access(Permission.REPORTS_READ)
    if ctx.access(Permission.INVOICES_READ) is Access.ALL:
        return Access.ALL
    return Access.OWN_CLIENTS


def _visible(reach: Access) -> ColumnElement[bool]:
    if reach is Access.ALL:
        return true()
    return Invoice.client_id.in_(own_client_ids(BOUND_CALLER))


def invoice_values(
    ctx: TeamContext, team: ReportTeam, start: date | None, end: date | None, client_id: Any
) -> dict[str, Any]:
    """A request's values for the `Binds` of an invoice figures statement."""
    since, until = period_bounds(team.timezone, start, end)
    return {
        **caller_values(ctx),
        "first_day": start,
        "last_day": end,
        "started_from": since,
        "started_before": until,
        "client_id": client_id,
    }


def to_base(amount: int, row: Any, team: ReportTeam) -> int:
    """An invoice's amount in the base currency at the invoice's fixed rate."""
    rate = row.exchange_rate if row.exchange_rate is not None else Decimal(1)
    return to_base_amount(amount, row.currency, rate, row.base_currency or team.base_currency)


@dataclass
class Revenue:
    invoiced_amount: int = 0
    net_amount: int = 0
    paid_amount: int = 0
    fx_difference_amount: int = 0

    def add(self, other: "Revenue") -> None:
        for name in vars(self):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@shaped
def revenue_statement(reach: Access, one_client: bool) -> Any:
    """Invoices issued and payments received in a period (`Binds`), in one round trip:
    one union of both with the same columns, told apart by `paid_at` (payments only)."""
    visible = _visible(reach)
    invoices = select(
        Invoice.client_id,
        Invoice.status,
        Invoice.issue_date,
        cast(null(), DateTime(timezone=True)).label("paid_at"),
        Invoice.currency,
        Invoice.exchange_rate,
        Invoice.base_currency,
        Invoice.total_amount.label("amount"),
        Invoice.tax_amount.label("tax_amount"),
        Invoice.amount_paid.label("settled_amount"),
        literal(0).label("fx_difference_amount"),
    ).where(
        in_team(Invoice, Binds.team),
        visible,
        any_of(Invoice.status, ISSUED),  # one array parameter: no IN list to expand
        Invoice.issue_date >= Binds.first_day,
        Invoice.issue_date <= Binds.last_day,
    )
    payments = (
        select(
            Invoice.client_id,
            Invoice.status,
            Invoice.issue_date,
            Payment.paid_at,
            Payment.currency,
            Payment.exchange_rate,
            Payment.base_currency,
            Payment.base_amount,
            literal(0),
            Payment.refunded_amount,
            Payment.fx_difference_amount,
        )
        .join(Invoice, and_(same_team(Invoice, Payment), Invoice.id == Payment.invoice_id))
        .where(
            in_team(Payment, Binds.team),
            visible,
            Payment.status == PaymentStatus.succeeded,
            Payment.paid_at >= Binds.started_from,
            Payment.paid_at < Binds.started_before,
        )
    )
    if one_client:
        invoices = invoices.where(Invoice.client_id == Binds.client_id)
        payments = payments.where(Invoice.client_id == Binds.client_id)
    return union_all(invoices, payments)


async def revenue_by(
    session: AsyncSession,
    ctx: TeamContext,
    team: ReportTeam,
    start: date,
    end: date,
    *,
    by_month: bool = False,
) -> dict[Any, Revenue]:
    """Invoiced (issued in the period, not void) and paid (received in the period, less
    refunds) amounts per client, or per month (`YYYY-MM`, local), of the invoices the
    caller's reports cover."""
    stmt = revenue_statement(invoice_reach(ctx), False)
    rows = await read_rows(session, stmt, invoice_values(ctx, team, start, end, None))
    return revenue_of(rows, team, by_month=by_month)


def revenue_of(
    rows: Iterable[Any],
    team: ReportTeam,
    *,
    by_month: bool = False,
    due: dict[Any, int] | None = None,
) -> dict[Any, Revenue]:
    """The figures of `revenue_statement`'s rows per client (or month); with `due`, also
    what is still due on those invoices that are open, per the same key."""
    found: dict[Any, Revenue] = defaultdict(Revenue)
    for row in rows:
        if row.paid_at is None:  # an invoice
            key = row.issue_date.strftime("%Y-%m") if by_month else row.client_id
            found[key].invoiced_amount += to_base(row.amount, row, team)
            found[key].net_amount += to_base(row.amount - row.tax_amount, row, team)
            if due is not None and row.status is InvoiceStatus.open:
                owed = to_base(row.amount - row.settled_amount, row, team)
                due[key] = due.get(key, 0) + owed
            continue
        key = (
            local_date(row.paid_at, team.timezone).strftime("%Y-%m") if by_month else row.client_id
        )
        # A payment: `amount` is its base amount, `settled_amount` what was refunded.
        refunded = to_base(row.settled_amount, row, team) if row.settled_amount else 0
        found[key].paid_amount += row.amount - refunded
        found[key].fx_difference_amount += row.fx_difference_amount
    return found


@dataclass
class Aging:
    invoice_count: int = 0
    outstanding_amount: int = 0
    current: int = 0
    days_1_30: int = 0
    days_31_60: int = 0
    days_61_90: int = 0
    over_90: int = 0

    def add(self, amount: int, days_late: int) -> None:
        self.invoice_count += 1
        self.outstanding_amount += amount
        bucket = next((name for limit, name in AGING if days_late <= limit), "over_90")
        setattr(self, bucket, getattr(self, bucket) + amount)


@shaped
def aging_statement(reach: Access) -> Any:
    """What is still due on the open invoices the reach covers (`Binds`)."""
    return select(
        Invoice.client_id,
        Invoice.due_date,
        Invoice.currency,
        Invoice.total_amount,
        Invoice.amount_paid,
        Invoice.exchange_rate,
        Invoice.base_currency,
    ).where(in_team(Invoice, Binds.team), _visible(reach), Invoice.status == InvoiceStatus.open)


async def aging_by_client(
    session: AsyncSession, ctx: TeamContext, team: ReportTeam
) -> tuple[date, dict[uuid.UUID, Aging]]:
    """What is still due on open invoices per client, by days past due today (local)."""
    today = today_in(team.timezone)
    stmt = aging_statement(invoice_reach(ctx))
    found: dict[uuid.UUID, Aging] = defaultdict(Aging)
    for row in await read_rows(session, stmt, invoice_values(ctx, team, None, None, None)):
        late = (today - row.due_date).days if row.due_date else 0
        found[row.client_id].add(to_base(row.total_amount - row.amount_paid, row, team), late)
    return today, found

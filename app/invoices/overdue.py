"""The overdue check: `invoice.overdue` once per invoice, when its team's day passes its
due date with money still owed.

Finding the candidates is a read across teams (open invoices not yet told, due before
tomorrow anywhere on earth); each invoice is then judged and recorded in its own
transaction, confined to its team, on the team's own today.
"""

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import today_in
from app.invoices.models import Invoice, InvoiceStatus
from app.invoices.service import is_overdue, record_invoice_event
from app.teams.service import team_by_id


async def overdue_candidates(session: AsyncSession) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """(team id, invoice id) of open invoices not yet told whose due date may have passed."""
    # The earliest time zone is 14 hours ahead of UTC: no team's today is later than this.
    latest_today = (datetime.now(UTC) + timedelta(hours=14)).date()
    rows = await session.execute(
        select(Invoice.team_id, Invoice.id).where(
            Invoice.status == InvoiceStatus.open,
            Invoice.overdue_event_at.is_(None),
            Invoice.due_date < latest_today,
        )
    )
    return [(team_id, invoice_id) for team_id, invoice_id in rows]


async def record_if_overdue(
    session: AsyncSession, team_id: uuid.UUID, invoice_id: uuid.UUID
) -> bool:
    """Record `invoice.overdue` if the invoice is overdue on its team's today and was not
    told yet (the row lock makes a second worker or a rerun a no-op)."""
    invoice = await session.get(Invoice, invoice_id, with_for_update=True, populate_existing=True)
    if invoice is None or invoice.overdue_event_at is not None:
        return False
    team = await team_by_id(session, team_id)
    if not is_overdue(invoice, today_in(team.timezone)):
        return False
    invoice.overdue_event_at = func.now()
    await record_invoice_event(session, "invoice.overdue", invoice)
    return True

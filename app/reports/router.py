import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Query

from app.auth.dependencies import team_context_reading
from app.core.context import TeamContext
from app.core.csv_export import CSV_RESPONSES, CsvResponse, FormatQuery
from app.core.deps import DbSession
from app.core.routing import APIRouter
from app.core.schemas import Day
from app.reports import csv, service
from app.reports.schemas import (
    ClientReport,
    OutstandingReport,
    RevenueGroup,
    RevenueReport,
    TimeGroup,
    TimeReport,
    UninvoicedReport,
)
from app.reports.time_figures import REPORT_LOOKUP, ReportTeam

router = APIRouter(prefix="/teams/{team_id}/reports", tags=["reports"])

# The caller's context and its team's time zone and base currency, read (and the
# transaction given the report settings) by the authentication query.
ReportScope = Annotated[
    tuple[TeamContext, ReportTeam], Depends(team_context_reading(REPORT_LOOKUP))
]
From = Annotated[Day, Query(alias="from", description="First day, in the team's time zone")]
To = Annotated[Day, Query(description="Last day (inclusive), in the team's time zone")]


@router.get("/time", response_model=TimeReport, responses=CSV_RESPONSES)
async def time_report(
    scope: ReportScope,
    session: DbSession,
    from_: From,
    to: To,
    group_by: TimeGroup,
    fmt: FormatQuery,
    then_by: Annotated[TimeGroup | None, Query(description="A second grouping")] = None,
    client_id: uuid.UUID | None = None,
    project_id: uuid.UUID | None = None,
    user_id: uuid.UUID | None = None,
    billable: bool | None = None,
) -> TimeReport | CsvResponse:
    """Tracked time and its value by client, project, user, task, day or ISO week."""
    filters = service.TimeFilters(
        client_id=client_id, project_id=project_id, user_id=user_id, billable=billable
    )
    report = await service.time_report(session, *scope, from_, to, group_by, then_by, filters)
    return csv.time_csv(session, report) if fmt.csv else report


@router.get("/uninvoiced", response_model=UninvoicedReport, responses=CSV_RESPONSES)
async def uninvoiced_report(
    scope: ReportScope, session: DbSession, fmt: FormatQuery, client_id: uuid.UUID | None = None
) -> UninvoicedReport | CsvResponse:
    """Uninvoiced billable time and its value per client and project, oldest date."""
    report = await service.uninvoiced_report(session, *scope, client_id)
    if fmt.csv:
        return csv.uninvoiced_csv(session, report, datetime.now(UTC).date())
    return report


@router.get("/revenue", response_model=RevenueReport, responses=CSV_RESPONSES)
async def revenue_report(
    scope: ReportScope,
    session: DbSession,
    from_: From,
    to: To,
    group_by: RevenueGroup,
    fmt: FormatQuery,
) -> RevenueReport | CsvResponse:
    """Invoiced and paid amounts by client or month, in the base currency."""
    report = await service.revenue_report(session, *scope, from_, to, group_by)
    return csv.revenue_csv(session, report) if fmt.csv else report


@router.get("/outstanding", response_model=OutstandingReport, responses=CSV_RESPONSES)
async def outstanding_report(
    scope: ReportScope, session: DbSession, fmt: FormatQuery
) -> OutstandingReport | CsvResponse:
    """Open invoices by client, aged by days past due."""
    report = await service.outstanding_report(session, *scope)
    return csv.outstanding_csv(session, report) if fmt.csv else report


@router.get("/clients/{client_id}", response_model=ClientReport)
async def client_report(
    client_id: uuid.UUID, scope: ReportScope, session: DbSession, from_: From, to: To
) -> ClientReport:
    """A client's revenue, payments, outstanding amount, time, cost and margin."""
    return await service.client_report(session, *scope, client_id, from_, to)

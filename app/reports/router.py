import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from app.auth.dependencies import TeamCtx
from app.core.deps import DbSession
from app.core.schemas import Day
from app.reports import service
from app.reports.schemas import TimeGroup, TimeReport

router = APIRouter(prefix="/teams/{team_id}/reports", tags=["reports"])

From = Annotated[Day, Query(alias="from", description="First day, in the team's time zone")]
To = Annotated[Day, Query(description="Last day (inclusive), in the team's time zone")]


@router.get("/time", response_model=TimeReport)
async def time_report(
    ctx: TeamCtx,
    session: DbSession,
    from_: From,
    to: To,
    group_by: TimeGroup,
    then_by: Annotated[TimeGroup | None, Query(description="A second grouping")] = None,
    client_id: uuid.UUID | None = None,
    project_id: uuid.UUID | None = None,
    user_id: uuid.UUID | None = None,
    billable: bool | None = None,
) -> TimeReport:
    """Tracked time and its value by client, project, user, task, day or ISO week."""
    filters = service.TimeFilters(
        client_id=client_id, project_id=project_id, user_id=user_id, billable=billable
    )
    return await service.time_report(session, ctx, from_, to, group_by, then_by, filters)

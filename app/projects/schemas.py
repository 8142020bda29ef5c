from pydantic import Field

from app.core.csv_export import CsvColumns
from app.core.schemas import MAX_RATE, MAX_SECONDS, Id, InputSchema, PatchSchema, Schema, Timestamps
from app.projects.models import ColumnKind, ProjectRole, ProjectStatus, ViewerRole

ProjectName = Field(min_length=1, max_length=255)


class ProjectIn(InputSchema):
    name: str = ProjectName
    description: str | None = Field(default=None, max_length=5000)
    client_id: Id | None = None
    billable: bool = True
    hourly_rate_amount: int | None = Field(default=None, ge=0, le=MAX_RATE)
    budget_seconds: int | None = Field(default=None, ge=0, le=MAX_SECONDS)


class ProjectPatch(PatchSchema):
    not_null = frozenset({"name", "status", "billable"})

    name: str | None = Field(default=None, min_length=1, max_length=255)
    description: str | None = Field(default=None, max_length=5000)
    client_id: Id | None = None
    status: ProjectStatus | None = None
    billable: bool | None = None
    hourly_rate_amount: int | None = Field(default=None, ge=0, le=MAX_RATE)
    budget_seconds: int | None = Field(default=None, ge=0, le=MAX_SECONDS)


class ProjectOut(Timestamps):
    id: Id
    name: str
    description: str | None
    client_id: Id | None
    status: ProjectStatus
    billable: bool
    hourly_rate_amount: int | None
    budget_seconds: int | None
    board_id: Id


class ProjectRow(ProjectOut):
    """A project in CSV: beside its rate, the currency it bills in (its client's, else the
    team's base currency), which the JSON leaves implicit."""

    currency: str


PROJECT_CSV = CsvColumns.of(ProjectRow)


class TaskIn(InputSchema):
    title: str = Field(min_length=1, max_length=255)
    description: str | None = Field(default=None, max_length=5000)
    column_id: Id | None = None
    position: int | None = Field(default=None, ge=0)
    assignee_id: Id | None = None
    estimate_seconds: int | None = Field(default=None, ge=0, le=MAX_SECONDS)


class TaskPatch(PatchSchema):
    # A task is always in a column, at a position: null cannot clear them.
    not_null = frozenset({"title", "column_id", "position"})

    title: str | None = Field(default=None, min_length=1, max_length=255)
    description: str | None = Field(default=None, max_length=5000)
    column_id: Id | None = None
    position: int | None = Field(default=None, ge=0)
    assignee_id: Id | None = None
    estimate_seconds: int | None = Field(default=None, ge=0, le=MAX_SECONDS)


class TaskMove(InputSchema):
    column_id: Id
    position: int = Field(ge=0)


class TaskOut(Timestamps):
    id: Id
    project_id: Id
    title: str
    description: str | None
    column_id: Id
    position: int
    assignee_id: Id | None
    estimate_seconds: int | None
    requested_by_contact_id: Id | None = Field(
        default=None, description="The collaborator contact who asked for it in the portal"
    )
    tracked_seconds: int = 0


TASK_CSV = CsvColumns.of(TaskOut)


class ColumnIn(InputSchema):
    name: str = Field(min_length=1, max_length=100)
    kind: ColumnKind = ColumnKind.custom
    position: int | None = Field(default=None, ge=0)


class ColumnPatch(PatchSchema):
    not_null = frozenset({"name", "position"})

    name: str | None = Field(default=None, min_length=1, max_length=100)
    position: int | None = Field(default=None, ge=0)


class ColumnOut(Timestamps):
    id: Id
    name: str
    kind: ColumnKind
    position: int


class BoardColumnOut(ColumnOut):
    tasks: list[TaskOut]


class BoardOut(Schema):
    id: Id
    project_id: Id
    columns: list[BoardColumnOut]


class ProjectMemberIn(InputSchema):
    user_id: Id
    role: ProjectRole = ProjectRole.member


class ProjectMemberPatch(InputSchema):
    role: ProjectRole


class ProjectMemberOut(Timestamps):
    user_id: Id
    role: ProjectRole


class ViewerIn(InputSchema):
    contact_id: Id
    role: ViewerRole = Field(
        default=ViewerRole.viewer,
        description="`viewer` reads in the portal; `collaborator` also comments and requests tasks",
    )


class ViewerPatch(InputSchema):
    role: ViewerRole


class ViewerOut(Timestamps):
    contact_id: Id
    role: ViewerRole


class ColumnCount(Schema):
    column_id: Id
    name: str
    kind: ColumnKind
    task_count: int


class ProjectStats(Schema):
    project_id: Id
    task_count: int
    tasks_by_column: list[ColumnCount]
    currency: str
    tracked_seconds: int
    billable_seconds: int
    invoiced_seconds: int
    uninvoiced_seconds: int = Field(description="Billable, not yet invoiced")
    billable_amount: int | None = Field(
        description="Null for roles that may not read the project's rates"
    )
    uninvoiced_amount: int | None = Field(
        description="Null for roles that may not read the project's rates"
    )
    rate_missing_seconds: int | None = Field(
        description="Billable time with no rate to price it; null for roles that may not read "
        "the project's rates"
    )


PROJECT_MEMBER_CSV = CsvColumns.of(ProjectMemberOut)
PROJECT_VIEWER_CSV = CsvColumns.of(ViewerOut)

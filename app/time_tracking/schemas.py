from datetime import datetime

from pydantic import Field, IPvAnyAddress

from app.core.csv_export import CsvColumns
from app.core.schemas import Id, InputSchema, Instant, PatchSchema, Timestamps


class TimeEntryIn(InputSchema):
    project_id: Id
    task_id: Id | None = None
    started_at: Instant
    ended_at: Instant
    note: str | None = Field(default=None, max_length=5000)
    billable: bool | None = Field(default=None, description="Defaults to the project's")
    user_id: Id | None = Field(default=None, description="Managers may log for others")


class TimeEntryPatch(PatchSchema):
    # A finished entry keeps an end (a running one gets it from the timer's stop).
    not_null = frozenset({"started_at", "ended_at", "billable"})

    task_id: Id | None = None
    started_at: Instant | None = None
    ended_at: Instant | None = None
    note: str | None = Field(default=None, max_length=5000)
    billable: bool | None = None


class TimeEntryMoveIn(InputSchema):
    project_id: Id
    reason: str = Field(min_length=1, max_length=1000)


class TimerStart(InputSchema):
    project_id: Id
    task_id: Id | None = None
    note: str | None = Field(default=None, max_length=5000)


class TimeEntryOut(Timestamps):
    id: Id
    user_id: Id
    project_id: Id
    task_id: Id | None
    started_at: datetime
    ended_at: datetime | None
    duration_seconds: int | None
    note: str | None
    billable: bool
    invoice_id: Id | None
    currency: str
    bill_rate_amount: int | None
    billable_amount: int | None
    rate_missing: bool


TIME_ENTRY_CSV = CsvColumns.of(TimeEntryOut)


class TimeEntryMoveOut(Timestamps):
    id: Id
    time_entry_id: Id
    actor_id: Id | None
    from_project_id: Id
    to_project_id: Id
    reason: str
    ip_address: IPvAnyAddress | None


TIME_ENTRY_MOVE_CSV = CsvColumns.of(TimeEntryMoveOut)

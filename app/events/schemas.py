from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from app.core.csv_export import CsvColumns
from app.core.schemas import Id, Schema


class ActorOut(Schema):
    type: Literal["user", "api_key", "contact", "system"]
    id: Id | None = Field(description="The user, API key or contact; null for `system`")


class EventOut(Schema):
    id: int = Field(
        description="Increases over time within a team; pass the last one read as `after` "
        "to resume without gaps"
    )
    type: str = Field(description="`<object>.<verb>`, e.g. `time_entry.updated`")
    created_at: datetime
    actor: ActorOut
    data: dict[str, Any] = Field(
        description="The object as the API returns it to the caller's role; `{id}` for `*.deleted`"
    )


EVENT_CSV = CsvColumns.of(EventOut)

"""The event record: one row per change, written in the transaction that made it.

The id orders events the way a reader may safely resume (see `app.events.record`):
`transaction id * 2**20 + the event's ordinal in its transaction`. Visibility columns
(`object_type`, `object_id`, `user_id`, `client_id`, `project_id`) let a list filter what
a role may see without loading the objects.
"""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, TeamScoped


class Event(TeamScoped, Base):
    __tablename__ = "event"
    __table_args__ = (
        Index("ix_event_team_id_id", "team_id", "id"),
        Index("ix_event_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    type: Mapped[str] = mapped_column(String(60))
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[uuid.UUID | None]
    # Whose row it is (a time entry's user, a member), and the client and project it
    # belongs to: the reaches of the role table are filters on these.
    user_id: Mapped[uuid.UUID | None]
    client_id: Mapped[uuid.UUID | None]
    project_id: Mapped[uuid.UUID | None]
    actor_type: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[uuid.UUID | None]
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

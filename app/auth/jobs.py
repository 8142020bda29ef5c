"""Authentication jobs: recording when an API key was last used."""

import uuid
from datetime import datetime
from typing import Any

from app.auth import service
from app.core.db import Database, unit_of_work


async def touch_api_key(ctx: dict[str, Any], key_id: str, used_at: str) -> None:
    """arq job: move the key's `last_used_at` forward to `used_at`."""
    db: Database = ctx["db"]
    async with unit_of_work(db, ctx["redis"]) as session:
        await service.record_api_key_use(
            session, uuid.UUID(key_id), datetime.fromisoformat(used_at)
        )

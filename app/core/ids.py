"""Time-ordered UUIDv7 ids: index-friendly and sortable by creation."""

import uuid

from uuid6 import uuid7 as _uuid7


def new_id() -> uuid.UUID:
    return uuid.UUID(bytes=_uuid7().bytes)

"""`hourline serve` with event recording switched off, for `bench/events.py` only: the
baseline of what recording an event (and queueing its webhook deliveries and stream
notice) costs a write. Never a setting of the product: an event is part of every change.

    python bench/serve_without_events.py serve --port 8001 --workers 1 --no-with-worker
"""

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import app.events.record as record


async def _not_recorded(*args: Any, **kwargs: Any) -> None:
    return None


record.record_event = _not_recorded  # type: ignore[assignment]

from app.cli import main  # noqa: E402

if __name__ == "__main__":
    main(sys.argv[1:])

"""The event record, read through the API."""

import asyncio

from sqlalchemy import text

from app.events.record import PER_TRANSACTION
from tests.factories.accounts import Actor

# Transaction ids are the cluster's: a transaction still open in any database of the
# test cluster (another suite's) holds back every newer event for a moment.
_SETTLED = text(
    "SELECT coalesce(max(id), 0) < pg_snapshot_xmin(pg_current_snapshot())::text::bigint * :per"
    " FROM event"
)


async def settle(http, patience: float = 30) -> None:
    """Wait until every recorded event is older than every transaction in flight."""
    app = http._transport.app
    loop = asyncio.get_running_loop()
    deadline = loop.time() + patience
    while True:
        async with app.state.db.engine.connect() as conn:
            if (await conn.execute(_SETTLED, {"per": PER_TRANSACTION})).scalar_one():
                return
        assert loop.time() < deadline, "a transaction stayed open for too long"
        await asyncio.sleep(0.02)


async def events_page(http, actor: Actor, **params) -> dict:
    r = await http.get(actor.url("/events"), params=params, headers=actor.headers)
    assert r.status_code == 200, r.text
    return r.json()


async def all_events(http, actor: Actor, *, settled: bool = True, **params) -> list[dict]:
    """Every event the actor may see (after `after`, of `types`), following the pages;
    first (`settled`) waiting for the transactions in flight to end."""
    if settled:
        await settle(http)
    found: list[dict] = []
    while True:
        page = await events_page(http, actor, **params)
        found += page["data"]
        if not page["has_more"]:
            return found
        params = {**params, "cursor": page["next_cursor"]}


def of_type(events: list[dict], prefix: str) -> list[dict]:
    return [e for e in events if e["type"].startswith(prefix)]

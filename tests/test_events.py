"""The event record: written in the change's transaction, read oldest first without gaps,
paged and filtered by type, kept 30 days."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, text

from app.core.tenancy import enter_team
from app.events.jobs import purge_old_events
from app.events.models import Event
from app.events.record import record_event
from tests.factories import make_actor
from tests.factories.clients import new_client_project
from tests.factories.events import all_events, events_page, of_type
from tests.factories.time_tracking import log, post_entry
from tests.helpers import assert_problem, at


async def _event_count(app) -> int:
    async with app.state.db.engine.begin() as conn:
        return (await conn.execute(select(func.count()).select_from(Event))).scalar_one()


async def test_a_change_records_its_event_and_a_refused_one_none(client, app):
    owner = await make_actor(app)
    _, project = await new_client_project(client, owner)
    before = await _event_count(app)
    entry = await log(client, owner, project, at(2, 9), at(2, 10), note="design")
    [created] = of_type(await all_events(client, owner), "time_entry.")
    assert created["type"] == "time_entry.created"
    assert created["data"] == entry  # the object exactly as the API returned it
    assert created["actor"] == {"type": "user", "id": str(owner.user_id)}
    assert await _event_count(app) == before + 1
    # An overlapping entry is refused (409): its transaction rolls back with its event.
    r = await post_entry(client, owner, project, at(2, 9, 30), at(2, 11))
    assert r.status_code == 409
    assert await _event_count(app) == before + 1


async def test_time_entry_events_updated_moved_deleted(client, app):
    owner = await make_actor(app)
    _, p1 = await new_client_project(client, owner, "One")
    _, p2 = await new_client_project(client, owner, "Two")
    entry = await log(client, owner, p1, at(2, 9), at(2, 10))
    url = owner.url(f"/time-entries/{entry['id']}")
    r = await client.patch(url, json={"note": "changed"}, headers=owner.headers)
    assert r.status_code == 200, r.text
    updated = r.json()
    r = await client.post(
        url + "/move", json={"project_id": p2, "reason": "wrong project"}, headers=owner.headers
    )
    assert r.status_code == 200, r.text
    moved = r.json()
    assert (await client.delete(url, headers=owner.headers)).status_code == 204
    events = of_type(await all_events(client, owner), "time_entry.")
    assert [e["type"] for e in events] == [
        "time_entry.created",
        "time_entry.updated",
        "time_entry.moved",
        "time_entry.deleted",
    ]
    assert events[1]["data"] == updated
    assert events[2]["data"] == moved
    assert events[3]["data"] == {"id": entry["id"]}  # a deletion carries its id only
    ids = [e["id"] for e in events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)


async def test_pages_resume_after_the_last_id_and_types_filter(client, app):
    owner = await make_actor(app)
    _, project = await new_client_project(client, owner)
    for hour in range(8, 13):
        await log(client, owner, project, at(3, hour), at(3, hour, 30))
    everything = await all_events(client, owner)
    first = await events_page(client, owner, limit=2)  # settled by `all_events` above
    assert first["has_more"] and len(first["data"]) == 2
    assert first["data"] == everything[:2]
    rest = await all_events(client, owner, after=first["data"][-1]["id"], limit=2)
    assert first["data"] + rest == everything
    only = await all_events(client, owner, types="time_entry.*")
    assert {e["type"] for e in only} == {"time_entry.created"} and len(only) == 5
    clients = await all_events(client, owner, types="client.created,project.*")
    assert {e["type"] for e in clients} <= {"client.created", "project.created"}
    assert clients and all(not e["type"].startswith("time_entry") for e in clients)
    r = await client.get(owner.url("/events"), params={"types": "nope"}, headers=owner.headers)
    assert r.status_code == 422
    nothing = await all_events(client, owner, types="invoice.paid,nothing.*")
    assert nothing == []
    r = await client.get(owner.url("/events"), params={"cursor": "x"}, headers=owner.headers)
    assert_problem(r, 400, "invalid_cursor")


async def _open_event(app, team_id: uuid.UUID, note: str):
    """A transaction that has recorded one event and stays open: (session, its xid)."""
    session = app.state.db.sessionmaker()
    await enter_team(session, team_id)
    await record_event(session, team_id, "member.updated", {"id": uuid.uuid4(), "note": note})
    return session


async def _notes(
    http, owner, after: int | None, *, settled: bool = False
) -> tuple[list[str], int | None]:
    """The notes of the member events after `after`, and the last id read."""
    params = {"types": "member.updated"} | ({"after": after} if after is not None else {})
    events = await all_events(http, owner, settled=settled, **params)
    last = events[-1]["id"] if events else after
    return [e["data"]["note"] for e in events], last


async def test_a_reader_never_skips_a_transaction_still_in_flight(client, app):
    """T1 records an event and stays open; T2 records one and commits. A reader resuming
    after the last id it saw gets both once T1 commits: T2's is held back until then."""
    owner = await make_actor(app)
    t1 = await _open_event(app, owner.team_id, "first")
    t2 = await _open_event(app, owner.team_id, "second")
    try:
        await t2.commit()
        seen, last = await _notes(client, owner, None)
        assert seen == []  # "second" is newer than T1, which is still in flight
        await t1.commit()
        more, last = await _notes(client, owner, last, settled=True)
        assert seen + more == ["first", "second"]
    finally:
        await t1.close()
        await t2.close()


async def test_a_later_transaction_id_never_lands_below_a_read_one(client, app):
    """The crossing a sequence would get wrong: T2 takes its transaction id first, T1 then
    records its event; T2 records and commits while T1 is open. T2's event may be read at
    once; T1's, committed later, still comes after it."""
    owner = await make_actor(app)
    t2 = app.state.db.sessionmaker()
    await enter_team(t2, owner.team_id)
    await t2.execute(text("SELECT pg_current_xact_id()"))  # T2's id is the older one
    t1 = await _open_event(app, owner.team_id, "first drawn, committed last")
    try:
        await _crossed(client, owner, t1, t2)
    finally:
        await t1.close()
        await t2.close()


async def _crossed(client, owner, t1, t2) -> None:
    await record_event(t2, owner.team_id, "member.updated", {"id": uuid.uuid4(), "note": "t2"})
    await t2.commit()
    seen: list[str] = []
    last = None
    for _ in range(500):  # until T2's shows (another suite's transaction may delay it)
        seen, last = await _notes(client, owner, None)
        if seen:
            break
        await asyncio.sleep(0.02)
    assert seen == ["t2"]
    await t1.commit()
    more, last = await _notes(client, owner, last, settled=True)
    assert more == ["first drawn, committed last"]


async def test_concurrent_writers_and_a_polling_reader_miss_nothing(client, app):
    owner = await make_actor(app)
    written: list[str] = []

    async def writer(n: int) -> None:
        for i in range(5):
            session = app.state.db.sessionmaker()
            await enter_team(session, owner.team_id)
            note = f"w{n}-{i}"
            await record_event(
                session, owner.team_id, "member.updated", {"id": uuid.uuid4(), "note": note}
            )
            await asyncio.sleep(0.01 * ((n + i) % 3))
            await session.commit()
            await session.close()
            written.append(note)

    read: list[str] = []
    last = None
    tasks = [asyncio.create_task(writer(n)) for n in range(4)]
    while not all(t.done() for t in tasks):
        seen, last = await _notes(client, owner, last)
        read += seen
        await asyncio.sleep(0.005)
    seen, last = await _notes(client, owner, last, settled=True)
    read += seen
    assert sorted(read) == sorted(written) and len(read) == 20


async def test_events_older_than_30_days_are_deleted_in_batches(client, app, monkeypatch):
    owner = await make_actor(app)
    _, project = await new_client_project(client, owner)
    await log(client, owner, project, at(2, 9), at(2, 10))
    async with app.state.db.engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE event SET created_at = created_at - interval '31 days'"
                " WHERE type LIKE 'client.%'"
            )
        )
    monkeypatch.setattr("app.events.jobs.BATCH", 1)
    ctx = {"db": app.state.db, "redis": app.state.redis}
    assert await purge_old_events(ctx) == 1
    kept = await all_events(client, owner)
    assert kept and not of_type(kept, "client.")
    later = datetime.now(UTC) + timedelta(days=31)
    assert await purge_old_events(ctx, now=later) == len(kept)
    assert await all_events(client, owner) == []

"""The portal's event stream (`GET /v1/portal/events`), over real HTTP: what a contact
may see of the team's record, as the portal shows it, resumable, ended with its session."""

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.factories.invoices import manual_draft
from tests.factories.payments import pay
from tests.factories.portal import PortalScene, PortalUser, portal_scene
from tests.factories.projects import get_board, move_task, new_task
from tests.factories.time_tracking import add_entry
from tests.helpers import assert_problem, utc
from tests.live import EventStream, open_stream, serving
from tests.test_portal_payloads import forbidden_keys


@pytest.fixture
async def live(app) -> AsyncIterator[httpx.AsyncClient]:
    async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=10) as http:
        yield http


def _stream(http, user: PortalUser, **params):
    return open_stream(http, "/v1/portal/events", user.headers, **params)


async def _events(stream: EventStream, count: int) -> list[dict]:
    return [(await stream.event()).json for _ in range(count)]


async def _portal(client, user: PortalUser, path: str) -> dict:
    r = await client.get(user.url(path), headers=user.headers)
    assert r.status_code == 200, r.text
    return r.json()


async def _changes(client, scene: PortalScene) -> None:
    """What the team does: some of it about the contact's project and invoices, some not."""
    owner = scene.owner
    await new_task(client, owner, scene.unseen, "Not for the client")
    await add_entry(client, owner, scene.unseen, utc(2026, 3, 9, 15), 900)
    await manual_draft(client, owner, scene.client_id, 4000)  # a draft: not the client's yet
    board = await get_board(client, owner, scene.seen)
    done = next(c for c in board["columns"] if c["kind"] == "done")
    r = await move_task(client, owner, scene.seen, scene.tasks[1], done["id"], 0)
    assert r.status_code == 200, r.text
    await add_entry(client, owner, scene.seen, utc(2026, 3, 10, 15), 1200, note="Review")
    assert (await pay(client, owner, scene.invoices["open"], 10000)).status_code == 201


async def test_a_contact_hears_its_project_and_invoices_as_the_portal_shows_them(
    live, client, app, mailbox, run_jobs
):
    scene = await portal_scene(client, app, mailbox, run_jobs)
    user = scene.user
    async with _stream(live, user) as stream:
        await asyncio.wait_for(app.state.event_streams.hub.subscribed(), 10)
        await _changes(client, scene)
        events = await _events(stream, 4)
        with pytest.raises(TimeoutError):
            await stream.event(within=1)  # nothing else: the rest was not the contact's
    assert [e["type"] for e in events] == [
        "task.updated",
        "time_entry.created",
        "payment.succeeded",
        "invoice.paid",
    ]
    tasks = (await _portal(client, user, f"/projects/{scene.seen}/tasks"))["data"]
    assert events[0]["data"] == next(t for t in tasks if t["id"] == scene.tasks[1])
    entries = (await _portal(client, user, "/time-entries"))["data"]
    assert events[1]["data"] == next(e for e in entries if e["id"] == events[1]["data"]["id"])
    assert events[2]["data"]["invoice_id"] == scene.invoices["open"]
    assert events[2]["data"]["amount"] == 10000
    assert events[3]["data"] == await _portal(client, user, f"/invoices/{scene.invoices['open']}")
    for event in events:
        assert set(event) == {"id", "type", "created_at", "data"}  # no actor: no team ids
        invoice = event["type"].startswith("invoice.")
        assert forbidden_keys(event, invoice=invoice) == [], event
        assert str(scene.owner.user_id) not in str(event)


async def test_last_event_id_resumes_from_the_record(live, client, app, mailbox, run_jobs):
    scene = await portal_scene(client, app, mailbox, run_jobs)
    async with _stream(live, scene.user) as stream:
        await asyncio.wait_for(app.state.event_streams.hub.subscribed(), 10)
        await _changes(client, scene)
        heard = await _events(stream, 4)
    headers = {**scene.user.headers, "Last-Event-ID": str(heard[0]["id"])}
    async with open_stream(live, "/v1/portal/events", headers) as again:
        replayed = await _events(again, 3)
    assert [e["id"] for e in replayed] == [e["id"] for e in heard[1:]]
    async with _stream(live, scene.user, after=heard[2]["id"]) as again:
        assert (await again.event()).json["id"] == heard[3]["id"]


async def test_revoking_portal_access_or_logging_out_ends_the_stream(
    live, client, app, mailbox, run_jobs
):
    scene = await portal_scene(client, app, mailbox, run_jobs)
    owner, user = scene.owner, scene.user
    async with _stream(live, user) as stream:
        assert stream.response.status_code == 200
        r = await client.delete(
            owner.url(f"/contacts/{user.contact_id}/portal-access"), headers=owner.headers
        )
        assert r.status_code in (200, 204), r.text
        assert await stream.ended(within=5)
    async with _stream(live, user) as refused:
        await refused.response.aread()
        assert refused.response.status_code == 401


async def test_tokens_of_the_other_kind_are_refused_and_five_streams_per_contact(
    live, client, app, mailbox, run_jobs
):
    scene = await portal_scene(client, app, mailbox, run_jobs)
    async with open_stream(live, "/v1/portal/events", scene.owner.headers) as stream:
        await stream.response.aread()
        assert_problem(stream.response, 401)
    path = scene.owner.url("/events")
    async with open_stream(live, path, scene.user.headers) as stream:
        await stream.response.aread()
        assert stream.response.status_code == 401
    attempts = [_stream(live, scene.user) for _ in range(6)]
    opened = await asyncio.gather(*(a.__aenter__() for a in attempts))
    assert sorted(s.response.status_code for s in opened) == [200] * 5 + [429]
    for attempt in attempts:
        await attempt.__aexit__(None, None, None)
    r = await client.post("/v1/portal/logout", headers=scene.user.headers)
    assert r.status_code == 204

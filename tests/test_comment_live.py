"""The issue's "done when", end to end over real HTTP: a contact invited at onboarding as a
collaborator asks a question on a task from the portal, the project manager answers it,
and both see it live; the manager's internal note never reaches the contact's stream."""

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.factories import make_actor
from tests.factories.portal import PortalUser, link_tokens, redeem
from tests.factories.projects import new_task
from tests.live import open_stream, serving


@pytest.fixture
async def live(app) -> AsyncIterator[httpx.AsyncClient]:
    async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=10) as http:
        yield http


async def test_a_question_from_the_portal_and_its_answer_seen_live_by_both(
    live, client, app, mailbox, run_jobs
):
    manager = await make_actor(app, name="Olga Owner")
    r = await client.post(
        manager.url("/clients"),
        json={
            "name": "Acme",
            "currency": "EUR",
            "create_project": True,
            "project_name": "Website",
            "invite_contacts": [
                {"name": "Cleo", "email": "cleo@example.com", "project_role": "collaborator"}
            ],
        },
        headers=manager.headers,
    )
    assert r.status_code == 201, r.text
    client_id, project_id = r.json()["id"], r.json()["project_id"]
    [contact] = r.json()["contacts"]
    task = await new_task(client, manager, project_id, "Homepage")
    await run_jobs()
    r = await redeem(client, link_tokens(mailbox, "cleo@example.com")[-1])
    assert r.status_code == 201, r.text
    assert r.json()["contact"]["id"] == contact["id"]
    cleo = PortalUser(contact["id"], client_id, r.json()["access_token"])
    thread = f"/projects/{project_id}/tasks/{task['id']}/comments"

    async with (
        open_stream(live, "/v1/portal/events", cleo.headers) as portal,
        open_stream(live, manager.url("/events"), manager.headers, types="comment.*") as team,
    ):
        await asyncio.wait_for(app.state.event_streams.hub.subscribed(), 10)
        r = await live.post(
            cleo.url(thread),
            json={"body": "Can the hero image be **larger**?"},
            headers=cleo.headers,
        )
        assert r.status_code == 201, r.text
        question = r.json()
        heard = (await team.event()).json
        assert heard["type"] == "comment.created"
        assert heard["actor"] == {"type": "contact", "id": cleo.contact_id}
        assert heard["data"]["id"] == question["id"]
        assert (
            heard["data"]["body_html"] == "<p>Can the hero image be <strong>larger</strong>?</p>\n"
        )

        r = await live.post(
            manager.url(thread),
            json={"body": "internal: check the licence first"},
            headers=manager.headers,
        )
        assert r.status_code == 201, r.text
        r = await live.post(
            manager.url(thread),
            json={"body": "Yes, twice as large by Friday.", "visibility": "client"},
            headers=manager.headers,
        )
        assert r.status_code == 201, r.text
        answer = r.json()
        seen = [(await team.event()).json for _ in range(2)]
        assert [e["data"]["visibility"] for e in seen] == ["internal", "client"]

        told = [(await portal.event()).json for _ in range(2)]
        assert [e["type"] for e in told] == ["comment.created", "comment.created"]
        assert [e["data"]["id"] for e in told] == [question["id"], answer["id"]]
        assert told[1]["data"]["author"] == {"type": "user", "id": None, "name": "Olga Owner"}
        with pytest.raises(TimeoutError):
            await portal.event(within=1)  # the internal note: never
    r = await client.get(cleo.url(thread), headers=cleo.headers)
    assert [c["id"] for c in r.json()["data"]] == [question["id"], answer["id"]]
    assert told[1]["data"] == r.json()["data"][1]

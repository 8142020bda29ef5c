"""The event stream (`GET /events` with `Accept: text/event-stream`), over real HTTP: live
events from the record as the list shows them, resumable without gaps, bounded per user
and per team, ended when the credentials are."""

import asyncio
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import select

from app.config import Settings
from app.core.db import unit_of_work
from app.core.permissions import Role
from app.core.tenancy import enter_team
from app.events.models import Event
from app.events.record import record_event
from app.main import create_app
from tests.factories import Actor, make_actor
from tests.factories.clients import new_client_project
from tests.factories.events import all_events
from tests.factories.projects import add_member
from tests.factories.teams import create_api_key
from tests.factories.time_tracking import log
from tests.helpers import assert_problem, at, bearer
from tests.live import open_stream, serving


@pytest.fixture
async def live(app) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the shared app served over HTTP (streams do not end; ASGI in-process
    transports wait for the end of a response)."""
    async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=10) as http:
        yield http


async def _subscribed(app) -> None:
    """Wait until the app's hub listens (it starts with the first stream)."""
    async with asyncio.timeout(10):
        await app.state.event_streams.hub.subscribed()


def _stream(http, actor: Actor, **params):
    return open_stream(http, actor.url("/events"), actor.headers, **params)


async def test_a_teammate_sees_an_entry_appear(live, client, app):
    owner = await make_actor(app)
    member = await make_actor(app, team_id=owner.team_id, role=Role.member)
    _, project = await new_client_project(client, owner)
    await add_member(client, owner, project, member.user_id)
    async with _stream(live, owner) as stream:
        assert stream.response.headers["content-type"].startswith("text/event-stream")
        await _subscribed(app)
        entry = await log(client, member, project, at(2, 9), at(2, 10), note="live")
        event = await stream.event()
    assert event.event == "time_entry.created"
    assert event.json["type"] == "time_entry.created"
    assert event.json["data"]["id"] == entry["id"]
    assert event.json["actor"] == {"type": "user", "id": str(member.user_id)}
    # The stream carries the event exactly as the list does.
    [listed] = [e for e in await all_events(client, owner) if e["id"] == event.json["id"]]
    assert event.json == listed
    assert event.id == str(listed["id"])


async def test_without_a_resume_point_it_starts_now(live, client, app):
    owner = await make_actor(app)
    _, project = await new_client_project(client, owner)
    await log(client, owner, project, at(2, 9), at(2, 10))  # the past
    async with _stream(live, owner) as stream:
        await _subscribed(app)
        entry = await log(client, owner, project, at(2, 11), at(2, 12))
        event = await stream.event()
    assert event.json["data"]["id"] == entry["id"]


async def test_last_event_id_and_after_resume_in_order(live, client, app):
    owner = await make_actor(app)
    _, project = await new_client_project(client, owner)
    for hour in (8, 9, 10):
        await log(client, owner, project, at(3, hour), at(3, hour, 30))
    everything = await all_events(client, owner)
    first = everything[0]["id"]
    headers = {**owner.headers, "Last-Event-ID": str(first)}
    async with open_stream(live, owner.url("/events"), headers, after=everything[-1]["id"]) as s:
        replayed = [(await s.event()).json for _ in everything[1:]]
    assert replayed == everything[1:]  # Last-Event-ID wins over `after`
    async with _stream(live, owner, after=everything[-2]["id"]) as stream:
        assert (await stream.event()).json == everything[-1]
    async with _stream(live, owner, after=first, types="time_entry.*") as stream:
        typed = await stream.event()
    assert typed.json == next(e for e in everything[1:] if e["type"].startswith("time_entry."))


async def test_a_member_receives_only_what_it_may_read(live, client, app):
    owner = await make_actor(app)
    member = await make_actor(app, team_id=owner.team_id, role=Role.member)
    _, mine = await new_client_project(client, owner, "Mine")
    _, other = await new_client_project(client, owner, "Other")
    await add_member(client, owner, mine, member.user_id)
    async with _stream(live, member) as stream:
        await _subscribed(app)
        await log(client, owner, other, at(4, 9), at(4, 10))  # not the member's to read
        await log(client, owner, mine, at(4, 10), at(4, 11))  # a project it is on, not its own
        own = await log(client, member, mine, at(4, 11), at(4, 12))
        event = await stream.event()
    assert event.json["data"]["id"] == own["id"]
    # Shaped for its role: as the member's own list shows it (no rates).
    listed = {e["id"]: e for e in await all_events(client, member)}
    assert event.json == listed[event.json["id"]]
    assert event.json["data"]["bill_rate_amount"] is None


async def test_an_event_held_back_by_an_older_transaction_arrives_in_order(live, client, app):
    """A transaction that recorded first and commits last: the stream shows nothing past
    it until it commits, then both in id order (no reader skips the older one)."""
    owner = await make_actor(app)
    async with _stream(live, owner) as stream:
        await _subscribed(app)
        async with app.state.db.sessionmaker() as slow:
            await enter_team(slow, owner.team_id)
            await record_event(slow, owner.team_id, "client.updated", {"id": uuid.uuid4()})
            await slow.flush()
            async with unit_of_work(app.state.db, app.state.redis, team_id=owner.team_id) as fast:
                await record_event(fast, owner.team_id, "client.updated", {"id": uuid.uuid4()})
            with pytest.raises(TimeoutError):
                await stream.event(within=0.5)  # the fast one waits behind the slow one
            await slow.commit()
        first, second = await stream.event(), await stream.event()
    assert int(first.id) < int(second.id)
    async with app.state.db.sessionmaker() as session:
        await enter_team(session, owner.team_id)
        ids = (await session.scalars(select(Event.id).order_by(Event.id))).all()
    assert [int(first.id), int(second.id)] == list(ids)[-2:]


async def test_five_streams_per_user_and_twenty_per_team(live, client, app):
    owner = await make_actor(app)
    others = [await make_actor(app, team_id=owner.team_id, role=Role.member) for _ in range(4)]
    async with _stream(live, owner) as s1, _stream(live, owner) as s2:
        assert s1.response.status_code == s2.response.status_code == 200
        # The rest race for the user's three places left: the count is Redis's, atomic.
        attempts = [_stream(live, owner) for _ in range(5)]
        streams = await asyncio.gather(*(a.__aenter__() for a in attempts))
        codes = sorted(s.response.status_code for s in streams)
        assert codes == [200, 200, 200, 429, 429]
        refused = next(s for s in streams if s.response.status_code == 429)
        await refused.response.aread()
        assert_problem(refused.response, 429, "too_many_streams")
        assert "Retry-After" in refused.response.headers
        # Another user of the team has its own five, up to the team's twenty.
        extra = [_stream(live, who) for who in others for _ in range(5)]
        opened = [await e.__aenter__() for e in extra]
        assert [s.response.status_code for s in opened].count(200) == 15
        assert [s.response.status_code for s in opened].count(429) == 5
        for e in extra:
            await e.__aexit__(None, None, None)
        for a in attempts:
            await a.__aexit__(None, None, None)
    # Closed streams give their places back.
    await asyncio.sleep(0.2)
    async with _stream(live, owner) as again:
        assert again.response.status_code == 200


@pytest.fixture
async def quick(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A second API process over the same database and Redis, whose streams keep alive
    (and re-check their credentials) every 0.3 s, with access tokens of 4 s."""
    other = create_app(
        settings.model_copy(
            update={"event_stream_keepalive_seconds": 0.3, "access_token_ttl_seconds": 4}
        )
    )
    async with serving(other) as url, httpx.AsyncClient(base_url=url, timeout=10) as http:
        http.app = other  # type: ignore[attr-defined]
        yield http
    await other.state.event_streams.stop()
    await other.state.redis.aclose()
    await other.state.db.dispose()


async def test_keep_alive_comments(quick, client, app):
    owner = await make_actor(app)
    async with _stream(quick, owner) as stream:
        block = await stream.block(within=5)
    assert block is not None and block.comments == ["keep-alive"] and block.event is None


async def test_every_process_delivers_every_event(quick, live, client, app):
    owner = await make_actor(app)
    _, project = await new_client_project(client, owner)
    async with _stream(live, owner) as one, _stream(quick, owner) as two:
        await _subscribed(app)
        await _subscribed(quick.app)
        entry = await log(client, owner, project, at(5, 9), at(5, 10))
        first, second = await one.event(), await two.event()
    assert first.json == second.json and first.json["data"]["id"] == entry["id"]


async def test_an_event_without_its_notice_arrives_at_the_next_keep_alive(quick, client, app):
    """The table is the truth: a notice lost (here: never sent) delays, loses nothing."""
    owner = await make_actor(app)
    async with _stream(quick, owner) as stream:
        async with app.state.db.sessionmaker() as session:
            await enter_team(session, owner.team_id)
            await record_event(session, owner.team_id, "client.updated", {"id": uuid.uuid4()})
            await session.commit()  # no unit of work: its notice is never published
        event = await stream.event(within=5)
    assert event.event == "client.updated"


async def test_a_revoked_session_or_key_ends_the_stream(quick, client, app):
    owner = await make_actor(app)
    async with _stream(quick, owner) as stream:
        r = await client.post("/v1/auth/logout", headers=owner.headers)
        assert r.status_code == 204
        assert await stream.ended(within=5)
    keeper = await make_actor(app)
    key = await create_api_key(client, keeper, role="org_manager")
    async with open_stream(quick, keeper.url("/events"), bearer(key["key"])) as stream:
        assert stream.response.status_code == 200
        r = await client.delete(keeper.url(f"/api-keys/{key['id']}"), headers=keeper.headers)
        assert r.status_code == 204, r.text
        assert await stream.ended(within=5)


async def test_an_expired_access_token_ends_the_stream(quick, app):
    owner = await make_actor(app)
    secrets = quick.app.state.secrets
    session_id = uuid.UUID(secrets.decode_access_token(owner.access_token)["sid"])
    token, ttl = secrets.issue_access_token(owner.user_id, session_id)
    assert ttl == 4
    async with open_stream(quick, owner.url("/events"), bearer(token)) as stream:
        assert stream.response.status_code == 200
        assert await stream.ended(within=10)


async def test_no_stream_without_credentials_or_for_another_team(live, app):
    owner = await make_actor(app)
    stranger = await make_actor(app)
    async with open_stream(live, owner.url("/events"), {}) as stream:
        await stream.response.aread()
        assert_problem(stream.response, 401, "not_authenticated")
    async with open_stream(live, owner.url("/events"), stranger.headers) as stream:
        await stream.response.aread()
        assert stream.response.status_code == 404

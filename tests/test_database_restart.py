"""PostgreSQL goes away while the API serves: every request during the outage answers
503 `database_unavailable` at once, and the API recovers by itself when the server is
back (no pre-ping, no restart of the API). A private embedded PostgreSQL is stopped and
started again on the same data folder; a server that accepts connections but never
answers shows that opening a connection is bounded too."""

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from app.cli import migrate
from app.config import Settings
from app.core.embedded import EmbeddedPostgres
from app.main import create_app
from tests.factories import make_actor
from tests.helpers import assert_problem

# Not a speed goal: an answer that waited out a connect timeout or a hang would take longer.
QUICK = 4.0


@pytest.fixture
async def private_pg(tmp_path: Path) -> AsyncIterator[tuple[EmbeddedPostgres, str]]:
    pg = EmbeddedPostgres(tmp_path / "pg")
    url = await asyncio.to_thread(pg.start, "hourline_fault")
    try:
        await asyncio.to_thread(migrate, url)
        yield pg, url
    finally:
        await asyncio.to_thread(pg.stop)


def _client(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def _timed(request) -> httpx.Response:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    r = await request
    elapsed = time.monotonic() - started
    assert elapsed < QUICK, f"{r.request.method} {r.request.url} took {elapsed:.2f}s"
    return r


async def test_requests_during_a_restart_are_503_and_the_api_recovers_alone(
    settings: Settings, private_pg
):
    pg, url = private_pg
    app = create_app(settings.model_copy(update={"database_url": url}))
    try:
        owner = await make_actor(app)
        async with _client(app) as c:
            # Several pooled connections, all of which the restart kills.
            reads = [c.get(owner.url(), headers=owner.headers) for _ in range(4)]
            assert {r.status_code for r in await asyncio.gather(*reads)} == {200}

            await asyncio.to_thread(pg.stop)
            for _ in range(3):
                r = await _timed(c.get(owner.url(), headers=owner.headers))
                assert_problem(r, 503, "database_unavailable")
                assert r.headers["retry-after"] == "1"
            r = await _timed(
                c.post(
                    owner.url("/clients"),
                    json={"name": "During", "currency": "EUR"},
                    headers=owner.headers,
                )
            )
            assert_problem(r, 503, "database_unavailable")
            r = await _timed(c.get("/v1/health"))
            assert r.status_code == 503
            assert r.json()["database"] == "unavailable"

            assert await asyncio.to_thread(pg.start, "hourline_fault") == url
            # The very first request after the restart is served: nothing stale is left.
            r = await c.get(owner.url(), headers=owner.headers)
            assert r.status_code == 200, r.text
            r = await c.post(
                owner.url("/clients"),
                json={"name": "After", "currency": "EUR"},
                headers=owner.headers,
            )
            assert r.status_code == 201, r.text
            listed = await c.get(owner.url("/clients"), headers=owner.headers)
            assert [x["name"] for x in listed.json()["data"]] == ["After"]
            assert (await c.get("/v1/health")).status_code == 200
    finally:
        await app.state.db.dispose()
        await app.state.redis.aclose()


async def test_a_server_that_never_answers_is_503_after_the_connect_timeout(settings):
    """Accepted by the kernel, never answered: without a connect timeout asyncpg waits 60 s."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        port = silent.getsockname()[1]
        app = create_app(
            settings.model_copy(
                update={
                    "database_url": f"postgresql://nobody@127.0.0.1:{port}/none",
                    "db_connect_timeout_seconds": 0.5,
                }
            )
        )
        try:
            async with _client(app) as c:
                started = time.monotonic()
                r = await c.post("/v1/auth/signup", json={"email": "a@example.com"})
                assert r.status_code == 422  # validation needs no database
                r = await c.get(
                    "/v1/teams/01a23435-7ccd-7e03-9f9e-19a76670f064",
                    headers={"Authorization": "Bearer not-a-token"},
                )
                assert r.status_code == 401  # nor does refusing a malformed token
                r = await c.post(
                    "/v1/auth/login", json={"email": "a@example.com", "password": "long enough"}
                )
                elapsed = time.monotonic() - started
            assert_problem(r, 503, "database_unavailable")
            assert 0.4 < elapsed < 3, elapsed
        finally:
            await app.state.db.dispose()
            await app.state.redis.aclose()

"""problem+json for unknown routes, wrong methods and crashes; /v1/health when Redis is down."""

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from app.core.db import async_url
from app.main import create_app
from tests.factories import make_actor
from tests.helpers import PROBLEM_KEYS, assert_problem


@pytest.fixture
async def crashing_app(settings) -> AsyncIterator[FastAPI]:  # type: ignore[no-untyped-def]
    fresh = create_app(settings)

    async def boom() -> None:
        raise RuntimeError("secret detail")

    fresh.add_api_route("/v1/boom", boom, methods=["GET", "POST"])
    yield fresh
    await fresh.state.db.dispose()
    await fresh.state.redis.aclose()


def _client(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def test_unknown_route_is_404_problem(client):
    r = await client.get("/v1/no-such-thing")
    assert r.status_code == 404, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body.keys() >= PROBLEM_KEYS
    assert body["code"] == "route_not_found"
    assert body["status"] == 404
    assert body["title"] == "Not Found"
    assert isinstance(body["type"], str) and body["type"]
    assert "/v1/no-such-thing" in body["detail"]
    assert r.headers.get("x-request-id")


async def test_unknown_route_outside_v1_is_404_problem(client):
    r = await client.post("/nowhere", json={})
    assert r.status_code == 404, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "route_not_found"


async def test_wrong_method_is_405_problem(client):
    r = await client.delete("/v1/health")
    assert r.status_code == 405, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body.keys() >= PROBLEM_KEYS
    assert body["code"] == "method_not_allowed"
    assert body["status"] == 405
    assert "GET" in r.headers.get("allow", "")


async def test_unhandled_exception_is_500_problem_without_internals(crashing_app):
    async with _client(crashing_app) as c:
        r = await c.get("/v1/boom")
    assert r.status_code == 500, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body.keys() >= PROBLEM_KEYS
    assert body["code"] == "internal_error"
    assert body["status"] == 500
    assert "secret detail" not in r.text
    assert "Traceback" not in r.text
    assert "RuntimeError" not in r.text
    assert body["request_id"]
    assert r.headers.get("x-request-id") == body["request_id"]


async def test_500_keeps_the_incoming_request_id(crashing_app):
    async with _client(crashing_app) as c:
        r = await c.post("/v1/boom", json={}, headers={"X-Request-Id": "req-abc-123"})
    assert r.status_code == 500, r.text
    assert r.json()["code"] == "internal_error"
    assert r.json()["request_id"] == "req-abc-123"
    assert r.headers.get("x-request-id") == "req-abc-123"
    assert "secret detail" not in r.text


async def test_request_id_is_echoed_or_generated(client):
    r = await client.get("/v1/health", headers={"X-Request-Id": "trace-42"})
    assert r.headers.get("x-request-id") == "trace-42"
    r1 = await client.get("/v1/health")
    r2 = await client.get("/v1/health")
    assert r1.headers.get("x-request-id")
    assert r1.headers["x-request-id"] != r2.headers["x-request-id"]
    # An unreasonable incoming id is replaced, not echoed.
    r = await client.get("/v1/health", headers={"X-Request-Id": "x" * 65})
    assert r.headers.get("x-request-id") and r.headers["x-request-id"] != "x" * 65


async def test_health_is_503_when_redis_is_down(settings):
    fresh = create_app(settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"}))
    try:
        async with _client(fresh) as c:
            r = await c.get("/v1/health")
        assert r.status_code == 503, r.text
        assert r.json() == {"status": "unavailable", "database": "ok", "redis": "unavailable"}
    finally:
        await fresh.state.db.dispose()
        await fresh.state.redis.aclose()


async def test_health_is_503_when_the_database_is_down(settings):
    fresh = create_app(
        settings.model_copy(update={"database_url": "postgresql://nobody:nothing@127.0.0.1:1/none"})
    )
    try:
        async with _client(fresh) as c:
            r = await c.get("/v1/health")
        assert r.status_code == 503, r.text
        assert r.json() == {"status": "unavailable", "database": "unavailable", "redis": "ok"}
    finally:
        await fresh.state.db.dispose()
        await fresh.state.redis.aclose()


async def test_a_dropped_connection_is_one_503_then_the_pool_recovers(settings, app):
    """Without pre-ping, pooled connections killed by the server (a restart, an idle
    timeout) fail their first statement: that request answers 503, the pool is discarded,
    and the next request works on fresh connections."""
    owner = await make_actor(app)  # through the shared app, so the test's rows are cleared
    fresh = create_app(settings)
    try:
        async with _client(fresh) as c:
            assert (await c.get(owner.url(), headers=owner.headers)).status_code == 200
            async with fresh.state.db.engine.connect() as conn:
                pid = await conn.scalar(text("SELECT pg_backend_pid()"))
            killer = create_async_engine(async_url(settings.database_url or ""))
            async with killer.connect() as conn:
                killed = await conn.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            await killer.dispose()
            assert killed is True

            r = await c.get(owner.url(), headers=owner.headers)
            body = assert_problem(r, 503, "database_unavailable")
            assert r.headers["retry-after"] == "1"
            assert "request_id" in body
            assert (await c.get(owner.url(), headers=owner.headers)).status_code == 200
    finally:
        await fresh.state.db.dispose()
        await fresh.state.redis.aclose()

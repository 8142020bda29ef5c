"""Real PostgreSQL, Redis and SMTP for the whole suite.

TEST_DATABASE_URL / TEST_REDIS_URL point at servers to use (the database is wiped and
rebuilt by the Alembic migrations); unset, embedded ones are started in a temporary
folder of this run, so parallel runs never share state. Every test starts from empty
tables, an empty Redis and an empty mailbox, and may commit, race and run workers like
production does.
"""

import asyncio
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from app.cli import migrate
from app.config import Settings
from app.core.db import async_url
from app.core.embedded import EmbeddedPostgres, EmbeddedRedis, MailboxHandler, MailSink
from app.main import create_app
from app.models import metadata
from app.worker import build_worker

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def services() -> dict[str, str]:
    started: list[EmbeddedPostgres | EmbeddedRedis] = []
    database_url = os.environ.get("TEST_DATABASE_URL")
    redis_url = os.environ.get("TEST_REDIS_URL")
    home = Path(tempfile.mkdtemp(prefix="hourline-test-"))
    if not database_url:
        pg = EmbeddedPostgres(home / "pg")
        database_url = pg.start("hourline_test")
        started.append(pg)
    if not redis_url:
        redis = EmbeddedRedis(home / "redis")
        redis_url = redis.start()
        started.append(redis)
    yield {"database_url": database_url, "redis_url": redis_url, "home": str(home)}
    for service in reversed(started):
        service.stop()
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def mail_sink() -> MailSink:
    sink = MailSink(None)
    sink.url = sink.start()  # type: ignore[attr-defined]
    yield sink
    sink.stop()


@pytest.fixture(scope="session")
async def database_url(services: dict[str, str]) -> str:
    """The test database, emptied and rebuilt by the migrations once per run."""
    url = services["database_url"]
    engine = create_async_engine(async_url(url))
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()
    await asyncio.to_thread(migrate, url)
    return url


@pytest.fixture(scope="session")
def settings(database_url: str, services: dict[str, str], mail_sink: MailSink) -> Settings:
    return Settings(
        database_url=database_url,
        redis_url=services["redis_url"],
        smtp_url=mail_sink.url,  # type: ignore[attr-defined]
        secret_key="test-secret-key-not-for-production",
        hourline_home=Path(services["home"]),
        argon2_time_cost=1,
        argon2_memory_cost=1024,
        public_api_url="https://api.hourline.test",
        frontend_url="https://app.hourline.test",
    )


@pytest.fixture(scope="session")
async def app(settings: Settings):  # type: ignore[no-untyped-def]
    application = create_app(settings)
    yield application
    await application.state.event_streams.stop()
    await application.state.redis.aclose()
    await application.state.db.dispose()


# Children first. DELETE of a few rows is ~50x faster than TRUNCATE of many tables.
_CLEAR = [f'DELETE FROM "{t.name}"' for t in reversed(metadata.sorted_tables)]


@pytest.fixture(autouse=True)
async def clean_state(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    """Empty tables, Redis and mailbox after every test that touched them."""
    yield
    if "app" not in request.fixturenames:
        return
    application = request.getfixturevalue("app")
    async with application.state.db.engine.begin() as conn:
        for statement in _CLEAR:
            await conn.execute(text(statement))
    await application.state.redis.flushdb()
    request.getfixturevalue("mail_sink").handler.messages.clear()


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


@pytest.fixture
def mailbox(mail_sink: MailSink) -> MailboxHandler:
    return mail_sink.handler


@pytest.fixture
def run_jobs(settings: Settings) -> Callable[[], Awaitable[int]]:
    """Run every queued job with a real arq worker (burst mode), return how many ran."""

    async def run(max_tries: int = 1) -> int:
        worker = build_worker(settings, burst=True, poll_delay=0.01, max_tries=max_tries)
        try:
            await worker.async_run()
            return worker.jobs_complete + worker.jobs_failed
        finally:
            await worker.close()

    return run

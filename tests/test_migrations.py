"""The migrations build the schema from empty, match the models, and tear down to base."""

import asyncio
import uuid

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from app.cli import alembic_config
from app.core.db import async_url
from app.models import metadata


async def _scratch_database(database_url: str) -> tuple[str, str]:
    """A new empty database on the test server; returns (its URL, its name)."""
    name = f"hourline_mig_{uuid.uuid4().hex[:10]}"
    admin = create_async_engine(async_url(database_url), isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()
    url = make_url(async_url(database_url)).set(database=name).render_as_string(hide_password=False)
    return url, name


async def _drop_database(database_url: str, name: str) -> None:
    admin = create_async_engine(async_url(database_url), isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await admin.dispose()


async def _tables(url: str) -> set[str]:
    engine = create_async_engine(url)
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        )
        names = {r[0] for r in rows}
    await engine.dispose()
    return names


async def _diff(url: str) -> list:
    engine = create_async_engine(url)
    async with engine.connect() as conn:
        diff = await conn.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync), metadata)
        )
    await engine.dispose()
    return diff


async def test_upgrade_from_empty_matches_models_and_downgrades_to_base(database_url):
    url, name = await _scratch_database(database_url)
    try:
        config = alembic_config(url)
        await asyncio.to_thread(command.upgrade, config, "head")
        assert {t.name for t in metadata.sorted_tables} <= await _tables(url)
        assert await _diff(url) == [], "models and migrations disagree"

        await asyncio.to_thread(command.downgrade, config, "base")
        assert await _tables(url) == {"alembic_version"}

        await asyncio.to_thread(command.upgrade, config, "head")
        assert {t.name for t in metadata.sorted_tables} <= await _tables(url)
    finally:
        await _drop_database(database_url, name)

"""Row-level security: the second wall behind `app.core.tenancy`.

Statements here deliberately forget their team filter; only the policies stand between
them and another team's rows.
"""

import asyncio
import uuid

import pytest
from alembic import command
from fastapi.routing import APIRoute
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

from app.auth import service as auth_service
from app.auth.dependencies import TEAM_SCOPES, dependency_calls
from app.cli import alembic_config
from app.clients.models import Client
from app.core.db import async_url, unit_of_work
from app.core.tenancy import APP_ROLE, enter_team
from app.routes import ROUTERS
from app.time_tracking.models import TimeEntry
from tests.factories.accounts import make_actor
from tests.factories.clients import new_client
from tests.test_migrations import _drop_database, _scratch_database

_TEAM_TABLES = text("""
    SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
           array(SELECT p.polname FROM pg_policy p WHERE p.polrelid = c.oid ORDER BY 1)
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = current_schema() AND c.relkind = 'r'
      AND EXISTS (SELECT 1 FROM pg_attribute a
                  WHERE a.attrelid = c.oid AND a.attname = 'team_id' AND NOT a.attisdropped)
    ORDER BY 1
""")


async def _two_teams_with_clients(app, client):  # type: ignore[no-untyped-def]
    a, b = await make_actor(app), await make_actor(app)
    await new_client(client, a, "Mine")
    await new_client(client, b, "Theirs")
    return a, b


async def test_every_team_table_has_forced_row_security_and_both_policies(app):
    async with app.state.db.engine.connect() as conn:
        tables = (await conn.execute(_TEAM_TABLES)).all()
    assert len(tables) >= 20
    for name, enabled, forced, policies in tables:
        assert enabled and forced, f"{name}: row security must be enabled and forced"
        assert policies == ["cross_team_paths", "team_isolation"], name


async def test_the_app_role_is_unprivileged_and_owns_nothing(app):
    async with app.state.db.engine.connect() as conn:
        role = (
            await conn.execute(
                text(
                    "SELECT rolsuper, rolbypassrls, rolcanlogin, rolcreaterole, rolcreatedb "
                    "FROM pg_roles WHERE rolname = :r"
                ),
                {"r": APP_ROLE},
            )
        ).one()
        owned = await conn.scalar(
            text(
                "SELECT count(*) FROM pg_class "
                "WHERE relowner = (SELECT oid FROM pg_roles WHERE rolname = :r)"
            ),
            {"r": APP_ROLE},
        )
    assert tuple(role) == (False, False, False, False, False)
    assert owned == 0


async def test_an_unscoped_select_in_a_team_transaction_sees_only_that_team(app, client):
    a, _ = await _two_teams_with_clients(app, client)
    async with unit_of_work(app.state.db, app.state.redis, team_id=a.team_id) as session:
        names = (await session.scalars(select(Client.name))).all()
        user = await session.scalar(select(func.current_user()))
    assert names == ["Mine"]
    assert user == APP_ROLE
    # The same statement outside any team (a cross-team path) sees both.
    async with unit_of_work(app.state.db, app.state.redis) as session:
        assert sorted((await session.scalars(select(Client.name))).all()) == ["Mine", "Theirs"]


async def test_the_request_authentication_query_scopes_the_transaction(app, client):
    a, _ = await _two_teams_with_clients(app, client)
    created = await client.post(
        a.url("/api-keys"), json={"name": "k", "role": "member"}, headers=a.headers
    )
    key = created.json()["key"]
    for token in (a.access_token, key):
        async with unit_of_work(app.state.db, app.state.redis) as session:
            ctx = await auth_service.team_context_for_token(
                session, app.state.redis, app.state.secrets, token, a.team_id
            )
            assert ctx.team_id == a.team_id
            assert (await session.scalars(select(Client.name))).all() == ["Mine"]


async def test_with_the_app_role_and_no_team_no_team_row_is_visible(app, client):
    await _two_teams_with_clients(app, client)
    async with unit_of_work(app.state.db, app.state.redis) as session:
        await session.execute(text(f"SET LOCAL ROLE {APP_ROLE}"))
        assert (await session.scalars(select(Client.id))).all() == []
        assert await session.scalar(select(func.count()).select_from(TimeEntry)) == 0


async def test_a_team_transaction_cannot_write_into_another_team(app, client):
    a, b = await _two_teams_with_clients(app, client)
    with pytest.raises(DBAPIError, match="row-level security"):
        async with unit_of_work(app.state.db, app.state.redis, team_id=a.team_id) as session:
            session.add(Client(team_id=b.team_id, name="Planted", currency="EUR"))
            await session.flush()
    # Nor change or delete its rows: they are not there to match.
    async with unit_of_work(app.state.db, app.state.redis, team_id=a.team_id) as session:
        changed = await session.execute(text("UPDATE client SET name = 'Renamed'"))
        assert changed.rowcount == 1
        await enter_team(session, b.team_id)
        assert (await session.scalars(select(Client.name))).all() == ["Theirs"]


async def test_migrations_as_a_non_superuser_owner_keep_the_cross_team_paths(database_url):
    """Production connects as the tables' owner, not a superuser: FORCE subjects it to the
    policies, and its `cross_team_paths` policy is what lets sign-up and the cron work."""
    owner = f"hl_owner_{uuid.uuid4().hex[:8]}"
    admin = create_async_engine(async_url(database_url), isolation_level="AUTOCOMMIT")
    url, name = await _scratch_database(database_url)
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f"CREATE ROLE {owner} LOGIN PASSWORD 'pw' NOSUPERUSER"))
            await conn.execute(text(f'ALTER DATABASE "{name}" OWNER TO {owner}'))
        superuser = create_async_engine(url, isolation_level="AUTOCOMMIT")
        async with superuser.connect() as conn:
            await conn.execute(text(f"ALTER SCHEMA public OWNER TO {owner}"))
            # The role exists in the cluster already; a DBA lets the owner use it.
            await conn.execute(text(f"GRANT {APP_ROLE} TO {owner}"))
        await superuser.dispose()
        owner_url = make_url(url).set(username=owner, password="pw")
        await asyncio.to_thread(
            command.upgrade, alembic_config(owner_url.render_as_string(hide_password=False)), "head"
        )
        engine = create_async_engine(owner_url)
        team_a, team_b = uuid.uuid4(), uuid.uuid4()
        async with engine.begin() as conn:
            superuser = "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
            assert not await conn.scalar(text(superuser))
            for team in (team_a, team_b):
                await conn.execute(
                    text("INSERT INTO team (id, name) VALUES (:t, 'T')"),
                    {"t": team},
                )
                await conn.execute(
                    text(
                        "INSERT INTO client (id, team_id, name, currency) "
                        "VALUES (:i, :t, 'C', 'EUR')"
                    ),
                    {"i": uuid.uuid4(), "t": team},
                )
        async with engine.begin() as conn:
            assert await conn.scalar(text("SELECT count(*) FROM client")) == 2
        async with engine.begin() as conn:
            await conn.execute(
                text("SELECT set_config('app.team_id', :t, true), set_config('role', :r, true)"),
                {"t": str(team_a), "r": APP_ROLE},
            )
            assert await conn.scalar(text("SELECT count(*) FROM client")) == 1
        await engine.dispose()
    finally:
        await _drop_database(database_url, name)
        async with admin.connect() as conn:
            await conn.execute(text(f"DROP OWNED BY {owner}"))
            await conn.execute(text(f"DROP ROLE IF EXISTS {owner}"))
        await admin.dispose()


def test_every_team_path_resolves_its_team_through_the_scoping_dependency():
    """A path under /teams/{team_id} is scoped by a team dependency's authentication
    query; an endpoint that read its team id some other way would run unconfined."""
    team_routes = [
        r
        for router in ROUTERS
        for r in router.routes
        if isinstance(r, APIRoute) and "{team_id}" in r.path_format
    ]
    assert len(team_routes) > 50
    unscoped = [
        f"{sorted(r.methods)} {r.path}"
        for r in team_routes
        if not TEAM_SCOPES & set(dependency_calls(r.dependant))
    ]
    assert unscoped == []

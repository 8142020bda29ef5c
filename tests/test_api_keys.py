"""API keys: creation rules, authentication as Bearer, revocation, expiry, creator changes."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import Request
from sqlalchemy import text

from app.auth.dependencies import get_team_context
from app.core.db import Database, unit_of_work
from app.core.errors import AppError
from app.core.permissions import Permission, Role, access_of
from app.core.security import new_api_key
from app.main import create_app
from tests.factories import make_actor
from tests.factories.teams import create_api_key
from tests.helpers import NON_MANAGERS, assert_problem, bearer
from tests.ladder import ladder

KEY_ROLES = [r for r in Role if r is not Role.superadmin]


async def listed_keys(client, actor) -> dict[str, dict]:
    r = await client.get(actor.url("/api-keys"), headers=actor.headers, params={"limit": 200})
    assert r.status_code == 200, r.text
    return {k["id"]: k for k in r.json()["data"]}


async def sql(app, statement: str, **params) -> None:
    async with app.state.db.engine.begin() as conn:
        await conn.execute(text(statement), params)


# ------------------------------------------------------------------ POST /api-keys


async def test_create_api_key_ladder(client, app):
    owner = await make_actor(app)
    stranger = await make_actor(app)
    payload = {"name": "CI", "role": "member"}
    non_managers = [await make_actor(app, team_id=owner.team_id, role=r) for r in NON_MANAGERS]

    async def unchanged() -> None:
        assert await listed_keys(client, owner) == {}

    r = await ladder(
        client,
        "POST",
        "/api-keys",
        owner=owner,
        stranger=stranger,
        forbidden=non_managers,
        json=payload,
        unchanged=unchanged,
        ok=201,
    )
    body = r.json()
    assert body["name"] == "CI"
    assert body["role"] == "member"
    assert body["created_by_id"] == str(owner.user_id)
    assert (
        body["revoked_at"] is None and body["last_used_at"] is None and body["expires_at"] is None
    )
    key = body["key"]
    assert key.startswith("hl_")
    assert len(key) == 41
    assert body["prefix"] == key[: len(body["prefix"])]
    assert len(body["prefix"]) < len(key)

    # The secret is never shown again.
    r = await client.get(owner.url("/api-keys"), headers=owner.headers)
    assert r.status_code == 200, r.text
    assert [k["id"] for k in r.json()["data"]] == [body["id"]]
    assert "key" not in r.json()["data"][0]
    assert key not in r.text
    # Nor is it stored in clear.
    async with app.state.db.engine.begin() as conn:
        stored = (await conn.execute(text("SELECT * FROM api_key"))).mappings().one()
    assert key not in {str(v) for v in stored.values()}


@pytest.mark.parametrize("role", list(Role))
async def test_create_api_key_by_role(client, app, role):
    owner = await make_actor(app)
    actor = await make_actor(app, team_id=owner.team_id, role=role)
    r = await client.post(
        actor.url("/api-keys"), json={"name": "k", "role": "member"}, headers=actor.headers
    )
    keys = await listed_keys(client, owner)
    if role in (Role.superadmin, Role.org_manager):
        assert r.status_code == 201, r.text
        assert r.json()["key"].startswith("hl_")
        assert list(keys) == [r.json()["id"]]
    else:
        assert_problem(r, 403)
        assert keys == {}


async def test_superadmin_key_not_allowed(client, app):
    owner = await make_actor(app)
    r = await client.post(
        owner.url("/api-keys"), json={"name": "root", "role": "superadmin"}, headers=owner.headers
    )
    assert_problem(r, 422, "api_key_role_not_allowed")
    assert await listed_keys(client, owner) == {}


@pytest.mark.parametrize("role", KEY_ROLES)
async def test_org_manager_creates_any_non_superadmin_key(client, app, role):
    owner = await make_actor(app)
    org = await make_actor(app, team_id=owner.team_id, role=Role.org_manager)
    key = await create_api_key(client, org, role.value)
    assert key["role"] == role.value
    assert key["created_by_id"] == str(org.user_id)
    me = await client.get("/v1/me", headers=bearer(key["key"]))
    assert me.status_code == 200, me.text
    assert me.json()["id"] == str(org.user_id)
    assert me.json()["teams"] == [
        {"id": str(owner.team_id), "name": me.json()["teams"][0]["name"], "role": role.value}
    ]


async def test_create_api_key_validation(client, app):
    owner = await make_actor(app)
    for payload in (
        {"name": "x", "role": "admin"},
        {"role": "member"},
        {"name": "", "role": "member"},
    ):
        r = await client.post(owner.url("/api-keys"), json=payload, headers=owner.headers)
        assert_problem(r, 422, "validation_error")
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    r = await client.post(
        owner.url("/api-keys"),
        json={"name": "old", "role": "member", "expires_at": past},
        headers=owner.headers,
    )
    assert_problem(r, 422, "expires_in_past")
    assert await listed_keys(client, owner) == {}


# ------------------------------------------------------------------ GET /api-keys


async def test_list_api_keys_ladder(client, app):
    owner = await make_actor(app)
    stranger = await make_actor(app)
    mine = await create_api_key(client, owner)
    await create_api_key(client, stranger)

    non_managers = [await make_actor(app, team_id=owner.team_id, role=r) for r in NON_MANAGERS]

    org = await make_actor(app, team_id=owner.team_id, role=Role.org_manager)
    r = await ladder(
        client,
        "GET",
        "/api-keys",
        owner=owner,
        stranger=stranger,
        forbidden=non_managers,
        allowed=org,
    )
    assert [k["id"] for k in r.json()["data"]] == [mine["id"]]
    assert all("key" not in k for k in r.json()["data"])


# ------------------------------------------------------------------ DELETE /api-keys/{id}


async def test_revoke_api_key_ladder(client, app):
    owner = await make_actor(app)
    stranger = await make_actor(app)
    key = await create_api_key(client, owner, "org_manager")
    foreign = await create_api_key(client, stranger, "member")
    non_managers = [await make_actor(app, team_id=owner.team_id, role=r) for r in NON_MANAGERS]

    async def unchanged() -> None:
        assert (await client.get(stranger.url(), headers=bearer(foreign["key"]))).status_code == 200
        assert (await client.get(owner.url(), headers=bearer(key["key"]))).status_code == 200

    await ladder(
        client,
        "DELETE",
        f"/api-keys/{key['id']}",
        owner=owner,
        stranger=stranger,
        forbidden=non_managers,
        # Another team's key through this team's path: not found, and it keeps working.
        foreign_paths=[f"/api-keys/{foreign['id']}", f"/api-keys/{uuid.uuid4()}"],
        unchanged=unchanged,
        ok=204,
    )
    assert (await listed_keys(client, owner))[key["id"]]["revoked_at"] is not None
    assert_problem(
        await client.get(owner.url(), headers=bearer(key["key"])), 401, "invalid_api_key"
    )
    assert_problem(await client.get("/v1/me", headers=bearer(key["key"])), 401, "invalid_api_key")


# ------------------------------------------------------------------ using a key


async def test_member_key_acts_with_its_role(client, app):
    owner = await make_actor(app)
    key = (await create_api_key(client, owner, "member"))["key"]
    h = bearer(key)

    r = await client.get(owner.url(), headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["id"] == str(owner.team_id)
    assert (await client.get(owner.url("/members"), headers=h)).status_code == 200
    assert_problem(await client.patch(owner.url(), json={"name": "Hacked"}, headers=h), 403)
    r = await client.post(
        owner.url("/invitations"), json={"email": "x@example.com", "role": "member"}, headers=h
    )
    assert_problem(r, 403)
    assert_problem(
        await client.post(owner.url("/api-keys"), json={"name": "n", "role": "member"}, headers=h),
        403,
    )
    assert_problem(await client.delete(owner.url(), headers=h), 403)
    assert_problem(
        await client.patch(
            owner.url(f"/members/{owner.user_id}"), json={"role": "member"}, headers=h
        ),
        403,
    )
    assert (await client.get(owner.url(), headers=owner.headers)).json()["name"] != "Hacked"

    me = (await client.get("/v1/me", headers=h)).json()
    assert me["id"] == str(owner.user_id)
    assert [t["role"] for t in me["teams"]] == ["member"]


async def test_org_manager_key_manages_the_team(client, app, mailbox, run_jobs):
    owner = await make_actor(app)
    key = (await create_api_key(client, owner, "org_manager"))["key"]
    h = bearer(key)
    r = await client.post(
        owner.url("/invitations"),
        json={"email": "via.key@example.com", "role": "member"},
        headers=h,
    )
    assert r.status_code == 201, r.text
    # The key acts as the user who created it.
    assert r.json()["invited_by_id"] == str(owner.user_id)
    await run_jobs()
    assert [m["To"] for m in mailbox.messages] == ["via.key@example.com"]
    # But never as superadmin, although its creator is one.
    assert_problem(await client.patch(owner.url(), json={"name": "By key"}, headers=h), 403)
    r = await client.post(
        owner.url("/invitations"),
        json={"email": "boss@example.com", "role": "superadmin"},
        headers=h,
    )
    assert_problem(r, 403)


async def test_key_on_another_team_is_404(client, app):
    owner = await make_actor(app)
    other = await make_actor(app)
    # The key's creator is a member of both teams: the key still reaches only its own.
    await make_actor(app, team_id=other.team_id, role=Role.member)
    await sql(
        app,
        "INSERT INTO team_membership (team_id, user_id, role) VALUES (:t, :u, 'superadmin')",
        t=other.team_id,
        u=owner.user_id,
    )
    assert (await client.get(other.url(), headers=owner.headers)).status_code == 200

    key = (await create_api_key(client, owner, "org_manager"))["key"]
    h = bearer(key)
    assert_problem(await client.get(other.url(), headers=h), 404)
    assert_problem(await client.get(other.url("/members"), headers=h), 404)
    r = await client.post(
        other.url("/invitations"), json={"email": "x@example.com", "role": "member"}, headers=h
    )
    assert_problem(r, 404)
    assert_problem(await client.get(f"/v1/teams/{uuid.uuid4()}", headers=h), 404)
    me = (await client.get("/v1/me", headers=h)).json()
    assert [t["id"] for t in me["teams"]] == [str(owner.team_id)]


async def test_invalid_keys_are_401(client, app):
    owner = await make_actor(app)
    key = (await create_api_key(client, owner, "member"))["key"]
    assert (await client.get(owner.url(), headers=bearer(key))).status_code == 200

    last = key[-1]
    tampered = key[:-1] + ("A" if last != "A" else "B")
    assert_problem(await client.get(owner.url(), headers=bearer(tampered)), 401, "invalid_api_key")
    body_tampered = key[:10] + ("x" if key[10] != "x" else "y") + key[11:]
    assert_problem(
        await client.get(owner.url(), headers=bearer(body_tampered)), 401, "invalid_api_key"
    )
    assert_problem(await client.get(owner.url(), headers=bearer(key[:-1])), 401, "invalid_api_key")
    assert_problem(
        await client.get(owner.url(), headers=bearer("hl_short")), 401, "invalid_api_key"
    )
    # Well-formed (valid checksum) but never issued.
    assert_problem(
        await client.get(owner.url(), headers=bearer(new_api_key())), 401, "invalid_api_key"
    )
    r = await client.get(owner.url(), headers=bearer(tampered))
    assert r.headers.get("www-authenticate", "").lower().startswith("bearer")


async def test_expired_key_is_401(client, app):
    owner = await make_actor(app)
    soon = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    created = await create_api_key(client, owner, "member", expires_at=soon)
    assert created["expires_at"] is not None
    h = bearer(created["key"])
    assert (await client.get(owner.url(), headers=h)).status_code == 200

    await sql(
        app,
        "UPDATE api_key SET expires_at = now() - interval '1 second' WHERE id = :id",
        id=created["id"],
    )
    assert_problem(await client.get(owner.url(), headers=h), 401, "invalid_api_key")
    assert_problem(await client.get("/v1/me", headers=h), 401, "invalid_api_key")


async def test_last_used_at_is_set_after_use(client, app, run_jobs):
    """The worker records the use (the request never writes it on a second connection)."""
    owner = await make_actor(app)
    created = await create_api_key(client, owner, "member")
    assert (await listed_keys(client, owner))[created["id"]]["last_used_at"] is None

    before = datetime.now(UTC) - timedelta(seconds=5)
    assert (await client.get(owner.url(), headers=bearer(created["key"]))).status_code == 200
    assert await run_jobs() == 1
    used = (await listed_keys(client, owner))[created["id"]]["last_used_at"]
    assert used is not None
    assert datetime.fromisoformat(used) >= before

    # A stamp older than the write granularity is refreshed by the next use.
    await sql(
        app,
        "UPDATE api_key SET last_used_at = now() - interval '1 day' WHERE id = :id",
        id=created["id"],
    )
    assert (
        await client.get(owner.url("/members"), headers=bearer(created["key"]))
    ).status_code == 200
    assert await run_jobs() == 1
    again = (await listed_keys(client, owner))[created["id"]]["last_used_at"]
    assert datetime.fromisoformat(again) >= before


async def test_last_used_at_counts_refused_calls(client, app, run_jobs):
    """A call the key's role refuses (403) is still a use of the key and must be recorded:
    otherwise a key that is only ever used for refused calls looks unused."""
    owner = await make_actor(app)
    created = await create_api_key(client, owner, "member")
    before = datetime.now(UTC) - timedelta(seconds=5)
    r = await client.patch(owner.url(), json={"name": "x"}, headers=bearer(created["key"]))
    assert_problem(r, 403)
    assert await run_jobs() == 1
    used = (await listed_keys(client, owner))[created["id"]]["last_used_at"]
    assert used is not None
    assert datetime.fromisoformat(used) >= before


async def test_a_burst_with_a_stale_key_never_starves_the_pool(settings, app, run_jobs):
    """40 concurrent requests with a key last used long ago, on a pool of 5 connections
    and no overflow: each request holds one connection only, so all of them succeed, and
    the burst records the use once."""
    owner = await make_actor(app)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        created = await create_api_key(c, owner, "member")
    await sql(
        app,
        "UPDATE api_key SET last_used_at = now() - interval '1 day' WHERE id = :id",
        id=created["id"],
    )
    small = create_app(settings)
    small.state.db = Database(
        settings.database_url or "", pool_size=5, max_overflow=0, pool_timeout=10
    )
    try:
        transport = httpx.ASGITransport(app=small, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            responses = await asyncio.gather(
                *(c.get(owner.url("/members"), headers=bearer(created["key"])) for _ in range(40))
            )
    finally:
        await small.state.db.dispose()
        await small.state.redis.aclose()
    assert [r.status_code for r in responses] == [200] * 40
    assert await run_jobs() == 1
    async with app.state.db.engine.connect() as conn:
        fresh = await conn.scalar(
            text("SELECT last_used_at > now() - interval '1 minute' FROM api_key WHERE id = :id"),
            {"id": created["id"]},
        )
    assert fresh is True


# ------------------------------------------------------------------ the key's creator


async def test_removing_creator_disables_keys(client, app):
    owner = await make_actor(app)
    org = await make_actor(app, team_id=owner.team_id, role=Role.org_manager)
    key = await create_api_key(client, org, "member")
    h = bearer(key["key"])
    assert (await client.get(owner.url(), headers=h)).status_code == 200

    r = await client.delete(owner.url(f"/members/{org.user_id}"), headers=owner.headers)
    assert r.status_code == 204, r.text
    assert_problem(await client.get(owner.url(), headers=h), 401, "invalid_api_key")
    assert (await listed_keys(client, owner))[key["id"]]["revoked_at"] is not None


async def test_creator_leaving_disables_keys_even_if_rejoining(client, app, mailbox, run_jobs):
    owner = await make_actor(app)
    org = await make_actor(app, team_id=owner.team_id, role=Role.org_manager)
    key = await create_api_key(client, org, "member")
    h = bearer(key["key"])

    r = await client.delete(owner.url(f"/members/{org.user_id}"), headers=org.headers)
    assert r.status_code == 204, r.text
    assert_problem(await client.get(owner.url(), headers=h), 401, "invalid_api_key")

    # Invited back: the old key stays dead.
    r = await client.post(
        owner.url("/invitations"),
        json={"email": org.email, "role": "org_manager"},
        headers=owner.headers,
    )
    assert r.status_code == 201, r.text
    await run_jobs()
    body = mailbox.messages[-1].get_body(preferencelist=("plain",)).get_content()
    token = body.split("/invitations/")[1].split()[0]
    assert (await client.post(f"/v1/invitations/{token}/accept", json={})).status_code == 200
    assert (await client.get(owner.url(), headers=org.headers)).status_code == 200
    assert_problem(await client.get(owner.url(), headers=h), 401, "invalid_api_key")


async def test_key_cannot_remove_its_creator_by_leaving(client, app):
    owner = await make_actor(app)
    org = await make_actor(app, team_id=owner.team_id, role=Role.org_manager)
    key = await create_api_key(client, org, "member")
    # A member-role key acting as `org` may not make `org` leave the team.
    r = await client.delete(owner.url(f"/members/{org.user_id}"), headers=bearer(key["key"]))
    assert_problem(r, 403)
    assert (await client.get(owner.url(), headers=org.headers)).status_code == 200


async def test_demoted_creator_limits_key(client, app):
    owner = await make_actor(app)
    org = await make_actor(app, team_id=owner.team_id, role=Role.org_manager)
    key = await create_api_key(client, org, "org_manager")
    h = bearer(key["key"])
    invitation = {"email": "x@example.com", "role": "member"}
    r = await client.post(owner.url("/invitations"), json=invitation, headers=h)
    assert r.status_code == 201, r.text

    r = await client.patch(
        owner.url(f"/members/{org.user_id}"), json={"role": "member"}, headers=owner.headers
    )
    assert r.status_code == 200, r.text
    r = await client.post(
        owner.url("/invitations"), json={"email": "y@example.com", "role": "member"}, headers=h
    )
    assert_problem(r, 403)
    assert_problem(await client.get(owner.url("/api-keys"), headers=h), 403)
    assert (await client.get(owner.url(), headers=h)).status_code == 200
    assert [t["role"] for t in (await client.get("/v1/me", headers=h)).json()["teams"]] == [
        "member"
    ]

    # Promoted back: the key has its own role again (never above it).
    r = await client.patch(
        owner.url(f"/members/{org.user_id}"), json={"role": "org_manager"}, headers=owner.headers
    )
    assert r.status_code == 200, r.text
    r = await client.post(
        owner.url("/invitations"), json={"email": "y@example.com", "role": "member"}, headers=h
    )
    assert r.status_code == 201, r.text


@pytest.mark.parametrize(
    ("key_role", "creator_role"),
    [
        (Role.org_manager, Role.member),
        (Role.project_manager, Role.member),
        (Role.member, Role.sales_rep),
        (Role.sales_rep, Role.member),
        (Role.sales_manager, Role.project_manager),
    ],
)
async def test_key_grants_stay_within_its_role_and_its_creator(client, app, key_role, creator_role):
    """After its creator's role changed, no grant of the key exceeds its own role or the creator's.

    Checked on the team context the request pipeline resolves for the key (against the real
    database), since the team endpoints alone cannot show grants such as `crm:create`.
    """
    owner = await make_actor(app)
    creator = await make_actor(app, team_id=owner.team_id, role=Role.org_manager)
    key = await create_api_key(client, creator, key_role.value)
    r = await client.patch(
        owner.url(f"/members/{creator.user_id}"),
        json={"role": creator_role.value},
        headers=owner.headers,
    )
    assert r.status_code == 200, r.text

    try:
        async with unit_of_work(app.state.db, app.state.redis) as session:
            header = (b"authorization", f"Bearer {key['key']}".encode())
            request = Request({"type": "http", "app": app, "headers": [header]})
            ctx = await get_team_context(owner.team_id, request, session)
    except AppError as refused:
        # Disabling the key while its creator lacks its rights is also within the rule.
        assert refused.status in (401, 403, 404)
        return
    exceeding = []
    for permission in Permission:
        reach = ctx.grant(permission)
        if reach is None:
            continue
        own, cap = access_of(key_role, permission), access_of(creator_role, permission)
        if own is None or reach > own or cap is None or reach > cap:
            exceeding.append((permission.value, reach.name, own and own.name, cap and cap.name))
    assert exceeding == [], (
        f"key acts as {ctx.role}: (permission, reach, key role's, creator's) {exceeding}"
    )


async def test_deleting_team_kills_its_keys(client, app):
    owner = await make_actor(app)
    key = (await create_api_key(client, owner, "member"))["key"]
    r = await client.delete(owner.url(), headers=owner.headers)
    assert r.status_code == 204, r.text
    assert_problem(await client.get(owner.url(), headers=bearer(key)), 401, "invalid_api_key")

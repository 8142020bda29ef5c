"""Signup, login, tokens, refresh rotation and reuse detection, logout, rate limits, /v1/me."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest
import time_machine
from pydantic import ValidationError
from sqlalchemy import func, select, update

from app.accounts.models import AuthSession, RefreshToken, User
from app.core.db import unit_of_work
from app.core.permissions import Role
from app.main import create_app
from app.teams import service as teams_service
from app.teams.models import Membership, Team
from tests.factories import make_actor
from tests.helpers import assert_problem, bearer


def _signup_body(email: str = "ada@example.com", **over: object) -> dict[str, object]:
    body: dict[str, object] = {
        "email": email,
        "password": "s3cret-pass",
        "name": "Ada Lovelace",
        "team_name": "Analytical Engines",
    }
    body.update(over)
    return body


async def _scalar(app, stmt):  # type: ignore[no-untyped-def]
    async with app.state.db.sessionmaker() as session:
        return (await session.execute(stmt)).scalar_one()


def _client_of(application) -> httpx.AsyncClient:  # type: ignore[no-untyped-def]
    transport = httpx.ASGITransport(app=application, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def _login(client, email: str, password: str = "correct horse battery"):  # type: ignore[no-untyped-def]
    return await client.post("/v1/auth/login", json={"email": email, "password": password})


# ---------------------------------------------------------------- signup


async def test_signup_creates_user_team_and_session(client, app, settings):
    r = await client.post("/v1/auth/signup", json=_signup_body("Ada@Example.COM"))
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["user"]["email"] == "ada@example.com"
    assert body["user"]["name"] == "Ada Lovelace"
    uuid.UUID(body["user"]["id"])
    team = body["team"]
    assert team["name"] == "Analytical Engines"
    assert team["base_currency"] == "EUR"
    assert team["timezone"] == "UTC"
    assert team["time_entry_min_seconds"] == 600
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == settings.access_token_ttl_seconds
    assert body["access_token"] and body["refresh_token"]
    assert body["access_token"] != body["refresh_token"]

    me = await client.get("/v1/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200, me.text
    assert me.json()["id"] == body["user"]["id"]
    assert me.json()["teams"] == [
        {"id": team["id"], "name": "Analytical Engines", "role": "superadmin"}
    ]

    user_id, team_id = uuid.UUID(body["user"]["id"]), uuid.UUID(team["id"])
    role = await _scalar(
        app,
        select(Membership.role).where(Membership.user_id == user_id, Membership.team_id == team_id),
    )
    assert role is Role.superadmin
    assert await _scalar(app, select(func.count()).select_from(AuthSession)) == 1
    # Passwords are never stored in clear.
    stored = await _scalar(app, select(User.password_hash).where(User.id == user_id))
    assert stored and "s3cret-pass" not in stored

    # The refresh token works too.
    r = await client.post("/v1/auth/refresh", json={"refresh_token": body["refresh_token"]})
    assert r.status_code == 200, r.text


async def test_signup_with_currency_and_timezone(client):
    r = await client.post(
        "/v1/auth/signup",
        json=_signup_body(base_currency="jpy", timezone="Europe/Berlin"),
    )
    assert r.status_code == 201, r.text
    assert r.json()["team"]["base_currency"] == "JPY"
    assert r.json()["team"]["timezone"] == "Europe/Berlin"


async def test_signup_duplicate_email_differing_in_case_is_409(client, app):
    r = await client.post("/v1/auth/signup", json=_signup_body("grace@example.com"))
    assert r.status_code == 201, r.text
    r = await client.post(
        "/v1/auth/signup", json=_signup_body("Grace@EXAMPLE.com", team_name="Other")
    )
    assert_problem(r, 409, "email_taken")
    assert await _scalar(app, select(func.count()).select_from(User)) == 1
    assert await _scalar(app, select(func.count()).select_from(Team)) == 1


@pytest.mark.parametrize(
    ("payload", "loc"),
    [
        ({"password": "s3cret-pass", "name": "A", "team_name": "T"}, ["body", "email"]),
        (_signup_body("not-an-email"), ["body", "email"]),
        (_signup_body(password="short"), ["body", "password"]),
        (_signup_body(password="x" * 257), ["body", "password"]),
        (_signup_body(name=""), ["body", "name"]),
        (_signup_body(name="   "), ["body", "name"]),
        (_signup_body(team_name="t" * 201), ["body", "team_name"]),
        (_signup_body(base_currency="XXY"), ["body", "base_currency"]),
        (_signup_body(timezone="Mars/Olympus"), ["body", "timezone"]),
        (_signup_body(is_admin=True), ["body", "is_admin"]),
        (_signup_body(password=12345678), ["body", "password"]),
    ],
)
async def test_signup_invalid_payload_is_422(client, app, payload, loc):
    r = await client.post("/v1/auth/signup", json=payload)
    body = assert_problem(r, 422, "validation_error")
    assert isinstance(body["errors"], list) and body["errors"]
    for err in body["errors"]:
        assert isinstance(err["loc"], list)
        assert isinstance(err["msg"], str) and err["msg"]
    assert loc in [e["loc"] for e in body["errors"]], body["errors"]
    assert await _scalar(app, select(func.count()).select_from(User)) == 0


async def test_signup_malformed_json_is_400(client, app):
    r = await client.post(
        "/v1/auth/signup",
        content=b'{"email": "a@example.com",',
        headers={"content-type": "application/json"},
    )
    body = assert_problem(r, 400, "malformed_json")
    assert body["errors"] and all({"loc", "msg"} <= e.keys() for e in body["errors"])
    assert await _scalar(app, select(func.count()).select_from(User)) == 0


# ---------------------------------------------------------------- login


async def test_login_success(client, app, settings):
    actor = await make_actor(app)
    r = await _login(client, actor.email.upper(), actor.password)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == settings.access_token_ttl_seconds
    assert body["access_token"] != actor.access_token
    me = await client.get("/v1/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200, me.text
    assert me.json()["id"] == str(actor.user_id)
    # Each login is a new session.
    count = await _scalar(
        app,
        select(func.count()).select_from(AuthSession).where(AuthSession.user_id == actor.user_id),
    )
    assert count == 2


async def test_wrong_password_and_unknown_email_are_indistinguishable(client, app):
    actor = await make_actor(app)
    wrong = await _login(client, actor.email, "not the password")
    unknown = await _login(client, "nobody-here@example.com", "not the password")
    wrong_body = assert_problem(wrong, 401, "invalid_credentials")
    unknown_body = assert_problem(unknown, 401, "invalid_credentials")
    assert wrong_body == unknown_body
    assert wrong.content == unknown.content
    assert wrong.headers.get("www-authenticate") == unknown.headers.get("www-authenticate")
    # No session was started by the failures.
    count = await _scalar(
        app,
        select(func.count()).select_from(AuthSession).where(AuthSession.user_id == actor.user_id),
    )
    assert count == 1


async def test_login_invalid_payload_is_422(client):
    r = await client.post("/v1/auth/login", json={"email": "a@example.com"})
    body = assert_problem(r, 422, "validation_error")
    assert ["body", "password"] in [e["loc"] for e in body["errors"]]


# ---------------------------------------------------------------- bearer tokens


async def test_missing_authorization_is_401_not_authenticated(client):
    r = await client.get("/v1/me")
    assert_problem(r, 401, "not_authenticated")
    assert r.headers.get("www-authenticate", "").lower().startswith("bearer")


async def test_non_bearer_scheme_is_401_not_authenticated(client, app):
    actor = await make_actor(app)
    r = await client.get("/v1/me", headers={"Authorization": f"Basic {actor.access_token}"})
    assert_problem(r, 401, "not_authenticated")


@pytest.mark.parametrize("header", ["Bearer", "Bearer ", "Bearer    ", "Token abc", "bearer"])
async def test_a_bearer_without_a_token_is_401_not_authenticated(client, header):
    r = await client.get("/v1/me", headers={"Authorization": header})
    assert_problem(r, 401, "not_authenticated")


@pytest.mark.parametrize("scheme", ["bearer", "BEARER", "Bearer"])
async def test_the_bearer_scheme_is_read_in_any_case(client, app, scheme):
    actor = await make_actor(app)
    r = await client.get("/v1/me", headers={"Authorization": f"{scheme} {actor.access_token} "})
    assert r.status_code == 200, r.text


async def test_garbage_bearer_token_is_401_invalid_token(client):
    r = await client.get("/v1/me", headers=bearer("not.a.jwt"))
    assert_problem(r, 401, "invalid_token")


async def test_token_signed_with_another_secret_is_rejected(client, app):
    import jwt

    actor = await make_actor(app)
    claims = app.state.secrets.decode_access_token(actor.access_token)
    forged = jwt.encode(claims, "another-secret-that-is-long-enough-for-hs256", algorithm="HS256")
    r = await client.get("/v1/me", headers=bearer(forged))
    assert_problem(r, 401, "invalid_token")


async def test_refresh_token_is_not_an_access_token(client, app):
    actor = await make_actor(app)
    r = await client.get("/v1/me", headers=bearer(actor.refresh_token))
    assert_problem(r, 401, "invalid_token")


async def test_expired_access_token_is_401(client, app, monkeypatch):
    actor = await make_actor(app)
    claims = app.state.secrets.decode_access_token(actor.access_token)
    session_id = uuid.UUID(claims["sid"])
    monkeypatch.setattr(app.state.settings, "access_token_ttl_seconds", -60)
    expired, _ = app.state.secrets.issue_access_token(actor.user_id, session_id)
    r = await client.get("/v1/me", headers=bearer(expired))
    assert_problem(r, 401, "invalid_token")
    # The same session with a valid token still works: the expiry alone was refused.
    r = await client.get("/v1/me", headers=actor.headers)
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    "claims",
    [
        {"sid": 12345},
        {"sid": ["a", "b"]},
        {"sid": {"id": "x"}},
        {"sid": None},
        {"sid": "not-a-uuid"},
        {"sid": "DROP"},
        {"sub": "not-a-uuid"},
    ],
    ids=["int", "list", "object", "null", "text", "missing", "sub-text"],
)
async def test_a_validly_signed_token_with_malformed_claims_is_401(client, app, claims):
    actor = await make_actor(app)
    good = app.state.secrets.decode_access_token(actor.access_token)
    bad = {**good, **claims}
    if claims.get("sid") == "DROP":
        del bad["sid"]
    token = jwt.encode(bad, app.state.settings.secret_key, algorithm="HS256")
    r = await client.get("/v1/me", headers=bearer(token))
    assert_problem(r, 401, "invalid_token")
    r = await client.get(f"/v1/teams/{actor.team_id}", headers=bearer(token))
    assert_problem(r, 401, "invalid_token")
    # The idempotency middleware, which reads the caller before the route, too.
    r = await client.post(
        "/v1/auth/logout", headers={**bearer(token), "Idempotency-Key": "malformed-claims"}
    )
    assert_problem(r, 401, "invalid_token")


async def test_malformed_api_key_is_401(client):
    r = await client.get("/v1/me", headers=bearer("hl_" + "x" * 38))
    assert_problem(r, 401, "invalid_api_key")


# ---------------------------------------------------------------- refresh


async def test_refresh_rotates_the_pair(client, app):
    actor = await make_actor(app)
    r = await client.post("/v1/auth/refresh", json={"refresh_token": actor.refresh_token})
    assert r.status_code == 200, r.text
    pair = r.json()
    assert pair["refresh_token"] != actor.refresh_token
    assert pair["token_type"] == "bearer"
    me = await client.get("/v1/me", headers=bearer(pair["access_token"]))
    assert me.status_code == 200, me.text
    assert me.json()["id"] == str(actor.user_id)

    # The new refresh token rotates again.
    r2 = await client.post("/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert r2.status_code == 200, r2.text
    assert r2.json()["refresh_token"] not in (pair["refresh_token"], actor.refresh_token)

    # Rotation stays inside the same session (token family).
    assert await _scalar(app, select(func.count()).select_from(AuthSession)) == 1
    assert await _scalar(app, select(func.count()).select_from(RefreshToken)) == 3


async def test_old_refresh_token_no_longer_works(client, app):
    actor = await make_actor(app)
    r = await client.post("/v1/auth/refresh", json={"refresh_token": actor.refresh_token})
    assert r.status_code == 200, r.text
    again = await client.post("/v1/auth/refresh", json={"refresh_token": actor.refresh_token})
    assert again.status_code == 401, again.text
    assert again.json()["code"] == "refresh_token_reused"


async def test_unknown_refresh_token_is_401(client):
    r = await client.post("/v1/auth/refresh", json={"refresh_token": "no-such-token"})
    assert_problem(r, 401, "invalid_refresh_token")


async def test_refresh_token_reuse_revokes_the_whole_family(client, app):
    actor = await make_actor(app)
    other = await _login(client, actor.email, actor.password)  # a second, unrelated session
    assert other.status_code == 200, other.text
    other_pair = other.json()

    first = await client.post("/v1/auth/refresh", json={"refresh_token": actor.refresh_token})
    assert first.status_code == 200, first.text
    second = await client.post(
        "/v1/auth/refresh", json={"refresh_token": first.json()["refresh_token"]}
    )
    assert second.status_code == 200, second.text
    newest = second.json()

    # An attacker (or a confused client) presents the long-rotated first token.
    reused = await client.post("/v1/auth/refresh", json={"refresh_token": actor.refresh_token})
    assert_problem(reused, 401, "refresh_token_reused")

    # The whole family is dead: the newest access and refresh tokens included.
    me = await client.get("/v1/me", headers=bearer(newest["access_token"]))
    assert_problem(me, 401, "session_revoked")
    me = await client.get("/v1/me", headers=actor.headers)
    assert_problem(me, 401, "session_revoked")
    r = await client.post("/v1/auth/refresh", json={"refresh_token": newest["refresh_token"]})
    assert_problem(r, 401, "session_revoked")

    # The revocation was committed although the request failed.
    sid = uuid.UUID(app.state.secrets.decode_access_token(actor.access_token)["sid"])
    reason = await _scalar(app, select(AuthSession.revoked_reason).where(AuthSession.id == sid))
    assert reason == "refresh_token_reused"

    # The user's other login is untouched.
    me = await client.get("/v1/me", headers=bearer(other_pair["access_token"]))
    assert me.status_code == 200, me.text
    r = await client.post("/v1/auth/refresh", json={"refresh_token": other_pair["refresh_token"]})
    assert r.status_code == 200, r.text


# ---------------------------------------------------------------- logout


async def test_logout_ends_the_session(client, app):
    actor = await make_actor(app)
    other = await _login(client, actor.email, actor.password)
    assert other.status_code == 200, other.text

    r = await client.post("/v1/auth/logout", headers=actor.headers)
    assert r.status_code == 204, r.text
    assert r.content == b""

    me = await client.get("/v1/me", headers=actor.headers)
    assert_problem(me, 401, "session_revoked")
    r = await client.post("/v1/auth/refresh", json={"refresh_token": actor.refresh_token})
    assert r.status_code == 401, r.text
    assert r.json()["code"] == "session_revoked"

    # Only that session ended.
    me = await client.get("/v1/me", headers=bearer(other.json()["access_token"]))
    assert me.status_code == 200, me.text


async def test_logout_requires_authentication(client):
    r = await client.post("/v1/auth/logout")
    assert_problem(r, 401, "not_authenticated")


# ---------------------------------------------------------------- rate limits


async def test_login_rate_limited_per_email(client, app, monkeypatch):
    actor = await make_actor(app)
    monkeypatch.setattr(app.state.settings, "login_rate_limit_per_email", 3)
    for _ in range(3):
        r = await _login(client, actor.email, "wrong password")
        assert_problem(r, 401, "invalid_credentials")
    r = await _login(client, actor.email, "wrong password")
    assert_problem(r, 429, "rate_limited")
    assert int(r.headers["retry-after"]) > 0
    # Even the right password is refused now, and the address is matched case-insensitively.
    r = await _login(client, actor.email.upper(), actor.password)
    assert_problem(r, 429, "rate_limited")
    # Another address from the same client is not affected.
    other = await make_actor(app)
    r = await _login(client, other.email, other.password)
    assert r.status_code == 200, r.text


async def test_login_rate_limited_per_ip(client, app, monkeypatch):
    monkeypatch.setattr(app.state.settings, "login_rate_limit_per_ip", 3)
    for i in range(3):
        r = await _login(client, f"stranger{i}@example.com", "wrong password")
        assert_problem(r, 401, "invalid_credentials")
    actor = await make_actor(app)
    r = await _login(client, actor.email, actor.password)
    assert_problem(r, 429, "rate_limited")
    assert int(r.headers["retry-after"]) > 0


async def test_forwarded_for_counts_only_from_a_trusted_proxy(app, settings):
    async def statuses(changes: dict[str, object], addresses: list[str]) -> list[int]:
        """A fresh app with `changes`; failed logins, each forwarded for one of `addresses`."""
        fresh = create_app(settings.model_copy(update={"login_rate_limit_per_ip": 2, **changes}))
        try:
            async with _client_of(fresh) as http:
                return [
                    (
                        await http.post(
                            "/v1/auth/login",
                            json={"email": f"nobody{n}@example.com", "password": "wrong"},
                            headers={"X-Forwarded-For": address},
                        )
                    ).status_code
                    for n, address in enumerate(addresses)
                ]
        finally:
            await fresh.state.db.dispose()
            await fresh.state.redis.aclose()

    three = ["203.0.113.1", "203.0.113.2", "203.0.113.3"]
    # TRUSTED_PROXIES empty (the default): the header is the caller's word, not counted.
    assert await statuses({}, three) == [401, 401, 429]
    await app.state.redis.flushdb()
    # Behind a listed proxy (the test client's address), each forwarded client counts apart.
    behind_proxy = {"trusted_proxies": "127.0.0.1"}
    assert await statuses(behind_proxy, [*three, three[0], three[0]]) == [401] * 4 + [429]


def test_trusted_proxies_are_addresses_or_networks(settings):
    assert settings.model_validate({"trusted_proxies": "10.0.0.5, 10.1.0.0/16,::1"})
    for typo in ("10.0.0.300", "proxy.internal", "10.1.0.5/16"):
        with pytest.raises(ValidationError):
            settings.model_validate({"trusted_proxies": typo})


# ---------------------------------------------------------------- /v1/me with an API key


async def test_me_with_api_key_lists_only_its_team_with_its_role(client, app):
    owner = await make_actor(app)
    async with unit_of_work(app.state.db, app.state.redis) as session:
        second = await teams_service.create_team(
            session, owner_id=owner.user_id, name="Second", base_currency="EUR", timezone="UTC"
        )
    me = await client.get("/v1/me", headers=owner.headers)
    assert me.status_code == 200, me.text
    assert {t["id"] for t in me.json()["teams"]} == {str(owner.team_id), str(second.id)}

    r = await client.post(
        owner.url("/api-keys"),
        json={"name": "integration", "role": "sales_manager"},
        headers=owner.headers,
    )
    assert r.status_code == 201, r.text
    key = r.json()["key"]
    assert key.startswith("hl_")

    me = await client.get("/v1/me", headers=bearer(key))
    assert me.status_code == 200, me.text
    body = me.json()
    assert body["id"] == str(owner.user_id)
    assert len(body["teams"]) == 1
    assert body["teams"][0]["id"] == str(owner.team_id)
    assert body["teams"][0]["role"] == "sales_manager"

    # The key cannot reach the creator's other team.
    r = await client.get(f"/v1/teams/{second.id}", headers=bearer(key))
    assert r.status_code == 404, r.text


async def test_revoked_api_key_is_401(client, app):
    owner = await make_actor(app)
    r = await client.post(
        owner.url("/api-keys"), json={"name": "ci", "role": "member"}, headers=owner.headers
    )
    assert r.status_code == 201, r.text
    key_id, key = r.json()["id"], r.json()["key"]
    assert (await client.get("/v1/me", headers=bearer(key))).status_code == 200
    r = await client.delete(owner.url(f"/api-keys/{key_id}"), headers=owner.headers)
    assert r.status_code == 204, r.text
    r = await client.get("/v1/me", headers=bearer(key))
    assert_problem(r, 401, "invalid_api_key")


async def test_logout_with_an_api_key_is_400(client, app):
    owner = await make_actor(app)
    r = await client.post(
        owner.url("/api-keys"), json={"name": "ci", "role": "member"}, headers=owner.headers
    )
    assert r.status_code == 201, r.text
    r = await client.post("/v1/auth/logout", headers=bearer(r.json()["key"]))
    assert_problem(r, 400, "not_a_session")
    # The owner's own session is unaffected.
    assert (await client.get("/v1/me", headers=owner.headers)).status_code == 200


async def test_expired_refresh_token_is_401(client, app):
    actor = await make_actor(app)
    async with unit_of_work(app.state.db, app.state.redis) as session:
        await session.execute(
            update(RefreshToken).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    r = await client.post("/v1/auth/refresh", json={"refresh_token": actor.refresh_token})
    assert_problem(r, 401, "refresh_token_expired")
    # An expired token is not "used": no new token was issued.
    assert await _scalar(app, select(func.count()).select_from(RefreshToken)) == 1


async def test_concurrent_signups_with_one_email_create_one_account(client, app):
    async def signup(team: str):  # type: ignore[no-untyped-def]
        return await client.post(
            "/v1/auth/signup", json=_signup_body("race@example.com", team_name=team)
        )

    results = await asyncio.gather(signup("First"), signup("Second"))
    assert sorted(r.status_code for r in results) == [201, 409], [r.text for r in results]
    loser = next(r for r in results if r.status_code == 409)
    assert_problem(loser, 409, "email_taken")
    assert await _scalar(app, select(func.count()).select_from(User)) == 1
    # The losing request's team was rolled back with it.
    assert await _scalar(app, select(func.count()).select_from(Team)) == 1
    assert await _scalar(app, select(func.count()).select_from(Membership)) == 1


async def test_a_verified_access_token_is_remembered_only_until_it_expires(app, client):
    """Verified tokens are cached per process; the cache never outlives the token."""
    actor = await make_actor(app)
    me = await client.get("/v1/me", headers=actor.headers)
    assert me.status_code == 200
    secrets = app.state.secrets
    assert actor.access_token in secrets._verified
    ttl = app.state.settings.access_token_ttl_seconds
    with time_machine.travel(datetime.now(UTC) + timedelta(seconds=ttl + 5), tick=False):
        r = await client.get("/v1/me", headers=actor.headers)
    assert_problem(r, 401, "invalid_token")
    assert actor.access_token not in secrets._verified
    # A token differing in its signature is verified on its own, never found.
    forged = actor.access_token[:-2] + ("AA" if not actor.access_token.endswith("AA") else "BB")
    assert_problem(await client.get("/v1/me", headers=bearer(forged)), 401, "invalid_token")

"""`Idempotency-Key` on POST: replay, mismatch, scoping per caller, failures, races."""

import asyncio

import httpx
import pytest
from sqlalchemy import func, select

from app.accounts.models import AuthSession, User
from app.core.errors import ServiceUnavailable
from app.main import create_app
from app.teams.models import Invitation, Team
from tests.factories import make_actor

SIGNUP = {
    "email": "ada@example.com",
    "password": "s3cret-pass",
    "name": "Ada",
    "team_name": "Ada Co",
}


def _key(value: str) -> dict[str, str]:
    return {"Idempotency-Key": value}


async def _count(app, model, *where) -> int:  # type: ignore[no-untyped-def]
    async with app.state.db.sessionmaker() as session:
        stmt = select(func.count()).select_from(model)
        if where:
            stmt = stmt.where(*where)
        return (await session.execute(stmt)).scalar_one()


async def test_same_key_and_body_replays_the_first_response(client, app):
    first = await client.post("/v1/auth/signup", json=SIGNUP, headers=_key("signup-1"))
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers

    second = await client.post("/v1/auth/signup", json=SIGNUP, headers=_key("signup-1"))
    assert second.status_code == 201, second.text
    assert second.headers.get("idempotent-replayed") == "true"
    assert second.content == first.content
    assert second.json() == first.json()
    assert second.headers["content-type"] == first.headers["content-type"]

    # The signup happened once.
    assert await _count(app, User) == 1
    assert await _count(app, Team) == 1
    assert await _count(app, AuthSession) == 1

    login = await client.post(
        "/v1/auth/login", json={"email": SIGNUP["email"], "password": SIGNUP["password"]}
    )
    assert login.status_code == 200, login.text

    third = await client.post("/v1/auth/signup", json=SIGNUP)
    assert third.status_code == 409, third.text
    assert third.json()["code"] == "email_taken"
    assert "idempotent-replayed" not in third.headers


async def test_same_key_with_another_body_is_409(client, app):
    first = await client.post("/v1/auth/signup", json=SIGNUP, headers=_key("signup-2"))
    assert first.status_code == 201, first.text

    other = {**SIGNUP, "email": "grace@example.com"}
    r = await client.post("/v1/auth/signup", json=other, headers=_key("signup-2"))
    assert r.status_code == 409, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "idempotency_key_reused"
    assert {"type", "title", "status", "detail", "code"} <= r.json().keys()
    assert await _count(app, User) == 1
    assert await _count(app, User, User.email == "grace@example.com") == 0


async def test_same_key_on_another_path_is_409(client, app):
    actor = await make_actor(app)
    body = {"email": "x@example.com", "role": "member"}
    r = await client.post(actor.url("/invitations"), json=body, headers=actor.headers | _key("k"))
    assert r.status_code == 201, r.text
    r = await client.post(
        actor.url("/api-keys"),
        json={"name": "ci", "role": "member"},
        headers=actor.headers | _key("k"),
    )
    assert r.status_code == 409, r.text
    assert r.json()["code"] == "idempotency_key_reused"


async def test_two_callers_with_the_same_key_do_not_collide(client, app):
    alice = await make_actor(app)
    bob = await make_actor(app)
    body = {"email": "newcomer@example.com", "role": "member"}

    ra = await client.post(alice.url("/invitations"), json=body, headers=alice.headers | _key("k1"))
    rb = await client.post(bob.url("/invitations"), json=body, headers=bob.headers | _key("k1"))
    assert ra.status_code == 201, ra.text
    assert rb.status_code == 201, rb.text
    assert "idempotent-replayed" not in rb.headers
    assert ra.json()["id"] != rb.json()["id"]
    assert await _count(app, Invitation, Invitation.team_id == alice.team_id) == 1
    assert await _count(app, Invitation, Invitation.team_id == bob.team_id) == 1


async def test_keys_are_scoped_per_caller(client, app):
    alice = await make_actor(app)
    bob = await make_actor(app)
    body = {"email": "newcomer@example.com", "role": "member"}

    first = await client.post(
        alice.url("/invitations"), json=body, headers=alice.headers | _key("shared")
    )
    assert first.status_code == 201, first.text

    # Bob uses the same key with a different request: not a mismatch, his own key.
    rb = await client.post(
        bob.url("/invitations"),
        json={"email": "someone@example.com", "role": "member"},
        headers=bob.headers | _key("shared"),
    )
    assert rb.status_code == 201, rb.text
    assert "idempotent-replayed" not in rb.headers

    # An anonymous caller's use of the key is separate as well.
    anon = await client.post("/v1/auth/signup", json=SIGNUP, headers=_key("shared"))
    assert anon.status_code == 201, anon.text
    assert "idempotent-replayed" not in anon.headers

    # Alice's own retry is a replay (`test_a_retry_by_the_same_caller_is_replayed`).
    retry = await client.post(
        alice.url("/invitations"), json=body, headers=alice.headers | _key("shared")
    )
    assert retry.headers.get("idempotent-replayed") == "true"


async def _another_login(client, actor) -> str:  # type: ignore[no-untyped-def]
    login = await client.post(
        "/v1/auth/login", json={"email": actor.email, "password": actor.password}
    )
    assert login.status_code == 200, login.text
    return f"Bearer {login.json()['access_token']}"


async def _respelled(client, actor) -> str:  # type: ignore[no-untyped-def]
    return f"bearer   {actor.access_token} "


@pytest.mark.parametrize("authorization", [_another_login, _respelled], ids=["login", "spelling"])
async def test_a_retry_by_the_same_caller_is_replayed(client, app, authorization):
    """The key's owner is the caller the request authenticates as: the same user from
    another login (another access token), or with the header's scheme cased or spaced
    otherwise (one reading of `Authorization` for both), gets its first answer back."""
    alice = await make_actor(app)
    body = {"email": "newcomer@example.com", "role": "member"}
    first = await client.post(
        alice.url("/invitations"), json=body, headers=alice.headers | _key("retried")
    )
    assert first.status_code == 201, first.text
    retry = await client.post(
        alice.url("/invitations"),
        json=body,
        headers={"Authorization": await authorization(client, alice)} | _key("retried"),
    )
    assert retry.status_code == 201, retry.text
    assert retry.headers.get("idempotent-replayed") == "true"
    assert retry.json() == first.json()
    assert await _count(app, Invitation, Invitation.team_id == alice.team_id) == 1


async def test_a_failed_validation_is_replayed(client, app):
    bad = {**SIGNUP, "password": "short"}
    first = await client.post("/v1/auth/signup", json=bad, headers=_key("bad-1"))
    assert first.status_code == 422, first.text
    assert first.json()["code"] == "validation_error"

    second = await client.post("/v1/auth/signup", json=bad, headers=_key("bad-1"))
    assert second.status_code == 422, second.text
    assert second.headers.get("idempotent-replayed") == "true"
    assert second.content == first.content
    assert await _count(app, User) == 0


async def test_a_conflict_is_replayed(client, app):
    actor = await make_actor(app)
    body = {**SIGNUP, "email": actor.email}
    first = await client.post("/v1/auth/signup", json=body, headers=_key("dup"))
    assert first.status_code == 409, first.text
    assert first.json()["code"] == "email_taken"
    second = await client.post("/v1/auth/signup", json=body, headers=_key("dup"))
    assert second.status_code == 409, second.text
    assert second.headers.get("idempotent-replayed") == "true"
    assert second.content == first.content


async def test_empty_idempotency_key_is_400(client, app):
    r = await client.post("/v1/auth/signup", json=SIGNUP, headers=_key(""))
    assert r.status_code == 400, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "invalid_idempotency_key"
    assert await _count(app, User) == 0


async def test_too_long_idempotency_key_is_400(client, app):
    r = await client.post("/v1/auth/signup", json=SIGNUP, headers=_key("k" * 256))
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "invalid_idempotency_key"
    assert await _count(app, User) == 0

    r = await client.post("/v1/auth/signup", json=SIGNUP, headers=_key("k" * 255))
    assert r.status_code == 201, r.text


async def test_concurrent_requests_with_the_same_key_sign_up_once(client, app):
    async def send() -> httpx.Response:
        return await client.post("/v1/auth/signup", json=SIGNUP, headers=_key("race"))

    results = await asyncio.gather(send(), send())
    statuses = sorted(r.status_code for r in results)
    assert statuses in ([201, 201], [201, 409]), [r.text for r in results]
    originals = [
        r for r in results if r.status_code == 201 and "idempotent-replayed" not in r.headers
    ]
    assert len(originals) == 1, [dict(r.headers) for r in results]
    for r in results:
        if r.status_code == 409:
            assert r.json()["code"] == "idempotency_key_in_use"
        elif r is not originals[0]:
            assert r.headers.get("idempotent-replayed") == "true"
            assert r.content == originals[0].content
    assert await _count(app, User) == 1
    assert await _count(app, Team) == 1

    # Once the first finished, a retry gets the stored answer.
    retry = await send()
    assert retry.status_code == 201, retry.text
    assert retry.headers.get("idempotent-replayed") == "true"
    assert retry.content == originals[0].content


@pytest.mark.parametrize(
    ("failure", "status"),
    [(RuntimeError("transient failure"), 500), (ServiceUnavailable("try later"), 503)],
)
async def test_server_errors_are_not_kept(app, settings, failure, status):
    """A 5xx is not stored: the client may retry with the same key and get a real answer."""
    fresh = create_app(settings)
    calls: list[int] = []

    async def flaky() -> dict[str, int]:
        calls.append(1)
        if len(calls) == 1:
            raise failure
        return {"attempt": len(calls)}

    fresh.add_api_route("/flaky", flaky, methods=["POST"], status_code=201)
    transport = httpx.ASGITransport(app=fresh, raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            r1 = await c.post("/flaky", json={}, headers=_key("retry-me"))
            assert r1.status_code == status, r1.text
            r2 = await c.post("/flaky", json={}, headers=_key("retry-me"))
            assert r2.status_code == 201, r2.text
            assert "idempotent-replayed" not in r2.headers
            assert r2.json() == {"attempt": 2}
            r3 = await c.post("/flaky", json={}, headers=_key("retry-me"))
            assert r3.status_code == 201, r3.text
            assert r3.headers.get("idempotent-replayed") == "true"
            assert r3.json() == {"attempt": 2}
            assert len(calls) == 2
    finally:
        await fresh.state.db.dispose()
        await fresh.state.redis.aclose()

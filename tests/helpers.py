"""Assertions and small helpers shared by the test modules."""

import uuid
from datetime import datetime

from app.core.errors import PROBLEM_JSON
from tests.factories import Actor


def assert_problem(r, status: int, code: str | None = None) -> dict:  # type: ignore[no-untyped-def]
    """The response is an RFC 9457 problem with this status (and stable `code`)."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM_JSON), r.headers["content-type"]
    body = r.json()
    assert body["status"] == status
    if code is not None:
        assert body["code"] == code, body
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_timestamps(obj: dict) -> None:  # type: ignore[type-arg]
    """`created_at`/`updated_at` are present and carry an offset."""
    for key in ("created_at", "updated_at"):
        stamp = datetime.fromisoformat(obj[key])
        assert stamp.tzinfo is not None, f"{key} has no offset: {obj[key]}"


async def add_member(http, actor: Actor, project_id: str, user_id, role: str = "member") -> None:
    r = await http.post(
        actor.url(f"/projects/{project_id}/members"),
        json={"user_id": str(user_id), "role": role},
        headers=actor.headers,
    )
    assert r.status_code == 201, r.text


async def add_to_project(client, owner, client_id: str, user_id, role: str = "member") -> str:
    """A project of the client (created by `owner`) with `user_id` as a project member."""
    r = await client.post(
        owner.url("/projects"),
        json={"name": f"Project {uuid.uuid4().hex[:6]}", "client_id": client_id},
        headers=owner.headers,
    )
    assert r.status_code == 201, r.text
    project_id = r.json()["id"]
    r = await client.post(
        owner.url(f"/projects/{project_id}/members"),
        json={"user_id": str(user_id), "role": role},
        headers=owner.headers,
    )
    assert r.status_code == 201, r.text
    return project_id


async def get_board(http, actor: Actor, project_id: str) -> dict:
    r = await http.get(actor.url(f"/projects/{project_id}/board"), headers=actor.headers)
    assert r.status_code == 200, r.text
    return r.json()


def invoice_mails(mailbox) -> list:
    return [m for m in mailbox.messages if m["Subject"].startswith("Invoice ")]


async def ladder(
    client,
    method: str,
    path: str,
    *,
    owner,
    stranger,
    forbidden=None,
    foreign_paths: tuple[str, ...] = (),
    json=None,
    ok: int = 200,
):
    """401 (none, garbage) -> 403 (`forbidden`) -> 404 (stranger on our path, us on the
    stranger's team path, us on other team's / unknown objects) -> `ok` for the owner."""
    kw = {} if json is None else {"json": json}
    url = owner.url(path)
    assert_problem(await client.request(method, url, **kw), 401)
    garbage = {"Authorization": "Bearer not-a-token"}
    assert_problem(await client.request(method, url, headers=garbage, **kw), 401)
    if forbidden is not None:
        r = await client.request(method, url, headers=forbidden.headers, **kw)
        assert_problem(r, 403, "forbidden")
    assert_problem(await client.request(method, url, headers=stranger.headers, **kw), 404)
    r = await client.request(method, stranger.url(path), headers=owner.headers, **kw)
    assert_problem(r, 404)
    for foreign in foreign_paths:
        r = await client.request(method, owner.url(foreign), headers=owner.headers, **kw)
        assert_problem(r, 404)
    r = await client.request(method, url, headers=owner.headers, **kw)
    assert r.status_code == ok, r.text
    return r


async def list_ids(client, actor, path: str, **params) -> list[str]:
    r = await client.get(actor.url(path), params={"limit": 200, **params}, headers=actor.headers)
    assert r.status_code == 200, r.text
    page = r.json()
    assert page["has_more"] is False
    return [row["id"] for row in page["data"]]


async def new_client(client, actor, name: str = "Acme", **fields) -> dict:
    body = {"name": name, "currency": "EUR", **fields}
    r = await client.post(actor.url("/clients"), json=body, headers=actor.headers)
    assert r.status_code == 201, r.text
    return r.json()


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value)

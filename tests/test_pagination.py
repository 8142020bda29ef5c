"""Keyset pagination: stable under inserts, `updated_since` sync, cursor and limit checks."""

from datetime import UTC, datetime

from tests.factories import make_actor
from tests.factories.teams import invite


async def test_pages_neither_repeat_nor_skip_while_rows_are_inserted(client, app):
    owner = await make_actor(app)
    before = [(await invite(client, owner, f"p{n}@example.com"))["id"] for n in range(7)]

    seen: list[str] = []
    cursor = None
    inserted = 100
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        r = await client.get(owner.url("/invitations"), params=params, headers=owner.headers)
        assert r.status_code == 200, r.text
        page = r.json()
        seen += [row["id"] for row in page["data"]]
        if not page["has_more"]:
            assert page["next_cursor"] is None
            break
        cursor = page["next_cursor"]
        # Rows created between two pages must not shift the ones still to come.
        await invite(client, owner, f"p{inserted}@example.com")
        inserted += 1

    assert len(seen) == len(set(seen)), "a row was returned twice"
    assert set(before) <= set(seen), "a row that existed before paging was skipped"
    assert seen[: len(before)] == before, "rows come in creation order"


async def test_updated_since_returns_only_changed_rows(client, app):
    owner = await make_actor(app)
    old = (await invite(client, owner, "p1@example.com"))["id"]
    mark = datetime.now(UTC)
    new = (await invite(client, owner, "p2@example.com"))["id"]

    r = await client.get(
        owner.url("/invitations"), params={"updated_since": mark.isoformat()}, headers=owner.headers
    )
    assert r.status_code == 200, r.text
    ids = [row["id"] for row in r.json()["data"]]
    assert new in ids and old not in ids

    # Revoking the old one touches it: it shows up in the next sync.
    assert (
        await client.delete(owner.url(f"/invitations/{old}"), headers=owner.headers)
    ).status_code == 204
    r = await client.get(
        owner.url("/invitations"), params={"updated_since": mark.isoformat()}, headers=owner.headers
    )
    assert {row["id"] for row in r.json()["data"]} == {old, new}


async def test_bad_cursor_and_limits(client, app):
    owner = await make_actor(app)
    r = await client.get(
        owner.url("/invitations"), params={"cursor": "not-a-cursor"}, headers=owner.headers
    )
    assert r.status_code == 400
    assert r.json()["code"] == "invalid_cursor"
    for limit in (0, 201):
        r = await client.get(
            owner.url("/invitations"), params={"limit": limit}, headers=owner.headers
        )
        assert r.status_code == 422
        assert r.json()["code"] == "validation_error"
    r = await client.get(owner.url("/invitations"), params={"limit": 200}, headers=owner.headers)
    assert r.status_code == 200

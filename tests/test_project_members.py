"""The people on a project: team members with a project role, and viewers - contacts of
the project's client - with their paginated lists."""

import asyncio
import uuid

from sqlalchemy import text

from app.core.permissions import Role
from tests.factories import make_actor
from tests.factories.clients import new_client
from tests.factories.contacts import new_contact
from tests.factories.projects import add_member, new_project
from tests.helpers import assert_problem

# ------------------------------------------------------------------ members


async def test_project_members(client, app):
    owner = await make_actor(app)
    dev = await make_actor(app, team_id=owner.team_id, role=Role.member)
    lead = await make_actor(app, team_id=owner.team_id, role=Role.project_manager)
    stranger = await make_actor(app)
    project = await new_project(client, owner)
    base = owner.url(f"/projects/{project['id']}/members")

    r = await client.post(
        base, json={"user_id": str(dev.user_id), "role": "member"}, headers=owner.headers
    )
    assert r.status_code == 201, r.text
    assert r.json()["user_id"] == str(dev.user_id) and r.json()["role"] == "member"
    await add_member(client, owner, project["id"], lead.user_id, "manager")

    # A user of another team, or no user at all, is not a team member.
    for user_id in (stranger.user_id, uuid.uuid4()):
        r = await client.post(
            base, json={"user_id": str(user_id), "role": "member"}, headers=owner.headers
        )
        assert_problem(r, 422, "not_team_member")
    r = await client.post(
        base, json={"user_id": str(dev.user_id), "role": "manager"}, headers=owner.headers
    )
    assert_problem(r, 409, "already_project_member")
    r = await client.post(
        base, json={"user_id": str(dev.user_id), "role": "boss"}, headers=owner.headers
    )
    assert_problem(r, 422)

    r = await client.get(base, headers=owner.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    rows = body["data"]
    roles = {m["user_id"]: m["role"] for m in rows}
    assert roles[str(dev.user_id)] == "member"
    assert roles[str(lead.user_id)] == "manager"
    assert str(stranger.user_id) not in roles

    r = await client.patch(f"{base}/{dev.user_id}", json={"role": "manager"}, headers=owner.headers)
    assert r.status_code == 200, r.text
    assert r.json()["role"] == "manager"
    r = await client.patch(f"{base}/{dev.user_id}", json={"role": "owner"}, headers=owner.headers)
    assert_problem(r, 422)

    r = await client.delete(f"{base}/{dev.user_id}", headers=owner.headers)
    assert r.status_code == 204, r.text
    r = await client.delete(f"{base}/{dev.user_id}", headers=owner.headers)
    assert_problem(r, 404)
    r = await client.patch(f"{base}/{dev.user_id}", json={"role": "member"}, headers=owner.headers)
    assert_problem(r, 404)
    # Removed from the project, a team member no longer sees it.
    r = await client.get(dev.url(f"/projects/{project['id']}"), headers=dev.headers)
    assert_problem(r, 404)


async def test_adding_the_same_member_concurrently_is_a_conflict_not_an_error(client, app):
    owner = await make_actor(app)
    project = await new_project(client, owner)
    base = owner.url(f"/projects/{project['id']}/members")
    for _ in range(3):
        dev = await make_actor(app, team_id=owner.team_id, role=Role.member)
        body = {"user_id": str(dev.user_id), "role": "member"}
        results = await asyncio.gather(
            *(client.post(base, json=body, headers=owner.headers) for _ in range(3))
        )
        statuses = sorted(r.status_code for r in results)
        assert statuses == [201, 409, 409], [r.text for r in results]


# ------------------------------------------------------------------ viewers


async def test_project_viewers_must_be_contacts_of_the_projects_client(client, app):
    owner = await make_actor(app)
    stranger = await make_actor(app)
    acme = await new_client(client, owner, "Acme")
    globex = await new_client(client, owner, "Globex")
    carla = await new_contact(client, owner, "Carla", client_id=acme["id"])
    gus = await new_contact(client, owner, "Gus", client_id=globex["id"])
    loose = await new_contact(client, owner, "Loose")
    foreign = await new_contact(client, stranger, "Foreign")
    project = await new_project(client, owner, client_id=acme["id"])
    internal = await new_project(client, owner, "Internal")
    base = owner.url(f"/projects/{project['id']}/viewers")

    r = await client.post(base, json={"contact_id": carla["id"]}, headers=owner.headers)
    assert r.status_code == 201, r.text
    assert r.json()["contact_id"] == carla["id"]
    r = await client.post(base, json={"contact_id": carla["id"]}, headers=owner.headers)
    assert_problem(r, 409)

    for contact in (gus, loose):
        r = await client.post(base, json={"contact_id": contact["id"]}, headers=owner.headers)
        assert_problem(r, 422, "viewer_not_client_contact")
    # A project without a client has no viewers.
    r = await client.post(
        owner.url(f"/projects/{internal['id']}/viewers"),
        json={"contact_id": carla["id"]},
        headers=owner.headers,
    )
    assert_problem(r, 422, "viewer_not_client_contact")
    # Another team's contact is unknown here.
    r = await client.post(base, json={"contact_id": foreign["id"]}, headers=owner.headers)
    assert r.status_code in (404, 422), r.text
    assert_problem(r, r.status_code)

    r = await client.get(base, headers=owner.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    rows = body["data"]
    assert [v["contact_id"] for v in rows] == [carla["id"]]

    r = await client.delete(f"{base}/{carla['id']}", headers=owner.headers)
    assert r.status_code == 204, r.text
    r = await client.delete(f"{base}/{carla['id']}", headers=owner.headers)
    assert_problem(r, 404)
    r = await client.get(base, headers=owner.headers)
    body = r.json()
    assert (body["data"]) == []


async def test_viewers_stay_contacts_of_the_projects_client_when_the_client_changes(client, app):
    """Changing a project's client must not leave the old client's contacts viewing it."""
    owner = await make_actor(app)
    acme = await new_client(client, owner, "Acme")
    globex = await new_client(client, owner, "Globex")
    carla = await new_contact(client, owner, "Carla", client_id=acme["id"])
    project = await new_project(client, owner, client_id=acme["id"])
    base = owner.url(f"/projects/{project['id']}")
    r = await client.post(
        f"{base}/viewers", json={"contact_id": carla["id"]}, headers=owner.headers
    )
    assert r.status_code == 201, r.text

    r = await client.patch(base, json={"client_id": globex["id"]}, headers=owner.headers)
    assert r.status_code in (200, 409, 422), r.text
    current = (await client.get(base, headers=owner.headers)).json()["client_id"]
    body = (await client.get(f"{base}/viewers", headers=owner.headers)).json()
    viewers = {v["contact_id"] for v in (body["data"])}
    if current == globex["id"]:
        assert carla["id"] not in viewers, "a contact of the old client still views the project"
    else:
        assert viewers == {carla["id"]}


async def viewer_ids(http, actor, project_id: str) -> set[str]:
    r = await http.get(actor.url(f"/projects/{project_id}/viewers"), headers=actor.headers)
    assert r.status_code == 200, r.text
    return {v["contact_id"] for v in r.json()["data"]}


async def contact_viewer_rows(app, contact_id: str) -> int:
    async with app.state.db.engine.connect() as conn:
        return await conn.scalar(
            text("SELECT count(*) FROM project_viewer WHERE contact_id = :c"),
            {"c": uuid.UUID(contact_id)},
        )


async def test_a_contact_moved_to_another_client_stops_viewing_the_old_clients_projects(
    client, app
):
    """Viewer rows are the portal's grants: kept after a move, the old client's projects
    would stay open to a contact of another client."""
    owner = await make_actor(app)
    acme = await new_client(client, owner, "Acme")
    globex = await new_client(client, owner, "Globex")
    site = await new_project(client, owner, "Site", client_id=acme["id"])
    shop = await new_project(client, owner, "Shop", client_id=acme["id"])
    portal = await new_project(client, owner, "Portal", client_id=globex["id"])
    carla = await new_contact(client, owner, "Carla", client_id=acme["id"])
    dora = await new_contact(client, owner, "Dora", client_id=acme["id"])
    for project, contact in ((site, carla), (shop, carla), (site, dora)):
        r = await client.post(
            owner.url(f"/projects/{project['id']}/viewers"),
            json={"contact_id": contact["id"]},
            headers=owner.headers,
        )
        assert r.status_code == 201, r.text

    # Saving the same client again is no move.
    r = await client.patch(
        owner.url(f"/contacts/{carla['id']}"),
        json={"client_id": acme["id"], "title": "CTO"},
        headers=owner.headers,
    )
    assert r.status_code == 200, r.text
    assert await contact_viewer_rows(app, carla["id"]) == 2

    r = await client.patch(
        owner.url(f"/contacts/{carla['id']}"),
        json={"client_id": globex["id"]},
        headers=owner.headers,
    )
    assert r.status_code == 200, r.text
    assert await viewer_ids(client, owner, site["id"]) == {dora["id"]}
    assert await viewer_ids(client, owner, shop["id"]) == set()
    assert await contact_viewer_rows(app, carla["id"]) == 0

    # Of the new client's projects it may be a viewer; detached from any client, of none.
    r = await client.post(
        owner.url(f"/projects/{portal['id']}/viewers"),
        json={"contact_id": carla["id"]},
        headers=owner.headers,
    )
    assert r.status_code == 201, r.text
    r = await client.patch(
        owner.url(f"/contacts/{carla['id']}"), json={"client_id": None}, headers=owner.headers
    )
    assert r.status_code == 200, r.text
    assert await viewer_ids(client, owner, portal["id"]) == set()
    assert await contact_viewer_rows(app, carla["id"]) == 0
    assert await viewer_ids(client, owner, site["id"]) == {dora["id"]}


async def test_a_viewer_added_while_the_contact_moves_is_not_left_behind(client, app):
    """Adding a viewer waits for a move of the contact in flight, then sees the new client."""
    owner = await make_actor(app)
    acme = await new_client(client, owner, "Acme")
    globex = await new_client(client, owner, "Globex")
    site = await new_project(client, owner, "Site", client_id=acme["id"])
    carla = await new_contact(client, owner, "Carla", client_id=acme["id"])

    async with app.state.db.engine.connect() as conn:
        # A move holding the contact's row lock, not yet committed.
        await conn.execute(
            text("SELECT id FROM contact WHERE id = :c FOR UPDATE"),
            {"c": uuid.UUID(carla["id"])},
        )
        adding = asyncio.create_task(
            client.post(
                owner.url(f"/projects/{site['id']}/viewers"),
                json={"contact_id": carla["id"]},
                headers=owner.headers,
            )
        )
        await asyncio.sleep(0.5)
        assert not adding.done(), adding.result().text
        await conn.execute(
            text("UPDATE contact SET client_id = :g WHERE id = :c"),
            {"g": uuid.UUID(globex["id"]), "c": uuid.UUID(carla["id"])},
        )
        await conn.commit()
    assert_problem(await adding, 422, "viewer_not_client_contact")
    assert await contact_viewer_rows(app, carla["id"]) == 0


# ------------------------------------------------------------------ list envelopes


async def test_member_and_viewer_lists_are_cursor_paginated(client, app):
    owner = await make_actor(app)
    acme = await new_client(client, owner, "Acme")
    project = await new_project(client, owner, client_id=acme["id"])
    members = [await make_actor(app, team_id=owner.team_id, role=Role.member) for _ in range(3)]
    for m in members:
        await add_member(client, owner, project["id"], m.user_id)
    contacts = [await new_contact(client, owner, f"C{i}", client_id=acme["id"]) for i in range(3)]
    for c in contacts:
        r = await client.post(
            owner.url(f"/projects/{project['id']}/viewers"),
            json={"contact_id": c["id"]},
            headers=owner.headers,
        )
        assert r.status_code == 201, r.text

    for path, key, expected in (
        ("members", "user_id", {str(m.user_id) for m in members} | {str(owner.user_id)}),
        ("viewers", "contact_id", {c["id"] for c in contacts}),
    ):
        url = owner.url(f"/projects/{project['id']}/{path}")
        r = await client.get(url, params={"limit": 2}, headers=owner.headers)
        assert r.status_code == 200, r.text
        page = r.json()
        assert isinstance(page, dict) and {"data", "has_more", "next_cursor"} <= set(page), (
            f"GET {path} must return the list envelope, got {page!r}"
        )
        assert len(page["data"]) == 2 and page["has_more"] is True
        seen = [row[key] for row in page["data"]]
        r = await client.get(
            url, params={"limit": 200, "cursor": page["next_cursor"]}, headers=owner.headers
        )
        assert r.status_code == 200, r.text
        seen += [row[key] for row in r.json()["data"]]
        assert len(seen) == len(set(seen))
        assert set(seen) >= expected
        # updated_since: nothing changed after the newest row.
        newest = max(row["updated_at"] for row in page["data"] + r.json()["data"])
        r = await client.get(url, params={"updated_since": newest}, headers=owner.headers)
        assert r.status_code == 200, r.text
        assert 1 <= len(r.json()["data"]) < len(seen)

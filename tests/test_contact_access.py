"""Who may do what with contacts: every contact, portal and activity endpoint down the
401 -> 403 -> 404 -> success ladder, the role table, and which contacts sales reps and
project people see."""

import uuid

import pytest

from app.core.permissions import Role
from tests.factories import make_actor
from tests.factories.clients import new_client
from tests.factories.contacts import (
    contact_seen_by_member,
    get_contact,
    new_activity,
    new_contact,
)
from tests.factories.projects import add_to_project
from tests.helpers import MAY_CREATE_CRM, assert_problem, list_ids
from tests.ladder import ladder

# ------------------------------------------------------------------ ladders


async def test_ladder_list_contacts(client, app):
    owner = await make_actor(app)
    stranger = await make_actor(app)
    mine = await new_contact(client, owner)
    await new_contact(client, stranger, "Theirs")
    r = await ladder(client, "GET", "/contacts", owner=owner, stranger=stranger)
    assert [row["id"] for row in r.json()["data"]] == [mine["id"]]


async def test_ladder_create_contact(client, app):
    owner = await make_actor(app)
    stranger = await make_actor(app)
    member = await make_actor(app, team_id=owner.team_id, role=Role.member)
    r = await ladder(
        client,
        "POST",
        "/contacts",
        owner=owner,
        stranger=stranger,
        forbidden=member,
        json={"name": "Ann", "email": "ann@example.com"},
        ok=201,
    )
    assert await list_ids(client, owner, "/contacts") == [r.json()["id"]]
    assert await list_ids(client, stranger, "/contacts") == []


async def test_ladder_get_contact(client, app):
    owner = await make_actor(app)
    stranger = await make_actor(app)
    mine = await new_contact(client, owner)
    theirs = await new_contact(client, stranger, "Theirs")
    r = await ladder(
        client,
        "GET",
        f"/contacts/{mine['id']}",
        owner=owner,
        stranger=stranger,
        foreign_paths=(f"/contacts/{theirs['id']}", f"/contacts/{uuid.uuid4()}"),
    )
    assert r.json()["id"] == mine["id"]


async def test_ladder_patch_contact(client, app):
    owner = await make_actor(app)
    stranger = await make_actor(app)
    member, mine = await contact_seen_by_member(client, app, owner)
    theirs = await new_contact(client, stranger, "Theirs")
    r = await ladder(
        client,
        "PATCH",
        f"/contacts/{mine['id']}",
        owner=owner,
        stranger=stranger,
        forbidden=member,
        foreign_paths=(f"/contacts/{theirs['id']}", f"/contacts/{uuid.uuid4()}"),
        json={"title": "CFO"},
    )
    assert r.json()["title"] == "CFO"
    assert (await get_contact(client, stranger, theirs["id"]))["title"] is None


async def test_ladder_delete_contact(client, app):
    owner = await make_actor(app)
    stranger = await make_actor(app)
    member, mine = await contact_seen_by_member(client, app, owner)
    theirs = await new_contact(client, stranger, "Theirs")
    await ladder(
        client,
        "DELETE",
        f"/contacts/{mine['id']}",
        owner=owner,
        stranger=stranger,
        forbidden=member,
        foreign_paths=(f"/contacts/{theirs['id']}", f"/contacts/{uuid.uuid4()}"),
        ok=204,
    )
    assert await list_ids(client, owner, "/contacts") == []
    assert await list_ids(client, stranger, "/contacts") == [theirs["id"]]


@pytest.mark.parametrize("method", ["POST", "DELETE"])
async def test_ladder_portal_access(client, app, mailbox, run_jobs, method):
    owner = await make_actor(app)
    stranger = await make_actor(app)
    member, mine = await contact_seen_by_member(client, app, owner)
    theirs = await new_contact(client, stranger, "Theirs", email="t@example.com")
    await ladder(
        client,
        method,
        f"/contacts/{mine['id']}/portal-access",
        owner=owner,
        stranger=stranger,
        forbidden=member,
        foreign_paths=(
            f"/contacts/{theirs['id']}/portal-access",
            f"/contacts/{uuid.uuid4()}/portal-access",
        ),
        ok=200 if method == "POST" else 204,
    )
    assert (await get_contact(client, owner, mine["id"]))["portal_access"] is (method == "POST")
    assert (await get_contact(client, stranger, theirs["id"]))["portal_access"] is False
    await run_jobs()
    # Only the one successful grant sent mail.
    assert len(mailbox.messages) == (1 if method == "POST" else 0)


async def test_ladder_list_activities(client, app):
    owner = await make_actor(app)
    stranger = await make_actor(app)
    mine = await new_contact(client, owner)
    theirs = await new_contact(client, stranger, "Theirs")
    activity = await new_activity(client, owner, mine["id"])
    await new_activity(client, stranger, theirs["id"])
    r = await ladder(
        client,
        "GET",
        f"/contacts/{mine['id']}/activities",
        owner=owner,
        stranger=stranger,
        foreign_paths=(
            f"/contacts/{theirs['id']}/activities",
            f"/contacts/{uuid.uuid4()}/activities",
        ),
    )
    assert [a["id"] for a in r.json()["data"]] == [activity["id"]]


async def test_ladder_log_activity(client, app):
    owner = await make_actor(app)
    stranger = await make_actor(app)
    mine = await new_contact(client, owner)
    theirs = await new_contact(client, stranger, "Theirs")
    r = await ladder(
        client,
        "POST",
        f"/contacts/{mine['id']}/activities",
        owner=owner,
        stranger=stranger,
        foreign_paths=(
            f"/contacts/{theirs['id']}/activities",
            f"/contacts/{uuid.uuid4()}/activities",
        ),
        json={"kind": "call", "body": "Rang"},
        ok=201,
    )
    assert r.json()["author_id"] == str(owner.user_id)
    assert await list_ids(client, owner, f"/contacts/{mine['id']}/activities") == [r.json()["id"]]
    assert await list_ids(client, stranger, f"/contacts/{theirs['id']}/activities") == []


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
async def test_ladder_change_activity(client, app, method):
    owner = await make_actor(app)
    stranger = await make_actor(app)
    member, mine = await contact_seen_by_member(client, app, owner)
    mine_too = await new_contact(client, owner, "Bob")
    theirs = await new_contact(client, stranger, "Theirs")
    activity = await new_activity(client, owner, mine["id"])
    other_contacts = await new_activity(client, owner, mine_too["id"])
    foreign = await new_activity(client, stranger, theirs["id"])
    path = f"/contacts/{mine['id']}/activities/{activity['id']}"
    r = await ladder(
        client,
        method,
        path,
        owner=owner,
        stranger=stranger,
        forbidden=member,
        foreign_paths=(
            f"/contacts/{theirs['id']}/activities/{foreign['id']}",
            f"/contacts/{mine['id']}/activities/{foreign['id']}",
            f"/contacts/{mine['id']}/activities/{other_contacts['id']}",
            f"/contacts/{mine['id']}/activities/{uuid.uuid4()}",
            f"/contacts/{uuid.uuid4()}/activities/{activity['id']}",
        ),
        json={"body": "Edited"} if method == "PATCH" else None,
        ok=200 if method == "PATCH" else 204,
    )
    remaining = await list_ids(client, owner, f"/contacts/{mine['id']}/activities")
    if method == "PATCH":
        assert r.json()["body"] == "Edited"
        assert remaining == [activity["id"]]
    else:
        assert remaining == []
    # The other activities were not touched.
    assert await list_ids(client, owner, f"/contacts/{mine_too['id']}/activities") == [
        other_contacts["id"]
    ]
    r = await client.get(
        stranger.url(f"/contacts/{theirs['id']}/activities"), headers=stranger.headers
    )
    assert [(a["id"], a["body"]) for a in r.json()["data"]] == [(foreign["id"], "Talked")]


# ------------------------------------------------------------------ role table


@pytest.mark.parametrize("role", list(Role))
async def test_role_table_create_contact(client, app, role):
    owner = await make_actor(app)
    actor = await make_actor(app, team_id=owner.team_id, role=role)
    r = await client.post(
        actor.url("/contacts"),
        json={"name": "Ann", "email": "ann@example.com"},
        headers=actor.headers,
    )
    if role in MAY_CREATE_CRM:
        assert r.status_code == 201, r.text
        assert r.json()["owner_id"] == str(actor.user_id)
        assert await list_ids(client, owner, "/contacts") == [r.json()["id"]]
        await get_contact(client, actor, r.json()["id"])
    else:
        assert_problem(r, 403, "forbidden")
        assert await list_ids(client, owner, "/contacts") == []


# ------------------------------------------------------------------ visibility


async def test_sales_rep_contact_isolation(client, app):
    owner = await make_actor(app)
    rep1 = await make_actor(app, team_id=owner.team_id, role=Role.sales_rep)
    rep2 = await make_actor(app, team_id=owner.team_id, role=Role.sales_rep)
    c1 = await new_contact(client, rep1, "Rep one's", email="one@example.com")
    c2 = await new_contact(client, rep2, "Rep two's", email="two@example.com")
    team_wide = await new_contact(client, owner, "Owner's")

    assert await list_ids(client, rep1, "/contacts") == [c1["id"]]
    assert await list_ids(client, rep2, "/contacts") == [c2["id"]]
    assert await list_ids(client, rep2, "/contacts", owner_id=str(rep1.user_id)) == []
    assert set(await list_ids(client, owner, "/contacts")) == {c1["id"], c2["id"], team_wide["id"]}

    base = rep2.url(f"/contacts/{c1['id']}")
    assert_problem(await client.get(base, headers=rep2.headers), 404)
    assert_problem(await client.patch(base, json={"title": "x"}, headers=rep2.headers), 404)
    assert_problem(await client.delete(base, headers=rep2.headers), 404)
    assert_problem(await client.post(base + "/portal-access", headers=rep2.headers), 404)
    assert_problem(await client.get(base + "/activities", headers=rep2.headers), 404)
    r = await client.post(
        base + "/activities", json={"kind": "note", "body": "x"}, headers=rep2.headers
    )
    assert_problem(r, 404)
    fresh = await get_contact(client, owner, c1["id"])
    assert fresh["title"] is None
    assert fresh["portal_access"] is False
    assert fresh["last_contacted_at"] is None

    # Assigned to it, rep two sees and edits it.
    r = await client.patch(
        rep1.url(f"/contacts/{c1['id']}"),
        json={"assignee_ids": [str(rep2.user_id)]},
        headers=rep1.headers,
    )
    assert r.status_code == 200, r.text
    assert set(await list_ids(client, rep2, "/contacts")) == {c1["id"], c2["id"]}
    r = await client.patch(base, json={"title": "Buyer"}, headers=rep2.headers)
    assert r.status_code == 200, r.text


async def test_sales_rep_sees_contacts_of_own_clients(client, app):
    owner = await make_actor(app)
    rep = await make_actor(app, team_id=owner.team_id, role=Role.sales_rep)
    mine = await new_client(client, owner, "Rep's", owner_id=str(rep.user_id))
    not_mine = await new_client(client, owner, "Not rep's")
    a = await new_contact(client, owner, "A", client_id=mine["id"])
    b = await new_contact(client, owner, "B", client_id=not_mine["id"])
    assert await list_ids(client, rep, "/contacts") == [a["id"]]
    r = await client.get(rep.url(f"/contacts/{b['id']}"), headers=rep.headers)
    assert_problem(r, 404)
    r = await client.patch(
        rep.url(f"/contacts/{a['id']}"), json={"title": "x"}, headers=rep.headers
    )
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("role", [Role.member, Role.project_manager])
async def test_project_people_see_contacts_of_their_projects_clients(client, app, role):
    owner = await make_actor(app)
    actor = await make_actor(app, team_id=owner.team_id, role=role)
    acme = await new_client(client, owner, "Acme")
    globex = await new_client(client, owner, "Globex")
    a = await new_contact(client, owner, "A", client_id=acme["id"])
    b = await new_contact(client, owner, "B", client_id=globex["id"])
    lone = await new_contact(client, owner, "Lone", owner_id=str(actor.user_id))

    assert await list_ids(client, actor, "/contacts") == []
    await add_to_project(client, owner, acme["id"], actor.user_id, role="manager")
    assert await list_ids(client, actor, "/contacts") == [a["id"]]
    await get_contact(client, actor, a["id"])
    for hidden in (b, lone):
        r = await client.get(actor.url(f"/contacts/{hidden['id']}"), headers=actor.headers)
        assert_problem(r, 404)
    # Reading is all they do with contacts.
    r = await client.patch(
        actor.url(f"/contacts/{a['id']}"), json={"title": "x"}, headers=actor.headers
    )
    assert_problem(r, 403, "forbidden")

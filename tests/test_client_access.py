"""Who may do what with clients: every client endpoint down the 401 -> 403 -> 404 ->
success ladder, the role table, and sales reps and project people kept to their own."""

import uuid

import pytest

from app.core.permissions import Role
from tests.factories import make_actor
from tests.factories.clients import new_client
from tests.factories.projects import add_to_project
from tests.helpers import MAY_CREATE_CRM, assert_problem, list_ids
from tests.ladder import ladder

# How far each role reads clients (API.md role table, row "clients, contacts, activities").
CLIENT_READ = {
    Role.superadmin: "all",
    Role.org_manager: "all",
    Role.sales_manager: "all",
    Role.sales_rep: "own",
    Role.project_manager: "projects",
    Role.member: "projects",
}


# ------------------------------------------------------------------ ladders


async def test_ladder_list_clients(client, app):
    owner = await make_actor(app)
    stranger = await make_actor(app)
    mine = await new_client(client, owner)
    await new_client(client, stranger, "Theirs")
    r = await ladder(client, "GET", "/clients", owner=owner, stranger=stranger)
    assert [row["id"] for row in r.json()["data"]] == [mine["id"]]


async def test_ladder_create_client(client, app):
    owner = await make_actor(app)
    stranger = await make_actor(app)
    member = await make_actor(app, team_id=owner.team_id, role=Role.member)
    r = await ladder(
        client,
        "POST",
        "/clients",
        owner=owner,
        stranger=stranger,
        forbidden=member,
        json={"name": "Acme", "currency": "EUR"},
        ok=201,
    )
    # Only the final, allowed call created something, in the owner's team only.
    assert await list_ids(client, owner, "/clients") == [r.json()["id"]]
    assert await list_ids(client, stranger, "/clients") == []


async def test_ladder_get_client(client, app):
    owner = await make_actor(app)
    stranger = await make_actor(app)
    mine = await new_client(client, owner)
    theirs = await new_client(client, stranger, "Theirs")
    r = await ladder(
        client,
        "GET",
        f"/clients/{mine['id']}",
        owner=owner,
        stranger=stranger,
        foreign_paths=(f"/clients/{theirs['id']}", f"/clients/{uuid.uuid4()}"),
    )
    assert r.json()["id"] == mine["id"]


async def test_ladder_patch_client(client, app):
    owner = await make_actor(app)
    stranger = await make_actor(app)
    mine = await new_client(client, owner)
    theirs = await new_client(client, stranger, "Theirs")
    pm = await make_actor(app, team_id=owner.team_id, role=Role.project_manager)
    await add_to_project(client, owner, mine["id"], pm.user_id, role="manager")
    r = await ladder(
        client,
        "PATCH",
        f"/clients/{mine['id']}",
        owner=owner,
        stranger=stranger,
        forbidden=pm,
        foreign_paths=(f"/clients/{theirs['id']}", f"/clients/{uuid.uuid4()}"),
        json={"name": "Renamed"},
    )
    assert r.json()["name"] == "Renamed"
    r = await client.get(stranger.url(f"/clients/{theirs['id']}"), headers=stranger.headers)
    assert r.json()["name"] == "Theirs"


async def test_ladder_archive_client(client, app):
    owner = await make_actor(app)
    stranger = await make_actor(app)
    mine = await new_client(client, owner)
    theirs = await new_client(client, stranger, "Theirs")
    member = await make_actor(app, team_id=owner.team_id, role=Role.member)
    await add_to_project(client, owner, mine["id"], member.user_id)
    await ladder(
        client,
        "DELETE",
        f"/clients/{mine['id']}",
        owner=owner,
        stranger=stranger,
        forbidden=member,
        foreign_paths=(f"/clients/{theirs['id']}", f"/clients/{uuid.uuid4()}"),
        ok=204,
    )
    assert await list_ids(client, owner, "/clients", status="archived") == [mine["id"]]
    assert await list_ids(client, stranger, "/clients") == [theirs["id"]]


async def test_ladder_get_invoice_settings(client, app):
    owner = await make_actor(app)
    stranger = await make_actor(app)
    mine = await new_client(client, owner)
    theirs = await new_client(client, stranger, "Theirs")
    member = await make_actor(app, team_id=owner.team_id, role=Role.member)
    await add_to_project(client, owner, mine["id"], member.user_id)
    r = await ladder(
        client,
        "GET",
        f"/clients/{mine['id']}/invoice-settings",
        owner=owner,
        stranger=stranger,
        forbidden=member,
        foreign_paths=(
            f"/clients/{theirs['id']}/invoice-settings",
            f"/clients/{uuid.uuid4()}/invoice-settings",
        ),
    )
    assert r.json()["due_days"] == 14


async def test_ladder_put_invoice_settings(client, app):
    owner = await make_actor(app)
    stranger = await make_actor(app)
    rep = await make_actor(app, team_id=owner.team_id, role=Role.sales_rep)
    mine = await new_client(client, owner, owner_id=str(rep.user_id))
    theirs = await new_client(client, stranger, "Theirs")
    r = await ladder(
        client,
        "PUT",
        f"/clients/{mine['id']}/invoice-settings",
        owner=owner,
        stranger=stranger,
        forbidden=rep,
        foreign_paths=(
            f"/clients/{theirs['id']}/invoice-settings",
            f"/clients/{uuid.uuid4()}/invoice-settings",
        ),
        json={"due_days": 30},
    )
    assert r.json()["due_days"] == 30
    r = await client.get(
        stranger.url(f"/clients/{theirs['id']}/invoice-settings"), headers=stranger.headers
    )
    assert r.json()["due_days"] == 14


# ------------------------------------------------------------------ role table


@pytest.mark.parametrize("role", list(Role))
async def test_role_table_create_client(client, app, role):
    owner = await make_actor(app)
    actor = await make_actor(app, team_id=owner.team_id, role=role)
    r = await client.post(
        actor.url("/clients"), json={"name": "Acme", "currency": "EUR"}, headers=actor.headers
    )
    if role in MAY_CREATE_CRM:
        assert r.status_code == 201, r.text
        assert r.json()["owner_id"] == str(actor.user_id)
        assert await list_ids(client, owner, "/clients") == [r.json()["id"]]
        # The creator can read back what it created.
        r = await client.get(actor.url(f"/clients/{r.json()['id']}"), headers=actor.headers)
        assert r.status_code == 200, r.text
    else:
        assert_problem(r, 403, "forbidden")
        assert await list_ids(client, owner, "/clients") == []


@pytest.mark.parametrize("role", list(Role))
async def test_role_table_read_clients(client, app, role):
    owner = await make_actor(app)
    actor = await make_actor(app, team_id=owner.team_id, role=role)
    a = await new_client(client, owner, "Alpha")
    b = await new_client(client, owner, "Beta")
    reach = CLIENT_READ[role]

    if reach == "all":
        assert set(await list_ids(client, actor, "/clients")) == {a["id"], b["id"]}
        for c in (a, b):
            r = await client.get(actor.url(f"/clients/{c['id']}"), headers=actor.headers)
            assert r.status_code == 200, r.text
        return

    # Nothing of theirs yet: nothing listed, and a direct GET does not reveal the client.
    assert await list_ids(client, actor, "/clients") == []
    r = await client.get(actor.url(f"/clients/{a['id']}"), headers=actor.headers)
    assert_problem(r, 404)

    if reach == "own":
        r = await client.patch(
            owner.url(f"/clients/{a['id']}"),
            json={"member_ids": [str(actor.user_id)]},
            headers=owner.headers,
        )
        assert r.status_code == 200, r.text
    else:
        await add_to_project(client, owner, a["id"], actor.user_id)

    assert await list_ids(client, actor, "/clients") == [a["id"]]
    r = await client.get(actor.url(f"/clients/{a['id']}"), headers=actor.headers)
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "Alpha"
    r = await client.get(actor.url(f"/clients/{b['id']}"), headers=actor.headers)
    assert_problem(r, 404)


@pytest.mark.parametrize("role", list(Role))
async def test_role_table_update_clients(client, app, role):
    owner = await make_actor(app)
    actor = await make_actor(app, team_id=owner.team_id, role=role)
    a = await new_client(client, owner, "Alpha")
    b = await new_client(client, owner, "Beta")
    reach = CLIENT_READ[role]

    async def patch(c: dict):
        return await client.patch(
            actor.url(f"/clients/{c['id']}"), json={"notes": role.value}, headers=actor.headers
        )

    if reach == "all":
        for c in (a, b):
            r = await patch(c)
            assert r.status_code == 200, r.text
            assert r.json()["notes"] == role.value
        return

    assert_problem(await patch(a), 404)
    if reach == "own":
        r = await client.patch(
            owner.url(f"/clients/{a['id']}"),
            json={"member_ids": [str(actor.user_id)]},
            headers=owner.headers,
        )
        assert r.status_code == 200, r.text
        r = await patch(a)
        assert r.status_code == 200, r.text
        assert r.json()["notes"] == role.value
    else:
        await add_to_project(client, owner, a["id"], actor.user_id, role="manager")
        assert_problem(await patch(a), 403, "forbidden")
        r = await client.delete(actor.url(f"/clients/{a['id']}"), headers=actor.headers)
        assert_problem(r, 403, "forbidden")
        r = await client.get(owner.url(f"/clients/{a['id']}"), headers=owner.headers)
        assert r.json()["notes"] is None
        assert r.json()["status"] == "active"
    assert_problem(await patch(b), 404)
    r = await client.get(owner.url(f"/clients/{b['id']}"), headers=owner.headers)
    assert r.json()["notes"] is None


# ------------------------------------------------------------------ sales_rep isolation


async def test_sales_rep_sees_and_edits_only_own_clients(client, app):
    owner = await make_actor(app)
    rep1 = await make_actor(app, team_id=owner.team_id, role=Role.sales_rep)
    rep2 = await make_actor(app, team_id=owner.team_id, role=Role.sales_rep)
    c1 = await new_client(client, rep1, "Rep one's")
    c2 = await new_client(client, rep2, "Rep two's")
    assert c1["owner_id"] == str(rep1.user_id)

    assert await list_ids(client, rep1, "/clients") == [c1["id"]]
    assert await list_ids(client, rep2, "/clients") == [c2["id"]]
    assert await list_ids(client, rep2, "/clients", owner_id=str(rep1.user_id)) == []
    assert await list_ids(client, rep2, "/clients", q="one") == []
    assert set(await list_ids(client, owner, "/clients")) == {c1["id"], c2["id"]}

    url = rep2.url(f"/clients/{c1['id']}")
    assert_problem(await client.get(url, headers=rep2.headers), 404)
    assert_problem(await client.patch(url, json={"name": "x"}, headers=rep2.headers), 404)
    assert_problem(await client.delete(url, headers=rep2.headers), 404)
    assert_problem(await client.get(url + "/invoice-settings", headers=rep2.headers), 404)
    r = await client.get(owner.url(f"/clients/{c1['id']}"), headers=owner.headers)
    assert r.json()["name"] == "Rep one's"
    assert r.json()["status"] == "active"

    # Archived clients of another rep stay hidden too.
    r = await client.delete(owner.url(f"/clients/{c1['id']}"), headers=owner.headers)
    assert r.status_code == 204
    assert await list_ids(client, rep2, "/clients", status="archived") == []
    assert await list_ids(client, rep1, "/clients", status="archived") == [c1["id"]]
    r = await client.patch(
        owner.url(f"/clients/{c1['id']}"), json={"status": "active"}, headers=owner.headers
    )
    assert r.status_code == 200

    # Assigned to rep one's client, rep two sees and edits it; rep one still owns it.
    r = await client.patch(
        rep1.url(f"/clients/{c1['id']}"),
        json={"member_ids": [str(rep2.user_id)]},
        headers=rep1.headers,
    )
    assert r.status_code == 200, r.text
    assert set(await list_ids(client, rep2, "/clients")) == {c1["id"], c2["id"]}
    r = await client.patch(url, json={"notes": "by rep two"}, headers=rep2.headers)
    assert r.status_code == 200, r.text
    r = await client.get(url + "/invoice-settings", headers=rep2.headers)
    assert r.status_code == 200, r.text
    assert await list_ids(client, rep1, "/clients") == [c1["id"]]


async def test_sales_rep_handing_ownership_away_loses_the_client(client, app):
    owner = await make_actor(app)
    rep1 = await make_actor(app, team_id=owner.team_id, role=Role.sales_rep)
    rep2 = await make_actor(app, team_id=owner.team_id, role=Role.sales_rep)
    c = await new_client(client, rep1)
    r = await client.patch(
        rep1.url(f"/clients/{c['id']}"),
        json={"owner_id": str(rep2.user_id)},
        headers=rep1.headers,
    )
    assert r.status_code == 200, r.text
    assert await list_ids(client, rep2, "/clients") == [c["id"]]


@pytest.mark.parametrize("role", [Role.member, Role.project_manager])
async def test_project_people_see_only_clients_of_their_projects(client, app, role):
    owner = await make_actor(app)
    actor = await make_actor(app, team_id=owner.team_id, role=role)
    other = await make_actor(app, team_id=owner.team_id, role=role)
    a = await new_client(client, owner, "Alpha")
    b = await new_client(client, owner, "Beta")
    await add_to_project(client, owner, a["id"], actor.user_id)
    await add_to_project(client, owner, b["id"], other.user_id)
    assert await list_ids(client, actor, "/clients") == [a["id"]]
    assert await list_ids(client, other, "/clients") == [b["id"]]
    r = await client.get(actor.url(f"/clients/{b['id']}"), headers=actor.headers)
    assert_problem(r, 404)
    r = await client.get(actor.url(f"/clients/{a['id']}"), headers=actor.headers)
    assert r.status_code == 200

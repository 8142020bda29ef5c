"""Projects: fields, client rules, archiving, lists, members, viewers, stats and roles."""

import asyncio
import uuid
from dataclasses import dataclass

import pytest

from app.core.permissions import Role
from tests.factories import Actor, make_actor
from tests.helpers import assert_problem, bearer, get_board

PROJECT_FIELDS = {
    "id",
    "name",
    "client_id",
    "status",
    "billable",
    "hourly_rate_amount",
    "budget_seconds",
    "board_id",
}
ALL_READERS = {Role.superadmin, Role.org_manager, Role.sales_manager}


async def new_client(http, actor: Actor, name: str = "Acme", **extra) -> dict:
    r = await http.post(
        actor.url("/clients"),
        json={"name": name, "currency": "EUR", **extra},
        headers=actor.headers,
    )
    assert r.status_code == 201, r.text
    return r.json()


async def new_contact(http, actor: Actor, client_id: str | None, name: str = "Carla") -> dict:
    body: dict = {"name": name, "email": f"{uuid.uuid4().hex[:10]}@client.example"}
    if client_id is not None:
        body["client_id"] = client_id
    r = await http.post(actor.url("/contacts"), json=body, headers=actor.headers)
    assert r.status_code == 201, r.text
    return r.json()


async def new_project(http, actor: Actor, name: str = "Website", **extra) -> dict:
    r = await http.post(actor.url("/projects"), json={"name": name, **extra}, headers=actor.headers)
    assert r.status_code == 201, r.text
    return r.json()


async def add_member(http, actor: Actor, project_id: str, user_id, role: str = "member"):
    r = await http.post(
        actor.url(f"/projects/{project_id}/members"),
        json={"user_id": str(user_id), "role": role},
        headers=actor.headers,
    )
    assert r.status_code == 201, r.text
    return r.json()


async def new_task(http, actor: Actor, project_id: str, title: str = "Task", **extra) -> dict:
    r = await http.post(
        actor.url(f"/projects/{project_id}/tasks"),
        json={"title": title, **extra},
        headers=actor.headers,
    )
    assert r.status_code == 201, r.text
    return r.json()


async def list_all(http, actor: Actor, path: str, **params) -> list[dict]:
    """Every row of a paginated list, following the cursor."""
    rows: list[dict] = []
    cursor = None
    while True:
        query = {"limit": 200, **params, **({"cursor": cursor} if cursor else {})}
        r = await http.get(actor.url(path), params=query, headers=actor.headers)
        assert r.status_code == 200, r.text
        page = r.json()
        rows += page["data"]
        if not page["has_more"]:
            assert page["next_cursor"] is None
            return rows
        cursor = page["next_cursor"]


async def project_ids(http, actor: Actor, **params) -> set[str]:
    return {p["id"] for p in await list_all(http, actor, "/projects", **params)}


# ------------------------------------------------------------------ create and read


async def test_create_project_returns_the_contract_fields_and_a_board(client, app):
    owner = await make_actor(app)
    acme = await new_client(client, owner)
    r = await client.post(
        owner.url("/projects"),
        json={
            "name": "Website relaunch",
            "client_id": acme["id"],
            "billable": False,
            "hourly_rate_amount": 9500,
            "budget_seconds": 36000,
        },
        headers=owner.headers,
    )
    assert r.status_code == 201, r.text
    project = r.json()
    assert set(project) >= PROJECT_FIELDS, project
    assert uuid.UUID(project["id"]) and uuid.UUID(project["board_id"])
    assert project["name"] == "Website relaunch"
    assert project["client_id"] == acme["id"]
    assert project["status"] == "active"
    assert project["billable"] is False
    assert project["hourly_rate_amount"] == 9500
    assert project["budget_seconds"] == 36000

    got = await client.get(owner.url(f"/projects/{project['id']}"), headers=owner.headers)
    assert got.status_code == 200, got.text
    assert {k: got.json()[k] for k in PROJECT_FIELDS} == {k: project[k] for k in PROJECT_FIELDS}

    board = await get_board(client, owner, project["id"])
    assert board["id"] == project["board_id"]
    assert [(c["name"], c["position"], c["tasks"]) for c in board["columns"]] == [
        ("To do", 0, []),
        ("In progress", 1, []),
        ("Done", 2, []),
    ]
    assert [c["kind"] for c in board["columns"]] == ["todo", "in_progress", "done"]


async def test_create_project_defaults_without_client(client, app):
    owner = await make_actor(app)
    project = await new_project(client, owner, "Internal")
    assert project["client_id"] is None
    assert project["status"] == "active"
    assert project["billable"] is True
    assert project["hourly_rate_amount"] is None
    assert project["budget_seconds"] is None
    # Every project gets its own board.
    other = await new_project(client, owner, "Internal 2")
    assert other["board_id"] != project["board_id"]


@pytest.mark.parametrize(
    "payload",
    [
        {"name": ""},
        {"name": "x" * 256},
        {},
        {"name": "P", "hourly_rate_amount": -1},
        {"name": "P", "budget_seconds": -1},
        {"name": "P", "client_id": "not-a-uuid"},
        {"name": "P", "status": "archived", "unknown": 1},
    ],
)
async def test_create_project_validation(client, app, payload):
    owner = await make_actor(app)
    r = await client.post(owner.url("/projects"), json=payload, headers=owner.headers)
    body = assert_problem(r, 422, "validation_error")
    assert body["errors"]
    assert await project_ids(client, owner) == set()


async def test_project_client_must_be_an_active_client_of_the_team(client, app):
    owner = await make_actor(app)
    stranger = await make_actor(app)
    foreign = await new_client(client, stranger, "Foreign")
    archived = await new_client(client, owner, "Old")
    r = await client.delete(owner.url(f"/clients/{archived['id']}"), headers=owner.headers)
    assert r.status_code == 204, r.text

    r = await client.post(
        owner.url("/projects"),
        json={"name": "P", "client_id": foreign["id"]},
        headers=owner.headers,
    )
    assert_problem(r, 422, "unknown_client")
    r = await client.post(
        owner.url("/projects"),
        json={"name": "P", "client_id": str(uuid.uuid4())},
        headers=owner.headers,
    )
    assert_problem(r, 422, "unknown_client")
    r = await client.post(
        owner.url("/projects"),
        json={"name": "P", "client_id": archived["id"]},
        headers=owner.headers,
    )
    assert_problem(r, 422, "client_archived")
    # Nothing was created by the refused requests.
    assert await project_ids(client, owner) == set()
    assert await project_ids(client, owner, status="archived") == set()
    assert await project_ids(client, stranger) == set()


async def test_project_client_can_change_later(client, app):
    owner = await make_actor(app)
    stranger = await make_actor(app)
    first = await new_client(client, owner, "First")
    second = await new_client(client, owner, "Second")
    archived = await new_client(client, owner, "Archived")
    foreign = await new_client(client, stranger, "Foreign")
    await client.delete(owner.url(f"/clients/{archived['id']}"), headers=owner.headers)
    project = await new_project(client, owner, client_id=first["id"])
    url = owner.url(f"/projects/{project['id']}")

    r = await client.patch(url, json={"client_id": second["id"]}, headers=owner.headers)
    assert r.status_code == 200, r.text
    assert r.json()["client_id"] == second["id"]
    assert (await client.get(url, headers=owner.headers)).json()["client_id"] == second["id"]
    assert await project_ids(client, owner, client_id=second["id"]) == {project["id"]}
    assert await project_ids(client, owner, client_id=first["id"]) == set()

    r = await client.patch(url, json={"client_id": foreign["id"]}, headers=owner.headers)
    assert_problem(r, 422, "unknown_client")
    r = await client.patch(url, json={"client_id": archived["id"]}, headers=owner.headers)
    assert_problem(r, 422, "client_archived")
    assert (await client.get(url, headers=owner.headers)).json()["client_id"] == second["id"]

    # A project without a client gets one later.
    internal = await new_project(client, owner, "Internal")
    r = await client.patch(
        owner.url(f"/projects/{internal['id']}"),
        json={"client_id": first["id"]},
        headers=owner.headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["client_id"] == first["id"]


async def test_patch_project_fields(client, app):
    owner = await make_actor(app)
    project = await new_project(client, owner, "Before")
    url = owner.url(f"/projects/{project['id']}")
    r = await client.patch(
        url,
        json={"name": "After", "billable": False, "hourly_rate_amount": 12000},
        headers=owner.headers,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["name"], body["billable"], body["hourly_rate_amount"]) == ("After", False, 12000)
    assert body["board_id"] == project["board_id"]
    got = (await client.get(url, headers=owner.headers)).json()
    assert (got["name"], got["billable"], got["hourly_rate_amount"]) == ("After", False, 12000)

    for bad in ({"name": ""}, {"name": None}, {"status": "deleted"}, {"budget_seconds": -5}):
        r = await client.patch(url, json=bad, headers=owner.headers)
        assert_problem(r, 422)
    assert (await client.get(url, headers=owner.headers)).json()["name"] == "After"


async def test_archived_projects_leave_the_default_list(client, app):
    owner = await make_actor(app)
    keep = await new_project(client, owner, "Keep")
    old = await new_project(client, owner, "Old")
    r = await client.patch(
        owner.url(f"/projects/{old['id']}"), json={"status": "archived"}, headers=owner.headers
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "archived"

    assert await project_ids(client, owner) == {keep["id"]}
    assert await project_ids(client, owner, status="active") == {keep["id"]}
    assert await project_ids(client, owner, status="archived") == {old["id"]}
    # Still readable by id, and it can be restored.
    r = await client.get(owner.url(f"/projects/{old['id']}"), headers=owner.headers)
    assert r.status_code == 200 and r.json()["status"] == "archived"
    r = await client.patch(
        owner.url(f"/projects/{old['id']}"), json={"status": "active"}, headers=owner.headers
    )
    assert r.status_code == 200, r.text
    assert await project_ids(client, owner) == {keep["id"], old["id"]}


async def test_list_projects_filters(client, app):
    owner = await make_actor(app)
    acme = await new_client(client, owner, "Acme")
    globex = await new_client(client, owner, "Globex")
    a = await new_project(client, owner, "Acme website", client_id=acme["id"])
    b = await new_project(client, owner, "Acme APP", client_id=acme["id"])
    c = await new_project(client, owner, "Globex app", client_id=globex["id"])
    d = await new_project(client, owner, "100%_done")

    assert await project_ids(client, owner, client_id=acme["id"]) == {a["id"], b["id"]}
    assert await project_ids(client, owner, client_id=globex["id"]) == {c["id"]}
    assert await project_ids(client, owner, q="app") == {b["id"], c["id"]}
    assert await project_ids(client, owner, q="App", client_id=acme["id"]) == {b["id"]}
    assert await project_ids(client, owner, q="%_") == {d["id"]}
    assert await project_ids(client, owner, q="nothing like this") == set()
    r = await client.get(owner.url("/projects"), params={"status": "gone"}, headers=owner.headers)
    assert_problem(r, 422)


async def test_list_projects_is_cursor_paginated(client, app):
    owner = await make_actor(app)
    created = [(await new_project(client, owner, f"P{i}"))["id"] for i in range(5)]
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        r = await client.get(owner.url("/projects"), params=params, headers=owner.headers)
        assert r.status_code == 200, r.text
        page = r.json()
        assert set(page) >= {"data", "has_more", "next_cursor"}
        assert len(page["data"]) <= 2
        seen += [p["id"] for p in page["data"]]
        pages += 1
        if not page["has_more"]:
            assert page["next_cursor"] is None
            break
        cursor = page["next_cursor"]
        # A project created between two pages neither repeats nor hides the others.
        created.append((await new_project(client, owner, f"Late {pages}"))["id"])
    assert pages >= 3
    assert len(seen) == len(set(seen))
    assert set(created[:5]) <= set(seen)

    r = await client.get(owner.url("/projects"), params={"cursor": "x"}, headers=owner.headers)
    assert_problem(r, 400, "invalid_cursor")
    for limit in (0, 201):
        r = await client.get(owner.url("/projects"), params={"limit": limit}, headers=owner.headers)
        assert_problem(r, 422)


async def test_list_projects_updated_since(client, app):
    owner = await make_actor(app)
    old = await new_project(client, owner, "Old")
    new = await new_project(client, owner, "New")
    mark = new["updated_at"]
    assert await project_ids(client, owner, updated_since=mark) == {new["id"]}

    r = await client.patch(
        owner.url(f"/projects/{old['id']}"), json={"name": "Old, renamed"}, headers=owner.headers
    )
    assert r.status_code == 200, r.text
    assert r.json()["updated_at"] > mark
    assert await project_ids(client, owner, updated_since=mark) == {old["id"], new["id"]}
    assert await project_ids(client, owner, updated_since=r.json()["updated_at"]) == {old["id"]}


async def test_delete_project_removes_its_board_and_tasks(client, app):
    owner = await make_actor(app)
    project = await new_project(client, owner)
    task = await new_task(client, owner, project["id"])
    keep = await new_project(client, owner, "Keep")
    r = await client.delete(owner.url(f"/projects/{project['id']}"), headers=owner.headers)
    assert r.status_code == 204, r.text
    for path in ("", "/board", "/stats", f"/tasks/{task['id']}"):
        r = await client.get(owner.url(f"/projects/{project['id']}{path}"), headers=owner.headers)
        assert_problem(r, 404)
    assert await project_ids(client, owner) == {keep["id"]}
    r = await client.delete(owner.url(f"/projects/{project['id']}"), headers=owner.headers)
    assert_problem(r, 404)


# ------------------------------------------------------------------ stats


async def test_stats_count_tasks_by_column(client, app):
    owner = await make_actor(app)
    project = await new_project(client, owner)
    other = await new_project(client, owner, "Other")
    board = await get_board(client, owner, project["id"])
    todo, doing, done = (c["id"] for c in board["columns"])
    for i in range(3):
        await new_task(client, owner, project["id"], f"t{i}")
    await new_task(client, owner, project["id"], "d", column_id=done)
    await new_task(client, owner, other["id"], "elsewhere")

    r = await client.get(owner.url(f"/projects/{project['id']}/stats"), headers=owner.headers)
    assert r.status_code == 200, r.text
    stats = r.json()
    assert stats["task_count"] == 4
    counts = {c["column_id"]: c["task_count"] for c in stats["tasks_by_column"]}
    assert counts == {todo: 3, doing: 0, done: 1}
    assert [c["name"] for c in stats["tasks_by_column"]] == ["To do", "In progress", "Done"]

    # Moving a task is reflected at once.
    first = (await get_board(client, owner, project["id"]))["columns"][0]["tasks"][0]
    r = await client.post(
        owner.url(f"/projects/{project['id']}/tasks/{first['id']}/move"),
        json={"column_id": doing, "position": 0},
        headers=owner.headers,
    )
    assert r.status_code == 200, r.text
    stats = (
        await client.get(owner.url(f"/projects/{project['id']}/stats"), headers=owner.headers)
    ).json()
    counts = {c["column_id"]: c["task_count"] for c in stats["tasks_by_column"]}
    assert counts == {todo: 2, doing: 1, done: 1}
    assert stats["task_count"] == 4


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
    carla = await new_contact(client, owner, acme["id"], "Carla")
    gus = await new_contact(client, owner, globex["id"], "Gus")
    loose = await new_contact(client, owner, None, "Loose")
    foreign = await new_contact(client, stranger, None, "Foreign")
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
    carla = await new_contact(client, owner, acme["id"], "Carla")
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


# ------------------------------------------------------------------ list envelopes


async def test_member_and_viewer_lists_are_cursor_paginated(client, app):
    owner = await make_actor(app)
    acme = await new_client(client, owner, "Acme")
    project = await new_project(client, owner, client_id=acme["id"])
    members = [await make_actor(app, team_id=owner.team_id, role=Role.member) for _ in range(3)]
    for m in members:
        await add_member(client, owner, project["id"], m.user_id)
    contacts = [await new_contact(client, owner, acme["id"], f"C{i}") for i in range(3)]
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


# ------------------------------------------------------------------ roles


@dataclass
class RoleWorld:
    owner: Actor
    actor: Actor
    mine: dict
    other: dict
    client_mine: dict


async def role_world(http, app, role: Role) -> RoleWorld:
    """`mine`: a project the actor is linked to as its role allows (client owner for a
    sales_rep, project manager for a project_manager, project member for a member);
    `other`: a project it has nothing to do with."""
    owner = await make_actor(app)
    actor = await make_actor(app, team_id=owner.team_id, role=role)
    client_mine = await new_client(http, owner, "Mine", owner_id=str(actor.user_id))
    client_other = await new_client(http, owner, "Other")
    mine = await new_project(http, owner, "Mine", client_id=client_mine["id"])
    other = await new_project(http, owner, "Other", client_id=client_other["id"])
    if role is Role.project_manager:
        await add_member(http, owner, mine["id"], actor.user_id, "manager")
    elif role is Role.member:
        await add_member(http, owner, mine["id"], actor.user_id, "member")
    return RoleWorld(owner, actor, mine, other, client_mine)


CREATE_STATUS = {
    Role.superadmin: 201,
    Role.org_manager: 201,
    Role.sales_manager: 201,
    Role.sales_rep: 403,
    Role.project_manager: 403,
    Role.member: 403,
}
PATCH_MINE_STATUS = {
    Role.superadmin: 200,
    Role.org_manager: 200,
    Role.sales_manager: 403,
    Role.sales_rep: 403,
    Role.project_manager: 200,
    Role.member: 403,
}
TASK_MINE_STATUS = {
    Role.superadmin: 201,
    Role.org_manager: 201,
    Role.sales_manager: 201,
    Role.sales_rep: 403,
    Role.project_manager: 201,
    Role.member: 201,
}


@pytest.mark.parametrize("role", list(Role))
async def test_role_table_for_projects(client, app, role):
    w = await role_world(client, app, role)
    actor, mine, other = w.actor, w.mine, w.other
    reads_all = role in ALL_READERS

    # GET list: who sees which project.
    visible = await project_ids(client, actor)
    assert visible == ({mine["id"], other["id"]} if reads_all else {mine["id"]})
    r = await client.get(actor.url(f"/projects/{mine['id']}"), headers=actor.headers)
    assert r.status_code == 200, r.text
    r = await client.get(actor.url(f"/projects/{other['id']}"), headers=actor.headers)
    if reads_all:
        assert r.status_code == 200, r.text
    else:
        assert_problem(r, 404)
    for path in ("/board", "/tasks", "/stats", "/members"):
        r = await client.get(actor.url(f"/projects/{other['id']}{path}"), headers=actor.headers)
        assert r.status_code == (200 if reads_all else 404), (path, r.text)

    # POST project.
    r = await client.post(
        actor.url("/projects"),
        json={"name": "New", "client_id": w.client_mine["id"]},
        headers=actor.headers,
    )
    assert r.status_code == CREATE_STATUS[role], r.text
    if r.status_code == 201:
        assert r.json()["id"] in await project_ids(client, actor)
    else:
        assert_problem(r, 403, "forbidden")
        assert "New" not in {p["name"] for p in await list_all(client, w.owner, "/projects")}

    # PATCH project.
    r = await client.patch(
        actor.url(f"/projects/{mine['id']}"), json={"name": "Renamed"}, headers=actor.headers
    )
    assert r.status_code == PATCH_MINE_STATUS[role], r.text
    name = await client.get(w.owner.url(f"/projects/{mine['id']}"), headers=w.owner.headers)
    assert name.json()["name"] == ("Renamed" if r.status_code == 200 else "Mine")
    r = await client.patch(
        actor.url(f"/projects/{other['id']}"), json={"name": "Renamed"}, headers=actor.headers
    )
    expected = (
        PATCH_MINE_STATUS[role] if reads_all else 404
    )  # a project it cannot see is a 404, never a 403
    assert r.status_code == expected, r.text

    # POST task.
    r = await client.post(
        actor.url(f"/projects/{mine['id']}/tasks"), json={"title": "T"}, headers=actor.headers
    )
    assert r.status_code == TASK_MINE_STATUS[role], r.text
    r = await client.post(
        actor.url(f"/projects/{other['id']}/tasks"), json={"title": "T"}, headers=actor.headers
    )
    assert r.status_code == (TASK_MINE_STATUS[role] if reads_all else 404), r.text
    board = await get_board(client, w.owner, other["id"])
    assert len(board["columns"][0]["tasks"]) == (1 if reads_all else 0)


async def test_sales_rep_reads_projects_of_clients_it_owns_or_is_assigned_to(client, app):
    owner = await make_actor(app)
    rep = await make_actor(app, team_id=owner.team_id, role=Role.sales_rep)
    owned = await new_client(client, owner, "Owned", owner_id=str(rep.user_id))
    assigned = await new_client(client, owner, "Assigned", member_ids=[str(rep.user_id)])
    others = await new_client(client, owner, "Others")
    p_owned = await new_project(client, owner, "Owned", client_id=owned["id"])
    p_assigned = await new_project(client, owner, "Assigned", client_id=assigned["id"])
    p_others = await new_project(client, owner, "Others", client_id=others["id"])
    p_none = await new_project(client, owner, "No client")

    assert await project_ids(client, rep) == {p_owned["id"], p_assigned["id"]}
    for p in (p_owned, p_assigned):
        for path in ("", "/board", "/tasks", "/stats", "/members", "/viewers"):
            r = await client.get(rep.url(f"/projects/{p['id']}{path}"), headers=rep.headers)
            assert r.status_code == 200, (path, r.text)
    for p in (p_others, p_none):
        for path in ("", "/board", "/tasks", "/stats"):
            r = await client.get(rep.url(f"/projects/{p['id']}{path}"), headers=rep.headers)
            assert_problem(r, 404)

    # Reading is all it may do.
    pid = p_owned["id"]
    r = await client.post(rep.url("/projects"), json={"name": "X"}, headers=rep.headers)
    assert_problem(r, 403)
    r = await client.patch(rep.url(f"/projects/{pid}"), json={"name": "X"}, headers=rep.headers)
    assert_problem(r, 403)
    r = await client.post(
        rep.url(f"/projects/{pid}/tasks"), json={"title": "X"}, headers=rep.headers
    )
    assert_problem(r, 403)
    r = await client.post(
        rep.url(f"/projects/{pid}/board/columns"), json={"name": "X"}, headers=rep.headers
    )
    assert_problem(r, 403)
    r = await client.post(
        rep.url(f"/projects/{pid}/members"),
        json={"user_id": str(rep.user_id), "role": "manager"},
        headers=rep.headers,
    )
    assert_problem(r, 403)

    # Losing the client takes the project away.
    r = await client.patch(
        owner.url(f"/clients/{assigned['id']}"), json={"member_ids": []}, headers=owner.headers
    )
    assert r.status_code == 200, r.text
    assert await project_ids(client, rep) == {p_owned["id"]}
    r = await client.get(rep.url(f"/projects/{p_assigned['id']}"), headers=rep.headers)
    assert_problem(r, 404)


async def test_sales_manager_creates_and_reads_all_but_does_not_manage(client, app):
    owner = await make_actor(app)
    sm = await make_actor(app, team_id=owner.team_id, role=Role.sales_manager)
    dev = await make_actor(app, team_id=owner.team_id, role=Role.member)
    acme = await new_client(client, sm, "Acme")
    theirs = await new_project(client, owner, "Owner's")
    mine = await new_project(client, sm, "Sales", client_id=acme["id"])
    assert await project_ids(client, sm) == {theirs["id"], mine["id"]}

    for p in (theirs, mine):
        pid = p["id"]
        r = await client.patch(sm.url(f"/projects/{pid}"), json={"name": "X"}, headers=sm.headers)
        assert_problem(r, 403)
        r = await client.delete(sm.url(f"/projects/{pid}"), headers=sm.headers)
        assert_problem(r, 403)
        r = await client.post(
            sm.url(f"/projects/{pid}/board/columns"), json={"name": "X"}, headers=sm.headers
        )
        assert_problem(r, 403)
        r = await client.post(
            sm.url(f"/projects/{pid}/members"),
            json={"user_id": str(dev.user_id), "role": "member"},
            headers=sm.headers,
        )
        assert_problem(r, 403)
        # Tasks: all.
        r = await client.post(
            sm.url(f"/projects/{pid}/tasks"), json={"title": "T"}, headers=sm.headers
        )
        assert r.status_code == 201, r.text


async def test_project_manager_manages_only_where_its_project_role_is_manager(client, app):
    owner = await make_actor(app)
    pm = await make_actor(app, team_id=owner.team_id, role=Role.project_manager)
    dev = await make_actor(app, team_id=owner.team_id, role=Role.member)
    acme = await new_client(client, owner, "Acme")
    led = await new_project(client, owner, "Led", client_id=acme["id"])
    joined = await new_project(client, owner, "Joined")
    outside = await new_project(client, owner, "Outside")
    await add_member(client, owner, led["id"], pm.user_id, "manager")
    await add_member(client, owner, joined["id"], pm.user_id, "member")
    contact = await new_contact(client, owner, acme["id"])

    assert await project_ids(client, pm) == {led["id"], joined["id"]}

    # Where it is a manager: project, columns, members, viewers.
    base = pm.url(f"/projects/{led['id']}")
    r = await client.patch(base, json={"name": "Led well"}, headers=pm.headers)
    assert r.status_code == 200, r.text
    r = await client.post(f"{base}/board/columns", json={"name": "Review"}, headers=pm.headers)
    assert r.status_code == 201, r.text
    r = await client.post(
        f"{base}/members", json={"user_id": str(dev.user_id), "role": "member"}, headers=pm.headers
    )
    assert r.status_code == 201, r.text
    r = await client.post(f"{base}/viewers", json={"contact_id": contact["id"]}, headers=pm.headers)
    assert r.status_code == 201, r.text
    r = await client.post(f"{base}/tasks", json={"title": "T"}, headers=pm.headers)
    assert r.status_code == 201, r.text

    # Where it is only a member: read and work on tasks, no managing.
    base = pm.url(f"/projects/{joined['id']}")
    assert (await client.get(base, headers=pm.headers)).status_code == 200
    assert_problem(await client.patch(base, json={"name": "X"}, headers=pm.headers), 403)
    assert_problem(await client.delete(base, headers=pm.headers), 403)
    r = await client.post(f"{base}/board/columns", json={"name": "X"}, headers=pm.headers)
    assert_problem(r, 403)
    r = await client.post(
        f"{base}/members", json={"user_id": str(dev.user_id), "role": "member"}, headers=pm.headers
    )
    assert_problem(r, 403)
    r = await client.patch(
        f"{base}/members/{pm.user_id}", json={"role": "manager"}, headers=pm.headers
    )
    assert_problem(r, 403)
    r = await client.post(f"{base}/tasks", json={"title": "T"}, headers=pm.headers)
    assert r.status_code == 201, r.text

    # Not in the project at all: it does not exist.
    base = pm.url(f"/projects/{outside['id']}")
    assert_problem(await client.get(base, headers=pm.headers), 404)
    assert_problem(await client.patch(base, json={"name": "X"}, headers=pm.headers), 404)
    assert_problem(await client.get(f"{base}/board", headers=pm.headers), 404)
    r = await client.post(f"{base}/tasks", json={"title": "T"}, headers=pm.headers)
    assert_problem(r, 404)

    # Promoted to manager, it may manage.
    r = await client.patch(
        owner.url(f"/projects/{joined['id']}/members/{pm.user_id}"),
        json={"role": "manager"},
        headers=owner.headers,
    )
    assert r.status_code == 200, r.text
    r = await client.patch(
        pm.url(f"/projects/{joined['id']}"), json={"name": "Y"}, headers=pm.headers
    )
    assert r.status_code == 200, r.text


async def test_member_reads_its_projects_and_works_on_tasks(client, app):
    owner = await make_actor(app)
    dev = await make_actor(app, team_id=owner.team_id, role=Role.member)
    mine = await new_project(client, owner, "Mine")
    other = await new_project(client, owner, "Other")
    # Even a project role of manager does not let a team member manage.
    await add_member(client, owner, mine["id"], dev.user_id, "manager")

    assert await project_ids(client, dev) == {mine["id"]}
    base = dev.url(f"/projects/{mine['id']}")
    for path in ("", "/board", "/tasks", "/stats", "/members", "/viewers"):
        r = await client.get(f"{base}{path}", headers=dev.headers)
        assert r.status_code == 200, (path, r.text)
    r = await client.post(f"{base}/tasks", json={"title": "T"}, headers=dev.headers)
    assert r.status_code == 201, r.text
    task = r.json()
    done = (await get_board(client, dev, mine["id"]))["columns"][2]["id"]
    r = await client.post(
        f"{base}/tasks/{task['id']}/move",
        json={"column_id": done, "position": 0},
        headers=dev.headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["column_id"] == done

    assert_problem(await client.patch(base, json={"name": "X"}, headers=dev.headers), 403)
    assert_problem(await client.delete(base, headers=dev.headers), 403)
    r = await client.post(f"{base}/board/columns", json={"name": "X"}, headers=dev.headers)
    assert_problem(r, 403)
    r = await client.post(dev.url("/projects"), json={"name": "X"}, headers=dev.headers)
    assert_problem(r, 403)

    base = dev.url(f"/projects/{other['id']}")
    for path in ("", "/board", "/tasks", "/stats", "/members"):
        assert_problem(await client.get(f"{base}{path}", headers=dev.headers), 404)
    r = await client.post(f"{base}/tasks", json={"title": "T"}, headers=dev.headers)
    assert_problem(r, 404)
    assert_problem(await client.patch(base, json={"name": "X"}, headers=dev.headers), 404)


# ------------------------------------------------------------------ the ladder


@dataclass
class World:
    owner: Actor
    member: Actor  # a project member of `project` (team role member): may not manage
    rep: Actor  # owns the project's client (team role sales_rep): may not write tasks
    spare: Actor  # a team member not yet in the project
    stranger: Actor  # superadmin of another team
    ids: dict[str, str]  # this team's ids
    foreign: dict[str, str]  # the same kinds of ids, from the stranger's team


async def world(http, app) -> World:
    owner = await make_actor(app)
    member = await make_actor(app, team_id=owner.team_id, role=Role.member)
    rep = await make_actor(app, team_id=owner.team_id, role=Role.sales_rep)
    spare = await make_actor(app, team_id=owner.team_id, role=Role.member)
    stranger = await make_actor(app)

    acme = await new_client(http, owner, "Acme", owner_id=str(rep.user_id))
    project = await new_project(http, owner, "Site", client_id=acme["id"])
    await add_member(http, owner, project["id"], member.user_id, "member")
    viewer = await new_contact(http, owner, acme["id"], "Viewer")
    newcomer = await new_contact(http, owner, acme["id"], "Newcomer")
    r = await http.post(
        owner.url(f"/projects/{project['id']}/viewers"),
        json={"contact_id": viewer["id"]},
        headers=owner.headers,
    )
    assert r.status_code == 201, r.text

    globex = await new_client(http, stranger, "Globex")
    theirs = await new_project(http, stranger, "Theirs", client_id=globex["id"])
    their_contact = await new_contact(http, stranger, globex["id"], "Theirs")
    return World(
        owner=owner,
        member=member,
        rep=rep,
        spare=spare,
        stranger=stranger,
        ids={
            "p": project["id"],
            "user": str(member.user_id),
            "contact": viewer["id"],
            "new_contact": newcomer["id"],
            "client": acme["id"],
            "spare": str(spare.user_id),
        },
        foreign={
            "p": theirs["id"],
            "user": str(stranger.user_id),
            "contact": their_contact["id"],
        },
    )


# (name, method, path, body, who gets 403 (None: every role may), success status)
LADDER = [
    ("list", "GET", "/projects", None, None, 200),
    ("create", "POST", "/projects", lambda i: {"name": "New"}, "member", 201),
    ("get", "GET", "/projects/{p}", None, None, 200),
    ("patch", "PATCH", "/projects/{p}", lambda i: {"name": "Renamed"}, "member", 200),
    ("delete", "DELETE", "/projects/{p}", None, "member", 204),
    ("stats", "GET", "/projects/{p}/stats", None, None, 200),
    ("members", "GET", "/projects/{p}/members", None, None, 200),
    (
        "add_member",
        "POST",
        "/projects/{p}/members",
        lambda i: {"user_id": i["spare"], "role": "member"},
        "member",
        201,
    ),
    (
        "patch_member",
        "PATCH",
        "/projects/{p}/members/{user}",
        lambda i: {"role": "manager"},
        "member",
        200,
    ),
    ("remove_member", "DELETE", "/projects/{p}/members/{user}", None, "member", 204),
    ("viewers", "GET", "/projects/{p}/viewers", None, None, 200),
    (
        "add_viewer",
        "POST",
        "/projects/{p}/viewers",
        lambda i: {"contact_id": i["new_contact"]},
        "member",
        201,
    ),
    ("remove_viewer", "DELETE", "/projects/{p}/viewers/{contact}", None, "member", 204),
]


async def call(http, actor_or_headers, method: str, url: str, body):
    headers = actor_or_headers.headers if isinstance(actor_or_headers, Actor) else actor_or_headers
    return await http.request(method, url, json=body, headers=headers)


@pytest.mark.parametrize(
    ("method", "path", "body", "forbidden", "success"),
    [entry[1:] for entry in LADDER],
    ids=[entry[0] for entry in LADDER],
)
async def test_ladder(client, app, method, path, body, forbidden, success):
    w = await world(client, app)
    payload = body(w.ids) if body else None
    own_path = path.format(**w.ids)
    url = w.owner.url(own_path)

    # 401: no token, or a bad one.
    assert_problem(await call(client, {}, method, url, payload), 401)
    assert_problem(await call(client, bearer("garbage"), method, url, payload), 401)

    # 403: the role forbids it on an object the caller can see.
    if forbidden is not None:
        assert_problem(await call(client, getattr(w, forbidden), method, url, payload), 403)

    # 404: another team's path, and another team's object under our path.
    assert_problem(await call(client, w.stranger, method, url, payload), 404)
    assert_problem(await call(client, w.owner, method, w.stranger.url(own_path), payload), 404)
    if "{" in path:
        theirs = path.format(**{**w.ids, "p": w.foreign["p"]})
        assert_problem(await call(client, w.owner, method, w.owner.url(theirs), payload), 404)
        # And the other team's own caller cannot reach it through our team either.
        assert_problem(await call(client, w.stranger, method, w.owner.url(theirs), payload), 404)
    if "{user}" in path or "{contact}" in path:
        sub = path.format(**{**w.ids, "user": w.foreign["user"], "contact": w.foreign["contact"]})
        assert_problem(await call(client, w.owner, method, w.owner.url(sub), payload), 404)

    # Success.
    r = await call(client, w.owner, method, url, payload)
    assert r.status_code == success, r.text
    if success == 204:
        assert r.content == b""
    else:
        assert r.headers["content-type"].startswith("application/json")

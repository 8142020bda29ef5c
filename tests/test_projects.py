"""Projects: the contract fields and a board of their own, the client rules, editing,
archiving, the filtered and paginated list, deleting, and the task stats."""

import uuid

import pytest

from tests.factories import make_actor
from tests.factories.clients import new_client
from tests.factories.projects import get_board, new_project, new_task, project_ids
from tests.helpers import assert_problem

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

"""Tasks on a board: fields and validation, assignees from the project's members, moves
within and between columns without gaps, deleting, and the paginated task list."""

import uuid

import pytest

from app.core.permissions import Role
from tests.factories import make_actor
from tests.factories.projects import (
    TASK_FIELDS,
    assert_consistent,
    get_board,
    move_task,
    new_column,
    new_project,
    new_task,
    project_board,
    titles,
)
from tests.helpers import assert_problem

# ------------------------------------------------------------------ tasks


async def test_task_fields_and_defaults(client, app):
    owner, project, cols = await project_board(client, app)
    pid = project["id"]
    dev = await make_actor(app, team_id=owner.team_id, role=Role.member)
    r = await client.post(
        owner.url(f"/projects/{pid}/members"),
        json={"user_id": str(dev.user_id), "role": "member"},
        headers=owner.headers,
    )
    assert r.status_code == 201, r.text

    first = await new_task(client, owner, pid, "First")
    assert set(first) >= TASK_FIELDS
    assert first["column_id"] == cols["todo"]
    assert first["position"] == 0
    assert first["description"] is None
    assert first["assignee_id"] is None
    assert first["estimate_seconds"] is None
    assert first["tracked_seconds"] == 0

    task = await new_task(
        client,
        owner,
        pid,
        "Second",
        description="Details",
        assignee_id=str(dev.user_id),
        estimate_seconds=5400,
    )
    assert (task["column_id"], task["position"]) == (cols["todo"], 1)
    assert task["description"] == "Details"
    assert task["assignee_id"] == str(dev.user_id)
    assert task["estimate_seconds"] == 5400
    assert task["tracked_seconds"] == 0

    r = await client.get(owner.url(f"/projects/{pid}/tasks/{task['id']}"), headers=owner.headers)
    assert r.status_code == 200, r.text
    assert {k: r.json()[k] for k in TASK_FIELDS} == {k: task[k] for k in TASK_FIELDS}


async def test_new_tasks_go_to_the_end_of_to_do_wherever_that_column_is(client, app):
    owner, project, cols = await project_board(client, app)
    pid = project["id"]
    await new_column(client, owner, pid, "Backlog", position=0)
    r = await client.patch(
        owner.url(f"/projects/{pid}/board/columns/{cols['todo']}"),
        json={"position": 3},
        headers=owner.headers,
    )
    assert r.status_code == 200, r.text
    await new_task(client, owner, pid, "in progress", column_id=cols["in_progress"])
    for i in range(3):
        t = await new_task(client, owner, pid, f"t{i}")
        assert (t["column_id"], t["position"]) == (cols["todo"], i)
    board = await get_board(client, owner, pid)
    assert_consistent(board)
    assert titles(board)["To do"] == ["t0", "t1", "t2"]
    assert titles(board)["Backlog"] == []


@pytest.mark.parametrize(
    ("payload", "ok"),
    [
        ({"title": "x" * 255}, True),
        ({"title": "x" * 256}, False),
        ({"title": ""}, False),
        ({"title": "   "}, False),
        ({}, False),
        ({"title": "T", "description": "d" * 5000}, True),
        ({"title": "T", "description": "d" * 5001}, False),
        ({"title": "T", "estimate_seconds": -1}, False),
        ({"title": "T", "position": -1}, False),
        ({"title": "T", "tracked_seconds": 10}, False),
    ],
)
async def test_task_validation_on_create(client, app, payload, ok):
    owner, project, _cols = await project_board(client, app)
    r = await client.post(
        owner.url(f"/projects/{project['id']}/tasks"), json=payload, headers=owner.headers
    )
    board = await get_board(client, owner, project["id"])
    if ok:
        assert r.status_code == 201, r.text
        assert r.json()["title"] == payload["title"]
        assert len(board["columns"][0]["tasks"]) == 1
    else:
        body = assert_problem(r, 422, "validation_error")
        assert body["errors"]
        assert board["columns"][0]["tasks"] == []


async def test_task_validation_on_update(client, app):
    owner, project, cols = await project_board(client, app)
    task = await new_task(client, owner, project["id"], "Keep", description="keep")
    url = owner.url(f"/projects/{project['id']}/tasks/{task['id']}")
    for bad in (
        {"title": "x" * 256},
        {"title": ""},
        {"title": None},
        {"description": "d" * 5001},
        {"estimate_seconds": -1},
    ):
        assert_problem(await client.patch(url, json=bad, headers=owner.headers), 422)
    got = (await client.get(url, headers=owner.headers)).json()
    assert (got["title"], got["description"]) == ("Keep", "keep")

    r = await client.patch(
        url,
        json={"title": "y" * 255, "description": "e" * 5000, "estimate_seconds": 60},
        headers=owner.headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["title"] == "y" * 255
    assert r.json()["estimate_seconds"] == 60
    # A plain edit does not move the task.
    assert (r.json()["column_id"], r.json()["position"]) == (cols["todo"], 0)


async def test_assignee_must_be_a_project_member(client, app):
    owner, project, _cols = await project_board(client, app)
    pid = project["id"]
    in_project = await make_actor(app, team_id=owner.team_id, role=Role.member)
    in_team_only = await make_actor(app, team_id=owner.team_id, role=Role.member)
    stranger = await make_actor(app)
    r = await client.post(
        owner.url(f"/projects/{pid}/members"),
        json={"user_id": str(in_project.user_id), "role": "member"},
        headers=owner.headers,
    )
    assert r.status_code == 201, r.text

    for user_id in (in_team_only.user_id, stranger.user_id, uuid.uuid4()):
        r = await client.post(
            owner.url(f"/projects/{pid}/tasks"),
            json={"title": "T", "assignee_id": str(user_id)},
            headers=owner.headers,
        )
        assert_problem(r, 422, "assignee_not_project_member")
    assert (await get_board(client, owner, pid))["columns"][0]["tasks"] == []

    task = await new_task(client, owner, pid, "T", assignee_id=str(in_project.user_id))
    url = owner.url(f"/projects/{pid}/tasks/{task['id']}")
    r = await client.patch(
        url, json={"assignee_id": str(in_team_only.user_id)}, headers=owner.headers
    )
    assert_problem(r, 422, "assignee_not_project_member")
    assert (await client.get(url, headers=owner.headers)).json()["assignee_id"] == str(
        in_project.user_id
    )
    r = await client.patch(url, json={"assignee_id": None}, headers=owner.headers)
    assert r.status_code == 200, r.text
    assert r.json()["assignee_id"] is None

    # Filter by assignee.
    await new_task(client, owner, pid, "U", assignee_id=str(in_project.user_id))
    r = await client.get(
        owner.url(f"/projects/{pid}/tasks"),
        params={"assignee_id": str(in_project.user_id)},
        headers=owner.headers,
    )
    assert r.status_code == 200, r.text
    assert [t["title"] for t in r.json()["data"]] == ["U"]


async def test_moves_reorder_columns_without_gaps(client, app):
    owner, project, cols = await project_board(client, app)
    pid = project["id"]
    tasks = {n: await new_task(client, owner, pid, n) for n in "abcdef"}

    async def mv(name: str, kind: str, position: int) -> tuple[dict, dict[str, list[str]]]:
        r = await move_task(client, owner, pid, tasks[name]["id"], cols[kind], position)
        assert r.status_code == 200, r.text
        board = await get_board(client, owner, pid)
        assert_consistent(board)
        return r.json(), titles(board)

    task, board = await mv("a", "todo", 3)
    assert task["position"] == 3
    assert board["To do"] == ["b", "c", "d", "a", "e", "f"]
    _, board = await mv("f", "todo", 0)
    assert board["To do"] == ["f", "b", "c", "d", "a", "e"]
    task, board = await mv("c", "in_progress", 0)
    assert (task["column_id"], task["position"]) == (cols["in_progress"], 0)
    assert board["To do"] == ["f", "b", "d", "a", "e"]
    assert board["In progress"] == ["c"]
    task, board = await mv("b", "in_progress", 99)
    assert task["position"] == 1
    assert board["In progress"] == ["c", "b"]
    assert board["To do"] == ["f", "d", "a", "e"]
    _, board = await mv("e", "in_progress", 1)
    assert board["In progress"] == ["c", "e", "b"]
    _, board = await mv("e", "in_progress", 1)  # a move to where it is changes nothing
    assert board["In progress"] == ["c", "e", "b"]
    task, board = await mv("f", "todo", 50)
    assert task["position"] == 2
    assert board["To do"] == ["d", "a", "f"]

    # PATCH with column_id / position moves too.
    url = owner.url(f"/projects/{pid}/tasks/{tasks['d']['id']}")
    r = await client.patch(url, json={"column_id": cols["done"]}, headers=owner.headers)
    assert r.status_code == 200, r.text
    assert (r.json()["column_id"], r.json()["position"]) == (cols["done"], 0)
    r = await client.patch(
        owner.url(f"/projects/{pid}/tasks/{tasks['a']['id']}"),
        json={"position": 1, "title": "a2"},
        headers=owner.headers,
    )
    assert r.status_code == 200, r.text
    assert (r.json()["title"], r.json()["position"]) == ("a2", 1)
    board = await get_board(client, owner, pid)
    assert_consistent(board)
    assert titles(board) == {"To do": ["f", "a2"], "In progress": ["c", "e", "b"], "Done": ["d"]}

    for bad in (
        {"column_id": cols["done"], "position": -1},
        {"position": 0},
        {"column_id": "x", "position": 0},
    ):
        r = await client.post(
            owner.url(f"/projects/{pid}/tasks/{tasks['a']['id']}/move"),
            json=bad,
            headers=owner.headers,
        )
        assert_problem(r, 422)
    r = await move_task(client, owner, pid, tasks["a"]["id"], str(uuid.uuid4()), 0)
    assert r.status_code in (404, 422), r.text
    assert titles(await get_board(client, owner, pid))["To do"] == ["f", "a2"]


async def test_deleting_a_task_closes_the_gap(client, app):
    owner, project, _cols = await project_board(client, app)
    pid = project["id"]
    tasks = [await new_task(client, owner, pid, n) for n in "abcde"]
    r = await client.delete(
        owner.url(f"/projects/{pid}/tasks/{tasks[1]['id']}"), headers=owner.headers
    )
    assert r.status_code == 204, r.text
    board = await get_board(client, owner, pid)
    assert_consistent(board)
    assert titles(board)["To do"] == ["a", "c", "d", "e"]
    r = await client.delete(
        owner.url(f"/projects/{pid}/tasks/{tasks[0]['id']}"), headers=owner.headers
    )
    assert r.status_code == 204, r.text
    board = await get_board(client, owner, pid)
    assert_consistent(board)
    assert titles(board)["To do"] == ["c", "d", "e"]
    assert_problem(
        await client.get(
            owner.url(f"/projects/{pid}/tasks/{tasks[0]['id']}"), headers=owner.headers
        ),
        404,
    )
    assert_problem(
        await client.delete(
            owner.url(f"/projects/{pid}/tasks/{tasks[0]['id']}"), headers=owner.headers
        ),
        404,
    )
    # A new task goes after the rest, not into the old gap.
    t = await new_task(client, owner, pid, "f")
    assert t["position"] == 3


async def test_task_list_is_cursor_paginated_and_takes_updated_since(client, app):
    owner, project, cols = await project_board(client, app)
    pid = project["id"]
    created = [await new_task(client, owner, pid, f"t{i}") for i in range(5)]
    await new_task(client, owner, (await new_project(client, owner, "Other"))["id"], "elsewhere")
    url = owner.url(f"/projects/{pid}/tasks")

    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        r = await client.get(url, params=params, headers=owner.headers)
        assert r.status_code == 200, r.text
        page = r.json()
        assert len(page["data"]) <= 2
        seen += [t["id"] for t in page["data"]]
        pages += 1
        if not page["has_more"]:
            assert page["next_cursor"] is None
            break
        cursor = page["next_cursor"]
    assert pages == 3
    assert sorted(seen) == sorted(t["id"] for t in created)
    r = await client.get(url, params={"cursor": "garbage"}, headers=owner.headers)
    assert_problem(r, 400, "invalid_cursor")
    r = await client.get(url, params={"column_id": cols["done"]}, headers=owner.headers)
    assert r.json()["data"] == []

    # updated_since: an edit and the renumbering a move causes are both changes to sync.
    mark = created[-1]["updated_at"]
    r = await client.get(url, params={"updated_since": mark}, headers=owner.headers)
    assert [t["id"] for t in r.json()["data"]] == [created[-1]["id"]]
    r = await client.patch(
        owner.url(f"/projects/{pid}/tasks/{created[0]['id']}"),
        json={"title": "edited"},
        headers=owner.headers,
    )
    assert r.status_code == 200, r.text
    edited_at = r.json()["updated_at"]
    r = await client.get(url, params={"updated_since": edited_at}, headers=owner.headers)
    assert [t["title"] for t in r.json()["data"]] == ["edited"]

    r = await move_task(client, owner, pid, created[4]["id"], cols["todo"], 0)
    assert r.status_code == 200, r.text
    moved_at = r.json()["updated_at"]
    r = await client.get(
        url, params={"updated_since": moved_at, "limit": 200}, headers=owner.headers
    )
    synced = {t["id"]: t["position"] for t in r.json()["data"]}
    # Every task whose position changed is in the sync, with its new position.
    board = await get_board(client, owner, pid)
    now = {t["id"]: t["position"] for t in board["columns"][0]["tasks"]}
    assert synced == now

"""Boards, columns and tasks: gap-free ordering, also under concurrent moves and creates."""

import asyncio
import random
import uuid
from dataclasses import dataclass

import pytest

from app.core.permissions import Role
from tests.factories import Actor, make_actor
from tests.helpers import assert_problem, bearer, get_board

TASK_FIELDS = {
    "id",
    "title",
    "description",
    "column_id",
    "position",
    "assignee_id",
    "estimate_seconds",
    "tracked_seconds",
}


async def new_project(http, actor: Actor, name: str = "Board", **extra) -> dict:
    r = await http.post(actor.url("/projects"), json={"name": name, **extra}, headers=actor.headers)
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


async def new_column(http, actor: Actor, project_id: str, name: str, **extra) -> dict:
    r = await http.post(
        actor.url(f"/projects/{project_id}/board/columns"),
        json={"name": name, **extra},
        headers=actor.headers,
    )
    assert r.status_code == 201, r.text
    return r.json()


def move(http, actor: Actor, project_id: str, task_id: str, column_id: str, position: int):
    return http.post(
        actor.url(f"/projects/{project_id}/tasks/{task_id}/move"),
        json={"column_id": column_id, "position": position},
        headers=actor.headers,
    )


def assert_consistent(board: dict) -> None:
    """Columns at 0..m-1, each column's tasks at 0..n-1, each task in the column it lists."""
    assert [c["position"] for c in board["columns"]] == list(range(len(board["columns"])))
    seen: list[str] = []
    for column in board["columns"]:
        positions = [t["position"] for t in column["tasks"]]
        assert positions == list(range(len(positions))), (column["name"], positions)
        for task in column["tasks"]:
            assert task["column_id"] == column["id"]
        seen += [t["id"] for t in column["tasks"]]
    assert len(seen) == len(set(seen)), "a task shows up twice"


def titles(board: dict) -> dict[str, list[str]]:
    return {c["name"]: [t["title"] for t in c["tasks"]] for c in board["columns"]}


def ids_by_column(board: dict) -> dict[str, list[str]]:
    return {c["id"]: [t["id"] for t in c["tasks"]] for c in board["columns"]}


async def setup(http, app) -> tuple[Actor, dict, dict[str, str]]:
    """An owner, a project and its default column ids by kind."""
    owner = await make_actor(app)
    project = await new_project(http, owner)
    board = await get_board(http, owner, project["id"])
    columns = {c["kind"]: c["id"] for c in board["columns"]}
    return owner, project, columns


# ------------------------------------------------------------------ the board


async def test_board_lists_columns_and_their_tasks_in_order(client, app):
    owner, project, cols = await setup(client, app)
    pid = project["id"]
    a = await new_task(client, owner, pid, "a")
    b = await new_task(client, owner, pid, "b")
    c = await new_task(client, owner, pid, "c", position=0)
    d = await new_task(client, owner, pid, "d", column_id=cols["done"])
    e = await new_task(client, owner, pid, "e", column_id=cols["done"], position=0)

    board = await get_board(client, owner, pid)
    assert board["id"] == project["board_id"]
    assert_consistent(board)
    assert titles(board) == {"To do": ["c", "a", "b"], "In progress": [], "Done": ["e", "d"]}
    for column in board["columns"]:
        assert {"id", "name", "position", "tasks"} <= set(column)
        for task in column["tasks"]:
            assert set(task) >= TASK_FIELDS
    # The responses of the creations agree with the board as it was then.
    assert (a["position"], b["position"], c["position"]) == (0, 1, 0)
    assert (d["column_id"], d["position"], e["position"]) == (cols["done"], 0, 0)


async def test_boards_of_two_projects_are_separate(client, app):
    owner, project, cols = await setup(client, app)
    other = await new_project(client, owner, "Other")
    other_cols = {
        c["kind"]: c["id"] for c in (await get_board(client, owner, other["id"]))["columns"]
    }
    assert set(other_cols.values()).isdisjoint(cols.values())
    await new_task(client, owner, project["id"], "mine")
    t = await new_task(client, owner, other["id"], "theirs")
    assert t["position"] == 0 and t["column_id"] == other_cols["todo"]
    assert titles(await get_board(client, owner, other["id"]))["To do"] == ["theirs"]

    # A column or task of one project is unknown under the other.
    r = await client.post(
        owner.url(f"/projects/{project['id']}/tasks"),
        json={"title": "x", "column_id": other_cols["todo"]},
        headers=owner.headers,
    )
    assert r.status_code in (404, 422), r.text
    r = await move(client, owner, project["id"], t["id"], cols["todo"], 0)
    assert_problem(r, 404)
    mine = (await get_board(client, owner, project["id"]))["columns"][0]["tasks"][0]
    r = await move(client, owner, project["id"], mine["id"], other_cols["done"], 0)
    assert r.status_code in (404, 422), r.text
    r = await client.patch(
        owner.url(f"/projects/{project['id']}/tasks/{mine['id']}"),
        json={"column_id": other_cols["done"]},
        headers=owner.headers,
    )
    assert r.status_code in (404, 422), r.text
    r = await client.patch(
        owner.url(f"/projects/{project['id']}/board/columns/{other_cols['done']}"),
        json={"name": "Hijacked"},
        headers=owner.headers,
    )
    assert_problem(r, 404)
    assert titles(await get_board(client, owner, project["id"]))["To do"] == ["mine"]
    assert titles(await get_board(client, owner, other["id"])) == {
        "To do": ["theirs"],
        "In progress": [],
        "Done": [],
    }


# ------------------------------------------------------------------ columns


async def test_add_columns_at_the_end_or_at_a_position(client, app):
    owner, project, _cols = await setup(client, app)
    pid = project["id"]
    review = await new_column(client, owner, pid, "Review")
    assert review["position"] == 3
    assert review["kind"] == "custom"
    backlog = await new_column(client, owner, pid, "Backlog", position=0)
    assert backlog["position"] == 0
    qa = await new_column(client, owner, pid, "QA", position=3, kind="in_progress")
    assert qa["position"] == 3 and qa["kind"] == "in_progress"
    far = await new_column(client, owner, pid, "Far", position=99)

    board = await get_board(client, owner, pid)
    assert_consistent(board)
    names = [c["name"] for c in board["columns"]]
    assert names == ["Backlog", "To do", "In progress", "QA", "Done", "Review", "Far"]
    assert board["columns"][-1]["id"] == far["id"]
    assert far["position"] == 6

    for bad in (
        {"name": ""},
        {"name": "x" * 101},
        {"name": "A", "kind": "weird"},
        {"name": "A", "position": -1},
    ):
        r = await client.post(
            owner.url(f"/projects/{pid}/board/columns"), json=bad, headers=owner.headers
        )
        assert_problem(r, 422)
    assert len((await get_board(client, owner, pid))["columns"]) == 7


async def test_rename_and_reorder_columns(client, app):
    owner, project, cols = await setup(client, app)
    pid = project["id"]
    review = await new_column(client, owner, pid, "Review")
    base = owner.url(f"/projects/{pid}/board/columns")

    r = await client.patch(
        f"{base}/{cols['in_progress']}", json={"name": "Doing"}, headers=owner.headers
    )
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "Doing" and r.json()["position"] == 1

    r = await client.patch(f"{base}/{cols['done']}", json={"position": 0}, headers=owner.headers)
    assert r.status_code == 200, r.text
    assert r.json()["position"] == 0
    board = await get_board(client, owner, pid)
    assert_consistent(board)
    assert [c["name"] for c in board["columns"]] == ["Done", "To do", "Doing", "Review"]

    r = await client.patch(
        f"{base}/{cols['done']}", json={"position": 50, "name": "Finished"}, headers=owner.headers
    )
    assert r.status_code == 200, r.text
    assert r.json()["position"] == 3
    board = await get_board(client, owner, pid)
    assert_consistent(board)
    assert [c["name"] for c in board["columns"]] == ["To do", "Doing", "Review", "Finished"]

    r = await client.patch(f"{base}/{review['id']}", json={"position": 1}, headers=owner.headers)
    assert r.status_code == 200, r.text
    board = await get_board(client, owner, pid)
    assert_consistent(board)
    assert [c["name"] for c in board["columns"]] == ["To do", "Review", "Doing", "Finished"]

    for bad in ({"name": ""}, {"name": "x" * 101}, {"position": -1}):
        assert_problem(
            await client.patch(f"{base}/{review['id']}", json=bad, headers=owner.headers), 422
        )
    assert_problem(
        await client.patch(f"{base}/{uuid.uuid4()}", json={"name": "X"}, headers=owner.headers), 404
    )


async def test_one_todo_and_one_done_column_per_board(client, app):
    owner, project, cols = await setup(client, app)
    pid = project["id"]
    base = owner.url(f"/projects/{pid}/board/columns")
    for kind in ("todo", "done"):
        r = await client.post(
            base, json={"name": f"Another {kind}", "kind": kind}, headers=owner.headers
        )
        assert_problem(r, 409, "column_kind_taken")
    assert len((await get_board(client, owner, pid))["columns"]) == 3
    # Other kinds may repeat.
    await new_column(client, owner, pid, "Doing 2", kind="in_progress")
    await new_column(client, owner, pid, "Custom 1")
    await new_column(client, owner, pid, "Custom 2", kind="custom")
    # Once the Done column is gone a new one may be added.
    r = await client.delete(f"{base}/{cols['done']}", headers=owner.headers)
    assert r.status_code == 204, r.text
    done = await new_column(client, owner, pid, "Shipped", kind="done")
    r = await client.post(base, json={"name": "Twice", "kind": "done"}, headers=owner.headers)
    assert_problem(r, 409, "column_kind_taken")
    board = await get_board(client, owner, pid)
    assert_consistent(board)
    assert [c["kind"] for c in board["columns"]].count("done") == 1
    assert board["columns"][-1]["id"] == done["id"]
    # Another board is not affected by this one's columns.
    other = await new_project(client, owner, "Other")
    assert [c["kind"] for c in (await get_board(client, owner, other["id"]))["columns"]] == [
        "todo",
        "in_progress",
        "done",
    ]


async def test_delete_columns(client, app):
    owner, project, cols = await setup(client, app)
    pid = project["id"]
    base = owner.url(f"/projects/{pid}/board/columns")
    await new_column(client, owner, pid, "Review", position=2)
    task = await new_task(client, owner, pid, "busy", column_id=cols["in_progress"])

    r = await client.delete(f"{base}/{cols['in_progress']}", headers=owner.headers)
    assert_problem(r, 409, "column_not_empty")
    board = await get_board(client, owner, pid)
    assert [c["name"] for c in board["columns"]] == ["To do", "In progress", "Review", "Done"]
    assert titles(board)["In progress"] == ["busy"]

    r = await move(client, owner, pid, task["id"], cols["todo"], 0)
    assert r.status_code == 200, r.text
    r = await client.delete(f"{base}/{cols['in_progress']}", headers=owner.headers)
    assert r.status_code == 204, r.text
    board = await get_board(client, owner, pid)
    assert_consistent(board)
    assert [c["name"] for c in board["columns"]] == ["To do", "Review", "Done"]
    assert_problem(await client.delete(f"{base}/{cols['in_progress']}", headers=owner.headers), 404)


async def test_concurrent_column_reorders_keep_positions_dense(client, app):
    owner, project, cols = await setup(client, app)
    pid = project["id"]
    base = owner.url(f"/projects/{pid}/board/columns")
    extra = [await new_column(client, owner, pid, f"C{i}") for i in range(3)]
    rng = random.Random(7)
    movable = [*cols.values(), *(c["id"] for c in extra)]
    for _ in range(4):
        results = await asyncio.gather(
            *(
                client.patch(
                    f"{base}/{column_id}",
                    json={"position": rng.randrange(0, 7)},
                    headers=owner.headers,
                )
                for column_id in rng.sample(movable, 4)
            )
        )
        assert [r.status_code for r in results] == [200] * 4, [r.text for r in results]
        board = await get_board(client, owner, pid)
        assert_consistent(board)
        assert sorted(c["id"] for c in board["columns"]) == sorted(movable)


async def test_concurrent_column_additions_keep_positions_dense(client, app):
    owner, project, _cols = await setup(client, app)
    pid = project["id"]
    base = owner.url(f"/projects/{pid}/board/columns")
    results = await asyncio.gather(
        *(
            client.post(
                base,
                json={"name": f"N{i}", **({"position": 0} if i % 2 else {})},
                headers=owner.headers,
            )
            for i in range(4)
        )
    )
    assert [r.status_code for r in results] == [201] * 4, [r.text for r in results]
    board = await get_board(client, owner, pid)
    assert_consistent(board)
    assert sorted(c["name"] for c in board["columns"]) == sorted(
        ["To do", "In progress", "Done", "N0", "N1", "N2", "N3"]
    )


async def test_concurrent_done_columns_give_one_column_and_conflicts(client, app):
    owner, project, cols = await setup(client, app)
    pid = project["id"]
    base = owner.url(f"/projects/{pid}/board/columns")
    r = await client.delete(f"{base}/{cols['done']}", headers=owner.headers)
    assert r.status_code == 204, r.text
    results = await asyncio.gather(
        *(
            client.post(base, json={"name": f"Done {i}", "kind": "done"}, headers=owner.headers)
            for i in range(3)
        )
    )
    assert sorted(r.status_code for r in results) == [201, 409, 409], [r.text for r in results]
    for r in results:
        if r.status_code == 409:
            assert_problem(r, 409, "column_kind_taken")
    board = await get_board(client, owner, pid)
    assert_consistent(board)
    assert [c["kind"] for c in board["columns"]].count("done") == 1


# ------------------------------------------------------------------ tasks


async def test_task_fields_and_defaults(client, app):
    owner, project, cols = await setup(client, app)
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
    owner, project, cols = await setup(client, app)
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
    owner, project, _cols = await setup(client, app)
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
    owner, project, cols = await setup(client, app)
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
    owner, project, _cols = await setup(client, app)
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
    owner, project, cols = await setup(client, app)
    pid = project["id"]
    tasks = {n: await new_task(client, owner, pid, n) for n in "abcdef"}

    async def mv(name: str, kind: str, position: int) -> tuple[dict, dict[str, list[str]]]:
        r = await move(client, owner, pid, tasks[name]["id"], cols[kind], position)
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
    r = await move(client, owner, pid, tasks["a"]["id"], str(uuid.uuid4()), 0)
    assert r.status_code in (404, 422), r.text
    assert titles(await get_board(client, owner, pid))["To do"] == ["f", "a2"]


async def test_deleting_a_task_closes_the_gap(client, app):
    owner, project, _cols = await setup(client, app)
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
    owner, project, cols = await setup(client, app)
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

    r = await move(client, owner, pid, created[4]["id"], cols["todo"], 0)
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


# ------------------------------------------------------------------ concurrency


async def column_with(http, owner, pid: str, column_id: str, n: int, prefix: str) -> list[str]:
    return [
        (await new_task(http, owner, pid, f"{prefix}{i}", column_id=column_id))["id"]
        for i in range(n)
    ]


async def test_concurrent_moves_in_one_column(client, app):
    owner, project, cols = await setup(client, app)
    pid = project["id"]
    ids = await column_with(client, owner, pid, cols["todo"], 6, "t")
    a, b = ids[0], ids[5]
    results = await asyncio.gather(
        move(client, owner, pid, a, cols["todo"], 5), move(client, owner, pid, b, cols["todo"], 0)
    )
    assert [r.status_code for r in results] == [200, 200], [r.text for r in results]
    board = await get_board(client, owner, pid)
    assert_consistent(board)
    # Either order of the two moves gives the same result.
    assert ids_by_column(board)[cols["todo"]] == [b, *ids[1:5], a]

    rng = random.Random(1234)
    for _ in range(12):
        picks = rng.sample(ids, 5)
        results = await asyncio.gather(
            *(move(client, owner, pid, t, cols["todo"], rng.randrange(0, 7)) for t in picks)
        )
        assert [r.status_code for r in results] == [200] * 5, [r.text for r in results]
        board = await get_board(client, owner, pid)
        assert_consistent(board)
        assert sorted(ids_by_column(board)[cols["todo"]]) == sorted(ids)


async def test_concurrent_moves_between_columns(client, app):
    owner, project, cols = await setup(client, app)
    pid = project["id"]
    todo = await column_with(client, owner, pid, cols["todo"], 6, "t")
    doing = await column_with(client, owner, pid, cols["in_progress"], 6, "i")
    everything = sorted(todo + doing)

    results = await asyncio.gather(
        move(client, owner, pid, todo[0], cols["in_progress"], 0),
        move(client, owner, pid, todo[1], cols["in_progress"], 6),
        move(client, owner, pid, doing[0], cols["todo"], 0),
        move(client, owner, pid, doing[5], cols["todo"], 3),
        move(client, owner, pid, todo[2], cols["todo"], 5),
        move(client, owner, pid, doing[2], cols["done"], 0),
    )
    assert [r.status_code for r in results] == [200] * 6, [r.text for r in results]
    board = await get_board(client, owner, pid)
    assert_consistent(board)
    by = ids_by_column(board)
    assert sorted(by[cols["todo"]]) == sorted([*todo[2:], doing[0], doing[5]])
    assert sorted(by[cols["in_progress"]]) == sorted([todo[0], todo[1], *doing[1:2], *doing[3:5]])
    assert by[cols["done"]] == [doing[2]]

    # Random rounds, including the same task dragged by two people at once.
    rng = random.Random(99)
    kinds = ["todo", "in_progress", "done"]
    for round_ in range(15):
        picks = [rng.choice(everything) for _ in range(8)]
        if round_ % 2:
            picks[1] = picks[0]
        results = await asyncio.gather(
            *(
                move(client, owner, pid, t, cols[rng.choice(kinds)], rng.randrange(0, 8))
                for t in picks
            )
        )
        assert [r.status_code for r in results] == [200] * 8, [r.text for r in results]
        board = await get_board(client, owner, pid)
        assert_consistent(board)
        assert sorted(t for ts in ids_by_column(board).values() for t in ts) == everything
        counts = (
            await client.get(owner.url(f"/projects/{pid}/stats"), headers=owner.headers)
        ).json()
        assert counts["task_count"] == 12


async def test_the_same_task_dragged_to_two_columns_at_once(client, app):
    """Two people drag one card to different columns while a third moves another card
    between those columns: every request answers, the card ends up in exactly one place."""
    owner, project, cols = await setup(client, app)
    pid = project["id"]
    cards = await column_with(client, owner, pid, cols["todo"], 3, "t")
    others = await column_with(client, owner, pid, cols["in_progress"], 3, "i")
    everything = sorted(cards + others)
    for i in range(12):
        card, other = cards[i % 3], others[i % 3]
        r = await move(client, owner, pid, card, cols["todo"], 0)
        assert r.status_code == 200, r.text
        board = await get_board(client, owner, pid)
        other_col = next(c for c, ts in ids_by_column(board).items() if other in ts)
        results = await asyncio.gather(
            move(client, owner, pid, card, cols["in_progress"], 0),
            move(client, owner, pid, card, cols["done"], 0),
            move(
                client,
                owner,
                pid,
                other,
                cols["done"] if other_col == cols["in_progress"] else cols["in_progress"],
                1,
            ),
        )
        assert [r.status_code for r in results] == [200] * 3, [r.text for r in results]
        board = await get_board(client, owner, pid)
        assert_consistent(board)
        placed = [c for c, ts in ids_by_column(board).items() if card in ts]
        assert len(placed) == 1 and placed[0] in (cols["in_progress"], cols["done"])
        assert sorted(t for ts in ids_by_column(board).values() for t in ts) == everything


async def test_concurrent_creates_in_one_column(client, app):
    owner, project, cols = await setup(client, app)
    pid = project["id"]
    results = await asyncio.gather(
        *(
            client.post(
                owner.url(f"/projects/{pid}/tasks"), json={"title": f"c{i}"}, headers=owner.headers
            )
            for i in range(10)
        )
    )
    assert [r.status_code for r in results] == [201] * 10, [r.text for r in results]
    board = await get_board(client, owner, pid)
    assert_consistent(board)
    assert sorted(titles(board)["To do"]) == sorted(f"c{i}" for i in range(10))
    assert sorted(r.json()["position"] for r in results) == list(range(10))

    # At the front, and into another column, all at once.
    results = await asyncio.gather(
        *(
            client.post(
                owner.url(f"/projects/{pid}/tasks"),
                json={
                    "title": f"f{i}",
                    "position": 0,
                    **({"column_id": cols["done"]} if i % 2 else {}),
                },
                headers=owner.headers,
            )
            for i in range(8)
        )
    )
    assert [r.status_code for r in results] == [201] * 8, [r.text for r in results]
    board = await get_board(client, owner, pid)
    assert_consistent(board)
    assert len(titles(board)["To do"]) == 14
    assert len(titles(board)["Done"]) == 4


async def test_concurrent_creates_moves_and_deletes(client, app):
    owner, project, cols = await setup(client, app)
    pid = project["id"]
    todo = await column_with(client, owner, pid, cols["todo"], 6, "t")
    doing = await column_with(client, owner, pid, cols["in_progress"], 3, "i")
    results = await asyncio.gather(
        client.delete(owner.url(f"/projects/{pid}/tasks/{todo[1]}"), headers=owner.headers),
        client.delete(owner.url(f"/projects/{pid}/tasks/{doing[0]}"), headers=owner.headers),
        move(client, owner, pid, todo[0], cols["todo"], 4),
        move(client, owner, pid, todo[5], cols["in_progress"], 0),
        move(client, owner, pid, doing[2], cols["todo"], 0),
        client.post(
            owner.url(f"/projects/{pid}/tasks"), json={"title": "new"}, headers=owner.headers
        ),
        client.post(
            owner.url(f"/projects/{pid}/tasks"),
            json={"title": "new2", "column_id": cols["in_progress"], "position": 0},
            headers=owner.headers,
        ),
    )
    assert [r.status_code for r in results] == [204, 204, 200, 200, 200, 201, 201], [
        r.text for r in results
    ]
    board = await get_board(client, owner, pid)
    assert_consistent(board)
    remaining = {t for t in todo + doing if t not in (todo[1], doing[0])}
    on_board = {t for ts in ids_by_column(board).values() for t in ts}
    assert remaining <= on_board
    assert len(on_board) == len(remaining) + 2
    assert todo[1] not in on_board and doing[0] not in on_board


# ------------------------------------------------------------------ the ladder


@dataclass
class World:
    owner: Actor
    member: Actor  # project member (team role member): may work on tasks, not manage
    rep: Actor  # owns the project's client (team role sales_rep): reads, may not write tasks
    stranger: Actor  # superadmin of another team
    ids: dict[str, str]
    foreign: dict[str, str]


async def world(http, app) -> World:
    owner = await make_actor(app)
    member = await make_actor(app, team_id=owner.team_id, role=Role.member)
    rep = await make_actor(app, team_id=owner.team_id, role=Role.sales_rep)
    stranger = await make_actor(app)
    r = await http.post(
        owner.url("/clients"),
        json={"name": "Acme", "currency": "EUR", "owner_id": str(rep.user_id)},
        headers=owner.headers,
    )
    assert r.status_code == 201, r.text
    project = await new_project(http, owner, "Site", client_id=r.json()["id"])
    r = await http.post(
        owner.url(f"/projects/{project['id']}/members"),
        json={"user_id": str(member.user_id), "role": "member"},
        headers=owner.headers,
    )
    assert r.status_code == 201, r.text
    columns = {c["kind"]: c["id"] for c in (await get_board(http, owner, project["id"]))["columns"]}
    empty = await new_column(http, owner, project["id"], "Empty")
    task = await new_task(http, owner, project["id"], "Task")

    theirs = await new_project(http, stranger, "Theirs")
    their_cols = {
        c["kind"]: c["id"] for c in (await get_board(http, stranger, theirs["id"]))["columns"]
    }
    their_task = await new_task(http, stranger, theirs["id"], "Theirs")
    return World(
        owner=owner,
        member=member,
        rep=rep,
        stranger=stranger,
        ids={
            "p": project["id"],
            "task": task["id"],
            "col": empty["id"],
            "done": columns["done"],
        },
        foreign={"p": theirs["id"], "task": their_task["id"], "col": their_cols["in_progress"]},
    )


# (name, method, path, body, who gets 403 (None: every role may read it), success status)
LADDER = [
    ("board", "GET", "/projects/{p}/board", None, None, 200),
    ("add_column", "POST", "/projects/{p}/board/columns", lambda i: {"name": "New"}, "member", 201),
    (
        "patch_column",
        "PATCH",
        "/projects/{p}/board/columns/{col}",
        lambda i: {"name": "Renamed", "position": 0},
        "member",
        200,
    ),
    ("delete_column", "DELETE", "/projects/{p}/board/columns/{col}", None, "member", 204),
    ("list_tasks", "GET", "/projects/{p}/tasks", None, None, 200),
    ("create_task", "POST", "/projects/{p}/tasks", lambda i: {"title": "New"}, "rep", 201),
    ("get_task", "GET", "/projects/{p}/tasks/{task}", None, None, 200),
    (
        "patch_task",
        "PATCH",
        "/projects/{p}/tasks/{task}",
        lambda i: {"title": "Renamed"},
        "rep",
        200,
    ),
    ("delete_task", "DELETE", "/projects/{p}/tasks/{task}", None, "rep", 204),
    (
        "move_task",
        "POST",
        "/projects/{p}/tasks/{task}/move",
        lambda i: {"column_id": i["done"], "position": 0},
        "rep",
        200,
    ),
]


async def call(http, who, method: str, url: str, body):
    headers = who.headers if isinstance(who, Actor) else who
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
    before = await get_board(client, w.owner, w.ids["p"])

    assert_problem(await call(client, {}, method, url, payload), 401)
    assert_problem(await call(client, bearer("garbage"), method, url, payload), 401)

    if forbidden is not None:
        assert_problem(await call(client, getattr(w, forbidden), method, url, payload), 403)

    # Another team's path; another team's project; another team's task or column.
    assert_problem(await call(client, w.stranger, method, url, payload), 404)
    assert_problem(await call(client, w.owner, method, w.stranger.url(own_path), payload), 404)
    theirs = path.format(**{**w.ids, "p": w.foreign["p"]})
    assert_problem(await call(client, w.owner, method, w.owner.url(theirs), payload), 404)
    assert_problem(await call(client, w.stranger, method, w.owner.url(theirs), payload), 404)
    if "{task}" in path or "{col}" in path:
        sub = path.format(**{**w.ids, "task": w.foreign["task"], "col": w.foreign["col"]})
        assert_problem(await call(client, w.owner, method, w.owner.url(sub), payload), 404)
    # Nothing the refused calls did shows on either board.
    assert await get_board(client, w.owner, w.ids["p"]) == before
    their_board = await get_board(client, w.stranger, w.foreign["p"])
    assert_consistent(their_board)
    assert [t["title"] for c in their_board["columns"] for t in c["tasks"]] == ["Theirs"]
    assert [c["name"] for c in their_board["columns"]] == ["To do", "In progress", "Done"]

    r = await call(client, w.owner, method, url, payload)
    assert r.status_code == success, r.text
    if success == 204:
        assert r.content == b""
    assert_consistent(await get_board(client, w.owner, w.ids["p"]))

"""Boards and their columns: every project's own board, columns added, renamed, reordered
and deleted with gap-free positions (also when changed concurrently), one To do and one
Done column per board."""

import asyncio
import random
import uuid

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

# ------------------------------------------------------------------ the board


async def test_board_lists_columns_and_their_tasks_in_order(client, app):
    owner, project, cols = await project_board(client, app)
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
    owner, project, cols = await project_board(client, app)
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
    r = await move_task(client, owner, project["id"], t["id"], cols["todo"], 0)
    assert_problem(r, 404)
    mine = (await get_board(client, owner, project["id"]))["columns"][0]["tasks"][0]
    r = await move_task(client, owner, project["id"], mine["id"], other_cols["done"], 0)
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
    owner, project, _cols = await project_board(client, app)
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
    owner, project, cols = await project_board(client, app)
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
    owner, project, cols = await project_board(client, app)
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
    owner, project, cols = await project_board(client, app)
    pid = project["id"]
    base = owner.url(f"/projects/{pid}/board/columns")
    await new_column(client, owner, pid, "Review", position=2)
    task = await new_task(client, owner, pid, "busy", column_id=cols["in_progress"])

    r = await client.delete(f"{base}/{cols['in_progress']}", headers=owner.headers)
    assert_problem(r, 409, "column_not_empty")
    board = await get_board(client, owner, pid)
    assert [c["name"] for c in board["columns"]] == ["To do", "In progress", "Review", "Done"]
    assert titles(board)["In progress"] == ["busy"]

    r = await move_task(client, owner, pid, task["id"], cols["todo"], 0)
    assert r.status_code == 200, r.text
    r = await client.delete(f"{base}/{cols['in_progress']}", headers=owner.headers)
    assert r.status_code == 204, r.text
    board = await get_board(client, owner, pid)
    assert_consistent(board)
    assert [c["name"] for c in board["columns"]] == ["To do", "Review", "Done"]
    assert_problem(await client.delete(f"{base}/{cols['in_progress']}", headers=owner.headers), 404)


async def test_concurrent_column_reorders_keep_positions_dense(client, app):
    owner, project, cols = await project_board(client, app)
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
    owner, project, _cols = await project_board(client, app)
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
    owner, project, cols = await project_board(client, app)
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

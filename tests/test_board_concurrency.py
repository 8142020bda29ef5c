"""Boards under concurrent moves, creates and deletes: positions stay gap-free and every
task ends up in exactly one place, whatever order the requests land in."""

import asyncio
import random

from tests.factories.projects import (
    assert_consistent,
    get_board,
    ids_by_column,
    move_task,
    new_task,
    project_board,
    titles,
)

# ------------------------------------------------------------------ concurrency


async def column_with(http, owner, pid: str, column_id: str, n: int, prefix: str) -> list[str]:
    return [
        (await new_task(http, owner, pid, f"{prefix}{i}", column_id=column_id))["id"]
        for i in range(n)
    ]


async def test_concurrent_moves_in_one_column(client, app):
    owner, project, cols = await project_board(client, app)
    pid = project["id"]
    ids = await column_with(client, owner, pid, cols["todo"], 6, "t")
    a, b = ids[0], ids[5]
    results = await asyncio.gather(
        move_task(client, owner, pid, a, cols["todo"], 5),
        move_task(client, owner, pid, b, cols["todo"], 0),
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
            *(move_task(client, owner, pid, t, cols["todo"], rng.randrange(0, 7)) for t in picks)
        )
        assert [r.status_code for r in results] == [200] * 5, [r.text for r in results]
        board = await get_board(client, owner, pid)
        assert_consistent(board)
        assert sorted(ids_by_column(board)[cols["todo"]]) == sorted(ids)


async def test_concurrent_moves_between_columns(client, app):
    owner, project, cols = await project_board(client, app)
    pid = project["id"]
    todo = await column_with(client, owner, pid, cols["todo"], 6, "t")
    doing = await column_with(client, owner, pid, cols["in_progress"], 6, "i")
    everything = sorted(todo + doing)

    results = await asyncio.gather(
        move_task(client, owner, pid, todo[0], cols["in_progress"], 0),
        move_task(client, owner, pid, todo[1], cols["in_progress"], 6),
        move_task(client, owner, pid, doing[0], cols["todo"], 0),
        move_task(client, owner, pid, doing[5], cols["todo"], 3),
        move_task(client, owner, pid, todo[2], cols["todo"], 5),
        move_task(client, owner, pid, doing[2], cols["done"], 0),
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
                move_task(client, owner, pid, t, cols[rng.choice(kinds)], rng.randrange(0, 8))
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
    owner, project, cols = await project_board(client, app)
    pid = project["id"]
    cards = await column_with(client, owner, pid, cols["todo"], 3, "t")
    others = await column_with(client, owner, pid, cols["in_progress"], 3, "i")
    everything = sorted(cards + others)
    for i in range(12):
        card, other = cards[i % 3], others[i % 3]
        r = await move_task(client, owner, pid, card, cols["todo"], 0)
        assert r.status_code == 200, r.text
        board = await get_board(client, owner, pid)
        other_col = next(c for c, ts in ids_by_column(board).items() if other in ts)
        results = await asyncio.gather(
            move_task(client, owner, pid, card, cols["in_progress"], 0),
            move_task(client, owner, pid, card, cols["done"], 0),
            move_task(
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
    owner, project, cols = await project_board(client, app)
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
    owner, project, cols = await project_board(client, app)
    pid = project["id"]
    todo = await column_with(client, owner, pid, cols["todo"], 6, "t")
    doing = await column_with(client, owner, pid, cols["in_progress"], 3, "i")
    results = await asyncio.gather(
        client.delete(owner.url(f"/projects/{pid}/tasks/{todo[1]}"), headers=owner.headers),
        client.delete(owner.url(f"/projects/{pid}/tasks/{doing[0]}"), headers=owner.headers),
        move_task(client, owner, pid, todo[0], cols["todo"], 4),
        move_task(client, owner, pid, todo[5], cols["in_progress"], 0),
        move_task(client, owner, pid, doing[2], cols["todo"], 0),
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

"""Who may do what on a board: every board, column and task endpoint down the
401 -> 403 -> 404 -> success ladder, and nothing a refused call did shows on either board."""

from dataclasses import dataclass

import pytest

from app.core.permissions import Role
from tests.factories import Actor, make_actor
from tests.factories.clients import new_client
from tests.factories.projects import (
    add_member,
    assert_consistent,
    get_board,
    new_column,
    new_project,
    new_task,
)
from tests.ladder import ladder

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
    acme = await new_client(http, owner, "Acme", owner_id=str(rep.user_id))
    project = await new_project(http, owner, "Site", client_id=acme["id"])
    await add_member(http, owner, project["id"], member.user_id, "member")
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


@pytest.mark.parametrize(
    ("method", "path", "body", "forbidden", "success"),
    [entry[1:] for entry in LADDER],
    ids=[entry[0] for entry in LADDER],
)
async def test_ladder(client, app, method, path, body, forbidden, success):
    w = await world(client, app)
    before = await get_board(client, w.owner, w.ids["p"])
    # Another team's project; another team's task or column.
    foreign = [path.format(**{**w.ids, "p": w.foreign["p"]})]
    if "{task}" in path or "{col}" in path:
        foreign.append(path.format(**{**w.ids, "task": w.foreign["task"], "col": w.foreign["col"]}))

    async def unchanged() -> None:
        """Nothing the refused calls did shows on either board."""
        assert await get_board(client, w.owner, w.ids["p"]) == before
        their_board = await get_board(client, w.stranger, w.foreign["p"])
        assert_consistent(their_board)
        assert [t["title"] for c in their_board["columns"] for t in c["tasks"]] == ["Theirs"]
        assert [c["name"] for c in their_board["columns"]] == ["To do", "In progress", "Done"]

    await ladder(
        client,
        method,
        path.format(**w.ids),
        owner=w.owner,
        stranger=w.stranger,
        forbidden=getattr(w, forbidden) if forbidden else (),
        foreign_paths=foreign,
        json=body(w.ids) if body else None,
        unchanged=unchanged,
        ok=success,
    )
    assert_consistent(await get_board(client, w.owner, w.ids["p"]))

"""Projects with their members, boards, columns and tasks, made through the API; and the
small worlds most tests start from (a team with a project its member works on)."""

import uuid
from dataclasses import dataclass

from app.core.permissions import Role
from tests.factories.accounts import Actor, make_actor
from tests.factories.clients import new_client_project
from tests.helpers import list_all

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


# ------------------------------------------------------------------ projects and members


async def new_project(http, actor: Actor, name: str = "Website", **extra) -> dict:
    r = await http.post(actor.url("/projects"), json={"name": name, **extra}, headers=actor.headers)
    assert r.status_code == 201, r.text
    return r.json()


async def project_ids(http, actor: Actor, **params) -> set[str]:
    """The ids of every project the actor lists with `params`."""
    return {p["id"] for p in await list_all(http, actor, "/projects", **params)}


async def add_member(http, actor: Actor, project_id: str, user_id, role: str = "member") -> dict:
    """Put a team member on the project (`role`: member or manager)."""
    r = await http.post(
        actor.url(f"/projects/{project_id}/members"),
        json={"user_id": str(user_id), "role": role},
        headers=actor.headers,
    )
    assert r.status_code == 201, r.text
    return r.json()


async def add_to_project(http, owner: Actor, client_id: str, user_id, role: str = "member") -> str:
    """A project of the client (created by `owner`) with `user_id` as a project member."""
    project = await new_project(http, owner, f"Project {uuid.uuid4().hex[:6]}", client_id=client_id)
    await add_member(http, owner, project["id"], user_id, role)
    return project["id"]


# ------------------------------------------------------------------ boards and tasks


async def get_board(http, actor: Actor, project_id: str) -> dict:
    r = await http.get(actor.url(f"/projects/{project_id}/board"), headers=actor.headers)
    assert r.status_code == 200, r.text
    return r.json()


async def new_column(http, actor: Actor, project_id: str, name: str, **extra) -> dict:
    r = await http.post(
        actor.url(f"/projects/{project_id}/board/columns"),
        json={"name": name, **extra},
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


def move_task(http, actor: Actor, project_id: str, task_id: str, column_id: str, position: int):
    """The move request, not awaited: tests gather several to race them."""
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


# ------------------------------------------------------------------ worlds


async def project_board(http, app) -> tuple[Actor, dict, dict[str, str]]:
    """An owner, a project (named Board) and its default column ids by kind."""
    owner = await make_actor(app)
    project = await new_project(http, owner, "Board")
    board = await get_board(http, owner, project["id"])
    columns = {c["kind"]: c["id"] for c in board["columns"]}
    return owner, project, columns


@dataclass
class ProjectTeam:
    owner: Actor
    member: Actor
    client_id: str
    project_id: str


async def project_team(http, app, **client_extra) -> ProjectTeam:
    """An owner, a team member, and a client's project the member is on."""
    owner = await make_actor(app)
    member = await make_actor(app, team_id=owner.team_id, role=Role.member)
    client_id, project_id = await new_client_project(http, owner, **client_extra)
    await add_member(http, owner, project_id, member.user_id)
    return ProjectTeam(owner, member, client_id, project_id)


@dataclass
class TwoProjects:
    owner: Actor
    member: Actor
    p1: str
    p2: str


async def two_projects(http, app) -> TwoProjects:
    """An owner and a team member who is on both of two clients' projects (One, Two)."""
    owner = await make_actor(app)
    member = await make_actor(app, team_id=owner.team_id, role=Role.member)
    _, p1 = await new_client_project(http, owner, "One")
    _, p2 = await new_client_project(http, owner, "Two")
    for p in (p1, p2):
        await add_member(http, owner, p, member.user_id)
    return TwoProjects(owner, member, p1, p2)

"""Who may do what with projects: the role table, each role's own reach (sales reps by
client, project managers by project role, members by membership) and every project
endpoint down the 401 -> 403 -> 404 -> success ladder."""

from dataclasses import dataclass

import pytest

from app.core.permissions import Role
from tests.factories import Actor, make_actor
from tests.factories.clients import new_client
from tests.factories.contacts import new_contact
from tests.factories.projects import add_member, get_board, new_project, project_ids
from tests.helpers import assert_problem, list_all
from tests.ladder import ladder

ALL_READERS = {Role.superadmin, Role.org_manager, Role.sales_manager}


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
    contact = await new_contact(client, owner, "Carla", client_id=acme["id"])

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
    viewer = await new_contact(http, owner, "Viewer", client_id=acme["id"])
    newcomer = await new_contact(http, owner, "Newcomer", client_id=acme["id"])
    r = await http.post(
        owner.url(f"/projects/{project['id']}/viewers"),
        json={"contact_id": viewer["id"]},
        headers=owner.headers,
    )
    assert r.status_code == 201, r.text

    globex = await new_client(http, stranger, "Globex")
    theirs = await new_project(http, stranger, "Theirs", client_id=globex["id"])
    their_contact = await new_contact(http, stranger, "Theirs", client_id=globex["id"])
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


@pytest.mark.parametrize(
    ("method", "path", "body", "forbidden", "success"),
    [entry[1:] for entry in LADDER],
    ids=[entry[0] for entry in LADDER],
)
async def test_ladder(client, app, method, path, body, forbidden, success):
    w = await world(client, app)
    # Another team's project, and another team's member or contact under our project.
    foreign = []
    if "{" in path:
        foreign.append(path.format(**{**w.ids, "p": w.foreign["p"]}))
    if "{user}" in path or "{contact}" in path:
        foreign.append(
            path.format(**{**w.ids, "user": w.foreign["user"], "contact": w.foreign["contact"]})
        )
    await ladder(
        client,
        method,
        path.format(**w.ids),
        owner=w.owner,
        stranger=w.stranger,
        forbidden=getattr(w, forbidden) if forbidden else (),
        foreign_paths=foreign,
        json=body(w.ids) if body else None,
        ok=success,
    )

"""Who may do what with time entries: the role table (whose entries each role reads and
changes, who logs for others) and every endpoint down the 401 -> 403 -> 404 -> success
ladder."""

import uuid
from dataclasses import dataclass

import pytest

from app.core.permissions import Role
from tests.factories import Actor, make_actor
from tests.factories.clients import new_client_project
from tests.factories.projects import add_member
from tests.factories.time_tracking import log, post_entry
from tests.helpers import assert_problem, at, iso, list_ids
from tests.ladder import ladder

# ------------------------------------------------------------------ role table


@dataclass
class World:
    actors: dict[Role | str, Actor]
    p1: str
    p2: str
    entries: dict[Role | str, dict]


async def role_world(http, app) -> World:
    """p1: project_manager (as manager), member, sales_rep, sales_manager are members;
    p2: a second member ("member2"). Everyone logs one entry of its own."""
    owner = await make_actor(app)
    actors: dict[Role | str, Actor] = {Role.superadmin: owner}
    for role in (Role.org_manager, Role.sales_manager, Role.sales_rep, Role.project_manager):
        actors[role] = await make_actor(app, team_id=owner.team_id, role=role)
    actors[Role.member] = await make_actor(app, team_id=owner.team_id, role=Role.member)
    actors["member2"] = await make_actor(app, team_id=owner.team_id, role=Role.member)
    _, p1 = await new_client_project(http, owner, "One")
    _, p2 = await new_client_project(http, owner, "Two")
    await add_member(http, owner, p1, actors[Role.project_manager].user_id, "manager")
    for role in (Role.member, Role.sales_rep, Role.sales_manager):
        await add_member(http, owner, p1, actors[role].user_id)
    await add_member(http, owner, p2, actors["member2"].user_id)
    on = {
        Role.superadmin: p2,
        Role.org_manager: p2,
        Role.sales_manager: p1,
        Role.sales_rep: p1,
        Role.project_manager: p1,
        Role.member: p1,
        "member2": p2,
    }
    entries = {}
    for i, (who, project) in enumerate(on.items()):
        entries[who] = await log(http, actors[who], project, at(2, 8 + i), at(2, 9 + i))
    return World(actors, p1, p2, entries)


async def test_role_table_for_time_entries(client, app):
    w = await role_world(client, app)
    every = {e["id"] for e in w.entries.values()}
    on_p1 = {e["id"] for e in w.entries.values() if e["project_id"] == w.p1}
    expected = {
        Role.superadmin: every,
        Role.org_manager: every,
        Role.sales_manager: {w.entries[Role.sales_manager]["id"]},
        Role.sales_rep: {w.entries[Role.sales_rep]["id"]},
        Role.project_manager: on_p1,
        Role.member: {w.entries[Role.member]["id"]},
        "member2": {w.entries["member2"]["id"]},
    }
    for who, actor in w.actors.items():
        listed = await list_ids(client, actor, "/time-entries")
        assert set(listed) == expected[who], who
        assert len(listed) == len(set(listed))
        for owner_of, entry in w.entries.items():
            r = await client.get(actor.url(f"/time-entries/{entry['id']}"), headers=actor.headers)
            if entry["id"] in expected[who]:
                assert r.status_code == 200, (who, owner_of, r.text)
            else:
                assert_problem(r, 404)
            r = await client.get(
                actor.url(f"/time-entries/{entry['id']}/history"), headers=actor.headers
            )
            assert r.status_code == (200 if entry["id"] in expected[who] else 404), (who, r.text)

    pm = w.actors[Role.project_manager]
    member = w.actors[Role.member]
    member_entry = w.entries[Role.member]["id"]
    # project_manager reads time on its projects but only changes its own.
    for method, path, body in (
        ("PATCH", f"/time-entries/{member_entry}", {"note": "pm"}),
        ("DELETE", f"/time-entries/{member_entry}", None),
        ("POST", f"/time-entries/{member_entry}/move", {"project_id": w.p2, "reason": "x"}),
    ):
        r = await client.request(method, pm.url(path), json=body, headers=pm.headers)
        assert_problem(r, 403)
    r = await client.patch(
        pm.url(f"/time-entries/{w.entries[Role.project_manager]['id']}"),
        json={"note": "mine"},
        headers=pm.headers,
    )
    assert r.status_code == 200, r.text
    # Others' entries a caller cannot see are 404, not 403.
    for who in (Role.member, Role.sales_rep, Role.sales_manager, "member2"):
        actor = w.actors[who]
        r = await client.patch(
            actor.url(f"/time-entries/{w.entries[Role.superadmin]['id']}"),
            json={"note": "x"},
            headers=actor.headers,
        )
        assert_problem(r, 404)

    # Logging for someone else: managers only.
    for who in (Role.member, Role.sales_rep, Role.sales_manager, Role.project_manager):
        actor = w.actors[who]
        r = await post_entry(
            client, actor, w.p1, at(5, 9), at(5, 10), user_id=str(w.actors["member2"].user_id)
        )
        assert_problem(r, 403)
        r = await post_entry(client, actor, w.p1, at(5, 9), at(5, 10), user_id=str(member.user_id))
        if who is Role.member:
            # For itself, with its own id, is fine.
            assert r.status_code == 201, r.text
        else:
            assert_problem(r, 403)
    for i, who in enumerate((Role.superadmin, Role.org_manager)):
        actor = w.actors[who]
        r = await post_entry(
            client, actor, w.p1, at(6, 9 + i), at(6, 10 + i), user_id=str(member.user_id)
        )
        assert r.status_code == 201, r.text
        assert r.json()["user_id"] == str(member.user_id)
        # The member sees what was logged for it, and may change it.
        r2 = await client.patch(
            member.url(f"/time-entries/{r.json()['id']}"),
            json={"note": "ok"},
            headers=member.headers,
        )
        assert r2.status_code == 200, r2.text
        r2 = await client.patch(
            actor.url(f"/time-entries/{member_entry}"),
            json={"note": who.value},
            headers=actor.headers,
        )
        assert r2.status_code == 200, r2.text


# ------------------------------------------------------------------ ladder


LADDER = [
    # name, method, path, body, forbidden actor key (None: no role is refused), success
    ("list", "GET", "/time-entries", None, None, 200),
    ("create", "POST", "/time-entries", "create", "member", 201),
    ("get", "GET", "/time-entries/{e}", None, None, 200),
    ("update", "PATCH", "/time-entries/{e}", "patch", "pm", 200),
    ("delete", "DELETE", "/time-entries/{e}", None, "pm", 204),
    ("move", "POST", "/time-entries/{e}/move", "move", "pm", 200),
    ("history", "GET", "/time-entries/{e}/history", None, None, 200),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "forbidden", "success"),
    [row[1:] for row in LADDER],
    ids=[row[0] for row in LADDER],
)
async def test_ladder(client, app, method, path, body, forbidden, success):
    owner = await make_actor(app)
    member = await make_actor(app, team_id=owner.team_id, role=Role.member)
    pm = await make_actor(app, team_id=owner.team_id, role=Role.project_manager)
    _, p1 = await new_client_project(client, owner, "One")
    _, p2 = await new_client_project(client, owner, "Two")
    await add_member(client, owner, p1, pm.user_id, "manager")
    for p in (p1, p2):
        await add_member(client, owner, p, member.user_id)
    entry = await log(client, member, p1, at(2, 9), at(2, 10))
    stranger = await make_actor(app)
    _, foreign_project = await new_client_project(client, stranger, "Theirs")
    foreign = await log(client, stranger, foreign_project, at(2, 9), at(2, 10))
    bodies = {
        "create": {
            "project_id": p1,
            "started_at": iso(at(3, 9)),
            "ended_at": iso(at(3, 10)),
            "user_id": str(owner.user_id),  # a member may not log for the owner
        },
        "patch": {"note": "changed"},
        "move": {"project_id": p2, "reason": "wrong project"},
    }
    actors = {"member": member, "pm": pm}
    # Another team's entry under our team; an unknown one.
    foreign_paths = (
        [path.format(e=e) for e in (foreign["id"], uuid.uuid4())] if "{e}" in path else []
    )
    await ladder(
        client,
        method,
        path.format(e=entry["id"]),
        owner=owner,
        stranger=stranger,
        forbidden=actors[forbidden] if forbidden else (),
        foreign_paths=foreign_paths,
        json=bodies[body] if body else None,
        ok=success,
    )
    # Nothing of the other team changed.
    r = await client.get(stranger.url(f"/time-entries/{foreign['id']}"), headers=stranger.headers)
    assert r.status_code == 200, r.text
    assert r.json()["updated_at"] == foreign["updated_at"]

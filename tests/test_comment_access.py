"""The access ladder (401 -> 403 -> 404 -> success) over the team's comment endpoints and
the viewer role's PATCH; and which team roles read and write a project's comments."""

import pytest

from app.core.permissions import Role
from tests.factories import make_actor
from tests.factories.clients import new_client_project
from tests.factories.comments import comment, post, thread_of
from tests.factories.contacts import new_contact
from tests.factories.events import all_events
from tests.factories.projects import add_member, new_task
from tests.helpers import assert_problem
from tests.ladder import ladder


async def _world(http, app):
    owner = await make_actor(app, name="Olga Owner")
    member = await make_actor(app, team_id=owner.team_id, role=Role.member)
    client_id, project_id = await new_client_project(http, owner)
    await add_member(http, owner, project_id, member.user_id)
    task = await new_task(http, owner, project_id, "Build")
    contact = await new_contact(http, owner, "Ann", email="ann@example.com", client_id=client_id)
    r = await http.post(
        owner.url(f"/projects/{project_id}/viewers"),
        json={"contact_id": contact["id"]},
        headers=owner.headers,
    )
    assert r.status_code == 201 and r.json()["role"] == "viewer", r.text
    said = await comment(http, owner, f"/projects/{project_id}", "Hi", visibility="client")
    on_task = await comment(http, owner, f"/projects/{project_id}/tasks/{task['id']}", "Note")
    stranger = await make_actor(app)
    _, far_project = await new_client_project(http, stranger)
    far_task = await new_task(http, stranger, far_project, "Far")
    far = await comment(http, stranger, f"/projects/{far_project}", "Far away")
    ids = {
        "p": project_id,
        "t": task["id"],
        "c": said["id"],
        "tc": on_task["id"],
        "contact": contact["id"],
    }
    foreign = {"p": far_project, "t": far_task["id"], "c": far["id"], "tc": far["id"]}
    return owner, member, stranger, ids, foreign


CASES = [
    ("GET", "/projects/{p}/comments", None, False, 200),
    ("POST", "/projects/{p}/comments", {"body": "More"}, False, 201),
    ("PATCH", "/projects/{p}/comments/{c}", {"body": "Edited"}, "not_comment_author", 200),
    ("DELETE", "/projects/{p}/comments/{c}", None, "not_comment_author", 204),
    ("GET", "/projects/{p}/tasks/{t}/comments", None, False, 200),
    ("POST", "/projects/{p}/tasks/{t}/comments", {"body": "More"}, False, 201),
    ("PATCH", "/projects/{p}/tasks/{t}/comments/{tc}", {"body": "E"}, "not_comment_author", 200),
    ("DELETE", "/projects/{p}/tasks/{t}/comments/{tc}", None, "not_comment_author", 204),
    ("PATCH", "/projects/{p}/viewers/{contact}", {"role": "collaborator"}, "forbidden", 200),
]


@pytest.mark.parametrize(("method", "path", "body", "refused", "ok"), CASES)
async def test_ladder(client, app, method, path, body, refused, ok):
    owner, member, stranger, ids, foreign = await _world(client, app)
    # Another team's project, task or comment named under ours: a 404 each.
    foreign_paths = [
        path.format(**{**ids, key: foreign[key]})
        for key in ("p", "t", "c", "tc")
        if "{" + key + "}" in path
    ]
    await ladder(
        client,
        method,
        path.format(**ids),
        owner=owner,
        stranger=stranger,
        forbidden=member if refused else (),
        forbidden_code=refused or None,
        foreign_paths=foreign_paths,
        json=body,
        ok=ok,
    )


async def test_which_roles_read_and_write_a_projects_comments(client, app):
    owner, member, _, ids, _ = await _world(client, app)
    outsider = await make_actor(app, team_id=owner.team_id, role=Role.member)
    sales = await make_actor(app, team_id=owner.team_id, role=Role.sales_manager)
    thread = f"/projects/{ids['p']}"
    # A member of the project reads and writes, internal notes included.
    assert [c["body"] for c in await thread_of(client, member, thread)] == ["Hi"]
    await comment(client, member, thread, "internal: noted")
    # A member not on it: the project is not there (404), for reading and writing.
    r = await client.get(outsider.url(f"{thread}/comments"), headers=outsider.headers)
    assert_problem(r, 404)
    assert_problem(await post(client, outsider, thread, "Hi"), 404)
    # A role that reads every project writes on each.
    await comment(client, sales, thread, "From sales", visibility="client")
    assert len(await thread_of(client, owner, thread)) == 3
    # Only a manager deletes another's comment: the project member may not.
    [said, _, _] = await thread_of(client, owner, thread)
    r = await client.delete(member.url(f"{thread}/comments/{said['id']}"), headers=member.headers)
    assert_problem(r, 403, "not_comment_author")

    # The team's event record follows the same rule: the project's readers hear every
    # comment (internal ones too), the member not on it none.
    bodies = ["Hi", "Note", "internal: noted", "From sales"]
    for reader in (owner, member, sales):
        events = await all_events(client, reader, types="comment.*")
        assert [e["data"]["body"] for e in events] == bodies
    assert await all_events(client, outsider, types="comment.*") == []

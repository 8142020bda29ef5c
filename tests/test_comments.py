"""Project conversations: who reads and writes which comments (the visibility matrix),
editing and deleting, tombstones, the rate limit, and the events comments record."""

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import time_machine
from sqlalchemy import text

from app.auth.service import portal_context_for_token
from app.core.permissions import Role
from app.portal.views import event_views
from tests.factories import make_actor
from tests.factories.clients import new_client, new_client_project
from tests.factories.comments import comment, conversation, post, set_role, thread_of
from tests.factories.events import all_events
from tests.factories.portal import portal_contact, sign_in
from tests.factories.projects import add_member
from tests.factories.webhooks import add_endpoint
from tests.helpers import assert_problem


async def test_a_thread_as_the_team_and_as_the_portal_read_it(client, app, mailbox, run_jobs):
    talk = await conversation(client, app, mailbox, run_jobs)
    owner, carl = talk.owner, talk.carl
    shown = await comment(client, owner, talk.on_a, "Kick-off **Monday**", visibility="client")
    hidden = await comment(client, owner, talk.on_a, "internal: they pay late")
    asked = await comment(client, carl, talk.on_task, "Which *fonts*?")

    assert shown["visibility"] == "client" and hidden["visibility"] == "internal"  # default
    assert shown["body"] == "Kick-off **Monday**"
    assert shown["body_html"] == "<p>Kick-off <strong>Monday</strong></p>\n"
    assert shown["author"] == {"type": "user", "id": str(owner.user_id), "name": "Olga Owner"}
    assert shown["deleted"] is False and shown["edited_at"] is None
    assert shown["task_id"] is None and shown["project_id"] == talk.a
    assert asked["author"] == {"type": "contact", "id": carl.contact_id, "name": "Carl"}
    assert asked["visibility"] == "client" and asked["task_id"] == talk.task

    # The team reads everything; each thread holds its own comments, oldest first.
    assert [c["id"] for c in await thread_of(client, owner, talk.on_a)] == [
        shown["id"],
        hidden["id"],
    ]
    [on_task] = await thread_of(client, owner, talk.on_task)
    assert on_task["id"] == asked["id"] and on_task["author"]["id"] == carl.contact_id

    # Contacts (collaborator or viewer) read client comments only; no team member's id.
    for user in (carl, talk.vera):
        [seen] = await thread_of(client, user, talk.on_a)
        assert seen["id"] == shown["id"]
        assert seen["author"] == {"type": "user", "id": None, "name": "Olga Owner"}
        assert seen["body_html"] == shown["body_html"]
        assert [c["id"] for c in await thread_of(client, user, talk.on_task)] == [asked["id"]]


async def test_an_internal_comment_never_reaches_a_contact(client, app, mailbox, run_jobs):
    """List, counts, the portal's event views, emails (even when it mentions the contact);
    the team's webhooks carry it with its `visibility`, for any filter of their own."""
    talk = await conversation(client, app, mailbox, run_jobs)
    owner, carl = talk.owner, talk.carl
    endpoint = await add_endpoint(client, owner, event_types=["comment.created"])
    await comment(client, owner, talk.on_task, "Ready", visibility="client")
    note = await comment(
        client, owner, talk.on_task, "internal: @[Carl] overran", visibility="internal"
    )
    await comment(client, owner, talk.on_a, "internal: budget")
    async with app.state.db.engine.begin() as conn:
        bodies = (
            await conn.execute(
                text("SELECT body FROM webhook_delivery WHERE endpoint_id = :e ORDER BY id"),
                {"e": endpoint["id"]},
            )
        ).scalars()
        sent = [json.loads(b)["data"] for b in bodies]
    assert [(d["visibility"], d["body"]) for d in sent] == [
        ("client", "Ready"),
        ("internal", "internal: @[Carl] overran"),
        ("internal", "internal: budget"),
    ]
    # (The endpoint goes before the worker runs: its address answers nobody here.)
    r = await client.delete(
        owner.url(f"/webhook-endpoints/{endpoint['id']}"), headers=owner.headers
    )
    assert r.status_code == 204, r.text
    await run_jobs()

    for user in (carl, talk.vera):
        assert [c["body"] for c in await thread_of(client, user, talk.on_task)] == ["Ready"]
        assert await thread_of(client, user, talk.on_a) == []
        r = await client.get(user.url(f"/projects/{talk.a}"), headers=user.headers)
        assert r.json()["comment_count"] == 1  # the client comment, on the task
        r = await client.get(user.url(f"/projects/{talk.a}/tasks"), headers=user.headers)
        assert [t["comment_count"] for t in r.json()["data"]] == [1]
        # Its id is no door either: a 404 as for a missing comment.
        r = await client.patch(
            user.url(f"{talk.on_task}/comments/{note['id']}"),
            json={"body": "x"},
            headers=user.headers,
        )
        assert_problem(r, 404 if user is carl else 403)
    assert not [m for m in mailbox.messages if "carl@" in str(m["To"])]
    # Nor its CSV: the portal's export of a thread is the portal's list.
    for thread, bodies in ((talk.on_task, ["Ready"]), (talk.on_a, [])):
        r = await client.get(
            carl.url(f"{thread}/comments"), params={"format": "csv"}, headers=carl.headers
        )
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        assert [row["body"] for row in csv.DictReader(io.StringIO(r.text))] == bodies
        assert "internal" not in r.text

    # The team's record has all three; a portal reading of the same rows keeps one.
    events = await all_events(client, owner, types="comment.*")
    assert [e["data"]["visibility"] for e in events] == ["client", "internal", "internal"]
    async with app.state.db.sessionmaker() as session:
        ctx = await portal_context_for_token(session, app.state.secrets, carl.access_token)
        rows = (
            await session.execute(text("SELECT * FROM event WHERE object_type = 'comment'"))
        ).all()
        views = await event_views(session, ctx, app.state.settings, list(rows))
    assert [v.data["body"] for v in views] == ["Ready"]
    assert "internal" not in json.dumps([v.model_dump(mode="json") for v in views])


async def test_viewers_read_collaborators_write_and_only_on_their_projects(
    client, app, mailbox, run_jobs
):
    talk = await conversation(client, app, mailbox, run_jobs)
    owner, carl, vera, bea = talk.owner, talk.carl, talk.vera, talk.bea
    assert_problem(await post(client, vera, talk.on_a, "Hi"), 403, "not_a_collaborator")
    assert_problem(await post(client, vera, talk.on_task, "Hi"), 403, "not_a_collaborator")
    # A contact picks no visibility: unknown fields are refused.
    r = await post(client, carl, talk.on_a, "Hi", visibility="internal")
    assert_problem(r, 422)
    # Carl collaborates on A only: B, its thread and its comments are 404s to him.
    theirs = await comment(client, bea, f"/projects/{talk.b}", "Shop question")
    assert_problem(await post(client, carl, f"/projects/{talk.b}", "Hi"), 404)
    r = await client.get(carl.url(f"/projects/{talk.b}/comments"), headers=carl.headers)
    assert_problem(r, 404)
    r = await client.delete(
        carl.url(f"/projects/{talk.b}/comments/{theirs['id']}"), headers=carl.headers
    )
    assert_problem(r, 404)
    # ... and on A, B's comment ids and B's contact are strangers too.
    r = await client.delete(
        carl.url(f"/projects/{talk.a}/comments/{theirs['id']}"), headers=carl.headers
    )
    assert_problem(r, 404)
    assert_problem(await post(client, bea, talk.on_a, "Hi"), 404)
    # A task of B is not a task of A.
    other_task = (
        await client.post(
            owner.url(f"/projects/{talk.b}/tasks"), json={"title": "T"}, headers=owner.headers
        )
    ).json()
    assert_problem(
        await post(client, carl, f"/projects/{talk.a}/tasks/{other_task['id']}", "?"), 404
    )

    # Promoted, Vera writes; demoted again, she reads.
    await set_role(client, owner, talk.a, vera.contact_id, "collaborator")
    await comment(client, vera, talk.on_a, "Now I can")
    await set_role(client, owner, talk.a, vera.contact_id, "viewer")
    assert_problem(await post(client, vera, talk.on_a, "Again"), 403, "not_a_collaborator")
    r = await client.get(owner.url(f"/projects/{talk.a}/viewers"), headers=owner.headers)
    assert {v["contact_id"]: v["role"] for v in r.json()["data"]} == {
        carl.contact_id: "collaborator",
        vera.contact_id: "viewer",
    }


async def test_other_teams_and_clients_get_404s(client, app, mailbox, run_jobs):
    talk = await conversation(client, app, mailbox, run_jobs)
    said = await comment(client, talk.owner, talk.on_a, "Hello", visibility="client")
    stranger = await make_actor(app)
    own_client, own_project = await new_client_project(client, stranger)
    for path in (
        f"/projects/{talk.a}/comments",
        f"/projects/{talk.a}/tasks/{talk.task}/comments",
    ):
        assert_problem(await client.get(stranger.url(path), headers=stranger.headers), 404)
    r = await client.patch(
        stranger.url(f"/projects/{own_project}/comments/{said['id']}"),
        json={"body": "x"},
        headers=stranger.headers,
    )
    assert_problem(r, 404)
    # A contact of the stranger's client, collaborating on the stranger's project.
    dora = await portal_contact(client, stranger, own_client, "dora@example.com", name="Dora")
    r = await client.post(
        stranger.url(f"/projects/{own_project}/viewers"),
        json={"contact_id": dora["id"], "role": "collaborator"},
        headers=stranger.headers,
    )
    assert r.status_code == 201, r.text
    dora_user = await sign_in(client, mailbox, run_jobs, dora)
    assert_problem(await post(client, dora_user, talk.on_a, "Hi"), 404)
    r = await client.get(dora_user.url(f"/projects/{talk.a}/comments"), headers=dora_user.headers)
    assert_problem(r, 404)
    # Another client of the same team: its contact does not reach Acme's project.
    globex = await new_client(client, talk.owner, "Globex")
    gil = await portal_contact(client, talk.owner, globex["id"], "gil@example.com", name="Gil")
    gil_user = await sign_in(client, mailbox, run_jobs, gil)
    r = await client.get(gil_user.url(f"/projects/{talk.a}/comments"), headers=gil_user.headers)
    assert_problem(r, 404)


async def test_authors_edit_and_delete_for_fifteen_minutes_managers_delete_any(
    client, app, mailbox, run_jobs, settings, monkeypatch
):
    # Access tokens outlive the trip past the window (they last as long as it, 15 min).
    monkeypatch.setattr(settings, "access_token_ttl_seconds", 3600)
    talk = await conversation(client, app, mailbox, run_jobs)
    owner, carl = talk.owner, talk.carl
    member = await make_actor(app, team_id=owner.team_id, role=Role.member, name="Mo")
    await add_member(client, owner, talk.a, member.user_id)
    mine = await comment(client, member, talk.on_a, "first *draft*", visibility="client")
    asked = await comment(client, carl, talk.on_task, "Which fonts?")

    url = member.url(f"/projects/{talk.a}/comments/{mine['id']}")
    r = await client.patch(url, json={"body": "second **take**"}, headers=member.headers)
    assert r.status_code == 200, r.text
    edited = r.json()
    assert edited["body_html"] == "<p>second <strong>take</strong></p>\n"
    assert edited["edited_at"] is not None and edited["created_at"] == mine["created_at"]
    # Not its author: neither the manager (for edits) nor another contact.
    r = await client.patch(
        owner.url(f"/projects/{talk.a}/comments/{mine['id']}"),
        json={"body": "x"},
        headers=owner.headers,
    )
    assert_problem(r, 403, "not_comment_author")
    r = await client.delete(
        member.url(f"{talk.on_task}/comments/{asked['id']}"), headers=member.headers
    )
    assert_problem(r, 403, "not_comment_author")
    r = await client.patch(
        carl.url(f"{talk.on_task}/comments/{asked['id']}"),
        json={"body": "Which fonts, and sizes?"},
        headers=carl.headers,
    )
    assert r.status_code == 200 and r.json()["edited_at"], r.text

    later = datetime.now(UTC) + timedelta(minutes=16)
    with time_machine.travel(later, tick=True):
        r = await client.patch(url, json={"body": "third"}, headers=member.headers)
        assert_problem(r, 409, "comment_edit_window_closed")
        assert_problem(await client.delete(url, headers=member.headers), 409)
        r = await client.delete(
            carl.url(f"{talk.on_task}/comments/{asked['id']}"), headers=carl.headers
        )
        assert_problem(r, 409, "comment_edit_window_closed")
        # The project's manager deletes any comment, whenever: a tombstone stays.
        r = await client.delete(
            owner.url(f"{talk.on_task}/comments/{asked['id']}"), headers=owner.headers
        )
        assert r.status_code == 204, r.text
    for reader in (owner, carl):
        [gone] = await thread_of(client, reader, talk.on_task)
        assert gone["id"] == asked["id"] and gone["deleted"] is True
        assert gone["body"] == "" and gone["body_html"] == ""
    r = await client.delete(
        owner.url(f"{talk.on_task}/comments/{asked['id']}"), headers=owner.headers
    )
    assert_problem(r, 409, "comment_deleted")
    # Within its window an author deletes its own.
    fresh = await comment(client, carl, talk.on_a, "Oops")
    r = await client.delete(carl.url(f"{talk.on_a}/comments/{fresh['id']}"), headers=carl.headers)
    assert r.status_code == 204, r.text

    types = [e["type"] for e in await all_events(client, owner, types="comment.*")]
    assert types == [
        "comment.created",
        "comment.created",
        "comment.updated",
        "comment.updated",
        "comment.deleted",
        "comment.created",
        "comment.deleted",
    ]


async def test_thirty_comments_per_author_per_ten_minutes(client, app, mailbox, run_jobs):
    talk = await conversation(client, app, mailbox, run_jobs)
    for n in range(30):
        await comment(client, talk.carl, talk.on_a, f"Question {n}")
    r = await post(client, talk.carl, talk.on_a, "One more")
    assert_problem(r, 429, "too_many_comments")
    assert 0 < int(r.headers["Retry-After"]) <= 600
    # Per author: the team and the other collaborator still write.
    await comment(client, talk.owner, talk.on_a, "Answers coming")
    assert len(await thread_of(client, talk.owner, talk.on_a)) == 31


async def test_collaborators_request_tasks_and_change_only_their_own(
    client, app, mailbox, run_jobs
):
    talk = await conversation(client, app, mailbox, run_jobs)
    owner, carl, vera = talk.owner, talk.carl, talk.vera
    r = await client.post(
        carl.url(f"/projects/{talk.a}/tasks"),
        json={"title": "Add a FAQ page", "description": "Like on our old site"},
        headers=carl.headers,
    )
    assert r.status_code == 201, r.text
    asked = r.json()
    assert asked["requested"] is True and asked["column"]["kind"] == "todo"
    assert asked["position"] == 1  # after "Build", at the end of the first column
    r = await client.get(
        owner.url(f"/projects/{talk.a}/tasks/{asked['id']}"), headers=owner.headers
    )
    assert r.json()["requested_by_contact_id"] == carl.contact_id
    assert r.json()["description"] == "Like on our old site"

    r = await client.post(
        vera.url(f"/projects/{talk.a}/tasks"), json={"title": "Me too"}, headers=vera.headers
    )
    assert_problem(r, 403, "not_a_collaborator")
    r = await client.post(
        carl.url(f"/projects/{talk.b}/tasks"), json={"title": "Elsewhere"}, headers=carl.headers
    )
    assert_problem(r, 404)
    r = await client.patch(
        carl.url(f"/projects/{talk.a}/tasks/{talk.task}"),
        json={"title": "Mine now"},
        headers=carl.headers,
    )
    assert_problem(r, 403, "not_your_request")
    r = await client.delete(carl.url(f"/projects/{talk.a}/tasks/{talk.task}"), headers=carl.headers)
    assert_problem(r, 403, "not_your_request")
    # No way to move even its own: a column is not among the fields.
    r = await client.patch(
        carl.url(f"/projects/{talk.a}/tasks/{asked['id']}"),
        json={"column_id": asked["column"]["id"]},
        headers=carl.headers,
    )
    assert_problem(r, 422)
    r = await client.patch(
        carl.url(f"/projects/{talk.a}/tasks/{asked['id']}"),
        json={"title": "Add an FAQ page"},
        headers=carl.headers,
    )
    assert r.status_code == 200 and r.json()["title"] == "Add an FAQ page", r.text
    r = await client.delete(
        carl.url(f"/projects/{talk.a}/tasks/{asked['id']}"), headers=carl.headers
    )
    assert r.status_code == 204, r.text
    events = await all_events(client, owner, types="task.*")
    assert [e["type"] for e in events][-3:] == ["task.created", "task.updated", "task.deleted"]
    assert events[-3]["actor"] == {"type": "contact", "id": carl.contact_id}


async def test_onboarding_makes_a_contact_a_collaborator(client, app, mailbox, run_jobs):
    owner = await make_actor(app)
    r = await client.post(
        owner.url("/clients"),
        json={
            "name": "Acme",
            "currency": "EUR",
            "create_project": True,
            "invite_contacts": [
                {"name": "Cleo", "email": "cleo@example.com", "project_role": "collaborator"},
                {"name": "Vic", "email": "vic@example.com"},
            ],
        },
        headers=owner.headers,
    )
    assert r.status_code == 201, r.text
    project_id = r.json()["project_id"]
    r = await client.get(owner.url(f"/projects/{project_id}/viewers"), headers=owner.headers)
    roles = {v["role"] for v in r.json()["data"]}
    assert roles == {"collaborator", "viewer"}

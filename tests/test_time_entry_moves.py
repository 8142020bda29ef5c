"""Moving a time entry to another project: an append-only audit record of who moved it,
from where, to where and why; and the moves that are refused."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from app.core.permissions import Role
from tests.factories import make_actor
from tests.factories.clients import new_client_project
from tests.factories.projects import add_member, new_task, project_team
from tests.factories.time_tracking import log
from tests.helpers import assert_problem, at, parse

# ------------------------------------------------------------------ moving


async def test_move_entry_keeps_an_audit_record(client, app):
    s = await project_team(client, app)
    org = await make_actor(app, team_id=s.owner.team_id, role=Role.org_manager)
    _, project2 = await new_client_project(client, s.owner, "Second")
    await add_member(client, s.owner, project2, s.member.user_id)
    task = (await new_task(client, s.owner, s.project_id))["id"]
    e = await log(client, s.member, s.project_id, at(2, 9), at(2, 10), task_id=task)

    before = datetime.now(UTC) - timedelta(seconds=5)
    r = await client.post(
        s.member.url(f"/time-entries/{e['id']}/move"),
        json={"project_id": project2, "reason": "Logged on the wrong project"},
        headers=s.member.headers,
    )
    assert r.status_code == 200, r.text
    moved = r.json()
    assert moved["id"] == e["id"]
    assert moved["project_id"] == project2
    assert moved["task_id"] is None  # the task stayed with its project
    assert (moved["started_at"], moved["ended_at"]) == (e["started_at"], e["ended_at"])

    r = await client.post(
        org.url(f"/time-entries/{e['id']}/move"),
        json={"project_id": s.project_id, "reason": "Back again"},
        headers=org.headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["project_id"] == s.project_id

    r = await client.get(s.member.url(f"/time-entries/{e['id']}/history"), headers=s.member.headers)
    assert r.status_code == 200, r.text
    rows = r.json()["data"]
    assert len(rows) == 2
    first, second = rows
    assert first["time_entry_id"] == e["id"]
    assert first["actor_id"] == str(s.member.user_id)
    assert (first["from_project_id"], first["to_project_id"]) == (s.project_id, project2)
    assert first["reason"] == "Logged on the wrong project"
    assert first["ip_address"] == "127.0.0.1"
    assert parse(first["created_at"]) >= before
    assert second["actor_id"] == str(org.user_id)
    assert (second["from_project_id"], second["to_project_id"]) == (project2, s.project_id)
    assert second["reason"] == "Back again"
    assert parse(second["created_at"]) >= parse(first["created_at"])

    # The audit is append-only: a move row cannot be rewritten.
    with pytest.raises(Exception, match="append-only"):
        async with app.state.db.engine.begin() as conn:
            await conn.execute(text("UPDATE time_entry_move SET reason = 'forged'"))
    r = await client.get(s.owner.url(f"/time-entries/{e['id']}/history"), headers=s.owner.headers)
    assert [row["reason"] for row in r.json()["data"]] == [
        "Logged on the wrong project",
        "Back again",
    ]


async def test_move_entry_refusals(client, app):
    s = await project_team(client, app)
    _, not_mine = await new_client_project(client, s.owner, "Not mine")
    _, archived = await new_client_project(client, s.owner, "Archived")
    await add_member(client, s.owner, archived, s.member.user_id)
    await client.patch(
        s.owner.url(f"/projects/{archived}"), json={"status": "archived"}, headers=s.owner.headers
    )
    stranger = await make_actor(app)
    _, foreign = await new_client_project(client, stranger, "Theirs")
    e = await log(client, s.member, s.project_id, at(2, 9), at(2, 10))
    url = s.member.url(f"/time-entries/{e['id']}/move")

    cases = [
        ({"project_id": not_mine, "reason": "x"}, s.member, 403, "not_project_member"),
        # A manager moving it is still bound to where the entry's user may log.
        ({"project_id": not_mine, "reason": "x"}, s.owner, 403, "not_project_member"),
        ({"project_id": archived, "reason": "x"}, s.member, 422, "project_archived"),
        ({"project_id": s.project_id, "reason": "x"}, s.member, 422, "same_project"),
        ({"project_id": foreign, "reason": "x"}, s.member, 422, "unknown_project"),
        ({"project_id": str(uuid.uuid4()), "reason": "x"}, s.member, 422, "unknown_project"),
        ({"project_id": not_mine, "reason": ""}, s.owner, 422, None),
        ({"project_id": not_mine}, s.owner, 422, None),
    ]
    for body, actor, status, code in cases:
        r = await client.post(
            actor.url(f"/time-entries/{e['id']}/move"), json=body, headers=actor.headers
        )
        assert_problem(r, status, code)
    r = await client.get(s.member.url(f"/time-entries/{e['id']}"), headers=s.member.headers)
    assert r.json()["project_id"] == s.project_id
    r = await client.get(url.removesuffix("/move") + "/history", headers=s.member.headers)
    assert r.json()["data"] == []

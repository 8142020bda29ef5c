"""Time entries: the contract fields, the rules PostgreSQL enforces (a minimum length, no
overlaps, also under races), archived projects and clients, who may log, editing and
deleting, invoiced entries frozen, and the figures entries add up to on tasks and projects."""

import asyncio
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import text

from app.core.permissions import Role
from tests.factories import make_actor
from tests.factories.clients import new_client_project
from tests.factories.projects import add_member, new_task, project_team
from tests.factories.teams import patch_team
from tests.factories.time_tracking import entry_count, log, mark_invoiced, post_entry
from tests.helpers import assert_problem, at, iso, list_ids, parse

ENTRY_FIELDS = {
    "id",
    "user_id",
    "project_id",
    "task_id",
    "started_at",
    "ended_at",
    "duration_seconds",
    "note",
    "billable",
    "invoice_id",
}


# ------------------------------------------------------------------ fields


async def test_create_entry_returns_the_contract_fields(client, app):
    s = await project_team(client, app)
    task_id = (await new_task(client, s.owner, s.project_id))["id"]
    r = await post_entry(
        client,
        s.member,
        s.project_id,
        # Sub-second parts are dropped: entries are kept to the second.
        at(2, 9, 0, 0) + timedelta(microseconds=400_000),
        at(2, 10, 30, 15) + timedelta(microseconds=900_000),
        task_id=task_id,
        note="Wireframes",
    )
    assert r.status_code == 201, r.text
    e = r.json()
    assert set(e) >= ENTRY_FIELDS
    uuid.UUID(e["id"])
    assert e["user_id"] == str(s.member.user_id)
    assert e["project_id"] == s.project_id
    assert e["task_id"] == task_id
    assert parse(e["started_at"]) == at(2, 9)
    assert parse(e["ended_at"]) == at(2, 10, 30, 15)
    assert e["duration_seconds"] == 5415
    assert e["note"] == "Wireframes"
    assert e["billable"] is True  # the project's default
    assert e["invoice_id"] is None

    r = await client.get(s.member.url(f"/time-entries/{e['id']}"), headers=s.member.headers)
    assert r.status_code == 200, r.text
    assert {k: r.json()[k] for k in ENTRY_FIELDS} == {k: e[k] for k in ENTRY_FIELDS}


async def test_billable_defaults_to_the_projects_and_can_be_overridden(client, app):
    s = await project_team(client, app)
    r = await client.patch(
        s.owner.url(f"/projects/{s.project_id}"), json={"billable": False}, headers=s.owner.headers
    )
    assert r.status_code == 200, r.text
    e1 = await log(client, s.member, s.project_id, at(2, 9), at(2, 10))
    assert e1["billable"] is False
    e2 = await log(client, s.member, s.project_id, at(2, 10), at(2, 11), billable=True)
    assert e2["billable"] is True
    r = await client.patch(
        s.owner.url(f"/projects/{s.project_id}"), json={"billable": True}, headers=s.owner.headers
    )
    e3 = await log(client, s.member, s.project_id, at(2, 11), at(2, 12))
    assert e3["billable"] is True
    e4 = await log(client, s.member, s.project_id, at(2, 12), at(2, 13), billable=False)
    assert e4["billable"] is False


async def test_invoice_id_and_duration_are_read_only(client, app):
    s = await project_team(client, app)
    r = await post_entry(
        client, s.member, s.project_id, at(2, 9), at(2, 10), invoice_id=str(uuid.uuid4())
    )
    assert_problem(r, 422)
    r = await post_entry(client, s.member, s.project_id, at(2, 9), at(2, 10), duration_seconds=5)
    assert_problem(r, 422)
    assert await entry_count(app) == 0
    e = await log(client, s.member, s.project_id, at(2, 9), at(2, 10))
    r = await client.patch(
        s.member.url(f"/time-entries/{e['id']}"),
        json={"invoice_id": str(uuid.uuid4())},
        headers=s.member.headers,
    )
    assert_problem(r, 422)
    r = await client.get(s.member.url(f"/time-entries/{e['id']}"), headers=s.member.headers)
    assert r.json()["invoice_id"] is None


async def test_task_must_belong_to_the_entrys_project(client, app):
    s = await project_team(client, app)
    _, other_project = await new_client_project(client, s.owner, "Other")
    await add_member(client, s.owner, other_project, s.member.user_id)
    foreign_task = (await new_task(client, s.owner, other_project))["id"]
    own_task = (await new_task(client, s.owner, s.project_id))["id"]

    r = await post_entry(client, s.member, s.project_id, at(2, 9), at(2, 10), task_id=foreign_task)
    assert_problem(r, 422, "unknown_task")
    r = await post_entry(
        client, s.member, s.project_id, at(2, 9), at(2, 10), task_id=str(uuid.uuid4())
    )
    assert_problem(r, 422, "unknown_task")
    assert await entry_count(app) == 0

    e = await log(client, s.member, s.project_id, at(2, 9), at(2, 10), task_id=own_task)
    r = await client.patch(
        s.member.url(f"/time-entries/{e['id']}"),
        json={"task_id": foreign_task},
        headers=s.member.headers,
    )
    assert_problem(r, 422, "unknown_task")
    r = await client.get(s.member.url(f"/time-entries/{e['id']}"), headers=s.member.headers)
    assert r.json()["task_id"] == own_task


async def test_ended_at_must_be_after_started_at(client, app):
    s = await project_team(client, app)
    await patch_team(client, s.owner, time_entry_min_seconds=0)
    for start, end in ((at(2, 10), at(2, 9)), (at(2, 10), at(2, 10))):
        r = await post_entry(client, s.member, s.project_id, start, end)
        body = assert_problem(r, 422)
        assert body["code"] == "time_entry_ends_before_start"
    # Equal once truncated to the second is also an empty entry.
    r = await post_entry(
        client, s.member, s.project_id, at(2, 10), at(2, 10) + timedelta(microseconds=500_000)
    )
    assert_problem(r, 422, "time_entry_ends_before_start")
    # Naive datetimes are not instants.
    r = await client.post(
        s.member.url("/time-entries"),
        json={
            "project_id": s.project_id,
            "started_at": "2026-03-02T09:00:00",
            "ended_at": "2026-03-02T10:00:00",
        },
        headers=s.member.headers,
    )
    assert_problem(r, 422)
    assert await entry_count(app) == 0

    e = await log(client, s.member, s.project_id, at(2, 9), at(2, 10))
    r = await client.patch(
        s.member.url(f"/time-entries/{e['id']}"),
        json={"ended_at": iso(at(2, 8))},
        headers=s.member.headers,
    )
    assert_problem(r, 422, "time_entry_ends_before_start")
    r = await client.patch(
        s.member.url(f"/time-entries/{e['id']}"),
        json={"started_at": iso(at(2, 10))},
        headers=s.member.headers,
    )
    assert_problem(r, 422, "time_entry_ends_before_start")


async def test_the_database_itself_refuses_an_entry_ending_before_it_starts(client, app):
    s = await project_team(client, app)
    e = await log(client, s.member, s.project_id, at(2, 9), at(2, 10))
    with pytest.raises(Exception, match="ends_after_start"):
        async with app.state.db.engine.begin() as conn:
            await conn.execute(
                text("UPDATE time_entry SET ended_at = started_at WHERE id = :id"),
                {"id": uuid.UUID(e["id"])},
            )


# ------------------------------------------------------------------ minimum


async def test_manual_entries_respect_the_team_minimum(client, app):
    s = await project_team(client, app)
    r = await client.get(s.owner.url(), headers=s.owner.headers)
    assert r.json()["time_entry_min_seconds"] == 600

    r = await post_entry(client, s.member, s.project_id, at(2, 9), at(2, 9, 9, 59))
    assert_problem(r, 422, "time_entry_too_short")
    assert await entry_count(app) == 0
    e = await log(client, s.member, s.project_id, at(2, 9), at(2, 9, 10))
    assert e["duration_seconds"] == 600

    # Shortening an entry below the minimum is refused too.
    r = await client.patch(
        s.member.url(f"/time-entries/{e['id']}"),
        json={"ended_at": iso(at(2, 9, 5))},
        headers=s.member.headers,
    )
    assert_problem(r, 422, "time_entry_too_short")
    r = await client.patch(
        s.member.url(f"/time-entries/{e['id']}"),
        json={"started_at": iso(at(2, 9, 0, 1))},
        headers=s.member.headers,
    )
    assert_problem(r, 422, "time_entry_too_short")

    # The team sets its own minimum.
    await patch_team(client, s.owner, time_entry_min_seconds=60)
    r = await post_entry(client, s.member, s.project_id, at(2, 10), at(2, 10, 0, 59))
    assert_problem(r, 422, "time_entry_too_short")
    e2 = await log(client, s.member, s.project_id, at(2, 10), at(2, 10, 1))
    assert e2["duration_seconds"] == 60
    r = await client.patch(
        s.member.url(f"/time-entries/{e['id']}"),
        json={"ended_at": iso(at(2, 9, 5))},
        headers=s.member.headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["duration_seconds"] == 300

    await patch_team(client, s.owner, time_entry_min_seconds=0)
    e3 = await log(client, s.member, s.project_id, at(2, 11), at(2, 11, 0, 1))
    assert e3["duration_seconds"] == 1


# ------------------------------------------------------------------ overlaps


async def test_a_users_entries_never_overlap_but_may_touch(client, app):
    s = await project_team(client, app)
    base = await log(client, s.member, s.project_id, at(2, 10), at(2, 11))
    for start, end in (
        (at(2, 10, 30), at(2, 11, 30)),  # overlaps the end
        (at(2, 9, 30), at(2, 10, 30)),  # overlaps the start
        (at(2, 10, 15), at(2, 10, 45)),  # inside
        (at(2, 9), at(2, 12)),  # around
        (at(2, 10), at(2, 11)),  # the same slot
        (at(2, 10, 59, 59) - timedelta(minutes=10), at(2, 11, 9, 59)),  # one second in
    ):
        r = await post_entry(client, s.member, s.project_id, start, end)
        assert_problem(r, 409, "time_entry_overlap")
    assert await entry_count(app) == 1

    # Touching intervals are fine on both sides ([start, end) ranges).
    after = await log(client, s.member, s.project_id, at(2, 11), at(2, 12))
    before = await log(client, s.member, s.project_id, at(2, 9), at(2, 10))
    # Another user may use the same slot.
    other = await make_actor(app, team_id=s.owner.team_id, role=Role.member)
    await add_member(client, s.owner, s.project_id, other.user_id)
    await log(client, other, s.project_id, at(2, 10), at(2, 11))
    # A manager logging for the member is held to the member's entries.
    r = await post_entry(
        client, s.owner, s.project_id, at(2, 10), at(2, 11), user_id=str(s.member.user_id)
    )
    assert_problem(r, 409, "time_entry_overlap")

    # Editing into an overlap is refused, and the entry is unchanged.
    r = await client.patch(
        s.member.url(f"/time-entries/{after['id']}"),
        json={"started_at": iso(at(2, 10, 59))},
        headers=s.member.headers,
    )
    assert_problem(r, 409, "time_entry_overlap")
    r = await client.get(s.member.url(f"/time-entries/{after['id']}"), headers=s.member.headers)
    assert parse(r.json()["started_at"]) == at(2, 11)
    # Shrinking then growing back into the freed space works.
    r = await client.patch(
        s.member.url(f"/time-entries/{base['id']}"),
        json={"started_at": iso(at(2, 10, 30))},
        headers=s.member.headers,
    )
    assert r.status_code == 200, r.text
    r = await client.patch(
        s.member.url(f"/time-entries/{before['id']}"),
        json={"ended_at": iso(at(2, 10, 30))},
        headers=s.member.headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["duration_seconds"] == 5400
    assert await entry_count(app) == 4


async def test_concurrent_entries_for_the_same_slot_exactly_one_wins(client, app):
    s = await project_team(client, app)
    for round_, (start, end) in enumerate(
        [
            (at(3, 9), at(3, 10)),
            (at(3, 11), at(3, 12)),
            (at(3, 13), at(3, 14)),
        ]
    ):
        # Same slot, and slots shifted a little: every pair of them overlaps.
        slots = [(start + timedelta(minutes=i), end + timedelta(minutes=i)) for i in range(6)]
        if round_ == 0:
            slots = [(start, end)] * 6
        responses = await asyncio.gather(
            *(post_entry(client, s.member, s.project_id, a, b) for a, b in slots)
        )
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [201, 409, 409, 409, 409, 409], [r.text for r in responses]
        for r in responses:
            if r.status_code == 409:
                assert_problem(r, 409, "time_entry_overlap")
    assert await entry_count(app) == 3
    ids = await list_ids(client, s.member, "/time-entries")
    assert len(ids) == 3


# ------------------------------------------------------------------ archived / membership


async def test_no_time_on_archived_projects_or_clients(client, app):
    s = await project_team(client, app)
    client2, project2 = await new_client_project(client, s.owner, "Second")
    await add_member(client, s.owner, project2, s.member.user_id)

    r = await client.patch(
        s.owner.url(f"/projects/{s.project_id}"),
        json={"status": "archived"},
        headers=s.owner.headers,
    )
    assert r.status_code == 200, r.text
    r = await post_entry(client, s.member, s.project_id, at(2, 9), at(2, 10))
    assert_problem(r, 422, "project_archived")
    r = await post_entry(client, s.owner, s.project_id, at(2, 9), at(2, 10))
    assert_problem(r, 422, "project_archived")

    r = await client.delete(s.owner.url(f"/clients/{client2}"), headers=s.owner.headers)
    assert r.status_code in (200, 204), r.text
    r = await client.get(s.owner.url(f"/projects/{project2}"), headers=s.owner.headers)
    assert r.json()["status"] == "active"
    r = await post_entry(client, s.member, project2, at(2, 9), at(2, 10))
    assert_problem(r, 422, "client_archived")
    r = await post_entry(client, s.owner, project2, at(2, 9), at(2, 10))
    assert_problem(r, 422, "client_archived")
    assert await entry_count(app) == 0

    # Unknown project, or another team's.
    stranger = await make_actor(app)
    _, foreign = await new_client_project(client, stranger, "Theirs")
    for pid in (str(uuid.uuid4()), foreign):
        r = await post_entry(client, s.owner, pid, at(2, 9), at(2, 10))
        assert_problem(r, 422, "unknown_project")
    assert await entry_count(app) == 0


async def test_only_project_members_and_team_managers_log_time(client, app):
    owner = await make_actor(app)
    _, project = await new_client_project(client, owner)
    actors = {
        role: await make_actor(app, team_id=owner.team_id, role=role)
        for role in (
            Role.org_manager,
            Role.sales_manager,
            Role.sales_rep,
            Role.project_manager,
            Role.member,
        )
    }
    actors[Role.superadmin] = owner
    hour = 8
    for role, actor in actors.items():
        hour += 1
        r = await post_entry(client, actor, project, at(2, hour), at(2, hour + 1))
        if role in (Role.superadmin, Role.org_manager):
            assert r.status_code == 201, (role, r.text)
            # Owner creates the project and is its manager; org_manager is not a member.
        else:
            assert_problem(r, 403, "not_project_member")
    for role in (Role.sales_manager, Role.sales_rep, Role.project_manager, Role.member):
        await add_member(client, owner, project, actors[role].user_id)
        r = await post_entry(client, actors[role], project, at(3, 9), at(3, 10))
        assert r.status_code == 201, (role, r.text)

    # Managers log for others, but only on projects those others may log on.
    outsider = await make_actor(app, team_id=owner.team_id, role=Role.member)
    r = await post_entry(client, owner, project, at(4, 9), at(4, 10), user_id=str(outsider.user_id))
    assert_problem(r, 403, "not_project_member")
    r = await post_entry(client, owner, project, at(4, 9), at(4, 10), user_id=str(uuid.uuid4()))
    assert_problem(r, 422, "not_team_member")


# ------------------------------------------------------------------ update / delete / invoiced


async def test_update_and_delete_entries(client, app):
    s = await project_team(client, app)
    e = await log(client, s.member, s.project_id, at(2, 9), at(2, 10), note="a")
    r = await client.patch(
        s.member.url(f"/time-entries/{e['id']}"),
        json={"note": "b", "billable": False, "ended_at": iso(at(2, 11))},
        headers=s.member.headers,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["note"], body["billable"], body["duration_seconds"]) == ("b", False, 7200)
    for field in ("started_at", "billable"):
        r = await client.patch(
            s.member.url(f"/time-entries/{e['id']}"),
            json={field: None},
            headers=s.member.headers,
        )
        assert_problem(r, 422)
    r = await client.delete(s.member.url(f"/time-entries/{e['id']}"), headers=s.member.headers)
    assert r.status_code == 204, r.text
    r = await client.get(s.member.url(f"/time-entries/{e['id']}"), headers=s.member.headers)
    assert_problem(r, 404)
    assert await entry_count(app) == 0
    # Its slot is free again.
    await log(client, s.member, s.project_id, at(2, 9), at(2, 11))


async def test_an_invoiced_entry_is_frozen(client, app):
    s = await project_team(client, app)
    _, project2 = await new_client_project(client, s.owner, "Second")
    await add_member(client, s.owner, project2, s.member.user_id)
    e = await log(client, s.member, s.project_id, at(2, 9), at(2, 10), note="kept")
    await mark_invoiced(app, e["id"])

    r = await client.get(s.member.url(f"/time-entries/{e['id']}"), headers=s.member.headers)
    assert r.json()["invoice_id"] is not None
    invoice_id = r.json()["invoice_id"]
    for actor in (s.member, s.owner):
        for body in ({"note": "changed"}, {"ended_at": iso(at(2, 11))}, {"billable": False}):
            r = await client.patch(
                actor.url(f"/time-entries/{e['id']}"), json=body, headers=actor.headers
            )
            assert_problem(r, 409, "time_entry_invoiced")
        r = await client.delete(actor.url(f"/time-entries/{e['id']}"), headers=actor.headers)
        assert_problem(r, 409, "time_entry_invoiced")
        r = await client.post(
            actor.url(f"/time-entries/{e['id']}/move"),
            json={"project_id": project2, "reason": "wrong project"},
            headers=actor.headers,
        )
        assert_problem(r, 409, "time_entry_invoiced")

    r = await client.get(s.member.url(f"/time-entries/{e['id']}"), headers=s.member.headers)
    after = r.json()
    assert after["note"] == "kept"
    assert after["project_id"] == s.project_id
    assert after["billable"] is True
    assert after["invoice_id"] == invoice_id
    assert parse(after["ended_at"]) == at(2, 10)
    r = await client.get(s.member.url(f"/time-entries/{e['id']}/history"), headers=s.member.headers)
    assert r.json()["data"] == []
    # Still the member's time: nothing may overlap it.
    r = await post_entry(client, s.member, s.project_id, at(2, 9, 30), at(2, 10, 30))
    assert_problem(r, 409, "time_entry_overlap")


# ------------------------------------------------------------------ figures


async def test_task_tracked_seconds_and_project_stats(client, app):
    s = await project_team(client, app)
    r = await client.post(
        s.owner.url("/rates"),
        json={
            "scope": "team",
            "hourly_rate_amount": 6000,
            "currency": "EUR",
            "effective_from": "2026-01-01",
        },
        headers=s.owner.headers,
    )
    assert r.status_code == 201, r.text
    t1 = (await new_task(client, s.owner, s.project_id, "One"))["id"]
    t2 = (await new_task(client, s.owner, s.project_id, "Two"))["id"]
    await log(client, s.member, s.project_id, at(2, 9), at(2, 10), task_id=t1)  # 3600
    await log(client, s.member, s.project_id, at(2, 10), at(2, 10, 30), task_id=t1, billable=False)
    inv = await log(client, s.member, s.project_id, at(2, 11), at(2, 11, 20), task_id=t2)  # 1200
    await log(client, s.member, s.project_id, at(2, 12), at(2, 12, 15))  # 900, no task
    await log(client, s.owner, s.project_id, at(2, 9), at(2, 9, 10), task_id=t2)  # 600
    # Another project's time counts nowhere here.
    _, other = await new_client_project(client, s.owner, "Other")
    other_task = (await new_task(client, s.owner, other))["id"]
    await log(client, s.owner, other, at(3, 9), at(3, 17), task_id=other_task)
    await mark_invoiced(app, inv["id"])

    async def tracked(task_id: str) -> int:
        r = await client.get(
            s.member.url(f"/projects/{s.project_id}/tasks/{task_id}"), headers=s.member.headers
        )
        assert r.status_code == 200, r.text
        return r.json()["tracked_seconds"]

    assert await tracked(t1) == 5400
    assert await tracked(t2) == 1800
    r = await client.get(s.member.url(f"/projects/{s.project_id}/board"), headers=s.member.headers)
    assert r.status_code == 200, r.text
    on_board = {t["id"]: t["tracked_seconds"] for c in r.json()["columns"] for t in c["tasks"]}
    assert on_board == {t1: 5400, t2: 1800}
    r = await client.get(s.member.url(f"/projects/{s.project_id}/tasks"), headers=s.member.headers)
    assert {t["id"]: t["tracked_seconds"] for t in r.json()["data"]} == {t1: 5400, t2: 1800}

    r = await client.get(s.owner.url(f"/projects/{s.project_id}/stats"), headers=s.owner.headers)
    assert r.status_code == 200, r.text
    stats = r.json()
    assert stats["tracked_seconds"] == 3600 + 1800 + 1200 + 900 + 600
    assert stats["billable_seconds"] == 3600 + 1200 + 900 + 600
    assert stats["uninvoiced_seconds"] == 3600 + 900 + 600
    assert stats["billable_amount"] == 6300 * 6000 // 3600  # 10500
    assert stats["uninvoiced_amount"] == 5100 * 6000 // 3600  # 8500
    assert stats["currency"] == "EUR"

    # Moving time moves its figures; deleting it removes them.
    e = await log(client, s.member, s.project_id, at(4, 9), at(4, 10), task_id=t1)
    assert await tracked(t1) == 9000
    await add_member(client, s.owner, other, s.member.user_id)
    r = await client.post(
        s.member.url(f"/time-entries/{e['id']}/move"),
        json={"project_id": other, "reason": "wrong"},
        headers=s.member.headers,
    )
    assert r.status_code == 200, r.text
    assert await tracked(t1) == 5400
    r = await client.get(s.owner.url(f"/projects/{s.project_id}/stats"), headers=s.owner.headers)
    assert r.json()["tracked_seconds"] == stats["tracked_seconds"]
    r = await client.get(s.owner.url(f"/projects/{other}/stats"), headers=s.owner.headers)
    assert r.json()["tracked_seconds"] == 8 * 3600 + 3600

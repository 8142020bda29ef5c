"""The timer: start, stop, switch, one running timer per user (also under races), how a
running timer blocks manual entries, and the 401/403/404 ladder."""

import asyncio
import itertools
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import text

from app.core.permissions import Role
from tests.factories import make_actor
from tests.factories.clients import new_client_project
from tests.factories.projects import add_member, new_task, two_projects
from tests.factories.time_tracking import get_timer, post_entry, start_timer, stop_timer
from tests.helpers import assert_problem, parse
from tests.ladder import ladder


def now() -> datetime:
    return datetime.now(UTC)


async def running_count(app, user_id) -> int:
    async with app.state.db.engine.connect() as conn:
        return (
            await conn.execute(
                text("SELECT count(*) FROM time_entry WHERE user_id = :u AND ended_at IS NULL"),
                {"u": user_id},
            )
        ).scalar_one()


async def entries_of(app, user_id) -> list[tuple[datetime, datetime | None]]:
    async with app.state.db.engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT started_at, ended_at FROM time_entry WHERE user_id = :u ORDER BY started_at"
            ),
            {"u": user_id},
        )
        return [(a, b) for a, b in rows]


def assert_no_overlap(spans: list[tuple[datetime, datetime | None]]) -> None:
    for (_, a_end), (b_start, _) in itertools.pairwise(spans):
        assert a_end is not None and a_end <= b_start, spans


# ------------------------------------------------------------------ start / get / stop


async def test_start_get_and_stop(client, app):
    s = await two_projects(client, app)
    task = (await new_task(client, s.owner, s.p1))["id"]
    r = await get_timer(client, s.member)
    assert_problem(r, 404, "timer_not_running")

    before = now().replace(microsecond=0)
    r = await start_timer(client, s.member, s.p1, task_id=task, note="Focus")
    after = now()
    assert r.status_code == 201, r.text
    running = r.json()
    assert running["ended_at"] is None
    assert running["duration_seconds"] is None
    assert running["user_id"] == str(s.member.user_id)
    assert (running["project_id"], running["task_id"]) == (s.p1, task)
    assert running["note"] == "Focus"
    assert running["billable"] is True
    assert running["invoice_id"] is None
    started = parse(running["started_at"])
    assert before <= started <= after
    assert started.microsecond == 0

    r = await get_timer(client, s.member)
    assert r.status_code == 200, r.text
    assert r.json()["id"] == running["id"]
    assert r.json()["ended_at"] is None
    # Someone else's timer is not mine.
    r = await get_timer(client, s.owner)
    assert_problem(r, 404, "timer_not_running")

    r = await stop_timer(client, s.member)
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["id"] == running["id"]
    ended = parse(done["ended_at"])
    # Stopped at once: at least one second, and no minimum applies to timed entries.
    assert ended >= started + timedelta(seconds=1)
    assert ended <= now() + timedelta(seconds=1)
    assert done["duration_seconds"] == int((ended - started).total_seconds())
    assert done["duration_seconds"] < 600

    r = await get_timer(client, s.member)
    assert_problem(r, 404, "timer_not_running")
    r = await stop_timer(client, s.member)
    assert_problem(r, 409, "timer_not_running")
    r = await client.get(s.member.url(f"/time-entries/{done['id']}"), headers=s.member.headers)
    assert r.status_code == 200, r.text
    assert r.json()["ended_at"] == done["ended_at"]

    # The stopped entry counts on its task.
    r = await client.get(s.member.url(f"/projects/{s.p1}/tasks/{task}"), headers=s.member.headers)
    assert r.json()["tracked_seconds"] == done["duration_seconds"]


async def test_a_second_start_is_refused_while_one_runs(client, app):
    s = await two_projects(client, app)
    r = await start_timer(client, s.member, s.p1)
    assert r.status_code == 201, r.text
    first = r.json()
    for project in (s.p1, s.p2):
        for switch in (None, False):
            r = await start_timer(client, s.member, project, switch=switch)
            assert_problem(r, 409, "timer_running")
    r = await get_timer(client, s.member)
    assert r.json()["id"] == first["id"]
    assert await running_count(app, s.member.user_id) == 1
    assert len(await entries_of(app, s.member.user_id)) == 1
    # Other users keep their own timers.
    r = await start_timer(client, s.owner, s.p1)
    assert r.status_code == 201, r.text


async def test_switch_stops_the_running_timer_and_starts_another(client, app):
    s = await two_projects(client, app)
    # Nothing running: switch just starts.
    r = await start_timer(client, s.member, s.p1, switch=True, note="first")
    assert r.status_code == 201, r.text
    first = r.json()

    r = await start_timer(client, s.member, s.p2, switch=True, note="second")
    assert r.status_code == 201, r.text
    second = r.json()
    assert second["id"] != first["id"]
    assert second["project_id"] == s.p2
    assert second["ended_at"] is None
    r = await get_timer(client, s.member)
    assert r.json()["id"] == second["id"]

    r = await client.get(s.member.url(f"/time-entries/{first['id']}"), headers=s.member.headers)
    stopped = r.json()
    assert stopped["ended_at"] is not None
    assert stopped["note"] == "first"
    first_end = parse(stopped["ended_at"])
    second_start = parse(second["started_at"])
    assert first_end <= second_start <= first_end + timedelta(seconds=2)
    assert first_end >= parse(first["started_at"]) + timedelta(seconds=1)
    assert await running_count(app, s.member.user_id) == 1
    assert_no_overlap(await entries_of(app, s.member.user_id))

    # A switch that cannot start leaves the running timer alone.
    r = await client.patch(
        s.owner.url(f"/projects/{s.p1}"), json={"status": "archived"}, headers=s.owner.headers
    )
    assert r.status_code == 200, r.text
    r = await start_timer(client, s.member, s.p1, switch=True)
    assert_problem(r, 422, "project_archived")
    r = await start_timer(client, s.member, s.p2, switch=True, task_id=str(uuid.uuid4()))
    assert_problem(r, 422, "unknown_task")
    r = await get_timer(client, s.member)
    assert r.status_code == 200, r.text
    assert r.json()["id"] == second["id"]
    assert r.json()["ended_at"] is None


async def test_start_validation(client, app):
    s = await two_projects(client, app)
    c3, p3 = await new_client_project(client, s.owner, "Three")
    await add_member(client, s.owner, p3, s.member.user_id)
    _, not_mine = await new_client_project(client, s.owner, "Not mine")
    foreign_task = (await new_task(client, s.owner, s.p2))["id"]
    stranger = await make_actor(app)
    _, foreign_project = await new_client_project(client, stranger, "Theirs")
    r = await client.delete(s.owner.url(f"/clients/{c3}"), headers=s.owner.headers)
    assert r.status_code in (200, 204), r.text

    cases = [
        (not_mine, {}, 403, "not_project_member"),
        (p3, {}, 422, "client_archived"),
        (s.p1, {"task_id": foreign_task}, 422, "unknown_task"),
        (foreign_project, {}, 422, "unknown_project"),
        (str(uuid.uuid4()), {}, 422, "unknown_project"),
        (s.p1, {"started_at": now().isoformat()}, 422, None),
        (s.p1, {"note": "x" * 5001}, 422, None),
    ]
    for project, extra, status, code in cases:
        r = await start_timer(client, s.member, project, **extra)
        assert_problem(r, status, code)
    r = await client.post(s.member.url("/timer/start"), json={}, headers=s.member.headers)
    assert_problem(r, 422)
    assert await entries_of(app, s.member.user_id) == []
    # A team manager starts a timer on any active project.
    r = await start_timer(client, s.owner, not_mine)
    assert r.status_code == 201, r.text


async def test_every_role_can_time_its_work(client, app):
    owner = await make_actor(app)
    _, project = await new_client_project(client, owner)
    for role in Role:
        actor = owner
        if role is not Role.superadmin:
            actor = await make_actor(app, team_id=owner.team_id, role=role)
            await add_member(client, owner, project, actor.user_id)
        r = await start_timer(client, actor, project)
        assert r.status_code == 201, (role, r.text)
        r = await get_timer(client, actor)
        assert r.status_code == 200, (role, r.text)
        r = await stop_timer(client, actor)
        assert r.status_code == 200, (role, r.text)


# ------------------------------------------------------------------ races


async def test_concurrent_starts_exactly_one_wins(client, app):
    s = await two_projects(client, app)
    # The test holds the clock (ticking on its own): a timer stopped at once still runs for
    # a second, so each round moves the clock to where the last one's entry ended.
    with time_machine.travel(now(), tick=True) as clock:
        for _round in range(3):
            responses = await asyncio.gather(
                *(start_timer(client, s.member, s.p1) for _ in range(6))
            )
            statuses = sorted(r.status_code for r in responses)
            assert statuses == [201, 409, 409, 409, 409, 409], [r.text for r in responses]
            winner = next(r.json() for r in responses if r.status_code == 201)
            r = await get_timer(client, s.member)
            assert r.json()["id"] == winner["id"]
            assert await running_count(app, s.member.user_id) == 1
            r = await stop_timer(client, s.member)
            assert r.status_code == 200, r.text
            clock.move_to(parse(r.json()["ended_at"]))  # the next round starts as this one ended
    assert len(await entries_of(app, s.member.user_id)) == 3
    assert_no_overlap(await entries_of(app, s.member.user_id))


async def test_concurrent_starts_losers_are_told_a_timer_is_running(client, app):
    """A start that loses the race is a second start: 409 `timer_running`, like the
    sequential case, not a generic overlap."""
    s = await two_projects(client, app)
    responses = await asyncio.gather(*(start_timer(client, s.member, s.p1) for _ in range(6)))
    assert sorted(r.status_code for r in responses).count(201) == 1, [r.text for r in responses]
    codes = sorted(r.json()["code"] for r in responses if r.status_code != 201)
    assert codes == ["timer_running"] * 5, codes


async def test_concurrent_switches_leave_one_running_timer(client, app):
    s = await two_projects(client, app)
    r = await start_timer(client, s.member, s.p1)
    assert r.status_code == 201, r.text
    first = r.json()
    responses = await asyncio.gather(
        *(start_timer(client, s.member, s.p2, switch=True) for _ in range(5))
    )
    statuses = [r.status_code for r in responses]
    assert statuses.count(201) >= 1, [r.text for r in responses]
    assert set(statuses) <= {201, 409}, [r.text for r in responses]
    assert await running_count(app, s.member.user_id) == 1
    spans = await entries_of(app, s.member.user_id)
    assert len(spans) == 1 + statuses.count(201)
    assert_no_overlap(spans)
    r = await client.get(s.member.url(f"/time-entries/{first['id']}"), headers=s.member.headers)
    assert r.json()["ended_at"] is not None


async def test_concurrent_stops_exactly_one_stops(client, app):
    s = await two_projects(client, app)
    r = await start_timer(client, s.member, s.p1)
    assert r.status_code == 201, r.text
    responses = await asyncio.gather(*(stop_timer(client, s.member) for _ in range(5)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 409, 409, 409, 409], [r.text for r in responses]
    for r in responses:
        if r.status_code == 409:
            assert_problem(r, 409, "timer_not_running")
    assert await running_count(app, s.member.user_id) == 0


# ------------------------------------------------------------------ timer vs manual entries


async def test_a_running_timer_blocks_manual_entries_after_its_start(client, app):
    s = await two_projects(client, app)
    r = await start_timer(client, s.member, s.p1)
    assert r.status_code == 201, r.text
    t = parse(r.json()["started_at"])
    hour = timedelta(hours=1)

    # Entirely before the timer, or ending exactly at its start: fine.
    r = await post_entry(client, s.member, s.p2, t - 2 * hour, t - hour)
    assert r.status_code == 201, r.text
    r = await post_entry(client, s.member, s.p2, t - hour, t)
    assert r.status_code == 201, r.text
    # Anything reaching past its start overlaps the (open-ended) running entry.
    for begin, end in (
        (t - timedelta(minutes=30), t + timedelta(minutes=30)),
        (t, t + hour),
        (t + hour, t + 2 * hour),
        (t + timedelta(days=3), t + timedelta(days=3) + hour),
    ):
        r = await post_entry(client, s.member, s.p2, begin, end)
        assert_problem(r, 409, "time_entry_overlap")
    # Other users are not blocked by my timer.
    r = await post_entry(client, s.owner, s.p2, t + hour, t + 2 * hour)
    assert r.status_code == 201, r.text

    r = await stop_timer(client, s.member)
    assert r.status_code == 200, r.text
    ended = parse(r.json()["ended_at"])
    r = await post_entry(client, s.member, s.p2, ended, ended + hour)
    assert r.status_code == 201, r.text
    assert_no_overlap(await entries_of(app, s.member.user_id))


async def test_a_timer_cannot_start_inside_a_logged_entry(client, app):
    s = await two_projects(client, app)
    t = now().replace(microsecond=0)
    r = await post_entry(client, s.member, s.p1, t - timedelta(minutes=5), t + timedelta(hours=1))
    assert r.status_code == 201, r.text
    r = await start_timer(client, s.member, s.p2)
    assert_problem(r, 409, "time_entry_overlap")
    r = await get_timer(client, s.member)
    assert_problem(r, 404, "timer_not_running")


async def test_editing_a_running_entry(client, app):
    s = await two_projects(client, app)
    t = now().replace(microsecond=0)
    r = await post_entry(client, s.member, s.p1, t - timedelta(hours=3), t - timedelta(hours=2))
    assert r.status_code == 201, r.text
    r = await start_timer(client, s.member, s.p1)
    running = r.json()
    url = s.member.url(f"/time-entries/{running['id']}")

    # A running entry is ended by stopping the timer, not by an edit.
    r = await client.patch(url, json={"ended_at": now().isoformat()}, headers=s.member.headers)
    assert_problem(r, 409, "timer_running")
    r = await client.patch(url, json={"note": "still going"}, headers=s.member.headers)
    assert r.status_code == 200, r.text
    assert r.json()["ended_at"] is None
    # Moving its start back is an edit like any other: never into another entry.
    r = await client.patch(
        url,
        json={"started_at": (t - timedelta(hours=2, minutes=30)).isoformat()},
        headers=s.member.headers,
    )
    assert_problem(r, 409, "time_entry_overlap")
    r = await client.patch(
        url, json={"started_at": (t - timedelta(hours=1)).isoformat()}, headers=s.member.headers
    )
    assert r.status_code == 200, r.text
    assert r.json()["ended_at"] is None
    r = await stop_timer(client, s.member)
    assert r.status_code == 200, r.text
    assert r.json()["duration_seconds"] >= 3600


async def test_a_running_timer_is_listed_unpriced_and_not_counted(client, app):
    s = await two_projects(client, app)
    r = await client.post(
        s.owner.url("/rates"),
        json={
            "scope": "team",
            "hourly_rate_amount": 9000,
            "currency": "EUR",
            "effective_from": "2020-01-01",
        },
        headers=s.owner.headers,
    )
    assert r.status_code == 201, r.text
    task = (await new_task(client, s.owner, s.p1))["id"]
    r = await start_timer(client, s.member, s.p1, task_id=task)
    running = r.json()
    assert running["bill_rate_amount"] == 9000
    assert running["billable_amount"] is None

    r = await client.get(s.member.url("/time-entries"), headers=s.member.headers)
    assert [row["id"] for row in r.json()["data"]] == [running["id"]]
    assert r.json()["data"][0]["ended_at"] is None
    r = await client.get(s.member.url(f"/projects/{s.p1}/tasks/{task}"), headers=s.member.headers)
    assert r.json()["tracked_seconds"] == 0
    r = await client.get(s.owner.url(f"/projects/{s.p1}/stats"), headers=s.owner.headers)
    assert r.json()["tracked_seconds"] == 0
    assert r.json()["billable_amount"] == 0


# ------------------------------------------------------------------ ladder


@pytest.mark.parametrize(
    ("method", "path", "success"),
    [("GET", "/timer", 200), ("POST", "/timer/start", 201), ("POST", "/timer/stop", 200)],
    ids=["get", "start", "stop"],
)
async def test_ladder(client, app, method, path, success):
    owner = await make_actor(app)
    member = await make_actor(app, team_id=owner.team_id, role=Role.member)
    _, project = await new_client_project(client, owner)
    stranger = await make_actor(app)
    _, theirs = await new_client_project(client, stranger, "Theirs")
    r = await start_timer(client, stranger, theirs)
    assert r.status_code == 201, r.text
    stranger_timer = r.json()
    if path != "/timer/start":
        r = await start_timer(client, owner, project)
        assert r.status_code == 201, r.text
    starting = path == "/timer/start"
    r = await ladder(
        client,
        method,
        path,
        owner=owner,
        stranger=stranger,
        # A member of the team who is not on the project.
        forbidden=member if starting else (),
        forbidden_code="not_project_member",
        json={"project_id": project} if starting else None,
        ok=success,
    )
    assert r.json()["user_id"] == str(owner.user_id)
    # The other team's timer is untouched.
    r = await get_timer(client, stranger)
    assert r.status_code == 200, r.text
    assert r.json()["id"] == stranger_timer["id"]
    assert r.json()["ended_at"] is None

"""The team's longest time entry (`time_entry_max_seconds`): the setting, manual entries
and edits refused past it, a timer stopped by its user ending at it, and the cron job that
stops timers left running there and emails their owners once."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from app.core.db import unit_of_work
from app.time_tracking.jobs import stop_overdue_timers
from app.time_tracking.overdue import overdue_timers, stop_overdue_timer
from app.worker import CRON_JOBS, build_worker
from tests.factories import make_actor
from tests.factories.projects import project_team
from tests.factories.teams import patch_team
from tests.factories.time_tracking import (
    get_entry,
    log,
    post_entry,
    start_timer,
    stop_timer,
)
from tests.helpers import assert_problem, at, iso, parse

DAY = 86400


def worker_ctx(app) -> dict:
    """What the worker hands a cron job."""
    return {"db": app.state.db, "redis": app.state.redis, "settings": app.state.settings}


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


async def started_ago(app, entry_id: str, seconds: int) -> datetime:
    """Move a running entry's start `seconds` before now (a timer left running); its start."""
    async with app.state.db.engine.begin() as conn:
        return (
            await conn.execute(
                text(
                    "UPDATE time_entry SET started_at = :start"
                    " WHERE id = :id AND ended_at IS NULL RETURNING started_at"
                ),
                {"id": uuid.UUID(entry_id), "start": now() - timedelta(seconds=seconds)},
            )
        ).scalar_one()


async def running_timer(client, app, actor, project_id: str, *, ago: int) -> dict:
    """`actor`'s timer on the project, started `ago` seconds back; with its start."""
    r = await start_timer(client, actor, project_id)
    assert r.status_code == 201, r.text
    timer = r.json()
    timer["started_at"] = iso(await started_ago(app, timer["id"], ago))
    return timer


def stopped_mails(mailbox) -> list:
    return [m for m in mailbox.messages if "was stopped after" in m["Subject"]]


# ------------------------------------------------------------------ the setting


async def test_the_max_setting_defaults_to_a_day_and_round_trips(client, app):
    owner = await make_actor(app)
    team = (await client.get(owner.url(), headers=owner.headers)).json()
    assert (team["time_entry_min_seconds"], team["time_entry_max_seconds"]) == (600, DAY)

    assert (await patch_team(client, owner, time_entry_max_seconds=7200))[
        "time_entry_max_seconds"
    ] == 7200
    got = (await client.get(owner.url(), headers=owner.headers)).json()
    assert got["time_entry_max_seconds"] == 7200
    # Both bounds at once, and the widest allowed (31 days).
    changed = await patch_team(
        client, owner, time_entry_min_seconds=60, time_entry_max_seconds=31 * DAY
    )
    assert (changed["time_entry_min_seconds"], changed["time_entry_max_seconds"]) == (60, 31 * DAY)
    # Equal bounds are fine: every entry then lasts exactly that long.
    changed = await patch_team(client, owner, time_entry_max_seconds=60)
    assert changed["time_entry_max_seconds"] == 60


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"time_entry_max_seconds": 59}, "validation_error"),
        ({"time_entry_max_seconds": 31 * DAY + 1}, "validation_error"),
        ({"time_entry_max_seconds": "3600"}, "validation_error"),
        ({"time_entry_max_seconds": None}, "field_not_nullable"),
        # Below the minimum (600), by lowering the maximum or raising the minimum.
        ({"time_entry_max_seconds": 599}, "time_entry_max_below_min"),
        (
            {"time_entry_min_seconds": 7200, "time_entry_max_seconds": 3600},
            "time_entry_max_below_min",
        ),
    ],
)
async def test_invalid_max_settings_are_refused(client, app, change, code):
    owner = await make_actor(app)
    assert_problem(await client.patch(owner.url(), json=change, headers=owner.headers), 422, code)
    team = (await client.get(owner.url(), headers=owner.headers)).json()
    assert (team["time_entry_min_seconds"], team["time_entry_max_seconds"]) == (600, DAY)


async def test_the_minimum_cannot_rise_above_the_maximum(client, app):
    owner = await make_actor(app)
    await patch_team(client, owner, time_entry_max_seconds=3600)
    r = await client.patch(
        owner.url(), json={"time_entry_min_seconds": 3601}, headers=owner.headers
    )
    assert_problem(r, 422, "time_entry_max_below_min")
    assert (await patch_team(client, owner, time_entry_min_seconds=3600))[
        "time_entry_min_seconds"
    ] == 3600


async def test_concurrent_changes_of_the_two_bounds_never_cross(client, app):
    """One admin raises the minimum while another lowers the maximum: each is fine alone,
    together they would cross; the database's CHECK refuses the later one (a 422, not a
    500)."""
    owner = await make_actor(app)
    for _ in range(5):
        await patch_team(client, owner, time_entry_min_seconds=600, time_entry_max_seconds=DAY)
        responses = await asyncio.gather(
            client.patch(owner.url(), json={"time_entry_min_seconds": 7200}, headers=owner.headers),
            client.patch(owner.url(), json={"time_entry_max_seconds": 3600}, headers=owner.headers),
        )
        for r in responses:
            if r.status_code != 200:
                assert_problem(r, 422, "time_entry_max_below_min")
        team = (await client.get(owner.url(), headers=owner.headers)).json()
        assert team["time_entry_min_seconds"] <= team["time_entry_max_seconds"]


# ------------------------------------------------------------------ manual entries


async def test_a_manual_entry_longer_than_the_limit_is_refused(client, app):
    s = await project_team(client, app)
    start = at(2, 9)
    r = await post_entry(client, s.member, s.project_id, start, start + timedelta(seconds=DAY + 1))
    assert_problem(r, 422, "time_entry_too_long")
    # The report's entry, within the date range: a century.
    r = await post_entry(
        client, s.member, s.project_id, at(1, 0, year=2000, month=1), at(31, 0, year=2100, month=12)
    )
    assert_problem(r, 422, "time_entry_too_long")
    # Exactly the limit is fine.
    e = await log(client, s.member, s.project_id, start, start + timedelta(seconds=DAY))
    assert e["duration_seconds"] == DAY

    # The team's own limit.
    await patch_team(client, s.owner, time_entry_max_seconds=7200)
    later = at(10, 9)
    r = await post_entry(client, s.member, s.project_id, later, later + timedelta(hours=3))
    assert_problem(r, 422, "time_entry_too_long")
    assert (await log(client, s.member, s.project_id, later, later + timedelta(hours=2)))[
        "duration_seconds"
    ] == 7200
    # An entry made under the old limit stays, and edits that keep its times still work.
    r = await client.patch(
        s.member.url(f"/time-entries/{e['id']}"), json={"note": "kept"}, headers=s.member.headers
    )
    assert r.status_code == 200, r.text
    assert r.json()["duration_seconds"] == DAY


async def test_an_edit_that_makes_an_entry_too_long_is_refused(client, app):
    s = await project_team(client, app)
    e = await log(client, s.member, s.project_id, at(2, 9), at(2, 17))
    url = s.member.url(f"/time-entries/{e['id']}")
    for change in (
        {"ended_at": iso(at(3, 9, 0, 1))},
        {"started_at": iso(at(1, 16, 59, 59))},
        {"started_at": iso(at(1, 9)), "ended_at": iso(at(3, 9))},
    ):
        r = await client.patch(url, json=change, headers=s.member.headers)
        assert_problem(r, 422, "time_entry_too_long")
    after = await get_entry(client, s.member, e["id"])
    assert (after["started_at"], after["ended_at"]) == (e["started_at"], e["ended_at"])
    # Up to the limit is fine.
    r = await client.patch(url, json={"ended_at": iso(at(3, 9))}, headers=s.member.headers)
    assert r.status_code == 200, r.text
    assert r.json()["duration_seconds"] == DAY


async def test_a_running_entry_cannot_start_further_back_than_the_limit(client, app):
    s = await project_team(client, app)
    r = await start_timer(client, s.member, s.project_id)
    timer = r.json()
    url = s.member.url(f"/time-entries/{timer['id']}")
    too_early = now() - timedelta(seconds=DAY + 60)
    r = await client.patch(url, json={"started_at": iso(too_early)}, headers=s.member.headers)
    assert_problem(r, 422, "time_entry_too_long")
    assert (await get_entry(client, s.member, timer["id"]))["started_at"] == timer["started_at"]
    r = await client.patch(
        url, json={"started_at": iso(now() - timedelta(hours=20))}, headers=s.member.headers
    )
    assert r.status_code == 200, r.text
    assert r.json()["ended_at"] is None


# ------------------------------------------------------------------ the timer


async def test_a_timer_stopped_after_the_limit_ends_at_the_limit(client, app, mailbox, run_jobs):
    s = await project_team(client, app)
    timer = await running_timer(client, app, s.member, s.project_id, ago=DAY + 3 * 3600)
    r = await stop_timer(client, s.member)
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["id"] == timer["id"]
    assert parse(done["ended_at"]) == parse(timer["started_at"]) + timedelta(seconds=DAY)
    assert done["duration_seconds"] == DAY
    # The user stopped it and sees the answer: no email.
    await run_jobs()
    assert stopped_mails(mailbox) == []

    # A switch stops the running timer the same way, and the new one starts now.
    await patch_team(client, s.owner, time_entry_max_seconds=3600)
    timer = await running_timer(client, app, s.member, s.project_id, ago=2 * 3600)
    r = await start_timer(client, s.member, s.project_id, switch=True)
    assert r.status_code == 201, r.text
    assert parse(r.json()["started_at"]) >= now() - timedelta(seconds=5)
    first = await get_entry(client, s.member, timer["id"])
    assert first["duration_seconds"] == 3600

    # Within the limit a stop is an ordinary stop.
    timer = await running_timer(client, app, s.owner, s.project_id, ago=1800)
    r = await stop_timer(client, s.owner)
    assert 1800 <= r.json()["duration_seconds"] <= 1805


# ------------------------------------------------------------------ the worker


async def test_the_job_runs_every_five_minutes_in_workers_that_keep_running(settings):
    [job] = [c for c in CRON_JOBS if c.coroutine is stop_overdue_timers]
    assert job.minute == set(range(0, 60, 5))
    assert job.unique
    worker = build_worker(settings, handle_signals=False)
    assert job in worker.cron_jobs
    # A burst worker (`run_jobs`) only drains the queue: a tick would add jobs to a test.
    assert build_worker(settings, burst=True).cron_jobs == []


async def test_the_worker_stops_timers_left_running_and_emails_their_owners_once(
    client, app, mailbox, run_jobs
):
    s = await project_team(client, app)
    # The member's timer ran past a day; the owner's has not.
    overdue = await running_timer(client, app, s.member, s.project_id, ago=DAY + 600)
    fresh = await running_timer(client, app, s.owner, s.project_id, ago=DAY - 600)
    # Another team with a shorter limit: two hours is past it.
    other = await project_team(client, app)
    await patch_team(client, other.owner, time_entry_max_seconds=3600, time_entry_min_seconds=60)
    short = await running_timer(client, app, other.member, other.project_id, ago=7200)

    assert await stop_overdue_timers(worker_ctx(app)) == 2
    stopped = await get_entry(client, s.member, overdue["id"])
    assert parse(stopped["ended_at"]) == parse(overdue["started_at"]) + timedelta(seconds=DAY)
    assert stopped["duration_seconds"] == DAY
    assert (await get_entry(client, s.owner, fresh["id"]))["ended_at"] is None
    assert (await get_entry(client, other.member, short["id"]))["duration_seconds"] == 3600
    # The member has no running timer any more and may start a new one.
    assert_problem(await stop_timer(client, s.member), 409, "timer_not_running")

    await run_jobs()
    mails = stopped_mails(mailbox)
    assert sorted(m["To"] for m in mails) == sorted([s.member.email, other.member.email])
    mail = next(m for m in mails if m["To"] == s.member.email)
    assert "24 hours" in mail["Subject"]
    body = mail.get_content()
    assert overdue["id"] in body
    assert "(UTC)" in body

    # Run again (and twice at once, as two workers would): nothing more stops or is sent.
    assert await stop_overdue_timers(worker_ctx(app)) == 0
    assert await asyncio.gather(*(stop_overdue_timers(worker_ctx(app)) for _ in range(2))) == [0, 0]
    await run_jobs()
    assert len(stopped_mails(mailbox)) == 2


async def test_two_workers_at_once_stop_a_timer_once(client, app, mailbox, run_jobs):
    s = await project_team(client, app)
    await running_timer(client, app, s.member, s.project_id, ago=DAY + 60)
    results = await asyncio.gather(*(stop_overdue_timers(worker_ctx(app)) for _ in range(3)))
    assert sorted(results) == [0, 0, 1]
    await run_jobs()
    assert [m["To"] for m in stopped_mails(mailbox)] == [s.member.email]


async def test_the_worker_and_the_user_stopping_together_stop_once(client, app, mailbox, run_jobs):
    """The database decides who stopped the timer; either way it ends at the limit, and the
    owner is emailed only when the worker stopped it."""
    s = await project_team(client, app)
    for _ in range(3):
        timer = await running_timer(client, app, s.member, s.project_id, ago=DAY + 60)
        by_worker, r = await asyncio.gather(
            stop_overdue_timers(worker_ctx(app)), stop_timer(client, s.member)
        )
        assert (by_worker, r.status_code) in ((0, 200), (1, 409)), (by_worker, r.text)
        entry = await get_entry(client, s.member, timer["id"])
        assert entry["duration_seconds"] == DAY
        await run_jobs()
        assert len(stopped_mails(mailbox)) == by_worker
        mailbox.messages.clear()
        # The next round's timer starts after this entry.
        async with app.state.db.engine.begin() as conn:
            await conn.execute(text("DELETE FROM time_entry"))


async def test_a_timer_whose_start_moved_forward_meanwhile_is_left_running(client, app):
    """The worker's stop re-checks the limit in its UPDATE: a timer found overdue whose
    start was corrected since (a user's PATCH between the two) keeps running."""
    s = await project_team(client, app)
    timer = await running_timer(client, app, s.member, s.project_id, ago=DAY + 60)
    async with app.state.db.sessionmaker() as session:
        from_job = await overdue_timers(session, datetime.now(UTC))
    assert [entry for _, entry in from_job] == [uuid.UUID(timer["id"])]
    r = await client.patch(
        s.member.url(f"/time-entries/{timer['id']}"),
        json={"started_at": iso(now() - timedelta(hours=2))},
        headers=s.member.headers,
    )
    assert r.status_code == 200, r.text
    async with unit_of_work(app.state.db, app.state.redis) as session:
        assert not await stop_overdue_timer(session, *from_job[0], datetime.now(UTC))
    assert (await get_entry(client, s.member, timer["id"]))["ended_at"] is None

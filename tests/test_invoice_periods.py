"""Which time an invoice run bills, and when schedules run: late time is never stranded,
a schedule always has a first run date, and consecutive periods neither drift nor overlap
(issue 12, points 1, 3 and 4)."""

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import time_machine

from app.invoices.jobs import run_scheduled_invoices
from tests.factories import make_actor
from tests.factories.clients import new_client, new_client_project
from tests.factories.invoices import (
    create_invoice,
    entry_invoice_id,
    put_invoice_settings,
    time_lines,
)
from tests.factories.rates import add_rate
from tests.factories.teams import patch_team
from tests.factories.time_tracking import add_entry
from tests.helpers import at
from tests.test_invoice_runs import cron_ctx, invoices_of, runs_of, settings_of

FIRST_HALF = {"period_start": "2026-03-01", "period_end": "2026-03-15"}
SECOND_HALF = {"period_start": "2026-03-16", "period_end": "2026-03-31"}

# ------------------------------------------------------------------ late time


async def test_time_logged_late_into_a_run_period_is_billed_by_the_next_run(client, app, run_jobs):
    owner = await make_actor(app, name="Lou Late")
    cid, pid = await new_client_project(client, owner, "Acme", project_name="Site")
    await add_rate(client, owner, 12000)
    on_time = await add_entry(client, owner, pid, at(3, 9), 3600)
    run_body = {**FIRST_HALF, "client_ids": [cid]}
    r = await client.post(owner.url("/invoice-runs"), json=run_body, headers=owner.headers)
    assert r.status_code == 202, r.text
    await run_jobs()
    [first] = await invoices_of(client, owner, cid)
    assert [line["time_entry_ids"] for line in first["lines"]] == [[on_time["id"]]]

    # Logged on the 20th for the 5th, after the run for the 1st-15th happened.
    late = await add_entry(client, owner, pid, at(5, 14), 1800)
    current = await add_entry(client, owner, pid, at(18, 9), 3600)
    after_period = await add_entry(client, owner, pid, at(2, 9, month=4), 3600)
    r = await client.post(
        owner.url("/invoice-runs"), json={**SECOND_HALF, "client_ids": [cid]}, headers=owner.headers
    )
    assert r.status_code == 202, r.text
    await run_jobs()

    second = next(i for i in await invoices_of(client, owner, cid) if i["id"] != first["id"])
    # The invoice keeps the run's period; its line is dated by the entries it bills.
    assert (second["period_start"], second["period_end"]) == ("2026-03-16", "2026-03-31")
    [line] = time_lines(second)
    assert set(line["time_entry_ids"]) == {late["id"], current["id"]}
    assert "2026-03-05 to 2026-03-18" in line["description"], line["description"]
    assert second["total_amount"] == 18000  # 1.5 h at 120.00
    assert await entry_invoice_id(client, owner, late["id"]) == second["id"]
    assert await entry_invoice_id(client, owner, after_period["id"]) is None
    assert sorted(run["status"] for run in await runs_of(client, owner)) == ["done", "done"]


async def test_a_draft_with_include_earlier_takes_uninvoiced_time_before_its_period(client, app):
    owner = await make_actor(app)
    cid, pid = await new_client_project(client, owner)
    await add_rate(client, owner, 12000)
    earlier = await add_entry(client, owner, pid, at(20, 9, month=2), 3600)
    inside = await add_entry(client, owner, pid, at(17, 9), 3600)
    after = await add_entry(client, owner, pid, at(2, 9, month=4), 3600)

    # Without it, the explicit period is kept.
    plain = await create_invoice(client, owner, cid, **SECOND_HALF)
    assert [line["time_entry_ids"] for line in plain["lines"]] == [[inside["id"]]]
    r = await client.delete(owner.url(f"/invoices/{plain['id']}"), headers=owner.headers)
    assert r.status_code == 204, r.text

    inv = await create_invoice(client, owner, cid, **SECOND_HALF, include_earlier=True)
    assert (inv["period_start"], inv["period_end"]) == ("2026-03-16", "2026-03-31")
    [line] = inv["lines"]
    assert set(line["time_entry_ids"]) == {earlier["id"], inside["id"]}
    assert "2026-02-20 to 2026-03-17" in line["description"], line["description"]
    assert await entry_invoice_id(client, owner, after["id"]) is None


# ------------------------------------------------------------------ first run date

KIRITIMATI = "Pacific/Kiritimati"  # UTC+14: its date is often a day ahead of UTC


async def test_a_schedule_without_next_run_on_first_runs_on_its_next_period_start(client, app):
    # Sunday 2026-03-01 12:00 UTC is already Monday 2026-03-02 in the team's time zone.
    with time_machine.travel(datetime(2026, 3, 1, 12, tzinfo=UTC), tick=True):
        owner = await make_actor(app)
        await patch_team(client, owner, timezone=KIRITIMATI)
        cid = (await new_client(client, owner))["id"]
        expected = {"weekly": "2026-03-09", "biweekly": "2026-03-16", "monthly": "2026-04-01"}
        for schedule, first in expected.items():
            await put_invoice_settings(client, owner, cid, schedule="none")
            s = await put_invoice_settings(client, owner, cid, schedule=schedule)
            assert s["next_run_on"] == first, schedule
        # Saved again unchanged (say, to turn on auto_send), the schedule keeps its date.
        s = await put_invoice_settings(client, owner, cid, schedule="monthly", auto_send=True)
        assert (s["next_run_on"], s["auto_send"]) == ("2026-04-01", True)
        # A date the caller gives wins.
        s = await put_invoice_settings(
            client, owner, cid, schedule="weekly", next_run_on="2026-03-04"
        )
        assert s["next_run_on"] == "2026-03-04"
        s = await put_invoice_settings(client, owner, cid, schedule="none")
        assert s["next_run_on"] is None

    # Tuesday 2026-03-31 12:00 UTC is Wednesday 2026-04-01 there.
    with time_machine.travel(datetime(2026, 3, 31, 12, tzinfo=UTC), tick=True):
        owner = await make_actor(app)
        await patch_team(client, owner, timezone=KIRITIMATI)
        cid = (await new_client(client, owner))["id"]
        s = await put_invoice_settings(client, owner, cid, schedule="monthly")
        assert s["next_run_on"] == "2026-05-01"
        s = await put_invoice_settings(client, owner, cid, schedule="weekly")
        assert s["next_run_on"] == "2026-04-06"


# ------------------------------------------------------------------ monthly periods


async def test_monthly_periods_keep_their_anchor_day_and_follow_one_another(client, app):
    owner = await make_actor(app)
    cid, pid = await new_client_project(client, owner)
    await add_rate(client, owner, 12000)
    s = await put_invoice_settings(client, owner, cid, schedule="monthly", next_run_on="2026-01-31")
    assert s["anchor_day"] == 31
    feb_28 = await add_entry(client, owner, pid, at(28, 9, month=2), 3600)
    mar_31 = await add_entry(client, owner, pid, at(31, 9, month=3), 3600)

    # Mid-June: the runs due on Jan 31, Feb 28, Mar 31, Apr 30 and May 31 catch up.
    with time_machine.travel(datetime(2026, 6, 15, 12, tzinfo=UTC), tick=True):
        assert await run_scheduled_invoices(cron_ctx(app)) == 2
    periods = sorted((r["period_start"], r["period_end"]) for r in await runs_of(client, owner))
    assert periods == [
        ("2025-12-31", "2026-01-30"),
        ("2026-01-31", "2026-02-27"),
        ("2026-02-28", "2026-03-30"),
        ("2026-03-31", "2026-04-29"),
        ("2026-04-30", "2026-05-30"),
    ]
    for (_, end), (start, _) in pairwise(periods):
        assert datetime.fromisoformat(start) - datetime.fromisoformat(end) == timedelta(days=1)
    s = await settings_of(client, owner, cid)
    assert (s["next_run_on"], s["anchor_day"]) == ("2026-06-30", 31)

    by_period = {
        (i["period_start"], i["period_end"]): i for i in await invoices_of(client, owner, cid)
    }
    assert by_period.keys() == {("2026-02-28", "2026-03-30"), ("2026-03-31", "2026-04-29")}
    assert await entry_invoice_id(client, owner, feb_28["id"]) == by_period[periods[2]]["id"]
    assert await entry_invoice_id(client, owner, mar_31["id"]) == by_period[periods[3]]["id"]

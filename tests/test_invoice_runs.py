"""Invoice runs: the hourly cron for client schedules and POST /invoice-runs, each making a
client's invoice for a period at most once, however often or concurrently they run."""

import asyncio
from datetime import UTC, datetime, time, timedelta

import time_machine

from app.core.permissions import Role
from app.invoices.jobs import run_scheduled_invoices
from tests.factories import make_actor
from tests.factories.clients import new_client_project
from tests.factories.invoices import (
    entry_invoice_id,
    get_invoice,
    invoice_mails,
    put_invoice_settings,
)
from tests.factories.rates import add_rate
from tests.factories.time_tracking import add_entry
from tests.helpers import assert_problem, at, today

CONTACTS = [("Pat Payer", "pat@example.com")]


def cron_ctx(app) -> dict:
    """What the worker hands the cron job."""
    return {"db": app.state.db, "redis": app.state.redis, "settings": app.state.settings}


def on(day, hour: int = 9) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


async def invoices_of(client, actor, client_id: str) -> list[dict]:
    r = await client.get(actor.url(f"/invoices?client_id={client_id}"), headers=actor.headers)
    assert r.status_code == 200, r.text
    return r.json()["data"]


async def runs_of(client, actor) -> list[dict]:
    r = await client.get(actor.url("/invoice-runs"), headers=actor.headers)
    assert r.status_code == 200, r.text
    return r.json()["data"]


# ------------------------------------------------------------------ scheduled runs


async def test_scheduled_run_makes_one_invoice_per_period_and_sends_it(
    client, app, mailbox, run_jobs
):
    owner = await make_actor(app)
    cid, pid = await new_client_project(client, owner, contacts=CONTACTS, billing_contacts=True)
    await add_rate(client, owner, 12000)
    due = today() - timedelta(days=3)
    start, end = due - timedelta(days=7), due - timedelta(days=1)
    inside = await add_entry(client, owner, pid, on(due - timedelta(days=5)), 3600)
    last_day = await add_entry(client, owner, pid, on(end, 22), 1800)
    # Uninvoiced time from before the period (logged late) is billed with it.
    before = await add_entry(client, owner, pid, on(start - timedelta(days=1)), 3600)
    after = await add_entry(client, owner, pid, on(due), 3600)
    await put_invoice_settings(
        client, owner, cid, schedule="weekly", next_run_on=due.isoformat(), auto_send=True
    )
    await run_jobs()  # the contact's portal invitation
    mailbox.messages.clear()

    # Two cron ticks at once (two workers): one invoice.
    made = await asyncio.gather(
        run_scheduled_invoices(cron_ctx(app)), run_scheduled_invoices(cron_ctx(app))
    )
    assert sorted(made) == [0, 1]
    # A later tick finds nothing due.
    assert await run_scheduled_invoices(cron_ctx(app)) == 0

    [inv] = await invoices_of(client, owner, cid)
    assert inv["status"] == "open"
    assert inv["number"] is not None
    assert (inv["period_start"], inv["period_end"]) == (start.isoformat(), end.isoformat())
    assert inv["run_id"] is not None
    [line] = inv["lines"]
    assert set(line["time_entry_ids"]) == {before["id"], inside["id"], last_day["id"]}
    assert inv["total_amount"] == 30000  # 2.5 h at 120.00
    assert await entry_invoice_id(client, owner, after["id"]) is None

    r = await client.get(owner.url(f"/clients/{cid}/invoice-settings"), headers=owner.headers)
    assert r.json()["next_run_on"] == (due + timedelta(days=7)).isoformat()

    [run] = await runs_of(client, owner)
    assert run["status"] == "done"
    assert run["invoice_id"] == inv["id"]
    assert run["client_id"] == cid
    assert (run["period_start"], run["period_end"]) == (start.isoformat(), end.isoformat())
    assert run["trigger"] == "schedule"
    assert run["id"] == inv["run_id"]

    # auto_send: the invoice goes out with the next worker pass.
    await run_jobs()
    [message] = invoice_mails(mailbox)
    assert inv["number"] in message["Subject"]
    assert message["To"] == CONTACTS[0][1]
    sent = await get_invoice(client, owner, inv["id"])
    assert sent["send_status"] == "sent"
    assert sent["sent_at"] is not None

    # The same due period again (say, the schedule was reset), with time logged late into
    # it: that period's run already happened, so no second invoice (the next period's run
    # bills that time).
    late = await add_entry(client, owner, pid, on(start, 14), 1800)
    await put_invoice_settings(
        client, owner, cid, schedule="weekly", next_run_on=due.isoformat(), auto_send=True
    )
    assert await run_scheduled_invoices(cron_ctx(app)) == 0
    assert [i["id"] for i in await invoices_of(client, owner, cid)] == [inv["id"]]
    assert await entry_invoice_id(client, owner, late["id"]) is None
    assert len(await runs_of(client, owner)) == 1
    r = await client.get(owner.url(f"/clients/{cid}/invoice-settings"), headers=owner.headers)
    assert r.json()["next_run_on"] == (due + timedelta(days=7)).isoformat()


async def test_scheduled_run_without_auto_send_only_finalizes(client, app, mailbox, run_jobs):
    owner = await make_actor(app)
    cid, pid = await new_client_project(client, owner, contacts=CONTACTS, billing_contacts=True)
    await add_rate(client, owner, 12000)
    due = today() - timedelta(days=1)
    await add_entry(client, owner, pid, on(due - timedelta(days=3)), 3600)
    await put_invoice_settings(client, owner, cid, schedule="weekly", next_run_on=due.isoformat())
    await run_jobs()
    mailbox.messages.clear()

    assert await run_scheduled_invoices(cron_ctx(app)) == 1
    [inv] = await invoices_of(client, owner, cid)
    assert inv["status"] == "open"
    assert inv["send_status"] is None
    await run_jobs()
    assert invoice_mails(mailbox) == []


async def test_schedules_not_due_or_without_time_make_no_invoice(client, app):
    owner = await make_actor(app)
    future_cid, future_pid = await new_client_project(client, owner, "Later")
    empty_cid, _ = await new_client_project(client, owner, "Idle")
    await add_rate(client, owner, 12000)
    await add_entry(client, owner, future_pid, on(today() - timedelta(days=3)), 3600)
    tomorrow = today() + timedelta(days=1)
    await put_invoice_settings(
        client, owner, future_cid, schedule="weekly", next_run_on=tomorrow.isoformat()
    )
    due = today() - timedelta(days=2)
    await put_invoice_settings(
        client, owner, empty_cid, schedule="weekly", next_run_on=due.isoformat()
    )

    assert await run_scheduled_invoices(cron_ctx(app)) == 0
    assert await invoices_of(client, owner, future_cid) == []
    assert await invoices_of(client, owner, empty_cid) == []
    [run] = await runs_of(client, owner)
    assert (run["client_id"], run["status"], run["invoice_id"]) == (empty_cid, "empty", None)
    r = await client.get(
        owner.url(f"/clients/{future_cid}/invoice-settings"), headers=owner.headers
    )
    assert r.json()["next_run_on"] == tomorrow.isoformat()
    r = await client.get(owner.url(f"/clients/{empty_cid}/invoice-settings"), headers=owner.headers)
    assert r.json()["next_run_on"] == (due + timedelta(days=7)).isoformat()


async def settings_of(client, actor, client_id: str) -> dict:
    r = await client.get(actor.url(f"/clients/{client_id}/invoice-settings"), headers=actor.headers)
    assert r.status_code == 200, r.text
    return r.json()


def run_failure_mails(mailbox) -> list:
    return [m for m in mailbox.messages if "invoice run" in m["Subject"].lower()]


async def test_a_failed_scheduled_run_stays_due_and_managers_hear_of_it_once_after_a_day(
    client, app, mailbox, run_jobs
):
    owner = await make_actor(app)
    manager = await make_actor(app, team_id=owner.team_id, role=Role.sales_manager)
    rep = await make_actor(app, team_id=owner.team_id, role=Role.sales_rep)
    accountant = await make_actor(app, team_id=owner.team_id, role=Role.org_manager)
    cid, pid = await new_client_project(client, owner, "Rateless Ltd")
    due = today() - timedelta(days=3)
    entry = await add_entry(client, owner, pid, on(due - timedelta(days=4)), 3600)  # no rate
    await put_invoice_settings(client, owner, cid, schedule="weekly", next_run_on=due.isoformat())
    await run_jobs()
    mailbox.messages.clear()
    now = datetime.now(UTC)

    # The first failure, 25 hours ago: the period stays due.
    with time_machine.travel(now - timedelta(hours=25), tick=True):
        assert await run_scheduled_invoices(cron_ctx(app)) == 0
    [run] = await runs_of(client, owner)
    assert run["status"] == "failed"
    assert run["error"].startswith("rate_missing"), run["error"]
    assert (await settings_of(client, owner, cid))["next_run_on"] == due.isoformat()

    # Hourly retries fail the same way; within a day nobody is emailed.
    with time_machine.travel(now - timedelta(hours=2), tick=True):
        assert await run_scheduled_invoices(cron_ctx(app)) == 0
    await run_jobs()
    assert run_failure_mails(mailbox) == []
    assert (await settings_of(client, owner, cid))["next_run_on"] == due.isoformat()

    # Failing for more than 24 hours: the team's invoicing managers are told, with the reason.
    assert await run_scheduled_invoices(cron_ctx(app)) == 0
    await run_jobs()
    [mail] = run_failure_mails(mailbox)
    to = {a.strip() for a in mail["To"].split(",")}
    assert to == {owner.email, manager.email, accountant.email}
    assert rep.email not in to
    body = mail.get_body().get_content()
    assert "Rateless Ltd" in mail["Subject"] + body
    assert "rate_missing" in body
    assert str(entry["id"]) in body
    # ... once.
    assert await run_scheduled_invoices(cron_ctx(app)) == 0
    await run_jobs()
    assert len(run_failure_mails(mailbox)) == 1
    [run] = await runs_of(client, owner)
    assert run["status"] == "failed"

    # Once the rate exists, the next tick makes the invoice and the schedule moves on.
    await add_rate(client, owner, 12000)
    assert await run_scheduled_invoices(cron_ctx(app)) == 1
    assert await run_scheduled_invoices(cron_ctx(app)) == 0
    [inv] = await invoices_of(client, owner, cid)
    assert inv["lines"][0]["time_entry_ids"] == [entry["id"]]
    [run] = await runs_of(client, owner)
    assert (run["status"], run["invoice_id"], run["error"]) == ("done", inv["id"], None)
    assert (await settings_of(client, owner, cid))["next_run_on"] == (
        due + timedelta(days=7)
    ).isoformat()


# ------------------------------------------------------------------ POST /invoice-runs


async def test_manual_run_makes_the_period_invoice_once(client, app, run_jobs):
    owner = await make_actor(app)
    cid, pid = await new_client_project(client, owner, "Acme")
    other_cid, other_pid = await new_client_project(client, owner, "Other")
    await add_rate(client, owner, 12000)
    entry = await add_entry(client, owner, pid, at(2, 9), 3600)
    other_entry = await add_entry(client, owner, other_pid, at(3, 9), 3600)
    period = {"period_start": "2026-03-01", "period_end": "2026-03-31"}

    r = await client.post(
        owner.url("/invoice-runs"), json={**period, "client_ids": [cid]}, headers=owner.headers
    )
    assert r.status_code == 202, r.text
    assert r.json()["job_id"]
    assert await invoices_of(client, owner, cid) == []  # later, in the worker
    assert await run_jobs() >= 1

    [inv] = await invoices_of(client, owner, cid)
    assert inv["status"] == "open"
    assert inv["number"] is not None
    assert (inv["period_start"], inv["period_end"]) == ("2026-03-01", "2026-03-31")
    assert inv["lines"][0]["time_entry_ids"] == [entry["id"]]
    assert inv["total_amount"] == 12000
    # Only the named client.
    assert await invoices_of(client, owner, other_cid) == []
    assert await entry_invoice_id(client, owner, other_entry["id"]) is None
    [run] = await runs_of(client, owner)
    assert (run["status"], run["invoice_id"], run["trigger"]) == ("done", inv["id"], "manual")

    # The same period again, even with time logged late into it: no second invoice.
    late = await add_entry(client, owner, pid, at(20, 9), 3600)
    for _ in range(2):
        r = await client.post(
            owner.url("/invoice-runs"), json={**period, "client_ids": [cid]}, headers=owner.headers
        )
        assert r.status_code == 202, r.text
    await run_jobs()
    assert [i["id"] for i in await invoices_of(client, owner, cid)] == [inv["id"]]
    assert await entry_invoice_id(client, owner, late["id"]) is None

    # Without client_ids: every client with time to bill; Acme's period already ran.
    r = await client.post(owner.url("/invoice-runs"), json=period, headers=owner.headers)
    assert r.status_code == 202, r.text
    await run_jobs()
    assert [i["id"] for i in await invoices_of(client, owner, cid)] == [inv["id"]]
    [other_inv] = await invoices_of(client, owner, other_cid)
    assert other_inv["lines"][0]["time_entry_ids"] == [other_entry["id"]]
    runs = await runs_of(client, owner)
    assert sorted((r["client_id"], r["status"]) for r in runs) == sorted(
        [(cid, "done"), (other_cid, "done")]
    )


async def test_concurrent_manual_runs_make_one_invoice(client, app, run_jobs):
    owner = await make_actor(app)
    cid, pid = await new_client_project(client, owner)
    await add_rate(client, owner, 12000)
    for day in range(2, 6):
        await add_entry(client, owner, pid, at(day, 9), 3600)
    body = {"period_start": "2026-03-01", "period_end": "2026-03-31", "client_ids": [cid]}

    responses = await asyncio.gather(
        *(
            client.post(owner.url("/invoice-runs"), json=body, headers=owner.headers)
            for _ in range(4)
        )
    )
    assert [r.status_code for r in responses] == [202] * 4
    assert await run_jobs() >= 4  # the worker runs them side by side

    [inv] = await invoices_of(client, owner, cid)
    assert inv["total_amount"] == 48000
    [run] = await runs_of(client, owner)
    assert run["invoice_id"] == inv["id"]


async def test_manual_run_validation_and_roles(client, app):
    owner = await make_actor(app)
    rep = await make_actor(app, team_id=owner.team_id, role=Role.sales_rep)
    manager = await make_actor(app, team_id=owner.team_id, role=Role.sales_manager)
    stranger = await make_actor(app)
    foreign_cid, _ = await new_client_project(client, stranger)
    period = {"period_start": "2026-03-01", "period_end": "2026-03-31"}

    r = await client.post(owner.url("/invoice-runs"), json=period)
    assert_problem(r, 401)
    r = await client.post(rep.url("/invoice-runs"), json=period, headers=rep.headers)
    assert_problem(r, 403)
    r = await client.post(
        owner.url("/invoice-runs"),
        json={"period_start": "2026-03-31", "period_end": "2026-03-01"},
        headers=owner.headers,
    )
    assert_problem(r, 422, "invalid_period")
    r = await client.post(
        owner.url("/invoice-runs"),
        json={**period, "client_ids": [foreign_cid]},
        headers=owner.headers,
    )
    assert_problem(r, 422, "unknown_client")
    r = await client.post(manager.url("/invoice-runs"), json=period, headers=manager.headers)
    assert r.status_code == 202, r.text
    member = await make_actor(app, team_id=owner.team_id, role=Role.member)
    r = await client.get(member.url("/invoice-runs"), headers=member.headers)
    assert_problem(r, 403)


async def test_sales_rep_sees_only_runs_of_its_own_clients(client, app, run_jobs):
    owner = await make_actor(app)
    rep = await make_actor(app, team_id=owner.team_id, role=Role.sales_rep)
    mine, my_project = await new_client_project(client, owner, "Rep's", owner_id=str(rep.user_id))
    theirs, their_project = await new_client_project(client, owner, "Not the rep's")
    await add_rate(client, owner, 12000)
    await add_entry(client, owner, my_project, at(2, 9), 3600)
    await add_entry(client, owner, their_project, at(3, 9), 3600)
    period = {"period_start": "2026-03-01", "period_end": "2026-03-31"}
    r = await client.post(owner.url("/invoice-runs"), json=period, headers=owner.headers)
    assert r.status_code == 202, r.text
    await run_jobs()
    assert {run["client_id"] for run in await runs_of(client, owner)} == {mine, theirs}

    # Like invoices, a sales rep reads the runs of its own clients only.
    visible = await runs_of(client, rep)
    assert [run["client_id"] for run in visible] == [mine]

"""Which time an invoice run bills, and when schedules run: late time is never stranded,
a schedule always has a first run date, and consecutive periods neither drift nor overlap
(issue 12, points 1, 3 and 4)."""

from tests.factories import make_actor
from tests.factories.clients import new_client_project
from tests.factories.invoices import create_invoice, entry_invoice_id, time_lines
from tests.factories.rates import add_rate
from tests.factories.time_tracking import add_entry
from tests.helpers import at
from tests.test_invoice_runs import invoices_of, runs_of

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

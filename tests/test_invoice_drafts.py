"""Invoice drafts from tracked time: lines per project and member at the rate in effect,
rounded per line, the period read in the team's time zone, what is never billed, missing
rates, and each entry billed at most once - also under concurrent drafts and moves.

Every expected amount below is computed by hand in the comment next to it, from the rules
in app/invoices/totals.py (half-up everywhere, tax per line on the discounted amount)."""

import asyncio
import uuid
from decimal import Decimal

from sqlalchemy import text

from app.core.permissions import Role
from tests.factories import make_actor
from tests.factories.clients import new_client_project
from tests.factories.invoices import (
    MARCH,
    create_invoice,
    entry_invoice_id,
    get_invoice,
    line_for,
    manual_draft,
    manual_lines,
    post_invoice,
    put_invoice_settings,
)
from tests.factories.projects import new_project
from tests.factories.rates import add_rate
from tests.factories.time_tracking import add_entry
from tests.helpers import assert_problem, at

# ------------------------------------------------------------------ drafts from time


async def test_draft_bills_uninvoiced_time_per_project_and_member(client, app):
    alice = await make_actor(app, name="Alice Able")
    bob = await make_actor(app, team_id=alice.team_id, role=Role.org_manager, name="Bob Baker")
    cid, alpha = await new_client_project(client, alice, "Acme", project_name="Alpha site")
    beta = (await new_project(client, alice, "Beta app", client_id=cid))["id"]
    _, other_project = await new_client_project(client, alice, "Other Co")
    await put_invoice_settings(client, alice, cid, rounding_seconds=900)
    await add_rate(client, alice, 10001)  # team: 100.01 EUR/h
    await add_rate(client, alice, 8333, scope="member", user_id=bob.user_id)
    await add_rate(client, alice, 15000, scope="project", project_id=beta)

    a1 = await add_entry(client, alice, alpha, at(2, 9), 1200)
    a2 = await add_entry(client, alice, alpha, at(3, 9), 1200)
    b1 = await add_entry(client, bob, alpha, at(2, 10), 1867)
    a3 = await add_entry(client, alice, beta, at(4, 9), 600)
    non_billable = await add_entry(client, alice, alpha, at(5, 9), 1800, billable=False)
    outside = await add_entry(client, alice, alpha, at(10, 9, month=4), 1200)
    other_client = await add_entry(client, alice, other_project, at(6, 9), 1200)

    inv = await create_invoice(
        client,
        alice,
        cid,
        **MARCH,
        due_date="2026-04-30",
        notes="March work",
        lines=[{"description": "Setup fee", "quantity": "1.5", "unit_amount": 3333}],
    )

    assert inv["status"] == "draft"
    assert inv["number"] is None
    assert inv["client_id"] == cid
    assert inv["currency"] == "EUR"
    assert inv["due_date"] == "2026-04-30"
    assert inv["notes"] == "March work"
    assert inv["exchange_rate"] is None
    assert len(inv["lines"]) == 4, inv["lines"]

    # Alice on Alpha: 1200 + 1200 = 2400 s tracked, rounded up per line (not per entry,
    # which would give 1800 + 1800) to 2700 s; 2700 * 10001 / 3600 = 7500.75 -> 7501.
    line = line_for(inv, alpha, alice.user_id)
    assert line["kind"] == "time"
    assert line["tracked_seconds"] == 2400
    assert line["quantity_seconds"] == 2700
    assert line["unit_amount"] == 10001
    assert line["amount"] == 7501
    assert line["rate_missing"] is False
    assert set(line["time_entry_ids"]) == {a1["id"], a2["id"]}
    for part in ("Alpha site", "Alice Able", "2026-03-02", "2026-03-03"):
        assert part in line["description"], line["description"]

    # Bob on Alpha at his member rate: 1867 s -> 2700 s; 2700 * 8333 / 3600 = 6249.75 -> 6250.
    line = line_for(inv, alpha, bob.user_id)
    assert (line["tracked_seconds"], line["quantity_seconds"]) == (1867, 2700)
    assert (line["unit_amount"], line["amount"]) == (8333, 6250)
    assert line["time_entry_ids"] == [b1["id"]]
    for part in ("Alpha site", "Bob Baker", "2026-03-02"):
        assert part in line["description"], line["description"]

    # Alice on Beta at the project rate: 600 s -> 900 s; 900 * 15000 / 3600 = 3750.
    line = line_for(inv, beta, alice.user_id)
    assert (line["tracked_seconds"], line["quantity_seconds"]) == (600, 900)
    assert (line["unit_amount"], line["amount"]) == (15000, 3750)
    assert line["time_entry_ids"] == [a3["id"]]
    for part in ("Beta app", "Alice Able", "2026-03-04"):
        assert part in line["description"], line["description"]

    # The manual line: 1.5 * 3333 = 4999.5 -> 5000 (half-up).
    [manual] = manual_lines(inv)
    assert manual["description"] == "Setup fee"
    assert Decimal(str(manual["quantity"])) == Decimal("1.5")
    assert (manual["unit_amount"], manual["amount"]) == (3333, 5000)
    assert manual["quantity_seconds"] is None
    assert manual["time_entry_ids"] == []

    # 7501 + 6250 + 3750 + 5000
    assert inv["subtotal_amount"] == 22501
    assert (inv["discount_amount"], inv["tax_amount"]) == (0, 0)
    assert inv["total_amount"] == 22501
    assert (inv["amount_paid"], inv["amount_due"]) == (0, 22501)

    for entry in (a1, a2, b1, a3):
        assert await entry_invoice_id(client, alice, entry["id"]) == inv["id"]
    for entry in (non_billable, outside, other_client):
        assert await entry_invoice_id(client, alice, entry["id"]) is None
    # Rounding is applied on the invoice only; the stored time is untouched.
    r = await client.get(alice.url(f"/time-entries/{a1['id']}"), headers=alice.headers)
    assert r.json()["duration_seconds"] == 1200
    r = await client.get(alice.url(f"/time-entries/{b1['id']}"), headers=alice.headers)
    assert r.json()["duration_seconds"] == 1867

    # The stored invoice reads back the same.
    again = await get_invoice(client, alice, inv["id"])
    assert again["lines"] == inv["lines"]
    assert again["total_amount"] == 22501


async def test_draft_period_is_read_in_the_team_time_zone(client, app):
    owner = await make_actor(app, name="Tess Zone")
    r = await client.patch(owner.url(), json={"timezone": "Europe/Berlin"}, headers=owner.headers)
    assert r.status_code == 200, r.text
    cid, pid = await new_client_project(client, owner, "Berlin GmbH", project_name="Zone project")
    await add_rate(client, owner, 6000)
    # Berlin is UTC+1 in early March 2026.
    before = await add_entry(client, owner, pid, at(9, 22, 30), 900)  # 03-09 23:30 local
    early = await add_entry(client, owner, pid, at(9, 23, 30), 900)  # 03-10 00:30 local
    late = await add_entry(client, owner, pid, at(10, 22, 0), 900)  # 03-10 23:00 local
    after = await add_entry(client, owner, pid, at(10, 23, 15), 900)  # 03-11 00:15 local

    inv = await create_invoice(
        client, owner, cid, period_start="2026-03-10", period_end="2026-03-10"
    )

    [line] = inv["lines"]
    assert set(line["time_entry_ids"]) == {early["id"], late["id"]}
    assert line["tracked_seconds"] == 1800
    assert line["amount"] == 3000  # 1800 * 6000 / 3600
    # Both entries fall on the 10th locally (the 9th and 10th in UTC).
    assert "2026-03-10" in line["description"]
    assert "2026-03-09" not in line["description"]
    assert await entry_invoice_id(client, owner, before["id"]) is None
    assert await entry_invoice_id(client, owner, after["id"]) is None


async def test_non_billable_entries_and_running_timers_are_never_billed(client, app):
    owner = await make_actor(app)
    cid, pid = await new_client_project(client, owner)
    await add_rate(client, owner, 6000)
    done = await add_entry(client, owner, pid, at(2, 9), 3600)
    free = await add_entry(client, owner, pid, at(3, 9), 3600, billable=False)
    r = await client.post(
        owner.url("/timer/start"), json={"project_id": pid}, headers=owner.headers
    )
    assert r.status_code == 201, r.text
    running = r.json()
    assert running["ended_at"] is None and running["billable"] is True

    # No period: everything up to today, which includes the running timer's start.
    inv = await create_invoice(client, owner, cid)
    [line] = inv["lines"]
    assert line["time_entry_ids"] == [done["id"]]
    assert inv["total_amount"] == 6000
    assert await entry_invoice_id(client, owner, free["id"]) is None
    assert await entry_invoice_id(client, owner, running["id"]) is None

    # What is left (a non-billable entry and a running timer) is nothing to invoice.
    r = await post_invoice(client, owner, cid)
    assert_problem(r, 422, "nothing_to_invoice")


async def test_nothing_to_invoice_without_time_or_manual_lines(client, app):
    owner = await make_actor(app)
    cid, pid = await new_client_project(client, owner)
    await add_rate(client, owner, 6000)
    r = await post_invoice(client, owner, cid, **MARCH)
    assert_problem(r, 422, "nothing_to_invoice")
    # Time outside the period does not count either.
    entry = await add_entry(client, owner, pid, at(2, 9, month=4), 3600)
    r = await post_invoice(client, owner, cid, **MARCH)
    assert_problem(r, 422, "nothing_to_invoice")
    assert await entry_invoice_id(client, owner, entry["id"]) is None
    r = await client.get(owner.url("/invoices"), headers=owner.headers)
    assert r.json()["data"] == []
    # Manual lines alone make a draft.
    inv = await manual_draft(client, owner, cid, **MARCH)
    assert inv["lines"][0]["kind"] == "manual"
    assert inv["total_amount"] == 10000


async def test_missing_rates_are_refused_naming_the_entries_unless_allowed(client, app):
    alice = await make_actor(app, name="Alice Able")
    bob = await make_actor(app, team_id=alice.team_id, role=Role.org_manager, name="Bob Baker")
    # The team rate is in EUR and does not apply to a USD client; Bob has a USD rate.
    cid, pid = await new_client_project(client, alice, "Yankee Inc", "USD")
    await add_rate(client, alice, 6000, "EUR")
    await add_rate(client, alice, 9000, "USD", scope="member", user_id=bob.user_id)
    a1 = await add_entry(client, alice, pid, at(2, 9), 1800)
    a2 = await add_entry(client, alice, pid, at(3, 9), 1800)
    b1 = await add_entry(client, bob, pid, at(2, 9), 3600)

    r = await post_invoice(client, alice, cid, **MARCH)
    body = assert_problem(r, 422, "rate_missing")
    assert a1["id"] in body["detail"] and a2["id"] in body["detail"], body
    assert b1["id"] not in body["detail"], body
    assert set(body["time_entry_ids"]) == {a1["id"], a2["id"]}
    for entry in (a1, a2, b1):
        assert await entry_invoice_id(client, alice, entry["id"]) is None

    inv = await create_invoice(client, alice, cid, **MARCH, allow_missing_rates=True)
    missing = line_for(inv, pid, alice.user_id)
    assert missing["rate_missing"] is True
    assert (missing["unit_amount"], missing["amount"]) == (0, 0)
    assert missing["quantity_seconds"] == 3600
    assert set(missing["time_entry_ids"]) == {a1["id"], a2["id"]}
    priced = line_for(inv, pid, bob.user_id)
    assert priced["rate_missing"] is False
    assert (priced["unit_amount"], priced["amount"]) == (9000, 9000)
    assert inv["currency"] == "USD"
    assert inv["total_amount"] == 9000
    for entry in (a1, a2, b1):
        assert await entry_invoice_id(client, alice, entry["id"]) == inv["id"]


async def test_project_ids_narrow_the_draft(client, app):
    owner = await make_actor(app)
    cid, alpha = await new_client_project(client, owner, project_name="Alpha")
    beta = (await new_project(client, owner, "Beta", client_id=cid))["id"]
    _, foreign = await new_client_project(client, owner, "Foreign")
    await add_rate(client, owner, 6000)
    ea = await add_entry(client, owner, alpha, at(2, 9), 3600)
    eb = await add_entry(client, owner, beta, at(3, 9), 3600)

    r = await post_invoice(client, owner, cid, **MARCH, project_ids=[foreign])
    assert_problem(r, 422, "unknown_project")
    r = await post_invoice(client, owner, cid, period_start="2026-03-31", period_end="2026-03-01")
    assert_problem(r, 422, "invalid_period")
    inv = await create_invoice(client, owner, cid, **MARCH, project_ids=[beta])
    assert [line["time_entry_ids"] for line in inv["lines"]] == [[eb["id"]]]
    assert await entry_invoice_id(client, owner, ea["id"]) is None


# ------------------------------------------------------------------ billed at most once


async def test_concurrent_drafts_bill_each_entry_exactly_once(client, app):
    owner = await make_actor(app)
    cid, pid = await new_client_project(client, owner)
    await add_rate(client, owner, 6000)
    entries = [await add_entry(client, owner, pid, at(2 + i, 9), 1800) for i in range(8)]
    ids = {e["id"] for e in entries}

    responses = await asyncio.gather(*(post_invoice(client, owner, cid, **MARCH) for _ in range(8)))

    created = [r for r in responses if r.status_code == 201]
    assert len(created) == 1, [(r.status_code, r.text) for r in responses]
    for r in responses:
        if r.status_code != 201:
            assert_problem(r, 422, "nothing_to_invoice")
    winner = created[0].json()
    billed = [i for line in winner["lines"] for i in line["time_entry_ids"]]
    assert sorted(billed) == sorted(ids)
    assert winner["total_amount"] == 8 * 3000

    async with app.state.db.engine.connect() as conn:
        rows = (
            await conn.execute(
                text("SELECT id, invoice_id FROM time_entry WHERE project_id = :p"),
                {"p": uuid.UUID(pid)},
            )
        ).all()
        invoices = await conn.scalar(
            text("SELECT count(*) FROM invoice WHERE client_id = :c"), {"c": uuid.UUID(cid)}
        )
        line_refs = await conn.scalar(
            text(
                "SELECT count(*) FROM invoice_line, unnest(time_entry_ids) AS e(id)"
                " WHERE invoice_line.team_id = :t"
            ),
            {"t": owner.team_id},
        )
    assert invoices == 1
    assert {str(i) for i, _ in rows} == ids
    assert {str(inv) for _, inv in rows} == {winner["id"]}
    assert line_refs == 8


async def lock_waiters(app) -> int:
    async with app.state.db.engine.connect() as conn:
        return await conn.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        )


async def wait_for(condition, what: str) -> None:
    for _ in range(500):
        if await condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


async def test_a_draft_never_bills_time_of_a_project_moved_to_another_client(client, app):
    """A draft for client A and moving A's project to client B, at the same time: either
    the move is refused (the time is invoiced) or the time is not billed to A."""
    owner = await make_actor(app)
    cid, pid = await new_client_project(client, owner, "Old client")
    new_cid, _ = await new_client_project(client, owner, "New client")
    await add_rate(client, owner, 6000)
    entry = await add_entry(client, owner, pid, at(2, 9), 3600)

    # Hold the entry's row lock (as any concurrent writer of that entry would) so the
    # draft is caught half-way, after it chose the client's projects.
    async with app.state.db.engine.connect() as conn:
        blocker = await conn.begin()
        await conn.execute(
            text("SELECT id FROM time_entry WHERE id = :e FOR UPDATE"),
            {"e": uuid.UUID(entry["id"])},
        )
        draft = asyncio.create_task(post_invoice(client, owner, cid, **MARCH))
        await wait_for(lambda: _waiters_at_least(app, 1), "the draft to wait on the entry")
        move = asyncio.create_task(
            client.patch(
                owner.url(f"/projects/{pid}"), json={"client_id": new_cid}, headers=owner.headers
            )
        )
        await wait_for(
            lambda: _done_or_waiting(move, app, 2), "the move to finish or wait on the draft"
        )
        await blocker.rollback()
    drafted, moved = await asyncio.gather(draft, move)

    r = await client.get(owner.url(f"/projects/{pid}"), headers=owner.headers)
    project_client = r.json()["client_id"]
    billed_to = await entry_invoice_id(client, owner, entry["id"])
    if billed_to is not None:
        invoice = await get_invoice(client, owner, billed_to)
        assert invoice["client_id"] == project_client, (
            f"the entry is on {invoice['client_id']}'s invoice but its project now belongs to"
            f" {project_client} (draft {drafted.status_code}, move {moved.status_code})"
        )
        assert_problem(moved, 409, "project_has_invoiced_time")
    else:
        assert_problem(drafted, 422, "nothing_to_invoice")
        assert moved.status_code == 200


async def _waiters_at_least(app, n: int) -> bool:
    return await lock_waiters(app) >= n


async def _done_or_waiting(task: asyncio.Task, app, n: int) -> bool:
    return task.done() or await lock_waiters(app) >= n

"""Invoices: drafts from tracked time, billing once under concurrency, totals in EUR, JPY
and KWD, exchange rates, the draft/open/void lifecycle, gapless numbers, and roles.

Every expected amount below is computed by hand in the comment next to it, from the rules
in app/invoices/totals.py (half-up everywhere, tax per line on the discounted amount)."""

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import text

from app.core.permissions import Role
from tests.factories import Actor, make_actor
from tests.helpers import assert_problem

MARCH = {"period_start": "2026-03-01", "period_end": "2026-03-31"}


# ------------------------------------------------------------------ helpers


def at(day: int, hour: int, minute: int = 0, *, month: int = 3, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def today() -> date:
    """Today in the teams' time zone (the factories create UTC teams)."""
    return datetime.now(UTC).date()


def number(seq: int, year: int | None = None) -> str:
    return f"INV-{year or today().year}-{seq:04d}"


async def new_client(
    http,
    actor: Actor,
    name: str = "Acme",
    currency: str = "EUR",
    *,
    contacts: list[tuple[str, str]] = (),
    project_name: str | None = None,
    **extra,
) -> tuple[str, str]:
    """(client_id, project_id) of a new client created with its project and contacts."""
    body = {
        "name": name,
        "currency": currency,
        "create_project": True,
        "invite_contacts": [{"name": n, "email": e} for n, e in contacts],
        **extra,
    }
    if project_name:
        body["project_name"] = project_name
    r = await http.post(actor.url("/clients"), json=body, headers=actor.headers)
    assert r.status_code == 201, r.text
    return r.json()["id"], r.json()["project_id"]


async def new_project(http, actor: Actor, client_id: str, name: str, **extra) -> str:
    r = await http.post(
        actor.url("/projects"),
        json={"name": name, "client_id": client_id, **extra},
        headers=actor.headers,
    )
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def add_rate(
    http,
    actor: Actor,
    amount: int,
    currency: str = "EUR",
    *,
    scope: str = "team",
    effective_from: str = "2026-01-01",
    **ids,
) -> dict:
    body = {
        "scope": scope,
        "hourly_rate_amount": amount,
        "currency": currency,
        "effective_from": effective_from,
        **{k: str(v) for k, v in ids.items()},
    }
    r = await http.post(actor.url("/rates"), json=body, headers=actor.headers)
    assert r.status_code == 201, r.text
    return r.json()


async def add_entry(
    http, actor: Actor, project_id: str, start: datetime, seconds: int, **extra
) -> dict:
    body = {
        "project_id": project_id,
        "started_at": start.isoformat(),
        "ended_at": (start + timedelta(seconds=seconds)).isoformat(),
        **{k: str(v) if isinstance(v, uuid.UUID) else v for k, v in extra.items()},
    }
    r = await http.post(actor.url("/time-entries"), json=body, headers=actor.headers)
    assert r.status_code == 201, r.text
    assert r.json()["duration_seconds"] == seconds
    return r.json()


async def put_settings(http, actor: Actor, client_id: str, **fields) -> dict:
    r = await http.put(
        actor.url(f"/clients/{client_id}/invoice-settings"), json=fields, headers=actor.headers
    )
    assert r.status_code == 200, r.text
    return r.json()


async def add_exchange_rate(
    http, actor: Actor, currency: str, rate: str, effective_from: str = "2026-01-01"
) -> dict:
    r = await http.post(
        actor.url("/exchange-rates"),
        json={"currency": currency, "rate": rate, "effective_from": effective_from},
        headers=actor.headers,
    )
    assert r.status_code == 201, r.text
    return r.json()


async def post_invoice(http, actor: Actor, client_id: str, **body):
    return await http.post(
        actor.url("/invoices"), json={"client_id": client_id, **body}, headers=actor.headers
    )


async def create_invoice(http, actor: Actor, client_id: str, **body) -> dict:
    r = await post_invoice(http, actor, client_id, **body)
    assert r.status_code == 201, r.text
    return r.json()


async def manual_draft(
    http, actor: Actor, client_id: str, unit_amount: int = 10000, **body
) -> dict:
    """A draft with one manual line and no time."""
    lines = [{"description": "Consulting", "quantity": "1", "unit_amount": unit_amount}]
    return await create_invoice(http, actor, client_id, lines=lines, **body)


async def get_invoice(http, actor: Actor, invoice_id: str) -> dict:
    r = await http.get(actor.url(f"/invoices/{invoice_id}"), headers=actor.headers)
    assert r.status_code == 200, r.text
    return r.json()


async def finalize(http, actor: Actor, invoice_id: str) -> dict:
    r = await http.post(actor.url(f"/invoices/{invoice_id}/finalize"), headers=actor.headers)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "open"
    return r.json()


async def entry_invoice_id(http, actor: Actor, entry_id: str) -> str | None:
    r = await http.get(actor.url(f"/time-entries/{entry_id}"), headers=actor.headers)
    assert r.status_code == 200, r.text
    return r.json()["invoice_id"]


def line_for(invoice: dict, project_id: str, user_id) -> dict:
    found = [
        line
        for line in invoice["lines"]
        if line["project_id"] == project_id and line["user_id"] == str(user_id)
    ]
    assert len(found) == 1, invoice["lines"]
    return found[0]


def manual_lines(invoice: dict) -> list[dict]:
    return [line for line in invoice["lines"] if line["kind"] == "manual"]


def time_lines(invoice: dict) -> list[dict]:
    return [line for line in invoice["lines"] if line["kind"] == "time"]


# ------------------------------------------------------------------ drafts from time


async def test_draft_bills_uninvoiced_time_per_project_and_member(client, app):
    alice = await make_actor(app, name="Alice Able")
    bob = await make_actor(app, team_id=alice.team_id, role=Role.org_manager, name="Bob Baker")
    cid, alpha = await new_client(client, alice, "Acme", project_name="Alpha site")
    beta = await new_project(client, alice, cid, "Beta app")
    _, other_project = await new_client(client, alice, "Other Co")
    await put_settings(client, alice, cid, rounding_seconds=900)
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
    cid, pid = await new_client(client, owner, "Berlin GmbH", project_name="Zone project")
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
    cid, pid = await new_client(client, owner)
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
    cid, pid = await new_client(client, owner)
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
    cid, pid = await new_client(client, alice, "Yankee Inc", "USD")
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
    cid, alpha = await new_client(client, owner, project_name="Alpha")
    beta = await new_project(client, owner, cid, "Beta")
    _, foreign = await new_client(client, owner, "Foreign")
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
    cid, pid = await new_client(client, owner)
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
    cid, pid = await new_client(client, owner, "Old client")
    new_cid, _ = await new_client(client, owner, "New client")
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


# ------------------------------------------------------------------ totals and currencies


async def test_totals_in_eur_discount_and_tax_per_line(client, app):
    owner = await make_actor(app)
    cid, pid = await new_client(client, owner, "Euro GmbH", "EUR")
    await put_settings(client, owner, cid, tax_rate_bps=1900)
    await add_rate(client, owner, 9000)
    entry = await add_entry(client, owner, pid, at(2, 9), 6000)

    inv = await create_invoice(
        client,
        owner,
        cid,
        **MARCH,
        discount_bps=1250,
        lines=[
            {"description": "Licence", "quantity": "3", "unit_amount": 3333, "tax_rate_bps": 700},
            {"description": "Travel", "quantity": "0.5", "unit_amount": 1001, "tax_rate_bps": 0},
            {"description": "Workshop", "quantity": "1.25", "unit_amount": 19999},
            {"description": "Hosting", "quantity": "2", "unit_amount": 501},
        ],
    )

    [time_line] = time_lines(inv)
    # 6000 s * 9000 / 3600 = 15000; tax 15000 * 8750 * 1900 / 10^8 = 2493.75 -> 2494
    assert time_line["time_entry_ids"] == [entry["id"]]
    assert (time_line["amount"], time_line["tax_rate_bps"], time_line["tax_amount"]) == (
        15000,
        1900,
        2494,
    )
    by_name = {line["description"]: line for line in manual_lines(inv)}
    # 3 * 3333 = 9999; 9999 * 8750 * 700 / 10^8 = 612.43875 -> 612
    assert [by_name["Licence"][k] for k in ("amount", "tax_rate_bps", "tax_amount")] == [
        9999,
        700,
        612,
    ]
    # 0.5 * 1001 = 500.5 -> 501 (half-up; half-even would say 500); no tax
    assert [by_name["Travel"][k] for k in ("amount", "tax_rate_bps", "tax_amount")] == [501, 0, 0]
    # 1.25 * 19999 = 24998.75 -> 24999; default 19 %: 24999 * 0.16625 = 4156.08375 -> 4156
    assert [by_name["Workshop"][k] for k in ("amount", "tax_rate_bps", "tax_amount")] == [
        24999,
        1900,
        4156,
    ]
    # 2 * 501 = 1002; 1002 * 0.16625 = 166.5825 -> 167
    assert [by_name["Hosting"][k] for k in ("amount", "tax_rate_bps", "tax_amount")] == [
        1002,
        1900,
        167,
    ]
    # subtotal 15000 + 9999 + 501 + 24999 + 1002 = 51501
    # discount 51501 * 1250 / 10000 = 6437.625 -> 6438
    # tax 2494 + 612 + 0 + 4156 + 167 = 7429 (per line; taxing the 19 % lines together
    # would give 7428)
    # total 51501 - 6438 + 7429 = 52492
    assert inv["subtotal_amount"] == 51501
    assert inv["discount_bps"] == 1250
    assert inv["discount_amount"] == 6438
    assert inv["tax_amount"] == 7429
    assert inv["total_amount"] == 52492
    assert (inv["amount_paid"], inv["amount_due"]) == (0, 52492)

    # Same currency as the team's base: the exchange rate is 1.
    issued = await finalize(client, owner, inv["id"])
    assert Decimal(str(issued["exchange_rate"])) == 1
    assert issued["base_currency"] == "EUR"
    assert issued["total_amount"] == 52492


async def test_totals_in_jpy_have_no_decimals(client, app):
    owner = await make_actor(app)
    cid, pid = await new_client(client, owner, "Nippon KK", "JPY")
    await put_settings(client, owner, cid, tax_rate_bps=1000)
    await add_rate(client, owner, 12345, "JPY")  # 12,345 JPY per hour
    await add_entry(client, owner, pid, at(2, 9), 1800)

    inv = await create_invoice(
        client,
        owner,
        cid,
        **MARCH,
        discount_bps=333,
        lines=[{"description": "Materials", "quantity": "3", "unit_amount": 1234}],
    )

    assert inv["currency"] == "JPY"
    [time_line] = time_lines(inv)
    [materials] = manual_lines(inv)
    # 1800 * 12345 / 3600 = 6172.5 -> 6173 (whole yen); tax 6173 * 9667 * 1000 / 10^8
    # = 596.74391 -> 597
    assert (time_line["unit_amount"], time_line["amount"], time_line["tax_amount"]) == (
        12345,
        6173,
        597,
    )
    # 3 * 1234 = 3702; tax 3702 * 9667 * 1000 / 10^8 = 357.87234 -> 358
    assert (materials["amount"], materials["tax_rate_bps"], materials["tax_amount"]) == (
        3702,
        1000,
        358,
    )
    # subtotal 9875; discount 9875 * 333 / 10000 = 328.8375 -> 329; tax 955;
    # total 9875 - 329 + 955 = 10501
    assert (inv["subtotal_amount"], inv["discount_amount"], inv["tax_amount"]) == (9875, 329, 955)
    assert (inv["total_amount"], inv["amount_due"]) == (10501, 10501)

    r = await client.post(owner.url(f"/invoices/{inv['id']}/finalize"), headers=owner.headers)
    assert_problem(r, 422, "exchange_rate_missing")
    await add_exchange_rate(client, owner, "JPY", "0.0061")
    issued = await finalize(client, owner, inv["id"])
    assert Decimal(str(issued["exchange_rate"])) == Decimal("0.0061")
    assert issued["total_amount"] == 10501


async def test_totals_in_kwd_have_three_decimals_and_the_exchange_rate_is_fixed(client, app):
    owner = await make_actor(app)
    cid, pid = await new_client(client, owner, "Kuwait Trading", "KWD")
    await put_settings(client, owner, cid, tax_rate_bps=500, rounding_seconds=300)
    await add_rate(client, owner, 25000, "KWD")  # 25.000 KWD per hour
    await add_entry(client, owner, pid, at(2, 9), 2220)

    inv = await create_invoice(
        client,
        owner,
        cid,
        **MARCH,
        lines=[{"description": "Hardware", "quantity": "2.5", "unit_amount": 1999}],
    )

    [time_line] = time_lines(inv)
    [hardware] = manual_lines(inv)
    # 2220 s rounded up to 300 s steps = 2400; 2400 * 25000 / 3600 = 16666.67 -> 16667 fils;
    # tax 5 %: 833.35 -> 833
    assert (time_line["quantity_seconds"], time_line["amount"], time_line["tax_amount"]) == (
        2400,
        16667,
        833,
    )
    # 2.5 * 1999 = 4997.5 -> 4998; tax 249.9 -> 250
    assert (hardware["amount"], hardware["tax_amount"]) == (4998, 250)
    # subtotal 21665, no discount, tax 1083, total 22748 (22.748 KWD)
    assert (inv["subtotal_amount"], inv["discount_amount"], inv["tax_amount"]) == (21665, 0, 1083)
    assert (inv["total_amount"], inv["amount_due"]) == (22748, 22748)

    # No KWD -> EUR rate: the draft cannot be issued, and stays a draft without a number.
    r = await client.post(owner.url(f"/invoices/{inv['id']}/finalize"), headers=owner.headers)
    assert_problem(r, 422, "exchange_rate_missing")
    draft = await get_invoice(client, owner, inv["id"])
    assert (draft["status"], draft["number"], draft["exchange_rate"]) == ("draft", None, None)

    await add_exchange_rate(client, owner, "KWD", "3.25", "2026-01-01")
    future = (today() + timedelta(days=30)).isoformat()
    await add_exchange_rate(client, owner, "KWD", "9.99", future)  # not yet in effect
    issued = await finalize(client, owner, inv["id"])
    assert Decimal(str(issued["exchange_rate"])) == Decimal("3.25")
    assert issued["base_currency"] == "EUR"
    # The failed finalization took no number.
    assert issued["number"] == number(1)

    # A newer rate does not change what the issued invoice says.
    await add_exchange_rate(client, owner, "KWD", "4.00", today().isoformat())
    again = await get_invoice(client, owner, inv["id"])
    assert Decimal(str(again["exchange_rate"])) == Decimal("3.25")


async def test_exchange_rates_for_the_base_currency_are_refused(client, app):
    owner = await make_actor(app)
    r = await client.post(
        owner.url("/exchange-rates"),
        json={"currency": "EUR", "rate": "1.1", "effective_from": "2026-01-01"},
        headers=owner.headers,
    )
    assert_problem(r, 422)


# ------------------------------------------------------------------ lifecycle


async def test_patch_draft_recomputes_and_replaces_manual_lines(client, app):
    owner = await make_actor(app)
    cid, pid = await new_client(client, owner)
    await add_rate(client, owner, 10000)
    entry = await add_entry(client, owner, pid, at(2, 9), 3600)
    inv = await create_invoice(
        client,
        owner,
        cid,
        **MARCH,
        lines=[{"description": "Old line", "quantity": "1", "unit_amount": 2000}],
    )
    assert inv["total_amount"] == 12000
    [time_line] = time_lines(inv)

    r = await client.patch(
        owner.url(f"/invoices/{inv['id']}"),
        json={
            "issue_date": "2026-03-31",
            "due_date": "2026-04-14",
            "notes": "Updated notes",
            "discount_bps": 1000,
            "lines": [
                {
                    "description": "New line",
                    "quantity": "2",
                    "unit_amount": 1500,
                    "tax_rate_bps": 2000,
                }
            ],
        },
        headers=owner.headers,
    )
    assert r.status_code == 200, r.text
    patched = r.json()
    assert (patched["issue_date"], patched["due_date"]) == ("2026-03-31", "2026-04-14")
    assert patched["notes"] == "Updated notes"
    assert patched["status"] == "draft"
    # The time line stays as it was; the manual lines are replaced.
    assert time_lines(patched) == [time_line]
    [new] = manual_lines(patched)
    assert (new["description"], new["amount"], new["tax_rate_bps"]) == ("New line", 3000, 2000)
    # subtotal 10000 + 3000 = 13000; discount 10 % = 1300;
    # tax: time line 0 %, new line 3000 * 9000 * 2000 / 10^8 = 540; total 12240
    assert new["tax_amount"] == 540
    assert (patched["subtotal_amount"], patched["discount_amount"]) == (13000, 1300)
    assert (patched["tax_amount"], patched["total_amount"], patched["amount_due"]) == (
        540,
        12240,
        12240,
    )
    assert await entry_invoice_id(client, owner, entry["id"]) == inv["id"]
    assert await get_invoice(client, owner, inv["id"]) == patched

    # An empty list drops every manual line.
    r = await client.patch(
        owner.url(f"/invoices/{inv['id']}"), json={"lines": []}, headers=owner.headers
    )
    assert r.status_code == 200, r.text
    assert manual_lines(r.json()) == []
    assert r.json()["total_amount"] == 9000  # 10000 - 10 %

    # The number's year is the issue date's.
    issued = await finalize(client, owner, inv["id"])
    assert issued["number"] == "INV-2026-0001"
    assert (issued["issue_date"], issued["due_date"]) == ("2026-03-31", "2026-04-14")


async def test_deleting_a_line_releases_its_entries(client, app):
    owner = await make_actor(app)
    cid, alpha = await new_client(client, owner, project_name="Alpha")
    beta = await new_project(client, owner, cid, "Beta")
    await add_rate(client, owner, 6000)
    ea = await add_entry(client, owner, alpha, at(2, 9), 3600)
    eb1 = await add_entry(client, owner, beta, at(3, 9), 1800)
    eb2 = await add_entry(client, owner, beta, at(4, 9), 1800)
    inv = await create_invoice(client, owner, cid, **MARCH)
    assert inv["total_amount"] == 12000
    beta_line = line_for(inv, beta, owner.user_id)

    r = await client.delete(
        owner.url(f"/invoices/{inv['id']}/lines/{beta_line['id']}"), headers=owner.headers
    )
    assert r.status_code == 200, r.text
    after = r.json()
    assert [line["project_id"] for line in after["lines"]] == [alpha]
    assert after["subtotal_amount"] == after["total_amount"] == 6000
    assert await entry_invoice_id(client, owner, ea["id"]) == inv["id"]
    for entry in (eb1, eb2):
        assert await entry_invoice_id(client, owner, entry["id"]) is None

    r = await client.delete(
        owner.url(f"/invoices/{inv['id']}/lines/{uuid.uuid4()}"), headers=owner.headers
    )
    assert_problem(r, 404)

    # The released time is billable again.
    second = await create_invoice(client, owner, cid, **MARCH)
    [line] = second["lines"]
    assert set(line["time_entry_ids"]) == {eb1["id"], eb2["id"]}
    assert await entry_invoice_id(client, owner, eb1["id"]) == second["id"]


async def test_deleting_a_draft_releases_its_entries(client, app):
    owner = await make_actor(app)
    cid, pid = await new_client(client, owner)
    await add_rate(client, owner, 6000)
    entries = [await add_entry(client, owner, pid, at(2 + i, 9), 3600) for i in range(2)]
    inv = await create_invoice(client, owner, cid, **MARCH)

    r = await client.delete(owner.url(f"/invoices/{inv['id']}"), headers=owner.headers)
    assert r.status_code == 204, r.text
    r = await client.get(owner.url(f"/invoices/{inv['id']}"), headers=owner.headers)
    assert_problem(r, 404)
    for entry in entries:
        assert await entry_invoice_id(client, owner, entry["id"]) is None
    r = await client.get(
        owner.url(f"/time-entries?client_id={cid}&invoiced=false"), headers=owner.headers
    )
    assert {e["id"] for e in r.json()["data"]} == {e["id"] for e in entries}

    again = await create_invoice(client, owner, cid, **MARCH)
    assert {i for line in again["lines"] for i in line["time_entry_ids"]} == {
        e["id"] for e in entries
    }


async def test_finalize_numbers_dates_and_freezes_the_invoice(client, app):
    owner = await make_actor(app)
    cid, pid = await new_client(client, owner)
    await add_rate(client, owner, 6000)
    entry = await add_entry(client, owner, pid, at(2, 9), 3600)
    inv = await create_invoice(client, owner, cid, **MARCH, notes="Keep me")

    issued = await finalize(client, owner, inv["id"])
    assert issued["number"] == number(1)
    assert issued["issue_date"] == today().isoformat()
    assert issued["due_date"] == (today() + timedelta(days=14)).isoformat()  # due_days 14
    assert issued["finalized_at"] is not None
    assert issued["lines"] == inv["lines"]
    assert issued["total_amount"] == 6000

    url = owner.url(f"/invoices/{inv['id']}")
    r = await client.patch(url, json={"notes": "Changed"}, headers=owner.headers)
    assert_problem(r, 409, "invoice_not_draft")
    r = await client.delete(url, headers=owner.headers)
    assert_problem(r, 409, "invoice_not_draft")
    r = await client.post(f"{url}/finalize", headers=owner.headers)
    assert_problem(r, 409, "invoice_not_draft")
    r = await client.delete(f"{url}/lines/{inv['lines'][0]['id']}", headers=owner.headers)
    assert_problem(r, 409, "invoice_not_draft")
    assert await get_invoice(client, owner, inv["id"]) == issued
    assert await entry_invoice_id(client, owner, entry["id"]) == inv["id"]
    # Its time is frozen too.
    r = await client.patch(
        owner.url(f"/time-entries/{entry['id']}"), json={"note": "x"}, headers=owner.headers
    )
    assert_problem(r, 409, "time_entry_invoiced")

    second = await manual_draft(client, owner, cid)
    assert (await finalize(client, owner, second["id"]))["number"] == number(2)


async def test_numbers_run_per_year_of_the_issue_date(client, app):
    owner = await make_actor(app)
    cid, _ = await new_client(client, owner)
    old = await manual_draft(client, owner, cid, issue_date="2025-12-31")
    assert (await finalize(client, owner, old["id"]))["number"] == "INV-2025-0001"
    current = await manual_draft(client, owner, cid)
    assert (await finalize(client, owner, current["id"]))["number"] == number(1)
    older = await manual_draft(client, owner, cid, issue_date="2025-06-30")
    assert (await finalize(client, owner, older["id"]))["number"] == "INV-2025-0002"


async def test_concurrent_finalizations_take_gapless_numbers_per_team(client, app):
    owner = await make_actor(app)
    cid, _ = await new_client(client, owner)
    drafts = [await manual_draft(client, owner, cid, unit_amount=1000 + i) for i in range(7)]
    # A second team keeps its own sequence.
    other = await make_actor(app)
    other_cid, _ = await new_client(client, other)
    other_draft = await manual_draft(client, other, other_cid)

    responses = await asyncio.gather(
        *(
            client.post(owner.url(f"/invoices/{d['id']}/finalize"), headers=owner.headers)
            for d in drafts
        ),
        client.post(other.url(f"/invoices/{other_draft['id']}/finalize"), headers=other.headers),
    )

    assert all(r.status_code == 200 for r in responses), [r.text for r in responses]
    numbers = [r.json()["number"] for r in responses[:-1]]
    assert sorted(numbers) == [number(i) for i in range(1, 8)]
    assert responses[-1].json()["number"] == number(1)
    listed = await client.get(owner.url("/invoices?status=open"), headers=owner.headers)
    assert sorted(i["number"] for i in listed.json()["data"]) == [number(i) for i in range(1, 8)]

    late = await manual_draft(client, owner, cid)
    assert (await finalize(client, owner, late["id"]))["number"] == number(8)


async def test_void_releases_entries_and_keeps_the_number(client, app):
    owner = await make_actor(app)
    cid, pid = await new_client(client, owner)
    await add_rate(client, owner, 6000)
    entries = [await add_entry(client, owner, pid, at(2 + i, 9), 3600) for i in range(2)]
    inv = await create_invoice(client, owner, cid, **MARCH)
    issued = await finalize(client, owner, inv["id"])

    r = await client.post(owner.url(f"/invoices/{inv['id']}/void"), headers=owner.headers)
    assert r.status_code == 200, r.text
    void = r.json()
    assert void["status"] == "void"
    assert void["number"] == issued["number"] == number(1)
    assert void["voided_at"] is not None
    assert void["overdue"] is False
    # The lines keep what they billed; the entries are free again.
    assert void["lines"] == issued["lines"]
    for entry in entries:
        assert await entry_invoice_id(client, owner, entry["id"]) is None

    r = await client.post(owner.url(f"/invoices/{inv['id']}/void"), headers=owner.headers)
    assert_problem(r, 409)
    r = await client.patch(
        owner.url(f"/invoices/{inv['id']}"), json={"notes": "x"}, headers=owner.headers
    )
    assert_problem(r, 409, "invoice_not_draft")
    r = await client.post(owner.url(f"/invoices/{inv['id']}/finalize"), headers=owner.headers)
    assert_problem(r, 409, "invoice_not_draft")

    rebill = await create_invoice(client, owner, cid, **MARCH)
    assert {i for line in rebill["lines"] for i in line["time_entry_ids"]} == {
        e["id"] for e in entries
    }
    # The void invoice's number is not reused.
    assert (await finalize(client, owner, rebill["id"]))["number"] == number(2)
    assert (await get_invoice(client, owner, inv["id"]))["number"] == number(1)


async def test_voiding_a_draft_releases_its_entries(client, app):
    owner = await make_actor(app)
    cid, pid = await new_client(client, owner)
    await add_rate(client, owner, 6000)
    entry = await add_entry(client, owner, pid, at(2, 9), 3600)
    inv = await create_invoice(client, owner, cid, **MARCH)
    r = await client.post(owner.url(f"/invoices/{inv['id']}/void"), headers=owner.headers)
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["number"]) == ("void", None)
    assert await entry_invoice_id(client, owner, entry["id"]) is None
    r = await client.post(owner.url(f"/invoices/{inv['id']}/void"), headers=owner.headers)
    assert_problem(r, 409)


async def test_overdue_is_derived_from_status_due_date_and_amount_due(client, app):
    owner = await make_actor(app)
    cid, _ = await new_client(client, owner)
    past = {"issue_date": "2026-01-01", "due_date": "2026-01-15"}

    late = await manual_draft(client, owner, cid, **past)
    assert late["overdue"] is False  # a draft is never overdue
    late = await finalize(client, owner, late["id"])
    assert late["overdue"] is True
    assert late["due_date"] == "2026-01-15"

    future = (today() + timedelta(days=10)).isoformat()
    on_time = await manual_draft(client, owner, cid, due_date=future)
    assert (await finalize(client, owner, on_time["id"]))["overdue"] is False

    free = await manual_draft(client, owner, cid, unit_amount=0, **past)
    free = await finalize(client, owner, free["id"])
    assert (free["amount_due"], free["overdue"]) == (0, False)

    listed = await client.get(owner.url("/invoices"), headers=owner.headers)
    overdue = {i["id"]: i["overdue"] for i in listed.json()["data"]}
    assert overdue == {late["id"]: True, on_time["id"]: False, free["id"]: False}

    r = await client.post(owner.url(f"/invoices/{late['id']}/void"), headers=owner.headers)
    assert r.status_code == 200, r.text
    assert r.json()["overdue"] is False


async def test_project_client_cannot_change_once_it_has_invoiced_time(client, app):
    owner = await make_actor(app)
    cid, billed = await new_client(client, owner, "First")
    unbilled = await new_project(client, owner, cid, "Not billed yet")
    other_cid, _ = await new_client(client, owner, "Second")
    await add_rate(client, owner, 6000)
    await add_entry(client, owner, billed, at(2, 9), 3600)
    await create_invoice(client, owner, cid, **MARCH, project_ids=[billed])
    await add_entry(client, owner, unbilled, at(3, 9), 3600)

    r = await client.patch(
        owner.url(f"/projects/{billed}"), json={"client_id": other_cid}, headers=owner.headers
    )
    assert_problem(r, 409, "project_has_invoiced_time")
    r = await client.get(owner.url(f"/projects/{billed}"), headers=owner.headers)
    assert r.json()["client_id"] == cid

    r = await client.patch(
        owner.url(f"/projects/{unbilled}"), json={"client_id": other_cid}, headers=owner.headers
    )
    assert r.status_code == 200, r.text
    assert r.json()["client_id"] == other_cid


# ------------------------------------------------------------------ roles


async def test_sales_manager_creates_and_finalizes_but_cannot_void(client, app):
    owner = await make_actor(app)
    manager = await make_actor(app, team_id=owner.team_id, role=Role.sales_manager)
    cid, pid = await new_client(client, owner)
    await add_rate(client, owner, 6000)
    entry = await add_entry(client, owner, pid, at(2, 9), 3600)

    inv = await create_invoice(client, manager, cid, **MARCH)
    assert inv["lines"][0]["time_entry_ids"] == [entry["id"]]
    r = await client.get(manager.url("/invoices"), headers=manager.headers)
    assert r.status_code == 200
    assert [i["id"] for i in r.json()["data"]] == [inv["id"]]
    issued = await finalize(client, manager, inv["id"])
    assert issued["number"] == number(1)

    r = await client.post(manager.url(f"/invoices/{inv['id']}/void"), headers=manager.headers)
    assert_problem(r, 403)
    assert (await get_invoice(client, owner, inv["id"]))["status"] == "open"
    draft = await manual_draft(client, manager, cid)
    r = await client.post(manager.url(f"/invoices/{draft['id']}/void"), headers=manager.headers)
    assert_problem(r, 403)
    assert (await get_invoice(client, owner, draft["id"]))["status"] == "draft"


@pytest.mark.parametrize("role", [Role.member, Role.project_manager])
async def test_members_and_project_managers_do_not_see_invoices(client, app, role):
    owner = await make_actor(app)
    user = await make_actor(app, team_id=owner.team_id, role=role)
    cid, pid = await new_client(client, owner)
    # Even as a member of the client's project.
    r = await client.post(
        owner.url(f"/projects/{pid}/members"),
        json={"user_id": str(user.user_id), "role": "manager"},
        headers=owner.headers,
    )
    assert r.status_code == 201, r.text
    inv = await manual_draft(client, owner, cid)

    r = await client.get(user.url("/invoices"), headers=user.headers)
    assert_problem(r, 403)
    r = await client.get(user.url(f"/invoices/{inv['id']}"), headers=user.headers)
    assert_problem(r, 403)
    r = await post_invoice(
        client, user, cid, lines=[{"description": "x", "quantity": "1", "unit_amount": 1}]
    )
    assert_problem(r, 403)


async def test_sales_rep_reads_only_invoices_of_its_own_clients(client, app):
    owner = await make_actor(app)
    rep = await make_actor(app, team_id=owner.team_id, role=Role.sales_rep)
    mine, _ = await new_client(client, owner, "Rep's client", owner_id=str(rep.user_id))
    theirs, _ = await new_client(client, owner, "Someone else's")
    assigned, _ = await new_client(client, owner, "Assigned", member_ids=[str(rep.user_id)])
    inv_mine = await manual_draft(client, owner, mine)
    inv_theirs = await manual_draft(client, owner, theirs)
    inv_assigned = await manual_draft(client, owner, assigned)

    r = await client.get(rep.url("/invoices"), headers=rep.headers)
    assert r.status_code == 200, r.text
    assert {i["id"] for i in r.json()["data"]} == {inv_mine["id"], inv_assigned["id"]}
    r = await client.get(rep.url(f"/invoices?client_id={theirs}"), headers=rep.headers)
    assert r.status_code == 200 and r.json()["data"] == []

    assert (await get_invoice(client, rep, inv_mine["id"]))["client_id"] == mine
    r = await client.get(rep.url(f"/invoices/{inv_theirs['id']}"), headers=rep.headers)
    assert_problem(r, 404)
    r = await client.get(rep.url(f"/invoices/{inv_mine['id']}/pdf"), headers=rep.headers)
    assert r.status_code == 200
    r = await client.get(rep.url(f"/invoices/{inv_theirs['id']}/pdf"), headers=rep.headers)
    assert_problem(r, 404)

    # Reading is all a sales rep does with invoices.
    r = await post_invoice(
        client, rep, mine, lines=[{"description": "x", "quantity": "1", "unit_amount": 1}]
    )
    assert_problem(r, 403)
    r = await client.post(rep.url(f"/invoices/{inv_mine['id']}/finalize"), headers=rep.headers)
    assert_problem(r, 403)
    r = await client.patch(
        rep.url(f"/invoices/{inv_mine['id']}"), json={"notes": "x"}, headers=rep.headers
    )
    assert_problem(r, 403)
    r = await client.post(rep.url(f"/invoices/{inv_mine['id']}/void"), headers=rep.headers)
    assert_problem(r, 403)
    assert (await get_invoice(client, owner, inv_mine["id"]))["status"] == "draft"


ENDPOINTS = {
    "list": ("GET", "/invoices", None, 200),
    "create": ("POST", "/invoices", "create", 201),
    "get": ("GET", "/invoices/{id}", None, 200),
    "patch": ("PATCH", "/invoices/{id}", {"notes": "new"}, 200),
    "delete": ("DELETE", "/invoices/{id}", None, 204),
    "delete_line": ("DELETE", "/invoices/{id}/lines/{line}", None, 200),
    "finalize": ("POST", "/invoices/{id}/finalize", None, 200),
    "send": ("POST", "/invoices/{id}/send", None, 202),
    "void": ("POST", "/invoices/{id}/void", None, 200),
    "pdf": ("GET", "/invoices/{id}/pdf", None, 200),
}


@pytest.mark.parametrize("name", list(ENDPOINTS))
async def test_invoice_endpoints_ladder_401_403_404_success(client, app, name):
    method, path, body, success = ENDPOINTS[name]
    owner = await make_actor(app)
    member = await make_actor(app, team_id=owner.team_id, role=Role.member)
    stranger = await make_actor(app)
    contacts = [("Billing", "billing@example.com")]
    cid, _ = await new_client(client, owner, contacts=contacts)
    other_cid, _ = await new_client(client, stranger, contacts=contacts)
    lines = [
        {"description": "One", "quantity": "1", "unit_amount": 100},
        {"description": "Two", "quantity": "1", "unit_amount": 200},
    ]
    mine = await create_invoice(client, owner, cid, lines=lines)
    foreign = await create_invoice(client, stranger, other_cid, lines=lines)

    def call(actor: Actor | None, invoice: dict, client_id: str):
        url = (owner if actor is None else actor).url(
            path.format(id=invoice["id"], line=invoice["lines"][0]["id"])
        )
        payload = body
        if body == "create":
            payload = {"client_id": client_id, "lines": lines}
        headers = {} if actor is None else actor.headers
        return client.request(method, url, json=payload, headers=headers)

    assert_problem(await call(None, mine, cid), 401)
    assert_problem(await call(member, mine, cid), 403)
    if "{id}" in path or body == "create":
        # Another team's invoice (or client) through the caller's own team: unknown.
        assert_problem(await call(owner, foreign, other_cid), 404)
        assert (await get_invoice(client, stranger, foreign["id"])) == foreign
    r = await call(owner, mine, cid)
    assert r.status_code == success, r.text
    if name == "pdf":
        assert r.headers["content-type"] == "application/pdf"
        assert r.content.startswith(b"%PDF")


async def test_team_invoice_prefix_shapes_the_numbers(client, app):
    owner = await make_actor(app)
    r = await client.patch(owner.url(), json={"invoice_prefix": "ACME/"}, headers=owner.headers)
    assert r.status_code == 200 and r.json()["invoice_prefix"] == "ACME/", r.text
    bad = await client.patch(
        owner.url(), json={"invoice_prefix": "no spaces"}, headers=owner.headers
    )
    assert bad.status_code == 422
    c = await client.post(
        owner.url("/clients"), json={"name": "P", "currency": "EUR"}, headers=owner.headers
    )
    draft = await client.post(
        owner.url("/invoices"),
        json={
            "client_id": c.json()["id"],
            "lines": [{"description": "x", "quantity": "1", "unit_amount": 100}],
        },
        headers=owner.headers,
    )
    issued = await client.post(
        owner.url(f"/invoices/{draft.json()['id']}/finalize"), headers=owner.headers
    )
    assert issued.status_code == 200, issued.text
    year = issued.json()["issue_date"][:4]
    assert issued.json()["number"] == f"ACME/{year}-0001"

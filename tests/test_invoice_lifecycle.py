"""The invoice lifecycle: editing a draft, releasing time by deleting lines or drafts,
finalizing (gapless numbers per team and year, also when concurrent, after the team's
prefix), voiding, overdue, and a project's client fixed once it has invoiced time."""

import asyncio
import uuid
from datetime import timedelta

from tests.factories import make_actor
from tests.factories.clients import new_client_project
from tests.factories.invoices import (
    MARCH,
    create_invoice,
    entry_invoice_id,
    finalize,
    get_invoice,
    line_for,
    manual_draft,
    manual_lines,
    number,
    time_lines,
)
from tests.factories.projects import new_project
from tests.factories.rates import add_rate
from tests.factories.time_tracking import add_entry
from tests.helpers import assert_problem, at, today

# ------------------------------------------------------------------ lifecycle


async def test_patch_draft_recomputes_and_replaces_manual_lines(client, app):
    owner = await make_actor(app)
    cid, pid = await new_client_project(client, owner)
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
    cid, alpha = await new_client_project(client, owner, project_name="Alpha")
    beta = (await new_project(client, owner, "Beta", client_id=cid))["id"]
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
    cid, pid = await new_client_project(client, owner)
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
    cid, pid = await new_client_project(client, owner)
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
    cid, _ = await new_client_project(client, owner)
    old = await manual_draft(client, owner, cid, issue_date="2025-12-31")
    assert (await finalize(client, owner, old["id"]))["number"] == "INV-2025-0001"
    current = await manual_draft(client, owner, cid)
    assert (await finalize(client, owner, current["id"]))["number"] == number(1)
    # Back in 2025's sequence (numbers follow issue dates within it: not before 12-31).
    older = await manual_draft(client, owner, cid, issue_date="2025-12-31")
    assert (await finalize(client, owner, older["id"]))["number"] == "INV-2025-0002"


async def test_concurrent_finalizations_take_gapless_numbers_per_team(client, app):
    owner = await make_actor(app)
    cid, _ = await new_client_project(client, owner)
    drafts = [await manual_draft(client, owner, cid, unit_amount=1000 + i) for i in range(7)]
    # A second team keeps its own sequence.
    other = await make_actor(app)
    other_cid, _ = await new_client_project(client, other)
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
    cid, pid = await new_client_project(client, owner)
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
    cid, pid = await new_client_project(client, owner)
    await add_rate(client, owner, 6000)
    entry = await add_entry(client, owner, pid, at(2, 9), 3600)
    inv = await create_invoice(client, owner, cid, **MARCH)
    r = await client.post(owner.url(f"/invoices/{inv['id']}/void"), headers=owner.headers)
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["number"]) == ("void", None)
    assert await entry_invoice_id(client, owner, entry["id"]) is None
    r = await client.post(owner.url(f"/invoices/{inv['id']}/void"), headers=owner.headers)
    assert_problem(r, 409)


async def test_sending_a_void_invoice_is_a_409_conflict(client, app, run_jobs):
    owner = await make_actor(app)
    cid, _ = await new_client_project(client, owner)
    inv = await finalize(client, owner, (await manual_draft(client, owner, cid))["id"])
    r = await client.post(owner.url(f"/invoices/{inv['id']}/void"), headers=owner.headers)
    assert r.status_code == 200, r.text
    r = await client.post(owner.url(f"/invoices/{inv['id']}/send"), headers=owner.headers)
    assert_problem(r, 409, "invoice_void")
    assert await run_jobs() == 0
    after = await get_invoice(client, owner, inv["id"])
    assert (after["status"], after["sent_at"], after["send_status"]) == ("void", None, None)


async def test_overdue_is_derived_from_status_due_date_and_amount_due(client, app):
    owner = await make_actor(app)
    cid, _ = await new_client_project(client, owner)
    past = {"issue_date": "2026-01-01", "due_date": "2026-01-15"}

    late = await manual_draft(client, owner, cid, **past)
    assert late["overdue"] is False  # a draft is never overdue
    late = await finalize(client, owner, late["id"])
    assert late["overdue"] is True
    assert late["due_date"] == "2026-01-15"

    # Nothing due: paid as it is issued, never overdue.
    free = await manual_draft(client, owner, cid, unit_amount=0, **past)
    r = await client.post(owner.url(f"/invoices/{free['id']}/finalize"), headers=owner.headers)
    assert r.status_code == 200, r.text
    free = r.json()
    assert (free["status"], free["amount_due"], free["overdue"]) == ("paid", 0, False)

    future = (today() + timedelta(days=10)).isoformat()
    on_time = await manual_draft(client, owner, cid, due_date=future)
    assert (await finalize(client, owner, on_time["id"]))["overdue"] is False

    listed = await client.get(owner.url("/invoices"), headers=owner.headers)
    overdue = {i["id"]: i["overdue"] for i in listed.json()["data"]}
    assert overdue == {late["id"]: True, on_time["id"]: False, free["id"]: False}

    r = await client.post(owner.url(f"/invoices/{late['id']}/void"), headers=owner.headers)
    assert r.status_code == 200, r.text
    assert r.json()["overdue"] is False


async def test_project_client_cannot_change_once_it_has_invoiced_time(client, app):
    owner = await make_actor(app)
    cid, billed = await new_client_project(client, owner, "First")
    unbilled = (await new_project(client, owner, "Not billed yet", client_id=cid))["id"]
    other_cid, _ = await new_client_project(client, owner, "Second")
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

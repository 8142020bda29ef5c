"""Invoices that settle: a zero total is paid when it is issued, a due date never comes
before the issue date, and numbers follow issue dates - also when finalizations race
(issue 12, points 5 and 6)."""

import asyncio
from datetime import date, datetime, timedelta

from tests.factories import make_actor
from tests.factories.clients import new_client_project
from tests.factories.invoices import finalize, get_invoice, manual_draft, number, post_invoice
from tests.factories.payments import pay, refund
from tests.helpers import assert_problem, today

# ------------------------------------------------------------------ zero totals


async def finalize_response(client, actor, invoice_id: str):
    return await client.post(actor.url(f"/invoices/{invoice_id}/finalize"), headers=actor.headers)


async def test_an_invoice_issued_with_a_zero_total_is_paid_at_once(client, app):
    owner = await make_actor(app)
    cid, _ = await new_client_project(client, owner)
    full_discount = await manual_draft(client, owner, cid, unit_amount=25000, discount_bps=10000)
    free_line = await manual_draft(client, owner, cid, unit_amount=0)
    assert (full_discount["total_amount"], free_line["total_amount"]) == (0, 0)
    assert full_discount["paid_at"] is None

    for draft in (full_discount, free_line):
        r = await finalize_response(client, owner, draft["id"])
        assert r.status_code == 200, r.text
        issued = r.json()
        assert issued["status"] == "paid"
        assert issued["number"] is not None
        assert (issued["amount_due"], issued["overdue"]) == (0, False)
        assert datetime.fromisoformat(issued["paid_at"]).tzinfo is not None
        assert await get_invoice(client, owner, draft["id"]) == issued

    # A paid invoice takes no payment; with nothing received it may still be voided.
    r = await pay(client, owner, free_line["id"], 1)
    assert_problem(r, 409, "invoice_not_open")
    r = await client.post(owner.url(f"/invoices/{free_line['id']}/void"), headers=owner.headers)
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["paid_at"]) == ("void", None)

    # Sent as a draft, it is issued paid too.
    billed_cid, _ = await new_client_project(
        client, owner, "Billed", contacts=[("Pat Payer", "pat@example.com")], billing_contacts=True
    )
    sent = await manual_draft(client, owner, billed_cid, unit_amount=0)
    r = await client.post(owner.url(f"/invoices/{sent['id']}/send"), headers=owner.headers)
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "paid"
    assert r.json()["paid_at"] is not None


async def test_paid_at_is_set_when_payments_settle_an_invoice_and_cleared_by_a_refund(client, app):
    owner = await make_actor(app)
    cid, _ = await new_client_project(client, owner)
    inv = await finalize(client, owner, (await manual_draft(client, owner, cid))["id"])
    assert inv["paid_at"] is None
    r = await pay(client, owner, inv["id"], 4000, paid_at="2026-03-05T10:00:00+00:00")
    assert r.status_code == 201, r.text
    assert (await get_invoice(client, owner, inv["id"]))["paid_at"] is None
    r = await pay(client, owner, inv["id"], 6000, paid_at="2026-03-09T10:00:00+00:00")
    assert r.status_code == 201, r.text
    paid = await get_invoice(client, owner, inv["id"])
    assert paid["status"] == "paid"
    assert datetime.fromisoformat(paid["paid_at"]) == datetime.fromisoformat(
        "2026-03-09T10:00:00+00:00"
    )
    assert (await refund(client, owner, r.json()["id"], 1)).status_code == 201
    reopened = await get_invoice(client, owner, inv["id"])
    assert (reopened["status"], reopened["paid_at"]) == ("open", None)


# ------------------------------------------------------------------ dates


async def test_a_due_date_before_the_issue_date_is_refused(client, app):
    owner = await make_actor(app)
    cid, _ = await new_client_project(client, owner)
    lines = [{"description": "Work", "quantity": "1", "unit_amount": 1000}]

    r = await post_invoice(
        client, owner, cid, lines=lines, issue_date="2026-03-10", due_date="2026-03-09"
    )
    assert_problem(r, 422, "due_date_before_issue_date")
    same_day = await manual_draft(
        client, owner, cid, issue_date="2026-03-10", due_date="2026-03-10"
    )

    # A change to either date is checked against the other one, stored or sent.
    url = owner.url(f"/invoices/{same_day['id']}")
    r = await client.patch(url, json={"due_date": "2026-03-01"}, headers=owner.headers)
    assert_problem(r, 422, "due_date_before_issue_date")
    r = await client.patch(url, json={"issue_date": "2026-03-11"}, headers=owner.headers)
    assert_problem(r, 422, "due_date_before_issue_date")
    r = await client.patch(
        url, json={"issue_date": "2026-03-11", "due_date": "2026-03-25"}, headers=owner.headers
    )
    assert r.status_code == 200, r.text

    # Finalizing fixes a missing issue date at today: a due date already past is refused.
    stale = await manual_draft(
        client, owner, cid, due_date=(today() - timedelta(days=1)).isoformat()
    )
    r = await finalize_response(client, owner, stale["id"])
    assert_problem(r, 422, "due_date_before_issue_date")
    assert (await get_invoice(client, owner, stale["id"]))["status"] == "draft"


async def test_an_issue_date_before_the_last_numbered_invoice_is_refused(client, app):
    owner = await make_actor(app)
    cid, _ = await new_client_project(client, owner)
    first = await manual_draft(client, owner, cid, issue_date="2026-03-10")
    earlier = await manual_draft(client, owner, cid, issue_date="2026-03-09")
    assert (await finalize(client, owner, first["id"]))["number"] == number(1, 2026)

    r = await finalize_response(client, owner, earlier["id"])
    assert_problem(r, 409, "issue_date_before_last_invoice")
    assert (await get_invoice(client, owner, earlier["id"]))["status"] == "draft"
    # The refused finalization used no number; the same day as the last one is fine.
    r = await client.patch(
        owner.url(f"/invoices/{earlier['id']}"),
        json={"issue_date": "2026-03-10"},
        headers=owner.headers,
    )
    assert r.status_code == 200, r.text
    assert (await finalize(client, owner, earlier["id"]))["number"] == number(2, 2026)

    # A voided invoice keeps its number, and its date still counts.
    later = await finalize(
        client, owner, (await manual_draft(client, owner, cid, issue_date="2026-04-01"))["id"]
    )
    r = await client.post(owner.url(f"/invoices/{later['id']}/void"), headers=owner.headers)
    assert r.status_code == 200, r.text
    march = await manual_draft(client, owner, cid, issue_date="2026-03-31")
    assert_problem(
        await finalize_response(client, owner, march["id"]), 409, "issue_date_before_last_invoice"
    )

    # Each year is its own sequence, and each team has its own.
    old = await manual_draft(client, owner, cid, issue_date="2025-06-30")
    assert (await finalize(client, owner, old["id"]))["number"] == number(1, 2025)
    other = await make_actor(app)
    other_cid, _ = await new_client_project(client, other)
    theirs = await manual_draft(client, other, other_cid, issue_date="2026-01-02")
    assert (await finalize(client, other, theirs["id"]))["number"] == number(1, 2026)


async def test_racing_finalizations_number_invoices_in_issue_date_order(client, app):
    owner = await make_actor(app)
    cid, _ = await new_client_project(client, owner)
    # Interleaved dates, finalized all at once: whichever order the database picks, a
    # number never goes to an earlier date than the number before it.
    days = [date(2026, 3, d) for d in (5, 1, 9, 3, 7, 2, 8, 4, 6, 9)]
    drafts = [
        await manual_draft(client, owner, cid, issue_date=d.isoformat(), unit_amount=100 + i)
        for i, d in enumerate(days)
    ]

    responses = await asyncio.gather(*(finalize_response(client, owner, d["id"]) for d in drafts))

    issued = []
    for r in responses:
        if r.status_code == 200:
            issued.append(r.json())
        else:
            assert_problem(r, 409, "issue_date_before_last_invoice")
    issued.sort(key=lambda i: i["number"])
    assert [i["number"] for i in issued] == [number(n, 2026) for n in range(1, len(issued) + 1)]
    dates = [i["issue_date"] for i in issued]
    assert dates == sorted(dates), issued
    # The latest date is never refused.
    assert dates[-1] == "2026-03-09"

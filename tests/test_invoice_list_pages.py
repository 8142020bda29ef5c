"""The invoices list stays bounded in bytes: a page ends early once its invoices' lines
list `PAGE_ENTRY_IDS` entry ids, every invoice is still complete (all its ids), and
following `next_cursor` reads every invoice once, in order.

The limit is 10,000 ids in the app; here it is lowered so a handful of entries show
where a page ends."""

from app.invoices import service as invoices_service
from tests.factories import make_actor
from tests.factories.clients import new_client_project
from tests.factories.invoices import create_invoice
from tests.factories.rates import add_rate
from tests.factories.time_tracking import add_entry
from tests.helpers import at


async def _billing(client, actor, project, cid, month: int, entries: int) -> tuple[dict, set]:
    """A draft of the client's `entries` entries in `month`, and their ids."""
    ids = set()
    for day in range(1, entries + 1):
        ids.add((await add_entry(client, actor, project, at(day, 9, month=month), 1800))["id"])
    last = {3: 31, 4: 30, 5: 31}[month]
    period = {"period_start": f"2026-{month:02d}-01", "period_end": f"2026-{month:02d}-{last}"}
    return await create_invoice(client, actor, cid, **period), ids


async def _team(client, app):
    """An owner, a client with a project, and a team rate."""
    alice = await make_actor(app)
    cid, project = await new_client_project(client, alice, "Acme")
    await add_rate(client, alice, 10000)
    return alice, cid, project


def _ids(invoice: dict) -> set:
    return {i for line in invoice["lines"] for i in line["time_entry_ids"]}


async def _pages(client, actor, limit: int = 50) -> list[dict]:
    pages, cursor = [], ""
    while True:
        r = await client.get(
            actor.url(f"/invoices?limit={limit}&cursor={cursor}"), headers=actor.headers
        )
        assert r.status_code == 200, r.text
        pages.append(r.json())
        if not pages[-1]["has_more"]:
            return pages
        cursor = pages[-1]["next_cursor"]


async def test_a_page_ends_before_its_entry_ids_pass_the_limit(client, app, monkeypatch):
    alice, cid, project = await _team(client, app)
    march, march_ids = await _billing(client, alice, project, cid, 3, 3)
    april, april_ids = await _billing(client, alice, project, cid, 4, 2)
    may, may_ids = await _billing(client, alice, project, cid, 5, 4)
    monkeypatch.setattr(invoices_service, "PAGE_ENTRY_IDS", 5)

    pages = await _pages(client, alice)

    # Newest first: May (4 ids) alone, since April would make 6; then April and March
    # (2 + 3 = 5, the limit itself), and nothing more.
    assert [[i["id"] for i in p["data"]] for p in pages] == [
        [may["id"]],
        [april["id"], march["id"]],
    ]
    assert [p["has_more"] for p in pages] == [True, False]
    by_id = {i["id"]: i for p in pages for i in p["data"]}
    assert _ids(by_id[may["id"]]) == may_ids
    assert _ids(by_id[april["id"]]) == april_ids
    assert _ids(by_id[march["id"]]) == march_ids


async def test_an_invoice_over_the_limit_is_a_page_of_its_own(client, app, monkeypatch):
    alice, cid, project = await _team(client, app)
    march, march_ids = await _billing(client, alice, project, cid, 3, 3)
    april, april_ids = await _billing(client, alice, project, cid, 4, 4)
    monkeypatch.setattr(invoices_service, "PAGE_ENTRY_IDS", 2)

    pages = await _pages(client, alice)

    assert [[i["id"] for i in p["data"]] for p in pages] == [[april["id"]], [march["id"]]]
    assert _ids(pages[0]["data"][0]) == april_ids  # never cut short: every id is there
    assert _ids(pages[1]["data"][0]) == march_ids


async def test_limit_still_bounds_a_light_page(client, app, monkeypatch):
    alice, cid, project = await _team(client, app)
    made = [(await _billing(client, alice, project, cid, m, 1))[0] for m in (3, 4, 5)]
    monkeypatch.setattr(invoices_service, "PAGE_ENTRY_IDS", 100)

    pages = await _pages(client, alice, limit=2)

    assert [[i["id"] for i in p["data"]] for p in pages] == [
        [made[2]["id"], made[1]["id"]],
        [made[0]["id"]],
    ]

"""Currencies that money already depends on cannot change: a client's currency while its
rates, unsettled invoices or priced time are in it; the team's base currency once an
invoice fixed a rate to it or an exchange rate is quoted against it."""

import asyncio

from tests.factories import Actor, make_actor
from tests.factories.clients import new_client, new_client_project
from tests.factories.invoices import add_exchange_rate, finalize, manual_draft
from tests.factories.payments import pay
from tests.factories.rates import add_rate, post_rate
from tests.factories.time_tracking import add_entry
from tests.helpers import assert_problem, utc


async def set_currency(http, actor: Actor, client_id: str, currency: str):
    return await http.patch(
        actor.url(f"/clients/{client_id}"), json={"currency": currency}, headers=actor.headers
    )


async def currency_of(http, actor: Actor, client_id: str) -> tuple[str, str]:
    """(the client's currency, its invoice settings' currency)."""
    r = await http.get(actor.url(f"/clients/{client_id}"), headers=actor.headers)
    assert r.status_code == 200, r.text
    s = await http.get(actor.url(f"/clients/{client_id}/invoice-settings"), headers=actor.headers)
    assert s.status_code == 200, s.text
    return r.json()["currency"], s.json()["currency"]


def locked(r) -> None:
    assert_problem(r, 409, "client_currency_locked")


# ------------------------------------------------------------------ a client's currency


async def test_a_currency_change_moves_the_invoice_settings_and_new_drafts(client, app):
    owner = await make_actor(app)
    client_id, _ = await new_client_project(client, owner)
    assert await currency_of(client, owner, client_id) == ("EUR", "EUR")

    r = await set_currency(client, owner, client_id, "USD")
    assert r.status_code == 200, r.text
    assert await currency_of(client, owner, client_id) == ("USD", "USD")
    draft = await manual_draft(client, owner, client_id)
    assert draft["currency"] == "USD"
    # The same currency again is no change, whatever the client holds now.
    assert (await set_currency(client, owner, client_id, "USD")).status_code == 200


async def test_rates_in_the_clients_currency_lock_it(client, app):
    owner = await make_actor(app)
    # a dated client rate
    client_id, _ = await new_client_project(client, owner, "Dated")
    rate = await add_rate(client, owner, 9000, scope="client", client_id=client_id)
    locked(await set_currency(client, owner, client_id, "USD"))
    assert await currency_of(client, owner, client_id) == ("EUR", "EUR")
    r = await client.delete(owner.url(f"/rates/{rate['id']}"), headers=owner.headers)
    assert r.status_code == 204, r.text
    assert (await set_currency(client, owner, client_id, "USD")).status_code == 200

    # a dated rate of one of its projects, and a project member's
    client_id, project_id = await new_client_project(client, owner, "Project rate")
    await add_rate(client, owner, 9000, scope="project", project_id=project_id)
    locked(await set_currency(client, owner, client_id, "GBP"))
    client_id, project_id = await new_client_project(client, owner, "Member rate")
    await add_rate(
        client, owner, 9000, scope="project_member", project_id=project_id, user_id=owner.user_id
    )
    locked(await set_currency(client, owner, client_id, "GBP"))

    # the client's own rate, and its project's
    with_rate = await new_client(client, owner, "Own rate", hourly_rate_amount=8000)
    locked(await set_currency(client, owner, with_rate["id"], "GBP"))
    client_id, project_id = await new_client_project(client, owner, "Project's own rate")
    r = await client.patch(
        owner.url(f"/projects/{project_id}"),
        json={"hourly_rate_amount": 7000},
        headers=owner.headers,
    )
    assert r.status_code == 200, r.text
    locked(await set_currency(client, owner, client_id, "GBP"))
    assert await currency_of(client, owner, client_id) == ("EUR", "EUR")

    # The client's rate may be set in the same change: it is in the new currency.
    fresh = await new_client(client, owner, "Fresh")
    r = await client.patch(
        owner.url(f"/clients/{fresh['id']}"),
        json={"currency": "GBP", "hourly_rate_amount": 6000},
        headers=owner.headers,
    )
    assert r.status_code == 200, r.text
    assert (r.json()["currency"], r.json()["hourly_rate_amount"]) == ("GBP", 6000)


async def test_uninvoiced_priced_time_locks_the_currency(client, app):
    owner = await make_actor(app)
    client_id, project_id = await new_client_project(client, owner)
    entry = await add_entry(client, owner, project_id, utc(2026, 3, 2, 9), 3600)
    # Time without a rate has no price yet: the currency may still change (and back).
    assert (await set_currency(client, owner, client_id, "USD")).status_code == 200
    assert (await set_currency(client, owner, client_id, "EUR")).status_code == 200

    # A team-wide rate in EUR prices it now.
    await add_rate(client, owner, 10000, "EUR")
    locked(await set_currency(client, owner, client_id, "USD"))
    assert await currency_of(client, owner, client_id) == ("EUR", "EUR")

    # Not billable: nothing is priced.
    r = await client.patch(
        owner.url(f"/time-entries/{entry['id']}"), json={"billable": False}, headers=owner.headers
    )
    assert r.status_code == 200, r.text
    assert (await set_currency(client, owner, client_id, "USD")).status_code == 200


async def test_unsettled_invoices_lock_the_currency(client, app):
    owner = await make_actor(app)
    client_id = (await new_client(client, owner, payment_methods=["bank"]))["id"]
    draft = await manual_draft(client, owner, client_id, 5000)
    locked(await set_currency(client, owner, client_id, "USD"))
    invoice = await finalize(client, owner, draft["id"])
    locked(await set_currency(client, owner, client_id, "USD"))
    assert (await pay(client, owner, invoice["id"], 5000)).status_code == 201
    # A paid invoice is settled in its own currency and keeps it.
    r = await set_currency(client, owner, client_id, "USD")
    assert r.status_code == 200, r.text
    assert await currency_of(client, owner, client_id) == ("USD", "USD")
    r = await client.get(owner.url(f"/invoices/{invoice['id']}"), headers=owner.headers)
    assert r.json()["currency"] == "EUR"


async def test_a_rate_racing_a_currency_change_never_lands_in_the_old_currency(client, app):
    owner = await make_actor(app)
    for i in range(6):
        client_id = (await new_client(client, owner, f"Race {i}"))["id"]
        change, rate = await asyncio.gather(
            set_currency(client, owner, client_id, "USD"),
            post_rate(client, owner, 9000, "EUR", scope="client", client_id=client_id),
        )
        # One of them wins, the other sees it: never a EUR rate on a USD client.
        outcome = (change.status_code, rate.status_code)
        assert outcome in ((200, 422), (409, 201)), (change.text, rate.text)
        current, settings = await currency_of(client, owner, client_id)
        assert current == settings == ("USD" if change.status_code == 200 else "EUR")


async def test_a_draft_racing_a_currency_change_is_in_the_clients_currency(client, app):
    owner = await make_actor(app)
    for i in range(6):
        client_id = (await new_client(client, owner, f"Race {i}"))["id"]
        lines = [{"description": "Work", "quantity": "1", "unit_amount": 100}]
        change, draft = await asyncio.gather(
            set_currency(client, owner, client_id, "USD"),
            client.post(
                owner.url("/invoices"),
                json={"client_id": client_id, "lines": lines},
                headers=owner.headers,
            ),
        )
        assert draft.status_code == 201, draft.text
        if change.status_code == 200:
            assert draft.json()["currency"] == "USD"
        else:
            locked(change)
            assert draft.json()["currency"] == "EUR"
        assert (await currency_of(client, owner, client_id))[0] == draft.json()["currency"]


# ------------------------------------------------------------------ the team's base currency


async def test_base_currency_is_locked_by_an_exchange_rate(client, app):
    owner = await make_actor(app)
    rate = await add_exchange_rate(client, owner, "USD", "0.9")
    r = await client.patch(owner.url(), json={"base_currency": "USD"}, headers=owner.headers)
    assert_problem(r, 409, "base_currency_locked")
    team = (await client.get(owner.url(), headers=owner.headers)).json()
    assert team["base_currency"] == "EUR"
    # Other settings in the same request are not applied either; alone they are.
    r = await client.patch(
        owner.url(), json={"base_currency": "USD", "name": "Renamed"}, headers=owner.headers
    )
    assert_problem(r, 409, "base_currency_locked")
    r = await client.patch(
        owner.url(), json={"base_currency": "EUR", "name": "Renamed"}, headers=owner.headers
    )
    assert r.status_code == 200, r.text

    r = await client.delete(owner.url(f"/exchange-rates/{rate['id']}"), headers=owner.headers)
    assert r.status_code == 204, r.text
    r = await client.patch(owner.url(), json={"base_currency": "USD"}, headers=owner.headers)
    assert r.status_code == 200, r.text


async def test_base_currency_is_locked_once_an_invoice_is_finalized(client, app):
    owner = await make_actor(app)
    client_id = (await new_client(client, owner))["id"]
    draft = await manual_draft(client, owner, client_id)
    # A draft fixes nothing yet.
    r = await client.patch(owner.url(), json={"base_currency": "GBP"}, headers=owner.headers)
    assert r.status_code == 200, r.text
    r = await client.patch(owner.url(), json={"base_currency": "EUR"}, headers=owner.headers)
    assert r.status_code == 200, r.text

    invoice = await finalize(client, owner, draft["id"])
    r = await client.patch(owner.url(), json={"base_currency": "GBP"}, headers=owner.headers)
    assert_problem(r, 409, "base_currency_locked")
    # Voiding does not unfix the rate the invoice was issued with.
    r = await client.post(owner.url(f"/invoices/{invoice['id']}/void"), headers=owner.headers)
    assert r.status_code == 200, r.text
    r = await client.patch(owner.url(), json={"base_currency": "GBP"}, headers=owner.headers)
    assert_problem(r, 409, "base_currency_locked")


async def test_a_finalization_racing_a_base_currency_change_fixes_a_true_rate(client, app):
    for _ in range(5):
        owner = await make_actor(app)  # base EUR
        client_id = (await new_client(client, owner))["id"]
        draft = await manual_draft(client, owner, client_id, 100)
        change, issued = await asyncio.gather(
            client.patch(owner.url(), json={"base_currency": "USD"}, headers=owner.headers),
            client.post(owner.url(f"/invoices/{draft['id']}/finalize"), headers=owner.headers),
        )
        team = (await client.get(owner.url(), headers=owner.headers)).json()
        if issued.status_code == 200:
            # issued first at EUR -> EUR 1: the change then sees it
            assert_problem(change, 409, "base_currency_locked")
            assert team["base_currency"] == "EUR"
        else:
            # changed first: EUR is foreign now, and no rate to USD exists
            assert change.status_code == 200, change.text
            assert_problem(issued, 422, "exchange_rate_missing")
            assert team["base_currency"] == "USD"

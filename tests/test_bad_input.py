"""Bad input is a clear 4xx, never a 500, and nothing is written: NUL characters, dates out
of range, malformed or non-JSON or oversized bodies, loose JSON types."""

import uuid
from collections.abc import AsyncIterator
from datetime import date, timedelta

from tests.factories import make_actor
from tests.factories.clients import new_client, new_client_project
from tests.factories.contacts import new_contact
from tests.factories.invoices import get_invoice, manual_draft, post_invoice
from tests.factories.payments import invoice_payments, open_invoice, pay
from tests.factories.time_tracking import entry_count
from tests.helpers import assert_problem, list_all

MIB = 1024 * 1024


# ------------------------------------------------------------------ NUL characters


async def test_nul_in_a_json_string_is_422_invalid_character_and_nothing_is_written(client, app):
    owner = await make_actor(app)
    r = await client.post(
        owner.url("/clients"), json={"name": "Acme\u0000", "currency": "EUR"}, headers=owner.headers
    )
    body = assert_problem(r, 422, "invalid_character")
    assert ["body", "name"] in [e["loc"] for e in body["errors"]]
    # Nested too: a contact invited with a new client.
    r = await client.post(
        owner.url("/clients"),
        json={
            "name": "Acme",
            "currency": "EUR",
            "invite_contacts": [{"name": "A\u0000n", "email": "ann@example.com"}],
        },
        headers=owner.headers,
    )
    assert_problem(r, 422, "invalid_character")
    assert await list_all(client, owner, "/clients") == []

    r = await client.patch(owner.url(), json={"name": "\u0000"}, headers=owner.headers)
    assert_problem(r, 422, "invalid_character")
    team = (await client.get(owner.url(), headers=owner.headers)).json()
    assert "\u0000" not in team["name"]

    contact = await new_contact(client, owner)
    activities = f"/contacts/{contact['id']}/activities"
    r = await client.post(
        owner.url(activities), json={"kind": "note", "body": "hi\u0000"}, headers=owner.headers
    )
    assert_problem(r, 422, "invalid_character")
    assert await list_all(client, owner, activities) == []


async def test_nul_in_the_query_or_path_is_400_invalid_character(client, app):
    owner = await make_actor(app)
    r = await client.get(owner.url("/clients"), params={"q": "a\u0000"}, headers=owner.headers)
    assert_problem(r, 400, "invalid_character")
    r = await client.get(owner.url("/contacts?q=%00"), headers=owner.headers)
    assert_problem(r, 400, "invalid_character")
    # Before any authentication or look-up.
    r = await client.get("/v1/pay/%00%00")
    assert_problem(r, 400, "invalid_character")
    r = await client.post("/v1/invitations/a%00b/accept", json={})
    assert_problem(r, 400, "invalid_character")


# ------------------------------------------------------------------ dates out of range


async def test_instants_outside_2000_to_2100_are_422_date_out_of_range(client, app):
    owner = await make_actor(app)
    _, project_id = await new_client_project(client, owner)
    for start, end in [
        ("0001-01-01T00:00:00Z", "0001-01-01T01:00:00Z"),
        ("1999-12-31T23:00:00Z", "2000-01-01T01:00:00Z"),
        ("2100-12-31T23:00:00Z", "2101-01-01T00:30:00Z"),
        ("9999-12-31T22:00:00-01:00", "9999-12-31T23:00:00-01:00"),
    ]:
        r = await client.post(
            owner.url("/time-entries"),
            json={"project_id": project_id, "started_at": start, "ended_at": end},
            headers=owner.headers,
        )
        assert_problem(r, 422, "date_out_of_range")
    assert await entry_count(app) == 0
    # The edges are in range.
    r = await client.post(
        owner.url("/time-entries"),
        json={
            "project_id": project_id,
            "started_at": "2000-01-01T00:00:00Z",
            "ended_at": "2000-01-01T01:00:00Z",
        },
        headers=owner.headers,
    )
    assert r.status_code == 201, r.text

    invoice = await open_invoice(client, owner)
    r = await pay(client, owner, invoice["id"], 100, paid_at="0001-01-01T00:00:00+00:00")
    assert_problem(r, 422, "date_out_of_range")
    assert await invoice_payments(client, owner, invoice["id"]) == []


async def test_dates_outside_2000_to_2100_are_422_date_out_of_range(client, app):
    owner = await make_actor(app)
    client_id = (await new_client(client, owner))["id"]
    r = await post_invoice(
        client, owner, client_id, period_start="0001-01-01", period_end="9999-12-31"
    )
    assert_problem(r, 422, "date_out_of_range")
    r = await client.post(
        owner.url("/invoice-runs"),
        json={"period_start": "0001-01-01", "period_end": "0001-01-31"},
        headers=owner.headers,
    )
    assert_problem(r, 422, "date_out_of_range")
    r = await client.put(
        owner.url(f"/clients/{client_id}/invoice-settings"),
        json={"schedule": "monthly", "next_run_on": "2101-01-01"},
        headers=owner.headers,
    )
    assert_problem(r, 422, "date_out_of_range")
    assert await list_all(client, owner, "/invoices") == []
    assert await list_all(client, owner, "/invoice-runs") == []


async def test_query_dates_outside_the_range_are_422_date_out_of_range(client, app):
    owner = await make_actor(app)
    for params in [
        {"from": "0001-01-01", "to": "9999-12-31"},
        {"from": "0001-01-01T00:00:00Z"},
        {"to": "9999-12-31T23:59:59+00:00"},
        {"updated_since": "0001-01-01T00:00:00Z"},
    ]:
        r = await client.get(owner.url("/time-entries"), params=params, headers=owner.headers)
        assert_problem(r, 422, "date_out_of_range")
    r = await client.get(
        owner.url("/payments"), params={"from": "0001-01-01"}, headers=owner.headers
    )
    assert_problem(r, 422, "date_out_of_range")
    r = await client.get(
        owner.url("/time-entries"),
        params={"from": "2000-01-01", "to": "2100-12-31T23:59:59Z"},
        headers=owner.headers,
    )
    assert r.status_code == 200, r.text


async def test_a_period_longer_than_366_days_is_422_period_too_long(client, app, run_jobs):
    owner = await make_actor(app)
    client_id = (await new_client(client, owner))["id"]
    r = await post_invoice(
        client, owner, client_id, period_start="2024-01-01", period_end="2025-01-01"
    )
    assert_problem(r, 422, "period_too_long")
    r = await client.post(
        owner.url("/invoice-runs"),
        json={"period_start": "2024-01-01", "period_end": "2025-01-01"},
        headers=owner.headers,
    )
    assert_problem(r, 422, "period_too_long")
    assert await run_jobs() == 0
    assert await list_all(client, owner, "/invoices") == []
    # A leap year, both ends included, is 366 days: allowed (and there is nothing to bill).
    r = await post_invoice(
        client, owner, client_id, period_start="2024-01-01", period_end="2024-12-31"
    )
    assert_problem(r, 422, "nothing_to_invoice")


async def test_a_draft_without_an_end_runs_to_today_and_is_bounded_too(client, app):
    """No `period_end` means "up to today": a start more than 366 days back is as long a
    period as any other, and a start after today is out of order."""
    owner = await make_actor(app)
    client_id = (await new_client(client, owner))["id"]
    long_ago = (date.today() - timedelta(days=400)).isoformat()
    assert_problem(
        await post_invoice(client, owner, client_id, period_start=long_ago),
        422,
        "period_too_long",
    )
    tomorrow = (date.today() + timedelta(days=2)).isoformat()
    assert_problem(
        await post_invoice(client, owner, client_id, period_start=tomorrow), 422, "invalid_period"
    )
    recent = (date.today() - timedelta(days=30)).isoformat()
    assert_problem(
        await post_invoice(client, owner, client_id, period_start=recent),
        422,
        "nothing_to_invoice",
    )
    assert await list_all(client, owner, "/invoices") == []


# ------------------------------------------------------------------ status codes


async def test_malformed_json_is_400_malformed_json(client, app):
    owner = await make_actor(app)
    r = await client.post(
        owner.url("/clients"),
        content=b'{"name": "Acme", "currency":',
        headers={**owner.headers, "content-type": "application/json"},
    )
    assert_problem(r, 400, "malformed_json")
    assert await list_all(client, owner, "/clients") == []


async def test_a_body_that_is_not_json_is_415_unsupported_media_type(client, app):
    owner = await make_actor(app)
    for headers in (
        {"content-type": "text/plain"},
        {"content-type": "application/x-www-form-urlencoded"},
        {},
    ):
        r = await client.post(
            owner.url("/clients"),
            content=b'{"name": "Acme", "currency": "EUR"}',
            headers={**owner.headers, **headers},
        )
        assert_problem(r, 415, "unsupported_media_type")
    assert await list_all(client, owner, "/clients") == []


async def test_a_body_over_1_mib_is_413_refused_while_reading(client, app):
    owner = await make_actor(app)
    sent = 0

    async def twenty_megabytes() -> AsyncIterator[bytes]:
        nonlocal sent
        yield b'{"name": "Acme", "currency": "EUR", "notes": "'
        for _ in range(20 * 16):
            sent += 64 * 1024
            yield b"x" * (64 * 1024)
        yield b'"}'

    # Streamed without a Content-Length: counted as it arrives, refused past 1 MiB.
    r = await client.post(
        owner.url("/clients"),
        content=twenty_megabytes(),
        headers={**owner.headers, "content-type": "application/json"},
    )
    assert_problem(r, 413, "payload_too_large")
    assert sent <= MIB + 64 * 1024, sent
    assert await list_all(client, owner, "/clients") == []

    # Announced by Content-Length: refused before the body is read, even by an endpoint
    # that takes no body, and before it does anything.
    client_id = (await new_client(client, owner))["id"]
    draft = await manual_draft(client, owner, client_id)
    r = await client.post(
        owner.url(f"/invoices/{draft['id']}/finalize"),
        content=b"x" * (MIB + 1),
        headers=owner.headers,
    )
    assert_problem(r, 413, "payload_too_large")
    assert (await get_invoice(client, owner, draft["id"]))["status"] == "draft"

    # Through the idempotency middleware, which reads the body first.
    r = await client.post(
        owner.url("/clients"),
        content=b'{"name": "' + b"x" * MIB + b'", "currency": "EUR"}',
        headers={**owner.headers, "content-type": "application/json", "Idempotency-Key": "k1"},
    )
    assert_problem(r, 413, "payload_too_large")
    # Exactly 1 MiB is fine (and then invalid for other reasons).
    padding = MIB - len(b'{"name": "", "currency": "EUR"}')
    r = await client.post(
        owner.url("/clients"),
        content=b'{"name": "' + b"x" * padding + b'", "currency": "EUR"}',
        headers={**owner.headers, "content-type": "application/json"},
    )
    assert_problem(r, 422, "validation_error")


async def test_405_allows_every_method_of_the_path(client, app):
    owner = await make_actor(app)
    r = await client.put(owner.url("/clients"), json={}, headers=owner.headers)
    assert_problem(r, 405, "method_not_allowed")
    assert {m.strip() for m in r.headers["allow"].split(",")} == {"GET", "POST"}
    r = await client.post(owner.url(f"/clients/{uuid.uuid4()}"), json={}, headers=owner.headers)
    assert_problem(r, 405, "method_not_allowed")
    assert {m.strip() for m in r.headers["allow"].split(",")} == {"GET", "PATCH", "DELETE"}


# ------------------------------------------------------------------ strict JSON types


async def test_integers_and_booleans_must_come_as_json_numbers_and_booleans(client, app):
    owner = await make_actor(app)
    invoice = await open_invoice(client, owner)
    for amount in (True, "100", 100.0):
        r = await pay(client, owner, invoice["id"], amount)  # type: ignore[arg-type]
        assert_problem(r, 422, "validation_error")
    assert await invoice_payments(client, owner, invoice["id"]) == []

    for fields in (
        {"hourly_rate_amount": "100"},
        {"hourly_rate_amount": True},
        {"create_project": "true"},
        {"create_project": 1},
    ):
        r = await client.post(
            owner.url("/clients"),
            json={"name": "Strict", "currency": "EUR", **fields},
            headers=owner.headers,
        )
        assert_problem(r, 422, "validation_error")
    assert [c["name"] for c in await list_all(client, owner, "/clients")] == ["Acme"]

    # The string forms JSON has for ids, enums, decimals and dates still work.
    r = await client.post(
        owner.url(f"/invoices/{invoice['id']}/payments"),
        json={"amount": 100, "method": "bank", "paid_at": "2026-03-02T10:00:00+01:00"},
        headers=owner.headers,
    )
    assert r.status_code == 201, r.text


async def test_timestamps_must_be_rfc3339_strings_with_an_offset(client, app):
    owner = await make_actor(app)
    _, project_id = await new_client_project(client, owner)
    for start in (1772352000, "1772352000", "2026-03-01T09:00:00", "2026-03-01 09:00+01:00"):
        r = await client.post(
            owner.url("/time-entries"),
            json={
                "project_id": project_id,
                "started_at": start,
                "ended_at": "2026-03-01T10:00:00Z",
            },
            headers=owner.headers,
        )
        assert_problem(r, 422, "validation_error")
    assert await entry_count(app) == 0
    for since in ("0.5", "1772352000", "2026-03-01T09:00:00"):
        r = await client.get(
            owner.url("/clients"), params={"updated_since": since}, headers=owner.headers
        )
        assert_problem(r, 422, "validation_error")
    r = await client.get(
        owner.url("/clients"),
        params={"updated_since": "2026-03-01T09:00:00.123456+05:30"},
        headers=owner.headers,
    )
    assert r.status_code == 200, r.text


async def test_an_empty_cursor_is_no_cursor(client, app):
    owner = await make_actor(app)
    await new_client(client, owner, "One")
    await new_client(client, owner, "Two")
    r = await client.get(owner.url("/clients"), params={"cursor": ""}, headers=owner.headers)
    assert r.status_code == 200, r.text
    assert {c["name"] for c in r.json()["data"]} == {"One", "Two"}

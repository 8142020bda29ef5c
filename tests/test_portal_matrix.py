"""The portal's matrix: two teams with two clients each, every client with two projects
(one viewed by both its contacts, one by the first only), a task and an entry on each, a
draft and an open invoice. Every portal endpoint is called with every contact's session
for every object id: only what the contact may see answers 200, all else 404, never 5xx;
and every list holds exactly what the contact may see."""

import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from tests.factories.accounts import make_actor
from tests.factories.clients import new_client
from tests.factories.invoices import manual_draft
from tests.factories.payments import open_invoice
from tests.factories.portal import PortalUser, portal_contact, sign_in
from tests.factories.projects import new_project, new_task
from tests.factories.time_tracking import add_entry
from tests.fakes import (  # noqa: F401  (fixtures)
    crypto_gateway_fixture,
    crypto_server_fixture,
    stripe_api_fixture,
    stripe_server_fixture,
)
from tests.helpers import list_all, utc

SPEC = json.loads((Path(__file__).resolve().parent.parent / "openapi" / "openapi.json").read_text())
P = "/v1/portal"


@dataclass
class Seat:
    """A signed-in contact and what it may see."""

    user: PortalUser
    projects: set[str] = field(default_factory=set)
    entries: set[str] = field(default_factory=set)
    invoices: set[str] = field(default_factory=set)


async def build(http, app, mailbox, run_jobs) -> tuple[list[Seat], dict[str, set[str]]]:
    seats: list[Seat] = []
    ids: dict[str, set[str]] = {"projects": set(), "invoices": set(), "other": set()}
    n = 0
    for team in ("North", "South"):
        owner = await make_actor(app, name=f"{team} owner")
        for client_name in ("One", "Two"):
            acme = await new_client(
                http, owner, f"{team} {client_name}", payment_methods=["stripe", "bank"]
            )
            shared = await new_project(http, owner, "Shared", client_id=acme["id"])
            private = await new_project(http, owner, "Private", client_id=acme["id"])
            entries = {}
            for project in (shared, private):
                ids["projects"].add(project["id"])
                ids["other"].add((await new_task(http, owner, project["id"]))["id"])
                n += 1
                entry = await add_entry(
                    http, owner, project["id"], utc(2026, 3, 1, n), 600, billable=False
                )
                entries[project["id"]] = entry["id"]
            draft = await manual_draft(http, owner, acme["id"])
            opened = await open_invoice(http, owner, client_id=acme["id"])
            ids["invoices"] |= {draft["id"], opened["id"]}
            ids["other"] |= {acme["id"], str(owner.user_id)}
            first = await portal_contact(
                http,
                owner,
                acme["id"],
                f"first-{team}-{client_name}@example.com",
                views=(shared["id"], private["id"]),
            )
            second = await portal_contact(
                http,
                owner,
                acme["id"],
                f"second-{team}-{client_name}@example.com",
                views=(shared["id"],),
            )
            for contact, seen in ((first, (shared, private)), (second, (shared,))):
                ids["other"].add(contact["id"])
                seats.append(
                    Seat(
                        user=await sign_in(http, mailbox, run_jobs, contact),
                        projects={p["id"] for p in seen},
                        entries={entries[p["id"]] for p in seen},
                        invoices={opened["id"]},
                    )
                )
    ids["other"].add(str(uuid.uuid4()))
    return seats, ids


def _calls(seat: Seat, ids: dict[str, set[str]]):
    """(method, path, params, body, allowed) for every endpoint with an id, every id."""
    every = ids["projects"] | ids["invoices"] | ids["other"]
    for object_id in sorted(every):
        viewed = object_id in seat.projects
        mine = object_id in seat.invoices
        yield "GET", f"/projects/{object_id}", None, None, viewed
        yield "GET", f"/projects/{object_id}/tasks", None, None, viewed
        yield "GET", "/time-entries", {"project_id": object_id}, None, viewed
        yield "GET", f"/invoices/{object_id}", None, None, mine
        yield "GET", f"/invoices/{object_id}/pdf", None, None, mine
        yield "POST", f"/invoices/{object_id}/checkout", None, {"provider": "stripe"}, mine


async def test_every_contact_sees_only_its_own(client, app, mailbox, run_jobs, stripe_api):
    seats, ids = await build(client, app, mailbox, run_jobs)
    assert len(seats) == 8
    wrong: list[str] = []
    calls = 0
    for n, seat in enumerate(seats):
        for method, path, params, body, allowed in _calls(seat, ids):
            r = await client.request(
                method, P + path, params=params, json=body, headers=seat.user.headers
            )
            calls += 1
            expected = 200 if allowed else 404
            if r.status_code != expected:
                wrong.append(
                    f"contact {n} {method} {path} {params}: {r.status_code} {r.text[:150]}"
                )
            elif not allowed:
                assert r.headers["content-type"].startswith("application/problem+json")

        projects = await list_all(client, seat.user, "/projects")
        assert {p["id"] for p in projects} == seat.projects
        entries = await list_all(client, seat.user, "/time-entries")
        assert {e["id"] for e in entries} == seat.entries
        invoices = await list_all(client, seat.user, "/invoices")
        assert {i["id"] for i in invoices} == seat.invoices
        report = await client.get(P + "/time-report", headers=seat.user.headers)
        assert report.json()["totals"]["seconds"] == 600 * len(seat.entries)
        assert {row["key"] for row in report.json()["rows"]} == seat.projects
    assert not wrong, "\n".join(wrong)
    assert calls == 8 * 6 * len(ids["projects"] | ids["invoices"] | ids["other"])
    # Every portal path with an id in it is in the matrix.
    with_ids = {
        f"{method.upper()} {path}"
        for path, operations in SPEC["paths"].items()
        if path.startswith(P + "/") and "{" in path
        for method in operations
    }
    assert with_ids == {
        "GET /v1/portal/projects/{project_id}",
        "GET /v1/portal/projects/{project_id}/tasks",
        "GET /v1/portal/invoices/{invoice_id}",
        "GET /v1/portal/invoices/{invoice_id}/pdf",
        "POST /v1/portal/invoices/{invoice_id}/checkout",
    }, "a new portal path with an id: add it to _calls"

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
    collaborates: set[str] = field(default_factory=set)
    entries: set[str] = field(default_factory=set)
    invoices: set[str] = field(default_factory=set)


@dataclass
class Threads:
    """Each project's task, and its owner's comments (`client` and `internal`) on the
    project's thread and on the task."""

    task: dict[str, str] = field(default_factory=dict)
    comments: dict[str, dict[str, str]] = field(default_factory=dict)


THREADS = Threads()


async def _threads(http, owner, project_id: str, task_id: str) -> None:
    THREADS.task[project_id] = task_id
    made = {}
    for where, path in (("project", ""), ("task", f"/tasks/{task_id}")):
        for visibility in ("client", "internal"):
            r = await http.post(
                owner.url(f"/projects/{project_id}{path}/comments"),
                json={"body": f"{visibility} note", "visibility": visibility},
                headers=owner.headers,
            )
            assert r.status_code == 201, r.text
            made[f"{where}-{visibility}"] = r.json()["id"]
    THREADS.comments[project_id] = made


async def build(http, app, mailbox, run_jobs) -> tuple[list[Seat], dict[str, set[str]]]:
    seats: list[Seat] = []
    ids: dict[str, set[str]] = {"projects": set(), "invoices": set(), "other": set()}
    THREADS.task.clear()
    THREADS.comments.clear()
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
                task_id = (await new_task(http, owner, project["id"]))["id"]
                ids["other"].add(task_id)
                await _threads(http, owner, project["id"], task_id)
                ids["other"] |= set(THREADS.comments[project["id"]].values())
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
            # The first contact collaborates on the shared project (views the private one).
            r = await http.patch(
                owner.url(f"/projects/{shared['id']}/viewers/{first['id']}"),
                json={"role": "collaborator"},
                headers=owner.headers,
            )
            assert r.status_code == 200, r.text
            for contact, seen in ((first, (shared, private)), (second, (shared,))):
                ids["other"].add(contact["id"])
                seats.append(
                    Seat(
                        user=await sign_in(http, mailbox, run_jobs, contact),
                        projects={p["id"] for p in seen},
                        collaborates={shared["id"]} if contact is first else set(),
                        entries={entries[p["id"]] for p in seen},
                        invoices={opened["id"]},
                    )
                )
    ids["other"].add(str(uuid.uuid4()))
    return seats, ids


def _writes(seat: Seat, project_id: str, ok: int) -> int:
    """A write on a project: `ok` for its collaborators, 403 for its viewers, else 404."""
    if project_id in seat.collaborates:
        return ok
    return 403 if project_id in seat.projects else 404


def _calls(seat: Seat, ids: dict[str, set[str]]):
    """(method, path, params, body, expected status) for every endpoint with an id, every
    id (as a project's), then each project's threads with their own and foreign ids."""
    every = ids["projects"] | ids["invoices"] | ids["other"]
    for object_id in sorted(every):
        seen = 200 if object_id in seat.projects else 404
        mine = 200 if object_id in seat.invoices else 404
        yield "GET", f"/projects/{object_id}", None, None, seen
        yield "GET", f"/projects/{object_id}/tasks", None, None, seen
        yield "GET", "/time-entries", {"project_id": object_id}, None, seen
        yield "GET", f"/invoices/{object_id}", None, None, mine
        yield "GET", f"/invoices/{object_id}/pdf", None, None, mine
        yield "POST", f"/invoices/{object_id}/checkout", None, {"provider": "stripe"}, mine
        yield "GET", f"/projects/{object_id}/comments", None, None, seen
        yield (
            "POST",
            f"/projects/{object_id}/comments",
            None,
            {"body": "Hi"},
            _writes(seat, object_id, 201),
        )
        yield (
            "POST",
            f"/projects/{object_id}/tasks",
            None,
            {"title": "Req"},
            _writes(seat, object_id, 201),
        )
    for project_id in sorted(ids["projects"]):
        seen = 200 if project_id in seat.projects else 404
        task = f"/projects/{project_id}/tasks/{THREADS.task[project_id]}"
        made = THREADS.comments[project_id]
        yield "GET", f"{task}/comments", None, None, seen
        yield "POST", f"{task}/comments", None, {"body": "Hi"}, _writes(seat, project_id, 201)
        # The owner's task: a collaborator may not change it (nor a viewer).
        yield "PATCH", task, None, {"title": "Mine"}, _writes(seat, project_id, 403)
        yield "DELETE", task, None, None, _writes(seat, project_id, 403)
        for where, base in (("project", f"/projects/{project_id}"), ("task", task)):
            for visibility in ("client", "internal"):
                path = f"{base}/comments/{made[f'{where}-{visibility}']}"
                # Another's client comment: 403; an internal one is no comment here: 404.
                ok = 403 if visibility == "client" else 404
                yield "PATCH", path, None, {"body": "x"}, _writes(seat, project_id, ok)
                yield "DELETE", path, None, None, _writes(seat, project_id, ok)
        # Another project's thread and comment ids under this project: unknown here.
        for other in sorted(ids["projects"] - {project_id})[:1]:
            foreign = THREADS.comments[other]["project-client"]
            yield (
                "GET",
                f"/projects/{project_id}/tasks/{THREADS.task[other]}/comments",
                None,
                None,
                (404),
            )
            yield (
                "PATCH",
                f"/projects/{project_id}/comments/{foreign}",
                None,
                {"body": "x"},
                (_writes(seat, project_id, 404)),
            )


def _per_seat(ids: dict[str, set[str]]) -> int:
    every = ids["projects"] | ids["invoices"] | ids["other"]
    return 9 * len(every) + 14 * len(ids["projects"])


async def test_every_contact_sees_only_its_own(client, app, mailbox, run_jobs, stripe_api):
    seats, ids = await build(client, app, mailbox, run_jobs)
    assert len(seats) == 8
    wrong: list[str] = []
    calls = 0
    for n, seat in enumerate(seats):
        for method, path, params, body, expected in _calls(seat, ids):
            r = await client.request(
                method, P + path, params=params, json=body, headers=seat.user.headers
            )
            calls += 1
            if r.status_code != expected:
                wrong.append(
                    f"contact {n} {method} {path} {params}: {r.status_code} {r.text[:150]}"
                )
            elif expected >= 400:
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
    assert calls == 8 * _per_seat(ids)
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
        "GET /v1/portal/projects/{project_id}/comments",
        "POST /v1/portal/projects/{project_id}/comments",
        "PATCH /v1/portal/projects/{project_id}/comments/{comment_id}",
        "DELETE /v1/portal/projects/{project_id}/comments/{comment_id}",
        "POST /v1/portal/projects/{project_id}/tasks",
        "PATCH /v1/portal/projects/{project_id}/tasks/{task_id}",
        "DELETE /v1/portal/projects/{project_id}/tasks/{task_id}",
        "GET /v1/portal/projects/{project_id}/tasks/{task_id}/comments",
        "POST /v1/portal/projects/{project_id}/tasks/{task_id}/comments",
        "PATCH /v1/portal/projects/{project_id}/tasks/{task_id}/comments/{comment_id}",
        "DELETE /v1/portal/projects/{project_id}/tasks/{task_id}/comments/{comment_id}",
    }, "a new portal path with an id: add it to _calls"

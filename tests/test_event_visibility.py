"""Who sees which events, and what of them: the read endpoints' role rules.

For every role, the objects its events name are exactly the objects its read endpoints
list (time entries, clients, contacts, projects, invoices, payments), and the latest event
of each is that object exactly as the role reads it (rates and amounts hidden where the
role may not read them)."""

from dataclasses import dataclass

import pytest

from app.core.permissions import Role
from tests.factories import Actor, make_actor
from tests.factories.clients import new_client_project
from tests.factories.contacts import new_contact
from tests.factories.events import all_events
from tests.factories.invoices import finalize, manual_draft
from tests.factories.payments import pay
from tests.factories.projects import add_member, new_task
from tests.factories.rates import add_rate
from tests.factories.time_tracking import log
from tests.helpers import at, list_all

ROLES = [
    Role.superadmin,
    Role.org_manager,
    Role.sales_manager,
    Role.sales_rep,
    Role.project_manager,
    Role.member,
]


@dataclass
class World:
    actors: dict[Role | str, Actor]


async def build(http, app) -> World:
    """Client A (owned by the sales rep) with project pA: the project manager manages it,
    the member works on it. Client B (the owner's) with pB: member2 works on it. Time on
    both at a bill rate; an invoice with a payment for each client."""
    owner = await make_actor(app)
    actors: dict[Role | str, Actor] = {Role.superadmin: owner}
    for role in ROLES[1:]:
        actors[role] = await make_actor(app, team_id=owner.team_id, role=role)
    actors["member2"] = await make_actor(app, team_id=owner.team_id, role=Role.member)
    rep = actors[Role.sales_rep]
    client_a, pa = await new_client_project(
        http,
        owner,
        "A",
        owner_id=str(rep.user_id),
        hourly_rate_amount=8000,
        payment_methods=["bank"],
    )
    client_b, pb = await new_client_project(
        http, owner, "B", hourly_rate_amount=9000, payment_methods=["bank"]
    )
    await new_contact(http, owner, "Ann", client_id=client_a)
    await new_contact(http, owner, "Bob", client_id=client_b)
    await new_contact(http, rep, "Rep's own lead")
    await add_member(http, owner, pa, actors[Role.project_manager].user_id, "manager")
    await add_member(http, owner, pa, actors[Role.member].user_id)
    await add_member(http, owner, pb, actors["member2"].user_id)
    await add_rate(http, owner, scope="project", project_id=pa, hourly_rate_amount=12000)
    for client_id in (client_a, client_b):
        invoice = await finalize(http, owner, (await manual_draft(http, owner, client_id))["id"])
        assert (await pay(http, owner, invoice["id"], 2000)).status_code == 201
    # Logged after the invoices, so no invoice bills it (billing an entry is told by
    # the invoice's events, whose lines name the entries: docs/events.md).
    await log(http, actors[Role.member], pa, at(2, 9), at(2, 10))
    await log(http, actors["member2"], pb, at(2, 9), at(2, 11))
    await log(http, owner, pa, at(3, 9), at(3, 10))
    return World(actors)


def latest(events: list[dict], prefix: str) -> dict[str, dict]:
    """The last event of each object of a kind, by object id (deletions included)."""
    found: dict[str, dict] = {}
    for e in events:
        if e["type"].startswith(prefix):
            found[e["data"]["id"]] = e
    return found


async def listed(http, actor: Actor, path: str) -> dict[str, dict] | None:
    r = await http.get(actor.url(path), headers=actor.headers)
    if r.status_code == 403:
        return None
    assert r.status_code == 200, r.text
    return {row["id"]: row for row in await list_all(http, actor, path)}


@pytest.mark.parametrize("who", [*ROLES, "member2"])
async def test_each_role_receives_what_its_read_endpoints_show(client, app, who):
    w = await build(client, app)
    actor = w.actors[who]
    events = await all_events(client, actor)
    for prefix, path in [
        ("time_entry.", "/time-entries"),
        ("client.", "/clients"),
        ("invoice.", "/invoices"),
        ("payment.", "/payments"),
        ("project.", "/projects"),
        ("contact.", "/contacts"),
    ]:
        shown = await listed(client, actor, path)
        received = latest(events, prefix)
        if shown is None:  # the role may not read these at all
            assert received == {}, (who, prefix)
            continue
        assert set(received) == set(shown), (who, prefix)
        for object_id, event in received.items():
            assert event["data"] == shown[object_id], (who, event["type"])


async def test_a_member_does_not_receive_other_members_time(client, app):
    w = await build(client, app)
    member = w.actors[Role.member]
    entries = [e for e in await all_events(client, member) if e["type"].startswith("time_")]
    assert {e["data"]["user_id"] for e in entries} == {str(member.user_id)}
    # Members may read their own rate (RATES_READ OWN): amounts shown.
    assert all(e["data"]["billable_amount"] is not None for e in entries)


async def test_a_sales_rep_receives_its_own_clients_only_without_rates(client, app):
    w = await build(client, app)
    rep = w.actors[Role.sales_rep]
    events = await all_events(client, rep)
    clients = latest(events, "client.")
    assert [c["data"]["name"] for c in clients.values()] == ["A"]
    # Sales reps may not read rates: the client's rate is hidden in its events.
    assert all(c["data"]["hourly_rate_amount"] is None for c in clients.values())
    invoices = latest(events, "invoice.")
    assert len(invoices) == 1
    assert all(e["data"]["amount"] == 2000 for e in latest(events, "payment.").values())


@pytest.mark.parametrize("who", [*ROLES, "member2"])
async def test_task_and_member_events_follow_their_read_endpoints(client, app, who):
    w = await build(client, app)
    owner = w.actors[Role.superadmin]
    for project in await list_all(client, owner, "/projects"):
        await new_task(client, owner, project["id"], f"Task of {project['name']}")
    r = await client.patch(
        owner.url(f"/members/{w.actors['member2'].user_id}"),
        json={"role": "member"},
        headers=owner.headers,
    )
    assert r.status_code == 200, r.text
    actor = w.actors[who]
    events = await all_events(client, actor)
    # Tasks: exactly those of the projects whose tasks the role may list.
    shown_tasks: dict[str, dict] = {}
    projects = await listed(client, actor, "/projects") or {}
    for project_id in projects:
        tasks = await listed(client, actor, f"/projects/{project_id}/tasks")
        shown_tasks.update(tasks or {})
    received = latest(events, "task.")
    assert set(received) == set(shown_tasks), who
    for task_id, event in received.items():
        assert event["data"] == shown_tasks[task_id], who
    # Members: every role reads the team's members, and so receives their events.
    members = {m["user_id"]: m for m in await list_all(client, actor, "/members")}
    updated = [e for e in events if e["type"] == "member.updated"]
    assert [e["data"] for e in updated] == [members[str(w.actors["member2"].user_id)]], who

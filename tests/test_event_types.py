"""Which changes record which events: contacts, projects, tasks, members, the invoice's
life (created, updated, finalized, sent, voided, paid, overdue, deleted) and payments
(succeeded, failed, refunded), with the actor of each (a user, an API key, `system`)."""

from datetime import timedelta

from app.core.clock import today_in
from app.core.permissions import Role
from app.invoices.jobs import record_overdue_invoices
from tests.factories import make_actor
from tests.factories.clients import new_client_project
from tests.factories.contacts import new_contact
from tests.factories.events import all_events
from tests.factories.invoices import finalize, manual_draft
from tests.factories.payments import pay, refund
from tests.factories.projects import new_project, new_task
from tests.factories.teams import create_api_key


def types(events: list[dict], prefix: str) -> list[str]:
    return [e["type"] for e in events if e["type"].startswith(prefix)]


async def test_crm_and_project_events(client, app):
    owner = await make_actor(app)
    client_id, _ = await new_client_project(client, owner)
    contact = await new_contact(client, owner, client_id=client_id)
    r = await client.patch(
        owner.url(f"/contacts/{contact['id']}"), json={"title": "CEO"}, headers=owner.headers
    )
    assert r.status_code == 200
    contact_now = r.json()
    assert (
        await client.delete(owner.url(f"/contacts/{contact['id']}"), headers=owner.headers)
    ).status_code == 204
    project = await new_project(client, owner, "Site", client_id=client_id)
    task = await new_task(client, owner, project["id"])
    r = await client.patch(
        owner.url(f"/projects/{project['id']}/tasks/{task['id']}"),
        json={"title": "Renamed"},
        headers=owner.headers,
    )
    assert r.status_code == 200
    task_now = r.json()
    r = await client.delete(
        owner.url(f"/projects/{project['id']}/tasks/{task['id']}"), headers=owner.headers
    )
    assert r.status_code == 204
    assert (
        await client.delete(owner.url(f"/projects/{project['id']}"), headers=owner.headers)
    ).status_code == 204
    events = await all_events(client, owner)
    assert types(events, "contact.") == ["contact.created", "contact.updated", "contact.deleted"]
    assert types(events, "task.") == ["task.created", "task.updated", "task.deleted"]
    # The onboarding project, then the one made here, deleted (no time on it).
    assert types(events, "project.") == ["project.created", "project.created", "project.deleted"]
    by_type = {e["type"]: e for e in events}
    assert by_type["contact.updated"]["data"] == contact_now
    assert by_type["task.updated"]["data"] == task_now
    assert by_type["task.deleted"]["data"] == {"id": task["id"]}
    assert by_type["project.deleted"]["data"] == {"id": project["id"]}


async def test_member_events_and_the_api_key_actor(client, app):
    owner = await make_actor(app)
    other = await make_actor(app, team_id=owner.team_id, role=Role.member)
    key = await create_api_key(client, owner, role="org_manager")
    headers = {"Authorization": f"Bearer {key['key']}"}
    r = await client.patch(
        owner.url(f"/members/{other.user_id}"), json={"role": "sales_rep"}, headers=headers
    )
    assert r.status_code == 200, r.text
    r = await client.delete(owner.url(f"/members/{other.user_id}"), headers=owner.headers)
    assert r.status_code == 204
    events = await all_events(client, owner, types="member.*")
    # The team's first member is recorded at signup; `make_actor` adds others directly.
    assert [e["type"] for e in events] == ["member.created", "member.updated", "member.deleted"]
    created, updated, deleted = events
    assert created["data"]["user_id"] == str(owner.user_id)
    assert updated["data"]["role"] == "sales_rep"
    assert updated["actor"] == {"type": "api_key", "id": key["id"]}
    assert deleted["data"] == {"id": str(other.user_id)}
    assert deleted["actor"] == {"type": "user", "id": str(owner.user_id)}


async def test_the_life_of_an_invoice_and_its_payments(client, app, run_jobs):
    owner = await make_actor(app)
    client_id, _ = await new_client_project(
        client, owner, payment_methods=["bank"], email="billing@example.com"
    )
    draft = await manual_draft(client, owner, client_id, 10000)
    r = await client.patch(
        owner.url(f"/invoices/{draft['id']}"), json={"notes": "Thanks"}, headers=owner.headers
    )
    assert r.status_code == 200
    invoice = await finalize(client, owner, draft["id"])
    r = await client.post(owner.url(f"/invoices/{invoice['id']}/send"), headers=owner.headers)
    assert r.status_code == 202, r.text
    await run_jobs()
    payment = (await pay(client, owner, invoice["id"], 4000)).json()
    assert (await pay(client, owner, invoice["id"], 6000)).status_code == 201
    assert (await refund(client, owner, payment["id"], 1000)).status_code == 201
    gone = await manual_draft(client, owner, client_id, 500)
    assert (
        await client.delete(owner.url(f"/invoices/{gone['id']}"), headers=owner.headers)
    ).status_code == 204
    voided = await manual_draft(client, owner, client_id, 700)
    r = await client.post(owner.url(f"/invoices/{voided['id']}/void"), headers=owner.headers)
    assert r.status_code == 200
    events = await all_events(client, owner, types="invoice.*,payment.*")
    assert [e["type"] for e in events] == [
        "invoice.created",
        "invoice.updated",
        "invoice.finalized",
        "invoice.sent",  # by the job that emailed it: the system's
        "payment.succeeded",
        "invoice.updated",  # partly paid
        "payment.succeeded",
        "invoice.paid",
        "payment.refunded",
        "invoice.updated",  # open again
        "invoice.created",
        "invoice.deleted",
        "invoice.created",
        "invoice.voided",
    ]
    assert events[3]["actor"] == {"type": "system", "id": None}
    assert events[4]["actor"] == {"type": "user", "id": str(owner.user_id)}
    r = await client.get(owner.url(f"/invoices/{invoice['id']}"), headers=owner.headers)
    assert events[9]["data"] == r.json()
    assert events[8]["data"]["refunded_amount"] == 1000
    assert events[11]["data"] == {"id": gone["id"]}


async def test_the_overdue_check_records_each_overdue_invoice_once(client, app):
    owner = await make_actor(app)
    client_id, _ = await new_client_project(client, owner)
    past = {"issue_date": "2026-01-01", "due_date": "2026-01-15"}
    late = await finalize(
        client, owner, (await manual_draft(client, owner, client_id, **past))["id"]
    )
    soon = (today_in("UTC") + timedelta(days=3)).isoformat()
    await finalize(
        client, owner, (await manual_draft(client, owner, client_id, due_date=soon))["id"]
    )
    ctx = {"db": app.state.db, "redis": app.state.redis}
    assert await record_overdue_invoices(ctx) == 1
    assert await record_overdue_invoices(ctx) == 0  # once per invoice
    [overdue] = await all_events(client, owner, types="invoice.overdue")
    assert overdue["data"]["id"] == late["id"] and overdue["data"]["overdue"] is True
    assert overdue["actor"] == {"type": "system", "id": None}


async def test_a_new_draft_answers_and_records_the_invoice_as_stored(client, app):
    """The draft's response, its `invoice.created` event and a later GET agree, down to a
    manual line's quantity as the database keeps it (`1.5` is `1.5000`)."""
    owner = await make_actor(app)
    client_id, _ = await new_client_project(client, owner)
    lines = [{"description": "Setup", "quantity": "1.5", "unit_amount": 3333}]
    r = await client.post(
        owner.url("/invoices"), json={"client_id": client_id, "lines": lines}, headers=owner.headers
    )
    assert r.status_code == 201, r.text
    created = r.json()
    [event] = await all_events(client, owner, types="invoice.created")
    r = await client.get(owner.url(f"/invoices/{created['id']}"), headers=owner.headers)
    assert created["lines"][0]["quantity"] == "1.5000"
    assert event["data"] == created == r.json()

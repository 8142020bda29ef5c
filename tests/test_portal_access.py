"""What a signed-in contact sees in the portal, field by field: its client, the projects
it views with their progress, their tasks and time (days in the team's time zone), the
time report, and its client's issued invoices with their PDF, payment state and checkout.
Everything else is a 404."""

import uuid

from tests.factories.accounts import make_actor
from tests.factories.clients import new_client_project
from tests.factories.invoices import finalize, manual_draft
from tests.factories.payments import pay
from tests.factories.portal import PortalScene, link_tokens, portal_scene, redeem
from tests.factories.time_tracking import add_entry
from tests.fakes import (  # noqa: F401  (fixtures)
    STRIPE_WEBHOOK_SECRET,
    checkout_completed,
    crypto_gateway_fixture,
    crypto_server_fixture,
    stripe_api_fixture,
    stripe_server_fixture,
    stripe_signature,
)
from tests.helpers import assert_problem, bearer, utc

P = "/v1/portal"


async def get(client, scene: PortalScene, path: str, **params) -> dict:
    r = await client.get(P + path, params=params, headers=scene.user.headers)
    assert r.status_code == 200, r.text
    return r.json()


async def test_projects_show_progress_time_and_budget(client, app, mailbox, run_jobs):
    scene = await portal_scene(client, app, mailbox, run_jobs)
    listed = await get(client, scene, "/projects")
    assert [p["id"] for p in listed["data"]] == [scene.seen]
    assert listed["has_more"] is False
    project = await get(client, scene, f"/projects/{scene.seen}")
    assert project == listed["data"][0]
    assert set(project) == {
        "id",
        "name",
        "status",
        "progress",
        "tracked_seconds",
        "budget_seconds",
        "comment_count",
        "created_at",
        "updated_at",
    }
    assert project["name"] == "Website" and project["status"] == "active"
    assert project["progress"] == {"done_tasks": 1, "total_tasks": 3}
    assert project["tracked_seconds"] == 5400
    assert project["budget_seconds"] == 36000

    tasks = await get(client, scene, f"/projects/{scene.seen}/tasks")
    assert [t["title"] for t in tasks["data"]] == ["Wireframes", "Build", "Launch"]
    assert set(tasks["data"][0]) == {
        "id",
        "title",
        "column",
        "position",
        "requested",
        "comment_count",
        "created_at",
        "updated_at",
    }
    assert tasks["data"][0]["column"]["kind"] == "done"
    assert {t["column"]["kind"] for t in tasks["data"][1:]} == {"todo"}
    page = await get(client, scene, f"/projects/{scene.seen}/tasks", limit=2)
    assert page["has_more"] is True and len(page["data"]) == 2
    rest = await get(
        client, scene, f"/projects/{scene.seen}/tasks", limit=2, cursor=page["next_cursor"]
    )
    assert [t["title"] for t in rest["data"]] == ["Launch"]


async def test_unviewed_projects_are_404(client, app, mailbox, run_jobs):
    scene = await portal_scene(client, app, mailbox, run_jobs)
    for path in (f"/projects/{scene.unseen}", f"/projects/{scene.unseen}/tasks"):
        assert_problem(await client.get(P + path, headers=scene.user.headers), 404)
    r = await client.get(
        P + "/time-entries", params={"project_id": scene.unseen}, headers=scene.user.headers
    )
    assert_problem(r, 404)
    for path in (f"/projects/{uuid.uuid4()}", f"/projects/{scene.tasks[0]}"):
        assert_problem(await client.get(P + path, headers=scene.user.headers), 404)
    # A viewer removed: the project goes at once.
    r = await client.delete(
        scene.owner.url(f"/projects/{scene.seen}/viewers/{scene.user.contact_id}"),
        headers=scene.owner.headers,
    )
    assert r.status_code == 204, r.text
    assert (await get(client, scene, "/projects"))["data"] == []
    assert (await get(client, scene, "/time-entries"))["data"] == []
    assert_problem(await client.get(P + f"/projects/{scene.seen}", headers=scene.user.headers), 404)


async def test_time_entries_show_day_seconds_note_and_who(client, app, mailbox, run_jobs):
    scene = await portal_scene(client, app, mailbox, run_jobs)
    entries = (await get(client, scene, "/time-entries"))["data"]
    assert [e["id"] for e in entries] == scene.entries[::-1], "newest first, seen project only"
    assert entries[1] == {
        "id": scene.entries[0],
        "project_id": scene.seen,
        # 03:00 UTC on March 2 is still March 1 in New York.
        "date": "2026-03-01",
        "seconds": 3600,
        "note": "Design",
        "member_name": "Olga Owner",
    }
    by_day = await get(client, scene, "/time-entries", **{"from": "2026-03-02", "to": "2026-03-31"})
    assert [e["id"] for e in by_day["data"]] == [scene.entries[1]]
    first_day = await get(
        client, scene, "/time-entries", **{"from": "2026-03-01", "to": "2026-03-01"}
    )
    assert [e["id"] for e in first_day["data"]] == [scene.entries[0]]
    one = await get(client, scene, "/time-entries", project_id=scene.seen, limit=1)
    assert one["has_more"] is True
    r = await client.get(
        P + "/time-entries",
        params={"from": "2026-03-05", "to": "2026-03-01"},
        headers=scene.user.headers,
    )
    assert_problem(r, 422, "invalid_period")


async def test_time_report_by_project_day_and_week(client, app, mailbox, run_jobs):
    scene = await portal_scene(client, app, mailbox, run_jobs)
    report = await get(client, scene, "/time-report", group_by="project")
    assert report == {
        "from": None,
        "to": None,
        "group_by": "project",
        "rows": [{"key": scene.seen, "label": "Website", "seconds": 5400}],
        "totals": {"seconds": 5400},
    }
    days = await get(client, scene, "/time-report", group_by="day")
    assert days["rows"] == [
        {"key": "2026-03-01", "label": "2026-03-01", "seconds": 3600},
        {"key": "2026-03-03", "label": "2026-03-03", "seconds": 1800},
    ]
    weeks = await get(client, scene, "/time-report", group_by="week")
    assert weeks["rows"] == [
        {"key": "2026-02-23", "label": "2026-W09", "seconds": 3600},
        {"key": "2026-03-02", "label": "2026-W10", "seconds": 1800},
    ]
    bounded = await get(
        client, scene, "/time-report", group_by="day", **{"from": "2026-03-02", "to": "2026-03-10"}
    )
    assert (bounded["from"], bounded["to"]) == ("2026-03-02", "2026-03-10")
    assert bounded["totals"] == {"seconds": 1800}


async def test_invoices_are_the_clients_issued_ones(client, app, mailbox, run_jobs):
    scene = await portal_scene(client, app, mailbox, run_jobs)
    listed = (await get(client, scene, "/invoices"))["data"]
    inv = scene.invoices
    assert [i["id"] for i in listed] == [inv["void"], inv["paid"], inv["open"]]
    by_id = {i["id"]: i for i in listed}
    opened = by_id[inv["open"]]
    assert opened["status"] == "open" and opened["number"]
    assert (opened["total_amount"], opened["amount_paid"], opened["amount_due"]) == (
        10000,
        0,
        10000,
    )
    assert opened["payment_methods"] == ["bank"], "no provider is configured in this test"
    assert opened["lines"] == [
        {
            "description": "Consulting",
            "quantity_seconds": None,
            "quantity": "1.0000",
            "unit_amount": 10000,
            "amount": 10000,
            "tax_amount": 0,
        }
    ]
    assert by_id[inv["paid"]]["status"] == "paid" and by_id[inv["paid"]]["paid_at"]
    assert by_id[inv["paid"]]["payment_methods"] == []
    assert by_id[inv["void"]]["status"] == "void"
    assert await get(client, scene, f"/invoices/{inv['open']}") == opened

    for path in (
        f"/invoices/{inv['draft']}",
        f"/invoices/{inv['draft']}/pdf",
        f"/invoices/{uuid.uuid4()}",
    ):
        assert_problem(await client.get(P + path, headers=scene.user.headers), 404)

    pdf = await client.get(P + f"/invoices/{inv['open']}/pdf", headers=scene.user.headers)
    assert pdf.status_code == 200, pdf.text
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")

    # Payment state as it changes: a partial payment recorded by the team.
    assert (await pay(client, scene.owner, inv["open"], 4000)).status_code == 201
    again = await get(client, scene, f"/invoices/{inv['open']}")
    assert (again["status"], again["amount_paid"], again["amount_due"]) == ("open", 4000, 6000)


async def test_checkout_uses_the_clients_methods(
    client, app, mailbox, run_jobs, stripe_api, crypto_gateway
):
    scene = await portal_scene(client, app, mailbox, run_jobs)
    inv = scene.invoices
    opened = await get(client, scene, f"/invoices/{inv['open']}")
    assert opened["payment_methods"] == ["stripe", "crypto", "bank"]
    url = P + f"/invoices/{inv['open']}/checkout"
    r = await client.post(url, json={"provider": "stripe"}, headers=scene.user.headers)
    assert r.status_code == 200, r.text
    assert r.json()["url"].startswith(f"{stripe_api.base_url}/c/pay/")
    assert (r.json()["amount"], r.json()["currency"]) == (10000, "EUR")
    [session] = stripe_api.sessions
    assert session.form["metadata[invoice_id]"] == inv["open"]

    for state in ("paid", "void"):
        r = await client.post(
            P + f"/invoices/{inv[state]}/checkout",
            json={"provider": "stripe"},
            headers=scene.user.headers,
        )
        assert_problem(r, 409, "invoice_not_open")
    r = await client.post(
        P + f"/invoices/{inv['draft']}/checkout",
        json={"provider": "stripe"},
        headers=scene.user.headers,
    )
    assert_problem(r, 404)
    r = await client.patch(
        scene.owner.url(f"/clients/{scene.client_id}"),
        json={"payment_methods": ["bank"]},
        headers=scene.owner.headers,
    )
    assert r.status_code == 200, r.text
    r = await client.post(url, json={"provider": "crypto"}, headers=scene.user.headers)
    assert_problem(r, 422, "payment_method_not_allowed")


async def test_me_shows_the_contact_client_and_team(client, app, mailbox, run_jobs):
    scene = await portal_scene(client, app, mailbox, run_jobs)
    me = await get(client, scene, "/me")
    assert me["contact"]["id"] == scene.user.contact_id
    assert me["client"] == {"id": scene.client_id, "name": "Acme", "currency": "EUR"}
    assert me["team"]["timezone"] == "America/New_York"


async def test_an_onboarded_contact_follows_its_link_sees_its_work_and_pays(
    client, app, mailbox, run_jobs, stripe_api
):
    """The issue's "done when": invited at onboarding, the contact follows the emailed
    link, sees the project and its time, opens an issued invoice, pays it by Stripe and
    sees it paid."""
    owner = await make_actor(app, name="Olga Owner")
    client_id, project_id = await new_client_project(
        client, owner, "Acme", contacts=[("Ann", "ann@example.com")], payment_methods=["stripe"]
    )
    await add_entry(
        client, owner, project_id, utc(2026, 3, 2, 10), 5400, note="Kick-off", billable=False
    )
    await run_jobs()
    r = await redeem(client, link_tokens(mailbox, "ann@example.com")[0])
    assert r.status_code == 201, r.text
    headers = bearer(r.json()["access_token"])

    project = (await client.get(f"{P}/projects/{project_id}", headers=headers)).json()
    assert project["tracked_seconds"] == 5400
    (entry,) = (await client.get(f"{P}/time-entries", headers=headers)).json()["data"]
    assert (entry["note"], entry["member_name"]) == ("Kick-off", "Olga Owner")

    draft = await manual_draft(client, owner, client_id, 25000)
    assert (await client.get(f"{P}/invoices", headers=headers)).json()["data"] == []
    invoice = await finalize(client, owner, draft["id"])
    shown = (await client.get(f"{P}/invoices/{invoice['id']}", headers=headers)).json()
    assert (shown["status"], shown["amount_due"], shown["payment_methods"]) == (
        "open",
        25000,
        ["stripe"],
    )
    r = await client.post(
        f"{P}/invoices/{invoice['id']}/checkout", json={"provider": "stripe"}, headers=headers
    )
    assert r.status_code == 200, r.text

    body = checkout_completed(invoice["id"], str(owner.team_id), 25000, "EUR", "pi_portal_test")
    r = await client.post(
        "/v1/webhooks/stripe",
        content=body.encode(),
        headers={
            "Content-Type": "application/json",
            "Stripe-Signature": stripe_signature(body, STRIPE_WEBHOOK_SECRET),
        },
    )
    assert r.status_code == 200, r.text
    await run_jobs()
    paid = (await client.get(f"{P}/invoices/{invoice['id']}", headers=headers)).json()
    assert (paid["status"], paid["amount_paid"], paid["amount_due"]) == ("paid", 25000, 0)
    assert paid["paid_at"] is not None

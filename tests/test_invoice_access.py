"""Who may do what with invoices: sales managers issue but do not void, members and
project managers see none, sales reps read their own clients' only; and every invoice
endpoint down the 401 -> 403 -> 404 -> success ladder."""

import pytest

from app.core.permissions import Role
from tests.factories import make_actor
from tests.factories.clients import new_client_project
from tests.factories.invoices import (
    MARCH,
    create_invoice,
    finalize,
    get_invoice,
    manual_draft,
    number,
    post_invoice,
)
from tests.factories.rates import add_rate
from tests.factories.time_tracking import add_entry
from tests.helpers import assert_problem, at
from tests.ladder import ladder

# ------------------------------------------------------------------ roles


async def test_sales_manager_creates_and_finalizes_but_cannot_void(client, app):
    owner = await make_actor(app)
    manager = await make_actor(app, team_id=owner.team_id, role=Role.sales_manager)
    cid, pid = await new_client_project(client, owner)
    await add_rate(client, owner, 6000)
    entry = await add_entry(client, owner, pid, at(2, 9), 3600)

    inv = await create_invoice(client, manager, cid, **MARCH)
    assert inv["lines"][0]["time_entry_ids"] == [entry["id"]]
    r = await client.get(manager.url("/invoices"), headers=manager.headers)
    assert r.status_code == 200
    assert [i["id"] for i in r.json()["data"]] == [inv["id"]]
    issued = await finalize(client, manager, inv["id"])
    assert issued["number"] == number(1)

    r = await client.post(manager.url(f"/invoices/{inv['id']}/void"), headers=manager.headers)
    assert_problem(r, 403)
    assert (await get_invoice(client, owner, inv["id"]))["status"] == "open"
    draft = await manual_draft(client, manager, cid)
    r = await client.post(manager.url(f"/invoices/{draft['id']}/void"), headers=manager.headers)
    assert_problem(r, 403)
    assert (await get_invoice(client, owner, draft["id"]))["status"] == "draft"


@pytest.mark.parametrize("role", [Role.member, Role.project_manager])
async def test_members_and_project_managers_do_not_see_invoices(client, app, role):
    owner = await make_actor(app)
    user = await make_actor(app, team_id=owner.team_id, role=role)
    cid, pid = await new_client_project(client, owner)
    # Even as a member of the client's project.
    r = await client.post(
        owner.url(f"/projects/{pid}/members"),
        json={"user_id": str(user.user_id), "role": "manager"},
        headers=owner.headers,
    )
    assert r.status_code == 201, r.text
    inv = await manual_draft(client, owner, cid)

    r = await client.get(user.url("/invoices"), headers=user.headers)
    assert_problem(r, 403)
    r = await client.get(user.url(f"/invoices/{inv['id']}"), headers=user.headers)
    assert_problem(r, 403)
    r = await post_invoice(
        client, user, cid, lines=[{"description": "x", "quantity": "1", "unit_amount": 1}]
    )
    assert_problem(r, 403)


async def test_sales_rep_reads_only_invoices_of_its_own_clients(client, app):
    owner = await make_actor(app)
    rep = await make_actor(app, team_id=owner.team_id, role=Role.sales_rep)
    mine, _ = await new_client_project(client, owner, "Rep's client", owner_id=str(rep.user_id))
    theirs, _ = await new_client_project(client, owner, "Someone else's")
    assigned, _ = await new_client_project(client, owner, "Assigned", member_ids=[str(rep.user_id)])
    inv_mine = await manual_draft(client, owner, mine)
    inv_theirs = await manual_draft(client, owner, theirs)
    inv_assigned = await manual_draft(client, owner, assigned)

    r = await client.get(rep.url("/invoices"), headers=rep.headers)
    assert r.status_code == 200, r.text
    assert {i["id"] for i in r.json()["data"]} == {inv_mine["id"], inv_assigned["id"]}
    r = await client.get(rep.url(f"/invoices?client_id={theirs}"), headers=rep.headers)
    assert r.status_code == 200 and r.json()["data"] == []

    assert (await get_invoice(client, rep, inv_mine["id"]))["client_id"] == mine
    r = await client.get(rep.url(f"/invoices/{inv_theirs['id']}"), headers=rep.headers)
    assert_problem(r, 404)
    r = await client.get(rep.url(f"/invoices/{inv_mine['id']}/pdf"), headers=rep.headers)
    assert r.status_code == 200
    r = await client.get(rep.url(f"/invoices/{inv_theirs['id']}/pdf"), headers=rep.headers)
    assert_problem(r, 404)

    # Reading is all a sales rep does with invoices.
    r = await post_invoice(
        client, rep, mine, lines=[{"description": "x", "quantity": "1", "unit_amount": 1}]
    )
    assert_problem(r, 403)
    r = await client.post(rep.url(f"/invoices/{inv_mine['id']}/finalize"), headers=rep.headers)
    assert_problem(r, 403)
    r = await client.patch(
        rep.url(f"/invoices/{inv_mine['id']}"), json={"notes": "x"}, headers=rep.headers
    )
    assert_problem(r, 403)
    r = await client.post(rep.url(f"/invoices/{inv_mine['id']}/void"), headers=rep.headers)
    assert_problem(r, 403)
    assert (await get_invoice(client, owner, inv_mine["id"]))["status"] == "draft"


ENDPOINTS = {
    "list": ("GET", "/invoices", None, 200),
    "create": ("POST", "/invoices", "create", 201),
    "get": ("GET", "/invoices/{id}", None, 200),
    "patch": ("PATCH", "/invoices/{id}", {"notes": "new"}, 200),
    "delete": ("DELETE", "/invoices/{id}", None, 204),
    "delete_line": ("DELETE", "/invoices/{id}/lines/{line}", None, 200),
    "finalize": ("POST", "/invoices/{id}/finalize", None, 200),
    "send": ("POST", "/invoices/{id}/send", None, 202),
    "void": ("POST", "/invoices/{id}/void", None, 200),
    "pdf": ("GET", "/invoices/{id}/pdf", None, 200),
}


@pytest.mark.parametrize("name", list(ENDPOINTS))
async def test_invoice_endpoints_ladder_401_403_404_success(client, app, name):
    method, path, body, success = ENDPOINTS[name]
    owner = await make_actor(app)
    member = await make_actor(app, team_id=owner.team_id, role=Role.member)
    stranger = await make_actor(app)
    contacts = [("Billing", "billing@example.com")]
    cid, _ = await new_client_project(client, owner, contacts=contacts, billing_contacts=True)
    other_cid, _ = await new_client_project(
        client, stranger, contacts=contacts, billing_contacts=True
    )
    lines = [
        {"description": "One", "quantity": "1", "unit_amount": 100},
        {"description": "Two", "quantity": "1", "unit_amount": 200},
    ]
    mine = await create_invoice(client, owner, cid, lines=lines)
    foreign = await create_invoice(client, stranger, other_cid, lines=lines)

    def named(invoice: dict) -> str:
        return path.format(id=invoice["id"], line=invoice["lines"][0]["id"])

    async def unchanged() -> None:
        assert (await get_invoice(client, stranger, foreign["id"])) == foreign

    create = body == "create"
    r = await ladder(
        client,
        method,
        named(mine),
        owner=owner,
        stranger=stranger,
        forbidden=member,
        # Another team's invoice (or client) through the caller's own team: unknown.
        foreign_paths=[named(foreign)] if "{id}" in path else [],
        foreign_json={"client_id": other_cid, "lines": lines} if create else None,
        json={"client_id": cid, "lines": lines} if create else body,
        unchanged=unchanged,
        ok=success,
        content_type="application/pdf" if name == "pdf" else "application/json",
    )
    if name == "pdf":
        assert r.headers["content-type"] == "application/pdf"
        assert r.content.startswith(b"%PDF")

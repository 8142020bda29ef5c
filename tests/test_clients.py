"""Clients: the fields on create and read, validation, owners and members of the team,
the filtered and paginated list, editing, archiving, and the client's invoice settings."""

import uuid
from datetime import UTC, datetime

import pytest

from app.core.permissions import Role
from tests.factories import make_actor
from tests.factories.clients import new_client
from tests.factories.projects import add_to_project
from tests.helpers import assert_problem, assert_timestamps, list_ids

# ------------------------------------------------------------------ create / read


async def test_create_client_with_all_fields(client, app):
    owner = await make_actor(app)
    colleague = await make_actor(app, team_id=owner.team_id, role=Role.member)
    body = {
        "name": "Acme Ltd",
        "email": "billing@acme.example.com",
        "currency": "USD",
        "member_ids": [str(colleague.user_id)],
        "payment_methods": ["stripe", "bank"],
        "hourly_rate_amount": 12000,
        "address": "1 Main Street",
        "tax_id": "DE123456789",
        "notes": "Prefers email",
    }
    r = await client.post(owner.url("/clients"), json=body, headers=owner.headers)
    assert r.status_code == 201, r.text
    created = r.json()
    uuid.UUID(created["id"])
    assert created["owner_id"] == str(owner.user_id), "owner defaults to the creator"
    assert created["status"] == "active"
    assert created["member_ids"] == [str(colleague.user_id)]
    assert sorted(created["payment_methods"]) == ["bank", "stripe"]
    for key in ("name", "email", "currency", "hourly_rate_amount", "address", "tax_id", "notes"):
        assert created[key] == body[key], key
    assert_timestamps(created)

    r = await client.get(owner.url(f"/clients/{created['id']}"), headers=owner.headers)
    assert r.status_code == 200, r.text
    fetched = r.json()
    for key in (*body, "id", "owner_id", "status", "created_at"):
        if key == "payment_methods":
            assert sorted(fetched[key]) == ["bank", "stripe"]
        else:
            assert fetched[key] == created[key], key
    assert_timestamps(fetched)


async def test_create_client_minimal_fields_and_explicit_owner(client, app):
    owner = await make_actor(app)
    rep = await make_actor(app, team_id=owner.team_id, role=Role.sales_rep)
    minimal = await new_client(client, owner, "Minimal")
    assert minimal["email"] is None
    assert minimal["member_ids"] == []
    assert minimal["payment_methods"] == []
    assert minimal["hourly_rate_amount"] is None
    assert minimal["owner_id"] == str(owner.user_id)

    given = await new_client(client, owner, "Given owner", owner_id=str(rep.user_id))
    assert given["owner_id"] == str(rep.user_id)


@pytest.mark.parametrize(
    "change",
    [
        {"currency": "EURO"},
        {"currency": "ZZZ"},
        {"currency": "12"},
        {"currency": None},
        {"name": ""},
        {"name": None},
        {"email": "not-an-email"},
        {"payment_methods": ["paypal"]},
        {"hourly_rate_amount": -1},
        {"member_ids": ["not-a-uuid"]},
        {"surprise": "field"},
    ],
    ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()),
)
async def test_create_client_validation(client, app, change):
    owner = await make_actor(app)
    body = {"name": "Acme", "currency": "EUR", **change}
    body = {k: v for k, v in body.items() if v is not None}
    r = await client.post(owner.url("/clients"), json=body, headers=owner.headers)
    body = assert_problem(r, 422, "validation_error")
    assert body["errors"], body
    assert await list_ids(client, owner, "/clients") == []


async def test_owner_and_members_must_belong_to_the_team(client, app):
    owner = await make_actor(app)
    outsider = await make_actor(app)
    for field, value in (
        ("owner_id", str(outsider.user_id)),
        ("member_ids", [str(outsider.user_id)]),
        ("owner_id", str(uuid.uuid4())),
    ):
        r = await client.post(
            owner.url("/clients"),
            json={"name": "Acme", "currency": "EUR", field: value},
            headers=owner.headers,
        )
        assert_problem(r, 422, "not_team_member")
    assert await list_ids(client, owner, "/clients") == []
    c = await new_client(client, owner)
    r = await client.patch(
        owner.url(f"/clients/{c['id']}"),
        json={"member_ids": [str(outsider.user_id)]},
        headers=owner.headers,
    )
    assert_problem(r, 422, "not_team_member")


async def test_list_filters_q_status_owner(client, app):
    owner = await make_actor(app)
    rep = await make_actor(app, team_id=owner.team_id, role=Role.sales_rep)
    acme = await new_client(client, owner, "Acme Corp", email="hello@acme.example.com")
    globex = await new_client(client, owner, "Globex", email="ACCOUNTS@globex.example.com")
    initech = await new_client(client, owner, "Initech", owner_id=str(rep.user_id))
    odd = await new_client(client, owner, "100%_real")

    async def ids(**params) -> set[str]:
        return set(await list_ids(client, owner, "/clients", **params))

    assert await ids() == {acme["id"], globex["id"], initech["id"], odd["id"]}
    assert await ids(q="ACME") == {acme["id"]}, "name match is case-insensitive"
    assert await ids(q="accounts@GLOBEX") == {globex["id"]}, "email match is case-insensitive"
    assert await ids(q="example.com") == {acme["id"], globex["id"]}
    assert await ids(q="nothing-like-this") == set()
    assert await ids(q="%") == {odd["id"]}, "LIKE wildcards are literal"
    assert await ids(q="_") == {odd["id"]}
    assert await ids(q="0%_R") == {odd["id"]}
    assert await ids(owner_id=str(rep.user_id)) == {initech["id"]}
    assert await ids(owner_id=str(owner.user_id)) == {acme["id"], globex["id"], odd["id"]}
    assert await ids(owner_id=str(rep.user_id), q="acme") == set()
    assert await ids(status="archived") == set()

    r = await client.delete(owner.url(f"/clients/{globex['id']}"), headers=owner.headers)
    assert r.status_code == 204, r.text
    assert await ids() == {acme["id"], initech["id"], odd["id"]}
    assert await ids(status="archived") == {globex["id"]}
    assert await ids(status="archived", q="glob") == {globex["id"]}
    assert await ids(status="archived", q="acme") == set()
    assert await ids(status="active") == {acme["id"], initech["id"], odd["id"]}

    r = await client.get(owner.url("/clients"), params={"status": "gone"}, headers=owner.headers)
    assert_problem(r, 422, "validation_error")
    r = await client.get(owner.url("/clients"), params={"owner_id": "nope"}, headers=owner.headers)
    assert_problem(r, 422, "validation_error")


async def test_list_pagination_walks_all_without_repeats(client, app):
    owner = await make_actor(app)
    created = [(await new_client(client, owner, f"Client {n}"))["id"] for n in range(5)]
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        r = await client.get(owner.url("/clients"), params=params, headers=owner.headers)
        assert r.status_code == 200, r.text
        page = r.json()
        assert len(page["data"]) <= 2
        for row in page["data"]:
            assert_timestamps(row)
        seen += [row["id"] for row in page["data"]]
        pages += 1
        if not page["has_more"]:
            assert page["next_cursor"] is None
            break
        cursor = page["next_cursor"]
    assert pages == 3
    assert len(seen) == len(set(seen)) == 5
    assert set(seen) == set(created)


async def test_list_updated_since(client, app):
    owner = await make_actor(app)
    old = await new_client(client, owner, "Old")
    mark = datetime.now(UTC)
    new = await new_client(client, owner, "New")

    params = {"updated_since": mark.isoformat()}
    assert await list_ids(client, owner, "/clients", **params) == [new["id"]]

    r = await client.patch(
        owner.url(f"/clients/{old['id']}"), json={"notes": "touched"}, headers=owner.headers
    )
    assert r.status_code == 200, r.text
    assert datetime.fromisoformat(r.json()["updated_at"]) >= mark
    assert set(await list_ids(client, owner, "/clients", **params)) == {old["id"], new["id"]}

    # Archiving is a change too: it shows up in an archived-clients sync.
    later = datetime.now(UTC)
    r = await client.delete(owner.url(f"/clients/{new['id']}"), headers=owner.headers)
    assert r.status_code == 204
    ids = await list_ids(
        client, owner, "/clients", updated_since=later.isoformat(), status="archived"
    )
    assert ids == [new["id"]]


# ------------------------------------------------------------------ update / archive


async def test_patch_client(client, app):
    owner = await make_actor(app)
    a = await make_actor(app, team_id=owner.team_id, role=Role.member)
    b = await make_actor(app, team_id=owner.team_id, role=Role.sales_rep)
    c = await new_client(client, owner, member_ids=[str(a.user_id)], payment_methods=["bank"])

    change = {
        "name": "Acme 2",
        "email": "new@acme.example.com",
        "currency": "GBP",
        "member_ids": [str(b.user_id)],
        "payment_methods": ["crypto"],
        "hourly_rate_amount": 5000,
        "address": "2 Side Street",
        "tax_id": "GB1",
        "notes": "n",
        "owner_id": str(b.user_id),
    }
    r = await client.patch(owner.url(f"/clients/{c['id']}"), json=change, headers=owner.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    for key, value in change.items():
        if key == "member_ids":
            assert body[key] == value
        else:
            assert body[key] == value, key
    assert body["created_at"] == c["created_at"]
    assert datetime.fromisoformat(body["updated_at"]) >= datetime.fromisoformat(c["updated_at"])

    r = await client.get(owner.url(f"/clients/{c['id']}"), headers=owner.headers)
    assert r.json()["member_ids"] == [str(b.user_id)]
    assert r.json()["name"] == "Acme 2"

    # A partial patch leaves the rest alone; an empty member list unassigns everyone.
    r = await client.patch(
        owner.url(f"/clients/{c['id']}"), json={"member_ids": []}, headers=owner.headers
    )
    assert r.status_code == 200, r.text
    assert r.json()["member_ids"] == []
    assert r.json()["name"] == "Acme 2"

    for bad in ({"currency": "XYZ"}, {"name": ""}, {"status": "deleted"}):
        r = await client.patch(owner.url(f"/clients/{c['id']}"), json=bad, headers=owner.headers)
        assert_problem(r, 422, "validation_error")
    for nulled in ({"name": None}, {"currency": None}, {"status": None}):
        r = await client.patch(owner.url(f"/clients/{c['id']}"), json=nulled, headers=owner.headers)
        assert_problem(r, 422)
    r = await client.get(owner.url(f"/clients/{c['id']}"), headers=owner.headers)
    assert r.json()["currency"] == "GBP"


async def test_archive_hides_client_and_blocks_new_projects(client, app):
    owner = await make_actor(app)
    c = await new_client(client, owner)
    keep = await new_client(client, owner, "Keep")

    r = await client.delete(owner.url(f"/clients/{c['id']}"), headers=owner.headers)
    assert r.status_code == 204, r.text
    assert r.content == b""

    assert await list_ids(client, owner, "/clients") == [keep["id"]]
    assert await list_ids(client, owner, "/clients", status="archived") == [c["id"]]
    r = await client.get(owner.url(f"/clients/{c['id']}"), headers=owner.headers)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "archived"

    r = await client.post(
        owner.url("/projects"), json={"name": "New", "client_id": c["id"]}, headers=owner.headers
    )
    assert_problem(r, 422, "client_archived")
    assert await list_ids(client, owner, "/projects") == []

    # Archiving again is harmless; `status: active` restores it.
    r = await client.delete(owner.url(f"/clients/{c['id']}"), headers=owner.headers)
    assert r.status_code == 204, r.text
    r = await client.patch(
        owner.url(f"/clients/{c['id']}"), json={"status": "active"}, headers=owner.headers
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "active"
    assert set(await list_ids(client, owner, "/clients")) == {c["id"], keep["id"]}
    r = await client.post(
        owner.url("/projects"), json={"name": "New", "client_id": c["id"]}, headers=owner.headers
    )
    assert r.status_code == 201, r.text


# ------------------------------------------------------------------ invoice settings


async def test_invoice_settings_defaults(client, app):
    owner = await make_actor(app)
    c = await new_client(client, owner, currency="CHF")
    r = await client.get(owner.url(f"/clients/{c['id']}/invoice-settings"), headers=owner.headers)
    assert r.status_code == 200, r.text
    s = r.json()
    assert s["schedule"] == "none"
    assert s["auto_send"] is False
    assert s["due_days"] == 14
    assert s["tax_rate_bps"] == 0
    assert s["rounding_seconds"] == 0
    assert s["currency"] == "CHF"
    assert s["notes"] is None
    assert s["next_run_on"] is None
    assert isinstance(s["payment_methods"], list)
    assert_timestamps(s)


async def test_invoice_settings_put_stores_values(client, app):
    owner = await make_actor(app)
    c = await new_client(client, owner)
    url = owner.url(f"/clients/{c['id']}/invoice-settings")
    values = {
        "schedule": "monthly",
        "auto_send": True,
        "due_days": 30,
        "tax_rate_bps": 1900,
        "rounding_seconds": 900,
        "payment_methods": ["bank"],
        "notes": "Net 30",
        "next_run_on": "2027-02-01",
    }
    r = await client.put(url, json=values, headers=owner.headers)
    assert r.status_code == 200, r.text
    for key, value in values.items():
        assert r.json()[key] == value, key
    r = await client.get(url, headers=owner.headers)
    for key, value in values.items():
        assert r.json()[key] == value, key

    # Boundaries are accepted.
    for edge in ({"due_days": 0, "tax_rate_bps": 0}, {"due_days": 365, "tax_rate_bps": 10000}):
        r = await client.put(url, json=edge, headers=owner.headers)
        assert r.status_code == 200, r.text
        assert r.json()["due_days"] == edge["due_days"]
        assert r.json()["tax_rate_bps"] == edge["tax_rate_bps"]
    for schedule in ("none", "weekly", "biweekly", "monthly"):
        r = await client.put(url, json={"schedule": schedule}, headers=owner.headers)
        assert r.status_code == 200, r.text
        assert r.json()["schedule"] == schedule


@pytest.mark.parametrize(
    "bad",
    [
        {"tax_rate_bps": -1},
        {"tax_rate_bps": 10001},
        {"due_days": -1},
        {"due_days": 366},
        {"schedule": "yearly"},
        {"schedule": None},
        {"payment_methods": ["paypal"]},
    ],
    ids=lambda b: "-".join(f"{k}={v}" for k, v in b.items()),
)
async def test_invoice_settings_validation(client, app, bad):
    owner = await make_actor(app)
    c = await new_client(client, owner)
    url = owner.url(f"/clients/{c['id']}/invoice-settings")
    r = await client.put(url, json={"due_days": 21, **bad}, headers=owner.headers)
    assert_problem(r, 422, "validation_error")
    r = await client.get(url, headers=owner.headers)
    assert r.json()["due_days"] == 14, "a rejected PUT changes nothing"


async def test_invoice_settings_roles(client, app):
    owner = await make_actor(app)
    sales_manager = await make_actor(app, team_id=owner.team_id, role=Role.sales_manager)
    rep = await make_actor(app, team_id=owner.team_id, role=Role.sales_rep)
    pm = await make_actor(app, team_id=owner.team_id, role=Role.project_manager)
    member = await make_actor(app, team_id=owner.team_id, role=Role.member)
    c = await new_client(client, owner, owner_id=str(rep.user_id))
    await add_to_project(client, owner, c["id"], pm.user_id, role="manager")
    await add_to_project(client, owner, c["id"], member.user_id)
    path = f"/clients/{c['id']}/invoice-settings"

    r = await client.put(
        sales_manager.url(path), json={"due_days": 45}, headers=sales_manager.headers
    )
    assert r.status_code == 200, r.text
    assert r.json()["due_days"] == 45

    r = await client.get(rep.url(path), headers=rep.headers)
    assert r.status_code == 200, r.text
    assert r.json()["due_days"] == 45
    assert_problem(await client.put(rep.url(path), json={}, headers=rep.headers), 403, "forbidden")

    for actor in (pm, member):
        # They see the client itself (their project's), but not its invoicing.
        r = await client.get(actor.url(f"/clients/{c['id']}"), headers=actor.headers)
        assert r.status_code == 200, r.text
        assert_problem(await client.get(actor.url(path), headers=actor.headers), 403, "forbidden")
        r = await client.put(actor.url(path), json={}, headers=actor.headers)
        assert_problem(r, 403, "forbidden")

    for manager_role in (Role.superadmin, Role.org_manager):
        manager = await make_actor(app, team_id=owner.team_id, role=manager_role)
        r = await client.put(manager.url(path), json={"due_days": 7}, headers=manager.headers)
        assert r.status_code == 200, r.text

    r = await client.get(owner.url(path), headers=owner.headers)
    assert r.json()["due_days"] == 7

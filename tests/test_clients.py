"""Clients: CRUD, filters, archiving, onboarding in one transaction, invoice settings,
the 401 -> 403 -> 404 -> success ladder, the role table and sales_rep isolation."""

import re
import uuid
from datetime import UTC, datetime

import pytest

from app.core.permissions import Role
from tests.factories import make_actor
from tests.helpers import (
    add_to_project,
    assert_problem,
    assert_timestamps,
    ladder,
    list_ids,
    new_client,
)

PORTAL_LINK = re.compile(r"https://app\.hourline\.test/portal/login\?token=([A-Za-z0-9_\-]+)")
MANAGERS = [Role.superadmin, Role.org_manager, Role.sales_manager]
# How far each role reads clients (API.md role table, row "clients, contacts, activities").
CLIENT_READ = {
    Role.superadmin: "all",
    Role.org_manager: "all",
    Role.sales_manager: "all",
    Role.sales_rep: "own",
    Role.project_manager: "projects",
    Role.member: "projects",
}
MAY_CREATE_CRM = {Role.superadmin, Role.org_manager, Role.sales_manager, Role.sales_rep}


# ------------------------------------------------------------------ helpers


async def everything_empty(client, owner) -> None:
    """No client (active or archived), contact or project exists in the team."""
    assert await list_ids(client, owner, "/clients") == []
    assert await list_ids(client, owner, "/clients", status="archived") == []
    assert await list_ids(client, owner, "/contacts") == []
    assert await list_ids(client, owner, "/projects") == []
    assert await list_ids(client, owner, "/projects", status="archived") == []


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


# ------------------------------------------------------------------ ladders


async def test_ladder_list_clients(client, app):
    owner = await make_actor(app)
    stranger = await make_actor(app)
    mine = await new_client(client, owner)
    await new_client(client, stranger, "Theirs")
    r = await ladder(client, "GET", "/clients", owner=owner, stranger=stranger)
    assert [row["id"] for row in r.json()["data"]] == [mine["id"]]


async def test_ladder_create_client(client, app):
    owner = await make_actor(app)
    stranger = await make_actor(app)
    member = await make_actor(app, team_id=owner.team_id, role=Role.member)
    r = await ladder(
        client,
        "POST",
        "/clients",
        owner=owner,
        stranger=stranger,
        forbidden=member,
        json={"name": "Acme", "currency": "EUR"},
        ok=201,
    )
    # Only the final, allowed call created something, in the owner's team only.
    assert await list_ids(client, owner, "/clients") == [r.json()["id"]]
    assert await list_ids(client, stranger, "/clients") == []


async def test_ladder_get_client(client, app):
    owner = await make_actor(app)
    stranger = await make_actor(app)
    mine = await new_client(client, owner)
    theirs = await new_client(client, stranger, "Theirs")
    r = await ladder(
        client,
        "GET",
        f"/clients/{mine['id']}",
        owner=owner,
        stranger=stranger,
        foreign_paths=(f"/clients/{theirs['id']}", f"/clients/{uuid.uuid4()}"),
    )
    assert r.json()["id"] == mine["id"]


async def test_ladder_patch_client(client, app):
    owner = await make_actor(app)
    stranger = await make_actor(app)
    mine = await new_client(client, owner)
    theirs = await new_client(client, stranger, "Theirs")
    pm = await make_actor(app, team_id=owner.team_id, role=Role.project_manager)
    await add_to_project(client, owner, mine["id"], pm.user_id, role="manager")
    r = await ladder(
        client,
        "PATCH",
        f"/clients/{mine['id']}",
        owner=owner,
        stranger=stranger,
        forbidden=pm,
        foreign_paths=(f"/clients/{theirs['id']}", f"/clients/{uuid.uuid4()}"),
        json={"name": "Renamed"},
    )
    assert r.json()["name"] == "Renamed"
    r = await client.get(stranger.url(f"/clients/{theirs['id']}"), headers=stranger.headers)
    assert r.json()["name"] == "Theirs"


async def test_ladder_archive_client(client, app):
    owner = await make_actor(app)
    stranger = await make_actor(app)
    mine = await new_client(client, owner)
    theirs = await new_client(client, stranger, "Theirs")
    member = await make_actor(app, team_id=owner.team_id, role=Role.member)
    await add_to_project(client, owner, mine["id"], member.user_id)
    await ladder(
        client,
        "DELETE",
        f"/clients/{mine['id']}",
        owner=owner,
        stranger=stranger,
        forbidden=member,
        foreign_paths=(f"/clients/{theirs['id']}", f"/clients/{uuid.uuid4()}"),
        ok=204,
    )
    assert await list_ids(client, owner, "/clients", status="archived") == [mine["id"]]
    assert await list_ids(client, stranger, "/clients") == [theirs["id"]]


async def test_ladder_get_invoice_settings(client, app):
    owner = await make_actor(app)
    stranger = await make_actor(app)
    mine = await new_client(client, owner)
    theirs = await new_client(client, stranger, "Theirs")
    member = await make_actor(app, team_id=owner.team_id, role=Role.member)
    await add_to_project(client, owner, mine["id"], member.user_id)
    r = await ladder(
        client,
        "GET",
        f"/clients/{mine['id']}/invoice-settings",
        owner=owner,
        stranger=stranger,
        forbidden=member,
        foreign_paths=(
            f"/clients/{theirs['id']}/invoice-settings",
            f"/clients/{uuid.uuid4()}/invoice-settings",
        ),
    )
    assert r.json()["due_days"] == 14


async def test_ladder_put_invoice_settings(client, app):
    owner = await make_actor(app)
    stranger = await make_actor(app)
    rep = await make_actor(app, team_id=owner.team_id, role=Role.sales_rep)
    mine = await new_client(client, owner, owner_id=str(rep.user_id))
    theirs = await new_client(client, stranger, "Theirs")
    r = await ladder(
        client,
        "PUT",
        f"/clients/{mine['id']}/invoice-settings",
        owner=owner,
        stranger=stranger,
        forbidden=rep,
        foreign_paths=(
            f"/clients/{theirs['id']}/invoice-settings",
            f"/clients/{uuid.uuid4()}/invoice-settings",
        ),
        json={"due_days": 30},
    )
    assert r.json()["due_days"] == 30
    r = await client.get(
        stranger.url(f"/clients/{theirs['id']}/invoice-settings"), headers=stranger.headers
    )
    assert r.json()["due_days"] == 14


# ------------------------------------------------------------------ role table


@pytest.mark.parametrize("role", list(Role))
async def test_role_table_create_client(client, app, role):
    owner = await make_actor(app)
    actor = await make_actor(app, team_id=owner.team_id, role=role)
    r = await client.post(
        actor.url("/clients"), json={"name": "Acme", "currency": "EUR"}, headers=actor.headers
    )
    if role in MAY_CREATE_CRM:
        assert r.status_code == 201, r.text
        assert r.json()["owner_id"] == str(actor.user_id)
        assert await list_ids(client, owner, "/clients") == [r.json()["id"]]
        # The creator can read back what it created.
        r = await client.get(actor.url(f"/clients/{r.json()['id']}"), headers=actor.headers)
        assert r.status_code == 200, r.text
    else:
        assert_problem(r, 403, "forbidden")
        assert await list_ids(client, owner, "/clients") == []


@pytest.mark.parametrize("role", list(Role))
async def test_role_table_read_clients(client, app, role):
    owner = await make_actor(app)
    actor = await make_actor(app, team_id=owner.team_id, role=role)
    a = await new_client(client, owner, "Alpha")
    b = await new_client(client, owner, "Beta")
    reach = CLIENT_READ[role]

    if reach == "all":
        assert set(await list_ids(client, actor, "/clients")) == {a["id"], b["id"]}
        for c in (a, b):
            r = await client.get(actor.url(f"/clients/{c['id']}"), headers=actor.headers)
            assert r.status_code == 200, r.text
        return

    # Nothing of theirs yet: nothing listed, and a direct GET does not reveal the client.
    assert await list_ids(client, actor, "/clients") == []
    r = await client.get(actor.url(f"/clients/{a['id']}"), headers=actor.headers)
    assert_problem(r, 404)

    if reach == "own":
        r = await client.patch(
            owner.url(f"/clients/{a['id']}"),
            json={"member_ids": [str(actor.user_id)]},
            headers=owner.headers,
        )
        assert r.status_code == 200, r.text
    else:
        await add_to_project(client, owner, a["id"], actor.user_id)

    assert await list_ids(client, actor, "/clients") == [a["id"]]
    r = await client.get(actor.url(f"/clients/{a['id']}"), headers=actor.headers)
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "Alpha"
    r = await client.get(actor.url(f"/clients/{b['id']}"), headers=actor.headers)
    assert_problem(r, 404)


@pytest.mark.parametrize("role", list(Role))
async def test_role_table_update_clients(client, app, role):
    owner = await make_actor(app)
    actor = await make_actor(app, team_id=owner.team_id, role=role)
    a = await new_client(client, owner, "Alpha")
    b = await new_client(client, owner, "Beta")
    reach = CLIENT_READ[role]

    async def patch(c: dict):
        return await client.patch(
            actor.url(f"/clients/{c['id']}"), json={"notes": role.value}, headers=actor.headers
        )

    if reach == "all":
        for c in (a, b):
            r = await patch(c)
            assert r.status_code == 200, r.text
            assert r.json()["notes"] == role.value
        return

    assert_problem(await patch(a), 404)
    if reach == "own":
        r = await client.patch(
            owner.url(f"/clients/{a['id']}"),
            json={"member_ids": [str(actor.user_id)]},
            headers=owner.headers,
        )
        assert r.status_code == 200, r.text
        r = await patch(a)
        assert r.status_code == 200, r.text
        assert r.json()["notes"] == role.value
    else:
        await add_to_project(client, owner, a["id"], actor.user_id, role="manager")
        assert_problem(await patch(a), 403, "forbidden")
        r = await client.delete(actor.url(f"/clients/{a['id']}"), headers=actor.headers)
        assert_problem(r, 403, "forbidden")
        r = await client.get(owner.url(f"/clients/{a['id']}"), headers=owner.headers)
        assert r.json()["notes"] is None
        assert r.json()["status"] == "active"
    assert_problem(await patch(b), 404)
    r = await client.get(owner.url(f"/clients/{b['id']}"), headers=owner.headers)
    assert r.json()["notes"] is None


# ------------------------------------------------------------------ sales_rep isolation


async def test_sales_rep_sees_and_edits_only_own_clients(client, app):
    owner = await make_actor(app)
    rep1 = await make_actor(app, team_id=owner.team_id, role=Role.sales_rep)
    rep2 = await make_actor(app, team_id=owner.team_id, role=Role.sales_rep)
    c1 = await new_client(client, rep1, "Rep one's")
    c2 = await new_client(client, rep2, "Rep two's")
    assert c1["owner_id"] == str(rep1.user_id)

    assert await list_ids(client, rep1, "/clients") == [c1["id"]]
    assert await list_ids(client, rep2, "/clients") == [c2["id"]]
    assert await list_ids(client, rep2, "/clients", owner_id=str(rep1.user_id)) == []
    assert await list_ids(client, rep2, "/clients", q="one") == []
    assert set(await list_ids(client, owner, "/clients")) == {c1["id"], c2["id"]}

    url = rep2.url(f"/clients/{c1['id']}")
    assert_problem(await client.get(url, headers=rep2.headers), 404)
    assert_problem(await client.patch(url, json={"name": "x"}, headers=rep2.headers), 404)
    assert_problem(await client.delete(url, headers=rep2.headers), 404)
    assert_problem(await client.get(url + "/invoice-settings", headers=rep2.headers), 404)
    r = await client.get(owner.url(f"/clients/{c1['id']}"), headers=owner.headers)
    assert r.json()["name"] == "Rep one's"
    assert r.json()["status"] == "active"

    # Archived clients of another rep stay hidden too.
    r = await client.delete(owner.url(f"/clients/{c1['id']}"), headers=owner.headers)
    assert r.status_code == 204
    assert await list_ids(client, rep2, "/clients", status="archived") == []
    assert await list_ids(client, rep1, "/clients", status="archived") == [c1["id"]]
    r = await client.patch(
        owner.url(f"/clients/{c1['id']}"), json={"status": "active"}, headers=owner.headers
    )
    assert r.status_code == 200

    # Assigned to rep one's client, rep two sees and edits it; rep one still owns it.
    r = await client.patch(
        rep1.url(f"/clients/{c1['id']}"),
        json={"member_ids": [str(rep2.user_id)]},
        headers=rep1.headers,
    )
    assert r.status_code == 200, r.text
    assert set(await list_ids(client, rep2, "/clients")) == {c1["id"], c2["id"]}
    r = await client.patch(url, json={"notes": "by rep two"}, headers=rep2.headers)
    assert r.status_code == 200, r.text
    r = await client.get(url + "/invoice-settings", headers=rep2.headers)
    assert r.status_code == 200, r.text
    assert await list_ids(client, rep1, "/clients") == [c1["id"]]


async def test_sales_rep_handing_ownership_away_loses_the_client(client, app):
    owner = await make_actor(app)
    rep1 = await make_actor(app, team_id=owner.team_id, role=Role.sales_rep)
    rep2 = await make_actor(app, team_id=owner.team_id, role=Role.sales_rep)
    c = await new_client(client, rep1)
    r = await client.patch(
        rep1.url(f"/clients/{c['id']}"),
        json={"owner_id": str(rep2.user_id)},
        headers=rep1.headers,
    )
    assert r.status_code == 200, r.text
    assert await list_ids(client, rep2, "/clients") == [c["id"]]


@pytest.mark.parametrize("role", [Role.member, Role.project_manager])
async def test_project_people_see_only_clients_of_their_projects(client, app, role):
    owner = await make_actor(app)
    actor = await make_actor(app, team_id=owner.team_id, role=role)
    other = await make_actor(app, team_id=owner.team_id, role=role)
    a = await new_client(client, owner, "Alpha")
    b = await new_client(client, owner, "Beta")
    await add_to_project(client, owner, a["id"], actor.user_id)
    await add_to_project(client, owner, b["id"], other.user_id)
    assert await list_ids(client, actor, "/clients") == [a["id"]]
    assert await list_ids(client, other, "/clients") == [b["id"]]
    r = await client.get(actor.url(f"/clients/{b['id']}"), headers=actor.headers)
    assert_problem(r, 404)
    r = await client.get(actor.url(f"/clients/{a['id']}"), headers=actor.headers)
    assert r.status_code == 200


# ------------------------------------------------------------------ onboarding


async def test_onboarding_creates_everything_and_emails_contacts(client, app, mailbox, run_jobs):
    owner = await make_actor(app)
    invites = [
        {"name": "Ann Buyer", "email": "ann@acme.example.com"},
        {"name": "Bob Payer", "email": "bob@acme.example.com"},
    ]
    r = await client.post(
        owner.url("/clients"),
        json={
            "name": "Acme",
            "currency": "USD",
            "create_project": True,
            "invite_contacts": invites,
        },
        headers=owner.headers,
    )
    assert r.status_code == 201, r.text
    body = r.json()
    client_id = body["id"]
    assert body["currency"] == "USD"
    assert body["project_id"] and body["board_id"]
    assert {c["email"] for c in body["contacts"]} == {i["email"] for i in invites}
    assert all(c["portal_access"] is True for c in body["contacts"])

    # Invoice settings with defaults, in the client's currency (the team's is EUR).
    r = await client.get(owner.url(f"/clients/{client_id}/invoice-settings"), headers=owner.headers)
    assert r.status_code == 200, r.text
    settings = r.json()
    assert settings["schedule"] == "none"
    assert settings["due_days"] == 14
    assert settings["currency"] == "USD"

    # One project, named after the client, with the three-column board.
    projects = await list_ids(client, owner, "/projects")
    assert projects == [body["project_id"]]
    r = await client.get(owner.url(f"/projects/{body['project_id']}"), headers=owner.headers)
    assert r.json()["name"] == "Acme"
    assert r.json()["client_id"] == client_id
    assert r.json()["board_id"] == body["board_id"]
    r = await client.get(owner.url(f"/projects/{body['project_id']}/board"), headers=owner.headers)
    assert r.status_code == 200, r.text
    assert r.json()["id"] == body["board_id"]
    assert [c["name"] for c in r.json()["columns"]] == ["To do", "In progress", "Done"]

    # Contacts of the client, with portal access, viewers of the project.
    r = await client.get(
        owner.url("/contacts"), params={"client_id": client_id}, headers=owner.headers
    )
    contacts = r.json()["data"]
    assert {c["email"] for c in contacts} == {i["email"] for i in invites}
    assert {c["name"] for c in contacts} == {i["name"] for i in invites}
    assert all(c["portal_access"] and c["client_id"] == client_id for c in contacts)
    r = await client.get(
        owner.url(f"/projects/{body['project_id']}/viewers"), headers=owner.headers
    )
    assert r.status_code == 200, r.text
    viewers = r.json()["data"] if isinstance(r.json(), dict) else r.json()
    assert {v["contact_id"] for v in viewers} == {c["id"] for c in contacts}

    # One email per contact, sent by the worker after commit, each with its own login link.
    assert mailbox.messages == []
    await run_jobs()
    assert len(mailbox.messages) == 2
    tokens = set()
    for invite in invites:
        mails = [m for m in mailbox.messages if invite["email"] in m["To"].lower()]
        assert len(mails) == 1, [m["To"] for m in mailbox.messages]
        text = mails[0].get_body(preferencelist=("plain",)).get_content()
        match = PORTAL_LINK.search(text)
        assert match, text
        tokens.add(match.group(1))
    assert len(tokens) == 2


async def test_onboarding_project_name(client, app):
    owner = await make_actor(app)
    r = await client.post(
        owner.url("/clients"),
        json={"name": "Acme", "currency": "EUR", "create_project": True, "project_name": "Web"},
        headers=owner.headers,
    )
    assert r.status_code == 201, r.text
    r = await client.get(owner.url(f"/projects/{r.json()['project_id']}"), headers=owner.headers)
    assert r.json()["name"] == "Web"


async def test_onboarding_contacts_without_project(client, app, mailbox, run_jobs):
    owner = await make_actor(app)
    r = await client.post(
        owner.url("/clients"),
        json={
            "name": "Acme",
            "currency": "EUR",
            "invite_contacts": [{"name": "Ann", "email": "ann@example.com"}],
        },
        headers=owner.headers,
    )
    assert r.status_code == 201, r.text
    assert r.json()["project_id"] is None
    assert await list_ids(client, owner, "/projects") == []
    r = await client.get(owner.url("/contacts"), headers=owner.headers)
    [contact] = r.json()["data"]
    assert contact["portal_access"] is True
    await run_jobs()
    assert len(mailbox.messages) == 1
    assert PORTAL_LINK.search(mailbox.messages[0].get_body(preferencelist=("plain",)).get_content())


async def test_plain_create_has_no_project_contacts_or_mail(client, app, mailbox, run_jobs):
    owner = await make_actor(app)
    c = await new_client(client, owner)
    assert c["project_id"] is None
    assert c["contacts"] == []
    assert await list_ids(client, owner, "/projects") == []
    assert await list_ids(client, owner, "/contacts") == []
    await run_jobs()
    assert mailbox.messages == []


async def test_onboarding_bad_contact_email_leaves_nothing(client, app, mailbox, run_jobs):
    owner = await make_actor(app)
    r = await client.post(
        owner.url("/clients"),
        json={
            "name": "Acme",
            "currency": "EUR",
            "create_project": True,
            "invite_contacts": [
                {"name": "Ann", "email": "ann@example.com"},
                {"name": "Bad", "email": "not-an-email"},
            ],
        },
        headers=owner.headers,
    )
    assert_problem(r, 422, "validation_error")
    await everything_empty(client, owner)
    await run_jobs()
    assert mailbox.messages == []


@pytest.mark.parametrize("second", ["ann@example.com", "ANN@Example.com"])
async def test_onboarding_duplicate_invite_emails(client, app, mailbox, run_jobs, second):
    owner = await make_actor(app)
    r = await client.post(
        owner.url("/clients"),
        json={
            "name": "Acme",
            "currency": "EUR",
            "create_project": True,
            "invite_contacts": [
                {"name": "Ann", "email": "ann@example.com"},
                {"name": "Ann again", "email": second},
            ],
        },
        headers=owner.headers,
    )
    assert_problem(r, 422, "duplicate_contact_email")
    await everything_empty(client, owner)
    await run_jobs()
    assert mailbox.messages == []


async def test_onboarding_invite_colliding_with_existing_contact(client, app, mailbox, run_jobs):
    owner = await make_actor(app)
    r = await client.post(
        owner.url("/contacts"),
        json={"name": "Existing", "email": "taken@example.com"},
        headers=owner.headers,
    )
    assert r.status_code == 201, r.text
    existing = r.json()["id"]

    r = await client.post(
        owner.url("/clients"),
        json={
            "name": "Acme",
            "currency": "EUR",
            "create_project": True,
            # The first invite is fine and is processed (and its mail queued) before the
            # second one collides: all of it must go.
            "invite_contacts": [
                {"name": "New", "email": "new@example.com"},
                {"name": "Taken", "email": "Taken@Example.com"},
            ],
        },
        headers=owner.headers,
    )
    assert_problem(r, 409, "contact_email_taken")
    assert await list_ids(client, owner, "/clients") == []
    assert await list_ids(client, owner, "/clients", status="archived") == []
    assert await list_ids(client, owner, "/projects") == []
    assert await list_ids(client, owner, "/contacts") == [existing]
    r = await client.get(owner.url(f"/contacts/{existing}"), headers=owner.headers)
    assert r.json()["portal_access"] is False
    assert r.json()["client_id"] is None
    await run_jobs()
    assert mailbox.messages == []


async def test_onboarding_failing_after_client_insert_rolls_back(client, app, mailbox, run_jobs):
    """A sales_rep may create clients but not projects: asking for a project fails the
    whole request, leaving neither the client nor its contacts behind."""
    owner = await make_actor(app)
    rep = await make_actor(app, team_id=owner.team_id, role=Role.sales_rep)
    r = await client.post(
        rep.url("/clients"),
        json={
            "name": "Acme",
            "currency": "EUR",
            "create_project": True,
            "invite_contacts": [{"name": "Ann", "email": "ann@example.com"}],
        },
        headers=rep.headers,
    )
    assert_problem(r, 403, "forbidden")
    await everything_empty(client, owner)
    await run_jobs()
    assert mailbox.messages == []


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

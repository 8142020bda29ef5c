"""Rules found in review: rate visibility, key roles that no longer nest, who may move a
project between clients, where a key logs time, and inputs that must be 4xx, not 500."""

import base64
import json

from app.core.permissions import Role
from tests.factories import make_actor
from tests.factories.clients import new_client
from tests.helpers import assert_problem


async def test_rates_are_written_and_read_only_with_rate_rights(client, app):
    owner = await make_actor(app)
    rep = await make_actor(app, team_id=owner.team_id, role=Role.sales_rep)
    manager = await make_actor(app, team_id=owner.team_id, role=Role.sales_manager)
    acme = await new_client(client, owner, hourly_rate_amount=12000, member_ids=[str(rep.user_id)])
    assert acme["hourly_rate_amount"] == 12000

    # A sales rep sees its client, but not the rate; it may not set one either.
    seen = await client.get(owner.url(f"/clients/{acme['id']}"), headers=rep.headers)
    assert seen.status_code == 200 and seen.json()["hourly_rate_amount"] is None
    r = await client.post(
        owner.url("/clients"),
        json={"name": "Rep's", "currency": "EUR", "hourly_rate_amount": 1},
        headers=rep.headers,
    )
    assert_problem(r, 403)
    # A sales manager reads rates but does not write them.
    seen = await client.get(owner.url(f"/clients/{acme['id']}"), headers=manager.headers)
    assert seen.json()["hourly_rate_amount"] == 12000
    r = await client.patch(
        owner.url(f"/clients/{acme['id']}"), json={"hourly_rate_amount": 1}, headers=manager.headers
    )
    assert_problem(r, 403)


async def test_a_sales_rep_sees_its_time_without_rates(client, app):
    owner = await make_actor(app)
    rep = await make_actor(app, team_id=owner.team_id, role=Role.sales_rep)
    acme = await new_client(client, owner, create_project=True, member_ids=[str(rep.user_id)])
    project_id = acme["project_id"]
    await client.post(
        owner.url(f"/projects/{project_id}/members"),
        json={"user_id": str(rep.user_id)},
        headers=owner.headers,
    )
    await client.post(
        owner.url("/rates"),
        json={
            "scope": "team",
            "hourly_rate_amount": 9000,
            "currency": "EUR",
            "effective_from": "2026-01-01",
        },
        headers=owner.headers,
    )
    r = await client.post(
        owner.url("/time-entries"),
        json={
            "project_id": project_id,
            "started_at": "2026-11-02T09:00:00Z",
            "ended_at": "2026-11-02T10:00:00Z",
        },
        headers=rep.headers,
    )
    assert r.status_code == 201, r.text
    assert (r.json()["bill_rate_amount"], r.json()["billable_amount"]) == (None, None)
    as_owner = await client.get(owner.url(f"/time-entries/{r.json()['id']}"), headers=owner.headers)
    assert (as_owner.json()["bill_rate_amount"], as_owner.json()["billable_amount"]) == (9000, 9000)


async def test_only_project_creators_move_a_project_to_another_client(client, app):
    owner = await make_actor(app)
    pm = await make_actor(app, team_id=owner.team_id, role=Role.project_manager)
    first = await new_client(client, owner, create_project=True)
    second = await new_client(client, owner)
    project_id = first["project_id"]
    await client.post(
        owner.url(f"/projects/{project_id}/members"),
        json={"user_id": str(pm.user_id), "role": "manager"},
        headers=owner.headers,
    )
    r = await client.patch(
        owner.url(f"/projects/{project_id}"), json={"client_id": second["id"]}, headers=pm.headers
    )
    assert_problem(r, 403)
    renamed = await client.patch(
        owner.url(f"/projects/{project_id}"), json={"name": "Renamed"}, headers=pm.headers
    )
    assert renamed.status_code == 200, renamed.text
    moved = await client.patch(
        owner.url(f"/projects/{project_id}"),
        json={"client_id": second["id"]},
        headers=owner.headers,
    )
    assert moved.status_code == 200 and moved.json()["client_id"] == second["id"]


async def test_a_key_whose_role_no_longer_nests_in_its_creators_is_suspended(client, app):
    owner = await make_actor(app)
    manager = await make_actor(app, team_id=owner.team_id, role=Role.org_manager)
    r = await client.post(
        owner.url("/api-keys"), json={"name": "crm", "role": "sales_rep"}, headers=manager.headers
    )
    key = {"Authorization": f"Bearer {r.json()['key']}"}
    assert (await client.get(owner.url(), headers=key)).status_code == 200
    # member and sales_rep reach different rows: the key may act as neither.
    demoted = await client.patch(
        owner.url(f"/members/{manager.user_id}"), json={"role": "member"}, headers=owner.headers
    )
    assert demoted.status_code == 200
    assert_problem(await client.get(owner.url("/clients"), headers=key), 403, "api_key_suspended")


async def test_a_member_key_logs_time_only_on_projects_of_its_creator(client, app):
    owner = await make_actor(app)
    other = await make_actor(app, team_id=owner.team_id, role=Role.org_manager)
    acme = await new_client(client, other, create_project=True)  # the owner is not a member
    r = await client.post(
        owner.url("/api-keys"), json={"name": "timer", "role": "member"}, headers=owner.headers
    )
    key = {"Authorization": f"Bearer {r.json()['key']}"}
    entry = {
        "project_id": acme["project_id"],
        "started_at": "2026-11-02T09:00:00Z",
        "ended_at": "2026-11-02T10:00:00Z",
    }
    assert_problem(
        await client.post(owner.url("/time-entries"), json=entry, headers=key),
        403,
        "not_project_member",
    )
    # The superadmin itself may log there (managers log anywhere).
    mine = await client.post(owner.url("/time-entries"), json=entry, headers=owner.headers)
    assert mine.status_code == 201, mine.text


async def test_inputs_that_used_to_crash_are_refused(client, app):
    owner = await make_actor(app)
    naive = await client.post(
        owner.url("/api-keys"),
        json={"name": "k", "role": "member", "expires_at": "2030-01-01T00:00:00"},
        headers=owner.headers,
    )
    assert_problem(naive, 422, "validation_error")
    acme = await new_client(client, owner)
    huge = await client.post(
        owner.url("/invoices"),
        json={
            "client_id": acme["id"],
            "lines": [{"description": "x", "quantity": "1000000000", "unit_amount": 10**12}],
        },
        headers=owner.headers,
    )
    assert_problem(huge, 422, "validation_error")
    assert_problem(
        await client.post(
            owner.url("/clients"),
            json={"name": "Big", "currency": "EUR", "hourly_rate_amount": 10**20},
            headers=owner.headers,
        ),
        422,
    )
    # A well-formed cursor whose values do not fit the list's keys.
    forged = base64.urlsafe_b64encode(
        json.dumps([["v", "x"], ["u", "00000000-0000-0000-0000-000000000000"]]).encode()
    ).decode()
    r = await client.get(
        owner.url("/time-entries"), params={"cursor": forged}, headers=owner.headers
    )
    assert_problem(r, 400, "invalid_cursor")

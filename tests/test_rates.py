"""Rates: the contract fields, scope rules and ids of the team, currencies, cost rates,
duplicates (also under races), effective-dated history, and the filtered list."""

import asyncio
import uuid

from tests.factories import make_actor
from tests.factories.clients import new_client_project
from tests.factories.projects import project_team
from tests.factories.rates import add_rate, post_rate
from tests.factories.time_tracking import get_entry, log
from tests.helpers import assert_problem, list_ids, patch, utc

RATE_FIELDS = {
    "id",
    "kind",
    "scope",
    "user_id",
    "client_id",
    "project_id",
    "hourly_rate_amount",
    "currency",
    "effective_from",
}


# ------------------------------------------------------------------ fields and scopes


async def test_create_rate_returns_the_contract_fields(client, app):
    s = await project_team(client, app)
    r = await post_rate(
        client, s.owner, scope="team", hourly_rate_amount=12345, effective_from="2026-02-03"
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert set(body) >= RATE_FIELDS
    uuid.UUID(body["id"])
    assert body["kind"] == "bill"  # the default
    assert body["scope"] == "team"
    assert (body["user_id"], body["client_id"], body["project_id"]) == (None, None, None)
    assert body["hourly_rate_amount"] == 12345
    assert body["currency"] == "EUR"
    assert body["effective_from"] == "2026-02-03"
    r = await client.get(s.owner.url(f"/rates/{body['id']}"), headers=s.owner.headers)
    assert r.status_code == 200, r.text
    assert {k: r.json()[k] for k in RATE_FIELDS} == {k: body[k] for k in RATE_FIELDS}

    m = await add_rate(
        client, s.owner, scope="project_member", project_id=s.project_id, user_id=s.member.user_id
    )
    assert (m["user_id"], m["project_id"], m["client_id"]) == (
        str(s.member.user_id),
        s.project_id,
        None,
    )
    # A rate of 0 is a rate (free work), lower-case currencies are normalised.
    z = await add_rate(
        client, s.owner, scope="client", client_id=s.client_id, hourly_rate_amount=0, currency="eur"
    )
    assert (z["hourly_rate_amount"], z["currency"]) == (0, "EUR")


async def test_scope_ids_must_match_the_scope(client, app):
    s = await project_team(client, app)
    u, c, p = s.member.user_id, s.client_id, s.project_id
    wrong = [
        {"scope": "team", "user_id": u},
        {"scope": "team", "client_id": c},
        {"scope": "team", "project_id": p},
        {"scope": "member"},
        {"scope": "member", "user_id": u, "project_id": p},
        {"scope": "member", "user_id": u, "client_id": c},
        {"scope": "client"},
        {"scope": "client", "client_id": c, "user_id": u},
        {"scope": "client", "client_id": c, "project_id": p},
        {"scope": "project"},
        {"scope": "project", "project_id": p, "client_id": c},
        {"scope": "project", "project_id": p, "user_id": u},
        {"scope": "project_member", "project_id": p},
        {"scope": "project_member", "user_id": u},
        {"scope": "project_member", "user_id": u, "project_id": p, "client_id": c},
    ]
    for body in wrong:
        r = await post_rate(client, s.owner, **body)
        assert_problem(r, 422, "rate_scope_ids")
    r = await client.get(s.owner.url("/rates"), headers=s.owner.headers)
    assert r.json()["data"] == []

    right = [
        {"scope": "team"},
        {"scope": "member", "user_id": u},
        {"scope": "client", "client_id": c},
        {"scope": "project", "project_id": p},
        {"scope": "project_member", "project_id": p, "user_id": u},
    ]
    for body in right:
        await add_rate(client, s.owner, **body)
    assert len(await list_ids(client, s.owner, "/rates")) == 5


async def test_rate_ids_must_name_things_of_the_team(client, app):
    s = await project_team(client, app)
    stranger = await make_actor(app)
    their_client, their_project = await new_client_project(client, stranger, "Theirs")
    outsider = await make_actor(app)
    cases = [
        ({"scope": "client", "client_id": their_client}, "unknown_client"),
        ({"scope": "client", "client_id": uuid.uuid4()}, "unknown_client"),
        ({"scope": "project", "project_id": their_project}, "unknown_project"),
        ({"scope": "project", "project_id": uuid.uuid4()}, "unknown_project"),
        ({"scope": "member", "user_id": outsider.user_id}, "not_team_member"),
        ({"scope": "member", "user_id": uuid.uuid4()}, "not_team_member"),
        (
            {"scope": "project_member", "project_id": s.project_id, "user_id": stranger.user_id},
            "not_team_member",
        ),
        (
            {"scope": "project_member", "project_id": their_project, "user_id": s.member.user_id},
            "unknown_project",
        ),
    ]
    for body, code in cases:
        r = await post_rate(client, s.owner, **body)
        assert_problem(r, 422, code)
    assert await list_ids(client, s.owner, "/rates") == []


async def test_rate_payload_validation(client, app):
    s = await project_team(client, app)
    for body in (
        {"scope": "team", "hourly_rate_amount": -1},
        {"scope": "team", "hourly_rate_amount": 12.5},
        {"scope": "team", "currency": "XYZ"},
        {"scope": "team", "currency": "EURO"},
        {"scope": "team", "effective_from": "someday"},
        {"scope": "team", "kind": "discount"},
        {"scope": "everyone"},
        {"scope": "team", "unknown": 1},
    ):
        r = await post_rate(client, s.owner, **body)
        assert_problem(r, 422)
    r = await client.post(s.owner.url("/rates"), json={"scope": "team"}, headers=s.owner.headers)
    assert_problem(r, 422)
    assert await list_ids(client, s.owner, "/rates") == []

    row = await add_rate(client, s.owner, scope="team")
    for body in ({"hourly_rate_amount": -5}, {"hourly_rate_amount": None}, {"scope": "member"}):
        r = await client.patch(
            s.owner.url(f"/rates/{row['id']}"), json=body, headers=s.owner.headers
        )
        assert_problem(r, 422)
    r = await client.get(s.owner.url(f"/rates/{row['id']}"), headers=s.owner.headers)
    assert r.json()["hourly_rate_amount"] == 10000
    assert r.json()["scope"] == "team"


async def test_rates_must_be_in_the_currency_they_bill_in(client, app):
    s = await project_team(client, app)  # EUR client; the team's base currency is EUR too
    jpy_client, jpy_project = await new_client_project(client, s.owner, "Tokyo", "JPY")
    r = await client.post(
        s.owner.url("/projects"), json={"name": "Internal"}, headers=s.owner.headers
    )
    assert r.status_code == 201, r.text
    internal = r.json()["id"]  # no client: billed in the team's base currency
    u = s.member.user_id
    refused = [
        {"scope": "client", "client_id": s.client_id, "currency": "USD"},
        {"scope": "project", "project_id": s.project_id, "currency": "USD"},
        {"scope": "project_member", "project_id": s.project_id, "user_id": u, "currency": "JPY"},
        {"scope": "client", "client_id": jpy_client, "currency": "EUR"},
        {"scope": "project", "project_id": jpy_project, "currency": "EUR"},
        {"scope": "project", "project_id": internal, "currency": "USD"},
        {"kind": "cost", "scope": "team", "currency": "USD"},
        {"kind": "cost", "scope": "member", "user_id": u, "currency": "JPY"},
    ]
    for body in refused:
        r = await post_rate(client, s.owner, **body)
        assert_problem(r, 422, "rate_currency_mismatch")
    assert await list_ids(client, s.owner, "/rates") == []
    for body in (
        {"scope": "client", "client_id": jpy_client, "currency": "JPY"},
        {"scope": "project", "project_id": jpy_project, "currency": "JPY"},
        {"scope": "project", "project_id": internal, "currency": "EUR"},
        {"kind": "cost", "scope": "team", "currency": "EUR"},
    ):
        await add_rate(client, s.owner, **body)


async def test_cost_rates_are_per_member_or_team_and_never_bill(client, app):
    s = await project_team(client, app)
    u = s.member.user_id
    for body in (
        {"scope": "client", "client_id": s.client_id},
        {"scope": "project", "project_id": s.project_id},
        {"scope": "project_member", "project_id": s.project_id, "user_id": u},
    ):
        r = await post_rate(client, s.owner, kind="cost", **body)
        assert_problem(r, 422, "cost_rate_scope")
    team_cost = await add_rate(client, s.owner, kind="cost", scope="team", hourly_rate_amount=3000)
    member_cost = await add_rate(
        client, s.owner, kind="cost", scope="member", user_id=u, hourly_rate_amount=4000
    )
    assert team_cost["kind"] == member_cost["kind"] == "cost"

    # Cost rates are not what a client is billed.
    e = await log(client, s.member, s.project_id, utc(2026, 3, 2, 9), utc(2026, 3, 2, 10))
    assert e["bill_rate_amount"] is None
    assert e["billable_amount"] is None
    assert e["rate_missing"] is True
    # The same key and date in the other kind is a separate series.
    await add_rate(client, s.owner, scope="team", hourly_rate_amount=9000)
    e = await get_entry(client, s.member, e["id"])
    assert (e["bill_rate_amount"], e["billable_amount"], e["rate_missing"]) == (9000, 9000, False)
    ids = set(await list_ids(client, s.owner, "/rates", kind="cost"))
    assert ids == {team_cost["id"], member_cost["id"]}


async def test_duplicate_rates_conflict(client, app):
    s = await project_team(client, app)
    u = s.member.user_id
    keys = [
        {"scope": "team"},
        {"scope": "member", "user_id": u},
        {"scope": "client", "client_id": s.client_id},
        {"scope": "project", "project_id": s.project_id},
        {"scope": "project_member", "project_id": s.project_id, "user_id": u},
        {"kind": "cost", "scope": "team"},
        {"kind": "cost", "scope": "member", "user_id": u},
    ]
    for key in keys:
        await add_rate(client, s.owner, **key, effective_from="2026-01-01")
        r = await post_rate(
            client, s.owner, **key, effective_from="2026-01-01", hourly_rate_amount=1
        )
        assert_problem(r, 409, "rate_exists")
        await add_rate(client, s.owner, **key, effective_from="2026-02-01")
    assert len(await list_ids(client, s.owner, "/rates")) == 2 * len(keys)

    # Moving a row onto another row's date is a duplicate too.
    team_rows = await client.get(
        s.owner.url("/rates"), params={"scope": "team", "kind": "bill"}, headers=s.owner.headers
    )
    later = next(x for x in team_rows.json()["data"] if x["effective_from"] == "2026-02-01")
    r = await client.patch(
        s.owner.url(f"/rates/{later['id']}"),
        json={"effective_from": "2026-01-01"},
        headers=s.owner.headers,
    )
    assert_problem(r, 409, "rate_exists")


async def test_concurrent_duplicate_rates_exactly_one_wins(client, app):
    s = await project_team(client, app)
    responses = await asyncio.gather(
        *(post_rate(client, s.owner, scope="team", hourly_rate_amount=100 + i) for i in range(6))
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201, 409, 409, 409, 409, 409], [r.text for r in responses]
    for r in responses:
        if r.status_code == 409:
            assert_problem(r, 409, "rate_exists")
    assert len(await list_ids(client, s.owner, "/rates")) == 1


# ------------------------------------------------------------------ history


async def test_a_new_rate_supersedes_the_previous_from_its_date_and_history_is_kept(client, app):
    s = await project_team(client, app)
    jan = await add_rate(client, s.owner, scope="team", hourly_rate_amount=10000)
    jun = await add_rate(
        client, s.owner, scope="team", hourly_rate_amount=20000, effective_from="2026-06-01"
    )
    e_mar = await log(client, s.member, s.project_id, utc(2026, 3, 2, 9), utc(2026, 3, 2, 10))
    e_may = await log(client, s.member, s.project_id, utc(2026, 5, 31, 9), utc(2026, 5, 31, 10))
    e_jun = await log(client, s.member, s.project_id, utc(2026, 6, 1, 0), utc(2026, 6, 1, 1))
    e_old = await log(client, s.member, s.project_id, utc(2025, 12, 31, 9), utc(2025, 12, 31, 10))

    async def rates() -> list:
        return [
            (await get_entry(client, s.member, e["id"]))["bill_rate_amount"]
            for e in (e_old, e_mar, e_may, e_jun)
        ]

    assert await rates() == [None, 10000, 10000, 20000]
    # A row dated in between takes over from its date, until the next row.
    apr = await add_rate(
        client, s.owner, scope="team", hourly_rate_amount=15000, effective_from="2026-04-01"
    )
    assert await rates() == [None, 10000, 15000, 20000]
    # Every row stays listable.
    listed = await client.get(
        s.owner.url("/rates"), params={"scope": "team"}, headers=s.owner.headers
    )
    rows = {x["id"]: x for x in listed.json()["data"]}
    assert set(rows) == {jan["id"], apr["id"], jun["id"]}
    assert sorted(x["effective_from"] for x in rows.values()) == [
        "2026-01-01",
        "2026-04-01",
        "2026-06-01",
    ]
    # Corrections apply to the entries they cover.
    await patch(client, s.owner, f"/rates/{apr['id']}", hourly_rate_amount=16000)
    assert await rates() == [None, 10000, 16000, 20000]
    await patch(client, s.owner, f"/rates/{jan['id']}", effective_from="2025-12-31")
    assert await rates() == [10000, 10000, 16000, 20000]
    r = await client.delete(s.owner.url(f"/rates/{apr['id']}"), headers=s.owner.headers)
    assert r.status_code == 204, r.text
    r = await client.get(s.owner.url(f"/rates/{apr['id']}"), headers=s.owner.headers)
    assert_problem(r, 404)
    assert await rates() == [10000, 10000, 10000, 20000]


async def test_rate_list_filters_and_pages(client, app):
    s = await project_team(client, app)
    other_client, other_project = await new_client_project(client, s.owner, "Other")
    u = s.member.user_id
    made = {
        "team": await add_rate(client, s.owner, scope="team"),
        "member": await add_rate(client, s.owner, scope="member", user_id=u),
        "client": await add_rate(client, s.owner, scope="client", client_id=s.client_id),
        "other_client": await add_rate(client, s.owner, scope="client", client_id=other_client),
        "project": await add_rate(client, s.owner, scope="project", project_id=s.project_id),
        "other_project": await add_rate(client, s.owner, scope="project", project_id=other_project),
        "pm": await add_rate(
            client, s.owner, scope="project_member", project_id=s.project_id, user_id=u
        ),
        "cost": await add_rate(client, s.owner, kind="cost", scope="member", user_id=u),
    }

    async def names(**params) -> set[str]:
        ids = await list_ids(client, s.owner, "/rates", **params)
        assert len(ids) == len(set(ids))
        by_id = {v["id"]: k for k, v in made.items()}
        return {by_id[i] for i in ids}

    assert await names() == set(made)
    assert await names(kind="cost") == {"cost"}
    assert await names(kind="bill") == set(made) - {"cost"}
    assert await names(scope="client") == {"client", "other_client"}
    assert await names(user_id=str(u)) == {"member", "pm", "cost"}
    assert await names(client_id=s.client_id) == {"client"}
    assert await names(project_id=s.project_id) == {"project", "pm"}
    assert await names(scope="member", kind="bill") == {"member"}

    seen: list[str] = []
    query: dict = {"limit": 3}
    while True:
        r = await client.get(s.owner.url("/rates"), params=query, headers=s.owner.headers)
        assert r.status_code == 200, r.text
        assert len(r.json()["data"]) <= 3
        seen += [x["id"] for x in r.json()["data"]]
        if not r.json()["has_more"]:
            break
        query["cursor"] = r.json()["next_cursor"]
    assert len(seen) == len(set(seen)) == len(made)

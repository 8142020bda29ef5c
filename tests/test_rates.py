"""Rates: fields and scope rules, currencies, cost rates, duplicates, effective-dated
history, the bill-rate precedence table (in the team's time zone, with the undated
client/project fallbacks), rounding of billable amounts, the role table and the ladder."""

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest

from app.core.permissions import Role
from tests.factories import Actor, make_actor
from tests.helpers import add_member, assert_problem

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


# ------------------------------------------------------------------ helpers


def utc(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=UTC)


async def new_client_project(
    http, actor: Actor, name: str = "Acme", currency: str = "EUR", **extra
) -> tuple[str, str]:
    r = await http.post(
        actor.url("/clients"),
        json={"name": name, "currency": currency, "create_project": True, **extra},
        headers=actor.headers,
    )
    assert r.status_code == 201, r.text
    return r.json()["id"], r.json()["project_id"]


async def post_rate(http, actor: Actor, **body):
    body.setdefault("currency", "EUR")
    body.setdefault("effective_from", "2026-01-01")
    body.setdefault("hourly_rate_amount", 10000)
    for key in ("user_id", "client_id", "project_id"):
        if key in body and body[key] is not None:
            body[key] = str(body[key])
    return await http.post(actor.url("/rates"), json=body, headers=actor.headers)


async def rate(http, actor: Actor, **body) -> dict:
    r = await post_rate(http, actor, **body)
    assert r.status_code == 201, r.text
    return r.json()


async def log(http, actor: Actor, project_id: str, start: datetime, end: datetime, **extra) -> dict:
    r = await http.post(
        actor.url("/time-entries"),
        json={
            "project_id": project_id,
            "started_at": start.isoformat(),
            "ended_at": end.isoformat(),
            **extra,
        },
        headers=actor.headers,
    )
    assert r.status_code == 201, r.text
    return r.json()


async def get_entry(http, actor: Actor, entry_id: str) -> dict:
    r = await http.get(actor.url(f"/time-entries/{entry_id}"), headers=actor.headers)
    assert r.status_code == 200, r.text
    return r.json()


async def rate_ids(http, actor: Actor, **params) -> list[str]:
    ids: list[str] = []
    query = {"limit": 200, **params}
    while True:
        r = await http.get(actor.url("/rates"), params=query, headers=actor.headers)
        assert r.status_code == 200, r.text
        ids += [row["id"] for row in r.json()["data"]]
        if not r.json()["has_more"]:
            return ids
        query["cursor"] = r.json()["next_cursor"]


async def patch(http, actor: Actor, path: str, **body) -> dict:
    r = await http.patch(actor.url(path), json=body, headers=actor.headers)
    assert r.status_code == 200, r.text
    return r.json()


@dataclass
class Setup:
    owner: Actor
    member: Actor
    client_id: str
    project_id: str


async def setup(http, app, currency: str = "EUR") -> Setup:
    owner = await make_actor(app)
    member = await make_actor(app, team_id=owner.team_id, role=Role.member)
    client_id, project_id = await new_client_project(http, owner, currency=currency)
    await add_member(http, owner, project_id, member.user_id)
    return Setup(owner, member, client_id, project_id)


# ------------------------------------------------------------------ fields and scopes


async def test_create_rate_returns_the_contract_fields(client, app):
    s = await setup(client, app)
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

    m = await rate(
        client, s.owner, scope="project_member", project_id=s.project_id, user_id=s.member.user_id
    )
    assert (m["user_id"], m["project_id"], m["client_id"]) == (
        str(s.member.user_id),
        s.project_id,
        None,
    )
    # A rate of 0 is a rate (free work), lower-case currencies are normalised.
    z = await rate(
        client, s.owner, scope="client", client_id=s.client_id, hourly_rate_amount=0, currency="eur"
    )
    assert (z["hourly_rate_amount"], z["currency"]) == (0, "EUR")


async def test_scope_ids_must_match_the_scope(client, app):
    s = await setup(client, app)
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
        await rate(client, s.owner, **body)
    assert len(await rate_ids(client, s.owner)) == 5


async def test_rate_ids_must_name_things_of_the_team(client, app):
    s = await setup(client, app)
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
    assert await rate_ids(client, s.owner) == []


async def test_rate_payload_validation(client, app):
    s = await setup(client, app)
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
    assert await rate_ids(client, s.owner) == []

    row = await rate(client, s.owner, scope="team")
    for body in ({"hourly_rate_amount": -5}, {"hourly_rate_amount": None}, {"scope": "member"}):
        r = await client.patch(
            s.owner.url(f"/rates/{row['id']}"), json=body, headers=s.owner.headers
        )
        assert_problem(r, 422)
    r = await client.get(s.owner.url(f"/rates/{row['id']}"), headers=s.owner.headers)
    assert r.json()["hourly_rate_amount"] == 10000
    assert r.json()["scope"] == "team"


async def test_rates_must_be_in_the_currency_they_bill_in(client, app):
    s = await setup(client, app)  # EUR client; the team's base currency is EUR too
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
    assert await rate_ids(client, s.owner) == []
    for body in (
        {"scope": "client", "client_id": jpy_client, "currency": "JPY"},
        {"scope": "project", "project_id": jpy_project, "currency": "JPY"},
        {"scope": "project", "project_id": internal, "currency": "EUR"},
        {"kind": "cost", "scope": "team", "currency": "EUR"},
    ):
        await rate(client, s.owner, **body)


async def test_cost_rates_are_per_member_or_team_and_never_bill(client, app):
    s = await setup(client, app)
    u = s.member.user_id
    for body in (
        {"scope": "client", "client_id": s.client_id},
        {"scope": "project", "project_id": s.project_id},
        {"scope": "project_member", "project_id": s.project_id, "user_id": u},
    ):
        r = await post_rate(client, s.owner, kind="cost", **body)
        assert_problem(r, 422, "cost_rate_scope")
    team_cost = await rate(client, s.owner, kind="cost", scope="team", hourly_rate_amount=3000)
    member_cost = await rate(
        client, s.owner, kind="cost", scope="member", user_id=u, hourly_rate_amount=4000
    )
    assert team_cost["kind"] == member_cost["kind"] == "cost"

    # Cost rates are not what a client is billed.
    e = await log(client, s.member, s.project_id, utc(2026, 3, 2, 9), utc(2026, 3, 2, 10))
    assert e["bill_rate_amount"] is None
    assert e["billable_amount"] is None
    assert e["rate_missing"] is True
    # The same key and date in the other kind is a separate series.
    await rate(client, s.owner, scope="team", hourly_rate_amount=9000)
    e = await get_entry(client, s.member, e["id"])
    assert (e["bill_rate_amount"], e["billable_amount"], e["rate_missing"]) == (9000, 9000, False)
    ids = set(await rate_ids(client, s.owner, kind="cost"))
    assert ids == {team_cost["id"], member_cost["id"]}


async def test_duplicate_rates_conflict(client, app):
    s = await setup(client, app)
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
        await rate(client, s.owner, **key, effective_from="2026-01-01")
        r = await post_rate(
            client, s.owner, **key, effective_from="2026-01-01", hourly_rate_amount=1
        )
        assert_problem(r, 409, "rate_exists")
        await rate(client, s.owner, **key, effective_from="2026-02-01")
    assert len(await rate_ids(client, s.owner)) == 2 * len(keys)

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
    s = await setup(client, app)
    responses = await asyncio.gather(
        *(post_rate(client, s.owner, scope="team", hourly_rate_amount=100 + i) for i in range(6))
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201, 409, 409, 409, 409, 409], [r.text for r in responses]
    for r in responses:
        if r.status_code == 409:
            assert_problem(r, 409, "rate_exists")
    assert len(await rate_ids(client, s.owner)) == 1


# ------------------------------------------------------------------ history


async def test_a_new_rate_supersedes_the_previous_from_its_date_and_history_is_kept(client, app):
    s = await setup(client, app)
    jan = await rate(client, s.owner, scope="team", hourly_rate_amount=10000)
    jun = await rate(
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
    apr = await rate(
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
    s = await setup(client, app)
    other_client, other_project = await new_client_project(client, s.owner, "Other")
    u = s.member.user_id
    made = {
        "team": await rate(client, s.owner, scope="team"),
        "member": await rate(client, s.owner, scope="member", user_id=u),
        "client": await rate(client, s.owner, scope="client", client_id=s.client_id),
        "other_client": await rate(client, s.owner, scope="client", client_id=other_client),
        "project": await rate(client, s.owner, scope="project", project_id=s.project_id),
        "other_project": await rate(client, s.owner, scope="project", project_id=other_project),
        "pm": await rate(
            client, s.owner, scope="project_member", project_id=s.project_id, user_id=u
        ),
        "cost": await rate(client, s.owner, kind="cost", scope="member", user_id=u),
    }

    async def names(**params) -> set[str]:
        ids = await rate_ids(client, s.owner, **params)
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


# ------------------------------------------------------------------ precedence


async def test_bill_rate_precedence_and_effective_dates_in_the_team_time_zone(client, app):
    """project_member > project > client > member > team, each effective on the entry's
    start date in the team's time zone; the client's and project's own hourly rates are
    undated rates of their scope, used while no dated row of that scope is in effect."""
    owner = await make_actor(app)
    m = await make_actor(app, team_id=owner.team_id, role=Role.member)
    m2 = await make_actor(app, team_id=owner.team_id, role=Role.member)
    r = await client.patch(
        owner.url(), json={"timezone": "Pacific/Auckland"}, headers=owner.headers
    )
    assert r.status_code == 200, r.text  # UTC+12 in winter (NZST)
    client_id, project_id = await new_client_project(client, owner)
    other_client, other_project = await new_client_project(client, owner, "Other")
    for user in (m, m2):
        await add_member(client, owner, project_id, user.user_id)

    # In Auckland: May 31 22:00-23:00 and June 1 00:00-01:00. Both are May 31 in UTC.
    before = await log(client, m, project_id, utc(2026, 5, 31, 10), utc(2026, 5, 31, 11))
    after = await log(client, m, project_id, utc(2026, 5, 31, 12), utc(2026, 5, 31, 13))
    other_after = await log(client, m2, project_id, utc(2026, 5, 31, 12), utc(2026, 5, 31, 13))
    entries = (before, after, other_after)

    async def winners() -> tuple:
        got = []
        listed = {
            x["id"]: x
            for x in (await client.get(owner.url("/time-entries"), headers=owner.headers)).json()[
                "data"
            ]
        }
        for e in entries:
            one = await get_entry(client, owner, e["id"])
            assert one["currency"] == "EUR"
            # The list prices entries exactly like the single read.
            assert (listed[e["id"]]["bill_rate_amount"], listed[e["id"]]["billable_amount"]) == (
                one["bill_rate_amount"],
                one["billable_amount"],
            )
            assert one["rate_missing"] is (one["bill_rate_amount"] is None)
            # One-hour entries: the amount is the rate.
            assert one["billable_amount"] == one["bill_rate_amount"]
            got.append(one["bill_rate_amount"])
        return tuple(got)

    assert await winners() == (None, None, None)
    # Rates that do not apply: another currency, the cost kind, other clients/projects,
    # a later team rate.
    await rate(
        client,
        owner,
        scope="team",
        currency="USD",
        hourly_rate_amount=99999,
        effective_from="2020-01-01",
    )
    await rate(
        client,
        owner,
        kind="cost",
        scope="member",
        user_id=m.user_id,
        hourly_rate_amount=88888,
        effective_from="2020-01-01",
    )
    await rate(
        client,
        owner,
        scope="client",
        client_id=other_client,
        hourly_rate_amount=77777,
        effective_from="2020-01-01",
    )
    await rate(
        client,
        owner,
        scope="project",
        project_id=other_project,
        hourly_rate_amount=66666,
        effective_from="2020-01-01",
    )
    await rate(client, owner, scope="team", hourly_rate_amount=55555, effective_from="2026-06-02")
    assert await winners() == (None, None, None)

    await rate(client, owner, scope="team", hourly_rate_amount=10000, effective_from="2026-01-01")
    assert await winners() == (10000, 10000, 10000)
    await rate(
        client,
        owner,
        scope="member",
        user_id=m.user_id,
        hourly_rate_amount=12000,
        effective_from="2026-06-01",
    )
    assert await winners() == (10000, 12000, 10000)
    await rate(
        client,
        owner,
        scope="client",
        client_id=client_id,
        hourly_rate_amount=14000,
        effective_from="2026-06-01",
    )
    assert await winners() == (10000, 14000, 14000)
    # The client's own rate: an undated client-level rate, above member and team.
    await patch(client, owner, f"/clients/{client_id}", hourly_rate_amount=13000)
    assert await winners() == (13000, 14000, 14000)
    await rate(
        client,
        owner,
        scope="project",
        project_id=project_id,
        hourly_rate_amount=16000,
        effective_from="2026-06-01",
    )
    assert await winners() == (13000, 16000, 16000)
    # The project's own rate: an undated project-level rate, above any client rate.
    await patch(client, owner, f"/projects/{project_id}", hourly_rate_amount=15000)
    assert await winners() == (15000, 16000, 16000)
    pm_jun = await rate(
        client,
        owner,
        scope="project_member",
        project_id=project_id,
        user_id=m.user_id,
        hourly_rate_amount=18000,
        effective_from="2026-06-01",
    )
    assert await winners() == (15000, 18000, 16000)
    pm_jan = await rate(
        client,
        owner,
        scope="project_member",
        project_id=project_id,
        user_id=m.user_id,
        hourly_rate_amount=17000,
        effective_from="2026-01-01",
    )
    assert await winners() == (17000, 18000, 16000)

    # Taking rows away walks back down the table.
    for row in (pm_jun, pm_jan):
        r = await client.delete(owner.url(f"/rates/{row['id']}"), headers=owner.headers)
        assert r.status_code == 204, r.text
    assert await winners() == (15000, 16000, 16000)
    await patch(client, owner, f"/projects/{project_id}", hourly_rate_amount=None)
    assert await winners() == (13000, 16000, 16000)
    await patch(client, owner, f"/clients/{client_id}", hourly_rate_amount=None)
    assert await winners() == (10000, 16000, 16000)


async def test_undated_client_and_project_rates_alone(client, app):
    s = await setup(client, app)
    e = await log(client, s.member, s.project_id, utc(2026, 3, 2, 9), utc(2026, 3, 2, 10))
    assert (await get_entry(client, s.member, e["id"]))["rate_missing"] is True
    await patch(client, s.owner, f"/clients/{s.client_id}", hourly_rate_amount=7000)
    got = await get_entry(client, s.member, e["id"])
    assert (got["bill_rate_amount"], got["billable_amount"], got["rate_missing"]) == (
        7000,
        7000,
        False,
    )
    await patch(client, s.owner, f"/projects/{s.project_id}", hourly_rate_amount=8000)
    assert (await get_entry(client, s.member, e["id"]))["bill_rate_amount"] == 8000
    # A dated member rate ranks below both.
    await rate(client, s.owner, scope="member", user_id=s.member.user_id, hourly_rate_amount=1)
    assert (await get_entry(client, s.member, e["id"]))["bill_rate_amount"] == 8000
    # A dated project rate in effect outranks the project's own rate.
    await rate(
        client,
        s.owner,
        scope="project",
        project_id=s.project_id,
        hourly_rate_amount=9000,
        effective_from="2026-03-02",
    )
    assert (await get_entry(client, s.member, e["id"]))["bill_rate_amount"] == 9000


async def test_non_billable_time_has_no_amount_and_misses_no_rate(client, app):
    s = await setup(client, app)
    e = await log(
        client, s.member, s.project_id, utc(2026, 3, 2, 9), utc(2026, 3, 2, 10), billable=False
    )
    assert e["rate_missing"] is False
    await rate(client, s.owner, scope="team", hourly_rate_amount=5000)
    e = await get_entry(client, s.member, e["id"])
    assert (e["bill_rate_amount"], e["billable_amount"], e["rate_missing"]) == (5000, 0, False)


# ------------------------------------------------------------------ rounding


def half_up(seconds: int, hourly: int) -> int:
    return int((Decimal(seconds) * hourly / 3600).quantize(Decimal(1), rounding=ROUND_HALF_UP))


@pytest.mark.parametrize(
    ("currency", "hourly", "seconds", "expected"),
    [
        # EUR, 2 decimals: cents.
        ("EUR", 5001, 1230, 1709),  # 1708.675 -> 17.09 EUR
        ("EUR", 5001, 1229, 1707),  # 1707.285...
        ("EUR", 5, 1800, 3),  # 2.5 -> 3 (half-up, not half-even)
        ("EUR", 12000, 3600, 12000),
        # JPY, no decimals: yen.
        ("JPY", 5001, 1230, 1709),  # 1708.675 -> 1709 JPY
        ("JPY", 1, 1800, 1),  # 0.5 -> 1
        ("JPY", 3, 1800, 2),  # 1.5 -> 2
        ("JPY", 7000, 5400, 10500),
        # KWD, 3 decimals: fils.
        ("KWD", 12345, 1230, 4218),  # 4217.875 -> 4.218 KWD
        ("KWD", 12345, 1200, 4115),  # exact
        ("KWD", 7, 1800, 4),  # 3.5 -> 4
        ("KWD", 1001, 601, 167),  # 167.11...
    ],
)
async def test_billable_amount_rounds_half_up_to_the_minor_unit(
    client, app, currency, hourly, seconds, expected
):
    assert half_up(seconds, hourly) == expected  # the table is right
    s = await setup(client, app, currency=currency)
    await rate(
        client,
        s.owner,
        scope="client",
        client_id=s.client_id,
        currency=currency,
        hourly_rate_amount=hourly,
    )
    start = utc(2026, 3, 2, 9)
    e = await log(client, s.member, s.project_id, start, start + timedelta(seconds=seconds))
    assert e["duration_seconds"] == seconds
    assert e["currency"] == currency
    assert e["bill_rate_amount"] == hourly
    assert e["billable_amount"] == expected
    assert isinstance(e["billable_amount"], int)
    r = await client.get(s.owner.url(f"/projects/{s.project_id}/stats"), headers=s.owner.headers)
    assert r.json()["currency"] == currency
    assert r.json()["billable_amount"] == expected
    assert r.json()["uninvoiced_amount"] == expected


async def test_each_entry_is_rounded_on_its_own(client, app):
    s = await setup(client, app, currency="JPY")
    await rate(
        client, s.owner, scope="client", client_id=s.client_id, currency="JPY", hourly_rate_amount=1
    )
    start = utc(2026, 3, 2, 9)
    for i in range(3):  # three half-yen entries: 1 + 1 + 1, not round(1.5) = 2
        begin = start + timedelta(hours=i)
        e = await log(client, s.member, s.project_id, begin, begin + timedelta(seconds=1800))
        assert e["billable_amount"] == 1
    r = await client.get(s.owner.url(f"/projects/{s.project_id}/stats"), headers=s.owner.headers)
    assert r.json()["billable_seconds"] == 5400
    assert r.json()["billable_amount"] == 3


# ------------------------------------------------------------------ role table


@dataclass
class RateWorld:
    actors: dict[Role | str, Actor]
    rates: dict[str, dict]


async def rate_world(http, app) -> RateWorld:
    owner = await make_actor(app)
    actors: dict[Role | str, Actor] = {Role.superadmin: owner}
    for role in (Role.org_manager, Role.sales_manager, Role.sales_rep, Role.project_manager):
        actors[role] = await make_actor(app, team_id=owner.team_id, role=role)
    actors[Role.member] = await make_actor(app, team_id=owner.team_id, role=Role.member)
    actors["member2"] = await make_actor(app, team_id=owner.team_id, role=Role.member)
    c1, p1 = await new_client_project(http, owner, "One")
    _, p2 = await new_client_project(http, owner, "Two")
    m, m2 = actors[Role.member].user_id, actors["member2"].user_id
    await add_member(http, owner, p1, actors[Role.project_manager].user_id, "manager")
    await add_member(http, owner, p1, m)
    await add_member(http, owner, p2, m2)
    rates = {
        "team": await rate(http, owner, scope="team"),
        "member": await rate(http, owner, scope="member", user_id=m),
        "member2": await rate(http, owner, scope="member", user_id=m2),
        "cost_member": await rate(http, owner, kind="cost", scope="member", user_id=m),
        "cost_team": await rate(http, owner, kind="cost", scope="team"),
        "client1": await rate(http, owner, scope="client", client_id=c1),
        "project1": await rate(http, owner, scope="project", project_id=p1),
        "project2": await rate(http, owner, scope="project", project_id=p2),
        "pm1_member": await rate(http, owner, scope="project_member", project_id=p1, user_id=m),
        "pm2_member2": await rate(http, owner, scope="project_member", project_id=p2, user_id=m2),
    }
    return RateWorld(actors, rates)


async def test_role_table_for_rates(client, app):
    w = await rate_world(client, app)
    every = set(w.rates)
    sees = {
        Role.superadmin: every,
        Role.org_manager: every,
        Role.sales_manager: every,
        Role.sales_rep: None,  # no access at all
        Role.project_manager: {"project1", "pm1_member"},
        Role.member: {"member", "cost_member", "pm1_member"},
        "member2": {"member2", "pm2_member2"},
    }
    writes = {Role.superadmin, Role.org_manager}
    by_id = {v["id"]: k for k, v in w.rates.items()}
    for who, actor in w.actors.items():
        r = await client.get(actor.url("/rates"), params={"limit": 200}, headers=actor.headers)
        if sees[who] is None:
            assert_problem(r, 403)
        else:
            assert r.status_code == 200, (who, r.text)
            assert {by_id[x["id"]] for x in r.json()["data"]} == sees[who], who
        for name, row in w.rates.items():
            r = await client.get(actor.url(f"/rates/{row['id']}"), headers=actor.headers)
            if sees[who] is None:
                assert_problem(r, 403)
            elif name in sees[who]:
                assert r.status_code == 200, (who, name, r.text)
            else:
                assert_problem(r, 404)

        # Writes: RATES_WRITE is superadmin and org_manager only.
        r = await post_rate(
            client, actor, scope="team", effective_from="2027-01-01", hourly_rate_amount=1
        )
        own_rate = w.rates["member"]["id"]
        r2 = await client.patch(
            actor.url(f"/rates/{own_rate}"), json={"note": str(who)}, headers=actor.headers
        )
        if who in writes:
            assert r.status_code == 201, (who, r.text)
            assert r2.status_code == 200, (who, r2.text)
            d = await client.delete(actor.url(f"/rates/{r.json()['id']}"), headers=actor.headers)
            assert d.status_code == 204, (who, d.text)
        else:
            assert_problem(r, 403)
            assert_problem(r2, 403)
            d = await client.delete(actor.url(f"/rates/{own_rate}"), headers=actor.headers)
            assert_problem(d, 403)
    owner = w.actors[Role.superadmin]
    assert len(await rate_ids(client, owner)) == len(w.rates)
    r = await client.get(owner.url(f"/rates/{w.rates['member']['id']}"), headers=owner.headers)
    assert r.json()["note"] == str(Role.org_manager)


# ------------------------------------------------------------------ ladder


LADDER = [
    # name, method, path, body, forbidden role, success
    ("list", "GET", "/rates", None, Role.sales_rep, 200),
    (
        "create",
        "POST",
        "/rates",
        {
            "scope": "team",
            "hourly_rate_amount": 1,
            "currency": "EUR",
            "effective_from": "2027-01-01",
        },
        Role.sales_manager,
        201,
    ),
    ("get", "GET", "/rates/{r}", None, Role.sales_rep, 200),
    ("update", "PATCH", "/rates/{r}", {"hourly_rate_amount": 2}, Role.sales_manager, 200),
    ("delete", "DELETE", "/rates/{r}", None, Role.sales_manager, 204),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "forbidden", "success"),
    [row[1:] for row in LADDER],
    ids=[row[0] for row in LADDER],
)
async def test_ladder(client, app, method, path, body, forbidden, success):
    owner = await make_actor(app)
    denied = await make_actor(app, team_id=owner.team_id, role=forbidden)
    mine = await rate(client, owner, scope="team", hourly_rate_amount=5)
    stranger = await make_actor(app)
    theirs = await rate(client, stranger, scope="team", hourly_rate_amount=7)
    own = path.format(r=mine["id"])
    url = owner.url(own)

    async def call(headers, target):
        return await client.request(method, target, json=body, headers=headers)

    assert_problem(await call({}, url), 401)
    assert_problem(await call({"Authorization": "Bearer nope"}, url), 401)
    assert_problem(await call(denied.headers, url), 403)
    assert_problem(await call(stranger.headers, url), 404)
    assert_problem(await call(owner.headers, stranger.url(own)), 404)
    if "{r}" in path:
        assert_problem(await call(owner.headers, owner.url(path.format(r=theirs["id"]))), 404)
        assert_problem(await call(stranger.headers, owner.url(path.format(r=theirs["id"]))), 404)
        assert_problem(await call(owner.headers, owner.url(path.format(r=uuid.uuid4()))), 404)
    r = await call(owner.headers, url)
    assert r.status_code == success, r.text
    if success == 204:
        assert r.content == b""
    else:
        assert r.headers["content-type"].startswith("application/json")
    # The other team's rate is untouched.
    r = await client.get(stranger.url(f"/rates/{theirs['id']}"), headers=stranger.headers)
    assert r.status_code == 200, r.text
    assert r.json()["hourly_rate_amount"] == 7

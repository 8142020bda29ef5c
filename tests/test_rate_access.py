"""Who may do what with rates: the role table (who reads which rates, who writes) and
every rate endpoint down the 401 -> 403 -> 404 -> success ladder."""

import uuid
from dataclasses import dataclass

import pytest

from app.core.permissions import Role
from tests.factories import Actor, make_actor
from tests.factories.clients import new_client_project
from tests.factories.projects import add_member
from tests.factories.rates import add_rate, post_rate
from tests.helpers import assert_problem, list_ids
from tests.ladder import ladder

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
        "team": await add_rate(http, owner, scope="team"),
        "member": await add_rate(http, owner, scope="member", user_id=m),
        "member2": await add_rate(http, owner, scope="member", user_id=m2),
        "cost_member": await add_rate(http, owner, kind="cost", scope="member", user_id=m),
        "cost_team": await add_rate(http, owner, kind="cost", scope="team"),
        "client1": await add_rate(http, owner, scope="client", client_id=c1),
        "project1": await add_rate(http, owner, scope="project", project_id=p1),
        "project2": await add_rate(http, owner, scope="project", project_id=p2),
        "pm1_member": await add_rate(http, owner, scope="project_member", project_id=p1, user_id=m),
        "pm2_member2": await add_rate(
            http, owner, scope="project_member", project_id=p2, user_id=m2
        ),
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
    assert len(await list_ids(client, owner, "/rates")) == len(w.rates)
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
    mine = await add_rate(client, owner, scope="team", hourly_rate_amount=5)
    stranger = await make_actor(app)
    theirs = await add_rate(client, stranger, scope="team", hourly_rate_amount=7)
    # Another team's rate under our team; an unknown one.
    foreign = [path.format(r=r) for r in (theirs["id"], uuid.uuid4())] if "{r}" in path else []
    await ladder(
        client,
        method,
        path.format(r=mine["id"]),
        owner=owner,
        stranger=stranger,
        forbidden=denied,
        foreign_paths=foreign,
        json=body,
        ok=success,
    )
    # The other team's rate is untouched.
    r = await client.get(stranger.url(f"/rates/{theirs['id']}"), headers=stranger.headers)
    assert r.status_code == 200, r.text
    assert r.json()["hourly_rate_amount"] == 7

"""Listing time entries: filters by dates (whole days in the team's time zone), instants
and fields, newest first with cursors that neither repeat nor skip, and a query count that
does not grow with the month."""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import event

from app.core.permissions import Role
from tests.factories import Actor, make_actor
from tests.factories.clients import new_client_project
from tests.factories.projects import add_member, project_team
from tests.factories.teams import patch_team
from tests.factories.time_tracking import log, mark_invoiced
from tests.helpers import assert_problem, at, list_ids, parse

# ------------------------------------------------------------------ filters and pages


@dataclass
class FilterWorld:
    owner: Actor
    member: Actor
    client1: str
    client2: str
    p1: str
    p2: str
    e: dict[str, str]  # e1..e4 (the member's), o1 (the owner's)


async def filter_world(http, app) -> FilterWorld:
    """A New York team (UTC-5 in January); the member's entries start, locally, on
    Jan 9 23:30 (e1, invoiced), Jan 10 00:30 (e2), Jan 10 23:00 (e3, not billable, on
    the second client) and Jan 11 01:00 (e4, second client); the owner's o1 = e2's slot."""
    owner = await make_actor(app)
    member = await make_actor(app, team_id=owner.team_id, role=Role.member)
    await patch_team(http, owner, timezone="America/New_York")
    client1, p1 = await new_client_project(http, owner, "One")
    client2, p2 = await new_client_project(http, owner, "Two")
    for p in (p1, p2):
        await add_member(http, owner, p, member.user_id)

    def jan(day: int, hour: int, minute: int = 0) -> datetime:
        return at(day, hour, minute, month=1)

    e = {
        "e1": await log(http, member, p1, jan(10, 4, 30), jan(10, 5, 15)),
        "e2": await log(http, member, p1, jan(10, 5, 30), jan(10, 6, 30)),
        "e3": await log(http, member, p2, jan(11, 4), jan(11, 5), billable=False),
        "e4": await log(http, member, p2, jan(11, 6), jan(11, 7)),
        "o1": await log(http, owner, p1, jan(10, 5, 30), jan(10, 6, 30)),
    }
    await mark_invoiced(app, e["e1"]["id"])
    return FilterWorld(owner, member, client1, client2, p1, p2, {k: v["id"] for k, v in e.items()})


async def filtered(http, actor: Actor, w: FilterWorld, **params) -> set[str]:
    """The names (e1.., o1) of the entries listed with `params`."""
    found = await list_ids(http, actor, "/time-entries", **params)
    assert len(found) == len(set(found))
    names = {v: k for k, v in w.e.items()}
    return {names[i] for i in found}


async def test_list_filters_from_to_dates_are_whole_days_in_the_team_time_zone(client, app):
    w = await filter_world(client, app)
    o = w.owner
    # Dates are whole days in the team's time zone, `to` inclusive.
    assert await filtered(client, o, w, **{"from": "2026-01-10", "to": "2026-01-10"}) == {
        "e2",
        "e3",
        "o1",
    }
    assert await filtered(client, o, w, **{"from": "2026-01-10"}) == {"e2", "e3", "e4", "o1"}
    assert await filtered(client, o, w, to="2026-01-09") == {"e1"}
    assert await filtered(client, o, w, **{"from": "2026-01-11", "to": "2026-01-11"}) == {"e4"}
    assert await filtered(client, o, w, **{"from": "2026-01-09", "to": "2026-01-09"}) == {"e1"}
    assert await filtered(client, w.member, w, **{"from": "2026-01-10", "to": "2026-01-10"}) == {
        "e2",
        "e3",
    }


async def test_list_filters_by_instants_and_fields(client, app):
    w = await filter_world(client, app)
    o = w.owner
    everything = {"e1", "e2", "e3", "e4", "o1"}
    assert await filtered(client, o, w) == everything
    # Instants: `from` inclusive, `to` exclusive.
    assert await filtered(
        client, o, w, **{"from": "2026-01-10T05:30:00Z", "to": "2026-01-11T06:00:00Z"}
    ) == {"e2", "e3", "o1"}
    assert await filtered(
        client, o, w, **{"from": "2026-01-10T00:00:00-05:00", "to": "2026-01-11T00:00:00-05:00"}
    ) == {"e2", "e3", "o1"}
    assert await filtered(client, o, w, **{"from": "2026-01-10T05:30:01Z"}) == {"e3", "e4"}
    assert await filtered(client, o, w, to="2026-01-10T05:30:00Z") == {"e1"}

    member_id, owner_id = str(w.member.user_id), str(w.owner.user_id)
    assert await filtered(client, o, w, user_id=member_id) == {"e1", "e2", "e3", "e4"}
    assert await filtered(client, o, w, user_id=owner_id) == {"o1"}
    assert await filtered(client, o, w, project_id=w.p2) == {"e3", "e4"}
    assert await filtered(client, o, w, client_id=w.client1) == {"e1", "e2", "o1"}
    assert await filtered(client, o, w, client_id=w.client2) == {"e3", "e4"}
    assert await filtered(client, o, w, client_id=str(uuid.uuid4())) == set()
    assert await filtered(client, o, w, billable="false") == {"e3"}
    assert await filtered(client, o, w, billable="true") == everything - {"e3"}
    assert await filtered(client, o, w, invoiced="true") == {"e1"}
    assert await filtered(client, o, w, invoiced="false") == everything - {"e1"}
    # Filters combine.
    assert await filtered(
        client, o, w, user_id=member_id, client_id=w.client1, invoiced="false", billable="true"
    ) == {"e2"}
    # A member filtering on someone else finds nothing of theirs.
    assert await filtered(client, w.member, w, user_id=owner_id) == set()
    assert await filtered(client, w.member, w, client_id=w.client1) == {"e1", "e2"}

    for bad in ({"from": "yesterday"}, {"billable": "maybe"}, {"user_id": "nope"}):
        r = await client.get(o.url("/time-entries"), params=bad, headers=o.headers)
        assert_problem(r, 422)


async def test_list_is_newest_first_and_cursor_paginated_without_repeats(client, app):
    s = await project_team(client, app)
    other = await make_actor(app, team_id=s.owner.team_id, role=Role.member)
    await add_member(client, s.owner, s.project_id, other.user_id)
    created = []
    for day in range(2, 9):
        created.append(await log(client, s.member, s.project_id, at(day, 9), at(day, 10)))
        # Ties on started_at (another user, same instant) are ordered too.
        created.append(await log(client, other, s.project_id, at(day, 9), at(day, 10)))

    seen: list[dict] = []
    r = await client.get(s.owner.url("/time-entries"), params={"limit": 4}, headers=s.owner.headers)
    assert r.status_code == 200, r.text
    page = r.json()
    seen += page["data"]
    assert page["has_more"] is True and page["next_cursor"]
    # Rows added while paging: an older one (still to come) and a newer one (already passed).
    late_old = await log(client, s.member, s.project_id, at(1, 9), at(1, 10))
    late_new = await log(client, s.member, s.project_id, at(20, 9), at(20, 10))
    while page["has_more"]:
        r = await client.get(
            s.owner.url("/time-entries"),
            params={"limit": 4, "cursor": page["next_cursor"]},
            headers=s.owner.headers,
        )
        assert r.status_code == 200, r.text
        page = r.json()
        assert len(page["data"]) <= 4
        seen += page["data"]
    assert page["next_cursor"] is None
    ids = [row["id"] for row in seen]
    assert len(ids) == len(set(ids)), "an entry was repeated"
    assert set(ids) == {e["id"] for e in created} | {late_old["id"]}
    assert late_new["id"] not in ids
    keys = [(parse(row["started_at"]), row["id"]) for row in seen]
    assert keys == sorted(keys, reverse=True)
    assert parse(seen[0]["started_at"]) == at(8, 9)
    assert seen[-1]["id"] == late_old["id"]

    r = await client.get(
        s.owner.url("/time-entries"), params={"cursor": "not-a-cursor"}, headers=s.owner.headers
    )
    assert_problem(r, 400, "invalid_cursor")
    for limit in (0, 201):
        r = await client.get(
            s.owner.url("/time-entries"), params={"limit": limit}, headers=s.owner.headers
        )
        assert_problem(r, 422)


# ------------------------------------------------------------------ query count


async def test_listing_a_month_costs_a_constant_number_of_queries(client, app):
    """Listing a user's month of entries, priced, costs exactly 5 SQL statements whether
    it holds 5 or 40 entries (observed: caller, team and role in one, team, the page,
    billing targets, rates) - never one per entry, project or rate."""
    s = await project_team(client, app)
    _, p2 = await new_client_project(client, s.owner, "Second", currency="EUR")
    await add_member(client, s.owner, p2, s.member.user_id)
    for body in (
        {"scope": "team"},
        {"scope": "member", "user_id": str(s.member.user_id)},
        {"scope": "client", "client_id": s.client_id},
        {"scope": "project", "project_id": p2},
        {"scope": "project_member", "project_id": s.project_id, "user_id": str(s.member.user_id)},
    ):
        for i, day in enumerate(("2026-01-01", "2026-03-15")):
            r = await client.post(
                s.owner.url("/rates"),
                json={
                    **body,
                    "hourly_rate_amount": 5000 + 100 * i,
                    "currency": "EUR",
                    "effective_from": day,
                },
                headers=s.owner.headers,
            )
            assert r.status_code == 201, r.text

    statements: list[str] = []

    def counter(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    async def count_listing(expected_rows: int) -> int:
        engine = app.state.db.engine.sync_engine
        statements.clear()
        event.listen(engine, "before_cursor_execute", counter)
        try:
            r = await client.get(
                s.member.url("/time-entries"),
                params={
                    "user_id": str(s.member.user_id),
                    "from": "2026-03-01",
                    "to": "2026-03-31",
                    "limit": 200,
                },
                headers=s.member.headers,
            )
        finally:
            event.remove(engine, "before_cursor_execute", counter)
        assert r.status_code == 200, r.text
        rows = r.json()["data"]
        assert len(rows) == expected_rows
        assert all(row["bill_rate_amount"] is not None for row in rows)
        return len(statements)

    def slot(n: int) -> tuple[datetime, datetime]:
        day, half = divmod(n, 2)
        start = at(1 + day, 9 + 4 * half)
        return start, start + timedelta(hours=1)

    projects = [s.project_id, p2]
    for n in range(5):
        await log(client, s.member, projects[n % 2], *slot(n))
    few = await count_listing(5)
    for n in range(5, 40):
        await log(client, s.member, projects[n % 2], *slot(n))
    many = await count_listing(40)
    assert few == many, (few, many)
    assert few == 5, statements

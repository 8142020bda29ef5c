"""The bill rate of a time entry: the precedence table (project member > project >
client > member > team, in the team's time zone, with the client's and project's own
rates as undated fallbacks), and billable amounts rounded half-up to the minor unit."""

from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest

from app.core.permissions import Role
from tests.factories import make_actor
from tests.factories.clients import new_client_project
from tests.factories.projects import add_member, project_team
from tests.factories.rates import add_rate
from tests.factories.time_tracking import get_entry, log
from tests.helpers import patch, utc

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
    await add_rate(
        client,
        owner,
        scope="team",
        currency="USD",
        hourly_rate_amount=99999,
        effective_from="2020-01-01",
    )
    await add_rate(
        client,
        owner,
        kind="cost",
        scope="member",
        user_id=m.user_id,
        hourly_rate_amount=88888,
        effective_from="2020-01-01",
    )
    await add_rate(
        client,
        owner,
        scope="client",
        client_id=other_client,
        hourly_rate_amount=77777,
        effective_from="2020-01-01",
    )
    await add_rate(
        client,
        owner,
        scope="project",
        project_id=other_project,
        hourly_rate_amount=66666,
        effective_from="2020-01-01",
    )
    await add_rate(
        client, owner, scope="team", hourly_rate_amount=55555, effective_from="2026-06-02"
    )
    assert await winners() == (None, None, None)

    await add_rate(
        client, owner, scope="team", hourly_rate_amount=10000, effective_from="2026-01-01"
    )
    assert await winners() == (10000, 10000, 10000)
    await add_rate(
        client,
        owner,
        scope="member",
        user_id=m.user_id,
        hourly_rate_amount=12000,
        effective_from="2026-06-01",
    )
    assert await winners() == (10000, 12000, 10000)
    await add_rate(
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
    await add_rate(
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
    pm_jun = await add_rate(
        client,
        owner,
        scope="project_member",
        project_id=project_id,
        user_id=m.user_id,
        hourly_rate_amount=18000,
        effective_from="2026-06-01",
    )
    assert await winners() == (15000, 18000, 16000)
    pm_jan = await add_rate(
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
    s = await project_team(client, app)
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
    await add_rate(client, s.owner, scope="member", user_id=s.member.user_id, hourly_rate_amount=1)
    assert (await get_entry(client, s.member, e["id"]))["bill_rate_amount"] == 8000
    # A dated project rate in effect outranks the project's own rate.
    await add_rate(
        client,
        s.owner,
        scope="project",
        project_id=s.project_id,
        hourly_rate_amount=9000,
        effective_from="2026-03-02",
    )
    assert (await get_entry(client, s.member, e["id"]))["bill_rate_amount"] == 9000


async def test_non_billable_time_has_no_amount_and_misses_no_rate(client, app):
    s = await project_team(client, app)
    e = await log(
        client, s.member, s.project_id, utc(2026, 3, 2, 9), utc(2026, 3, 2, 10), billable=False
    )
    assert e["rate_missing"] is False
    await add_rate(client, s.owner, scope="team", hourly_rate_amount=5000)
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
    s = await project_team(client, app, currency=currency)
    await add_rate(
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
    s = await project_team(client, app, currency="JPY")
    await add_rate(
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

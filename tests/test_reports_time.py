"""The time report: totals against figures worked out by hand, days and ISO weeks cut in
the team's time zone across a DST change, several currencies, and what each role sees."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import text

from app.auth import service as auth_service
from app.core.db import unit_of_work
from app.core.permissions import Role
from app.reports.time_figures import REPORT_LOOKUP, REPORT_SETTINGS, Money
from tests.factories import Actor, make_actor
from tests.factories.clients import new_client_project
from tests.factories.invoices import add_exchange_rate
from tests.factories.projects import add_member
from tests.factories.rates import add_rate
from tests.factories.teams import patch_team
from tests.factories.time_tracking import add_entry
from tests.helpers import assert_problem

NY = ZoneInfo("America/New_York")
MARCH = {"from": "2026-03-01", "to": "2026-04-30"}


def ny(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=NY)


async def report(http, actor: Actor, **params) -> dict:
    r = await http.get(actor.url("/reports/time"), params=params, headers=actor.headers)
    assert r.status_code == 200, r.text
    return r.json()


def by_key(body: dict) -> dict:
    return {row["key"]: row for row in body["rows"]}


@dataclass
class Agency:
    owner: Actor
    a: str  # client A (EUR), project pa
    b: str  # client B (USD), project pb
    d: str  # client D (GBP, no rate), project pd
    pa: str
    pb: str
    pd: str


async def agency(http, app, **client_a) -> Agency:
    """New York team, base EUR. Rates: team 100.00 EUR/h; pb 120.00 USD/h; USD at 0.9 EUR,
    0.8 from 2026-03-30; cost 40.00 EUR/h, the owner's 60.00 from 2026-03-09.

    The owner's entries (local New York time):
      E1 pa Wed 03-04 23:30 (04:30Z on 03-05) 30 min billable
      E2 pa Sun 03-08 23:00 EDT, the day clocks moved on (03:00Z Mon 03-09) 1 h billable
      E3 pa Mon 03-09 00:30 30 min not billable
      E4 pb Tue 03-10 10:00 2 h billable
      E5 pb Wed 04-01 10:00 1 h billable
      E6 pd Wed 03-11 10:00 1 h billable (GBP: no rate)
    """
    owner = await make_actor(app)
    await patch_team(http, owner, timezone="America/New_York")
    a, pa = await new_client_project(http, owner, "Alpha", **client_a)
    b, pb = await new_client_project(http, owner, "Bravo", "USD")
    d, pd = await new_client_project(http, owner, "Delta", "GBP")
    await add_rate(http, owner, 10000)
    await add_rate(http, owner, 12000, "USD", scope="project", project_id=pb)
    await add_exchange_rate(http, owner, "USD", "0.9", "2026-01-01")
    await add_exchange_rate(http, owner, "USD", "0.8", "2026-03-30")
    await add_rate(http, owner, 4000, kind="cost")
    await add_rate(
        http,
        owner,
        6000,
        kind="cost",
        scope="member",
        user_id=owner.user_id,
        effective_from="2026-03-09",
    )
    await add_entry(http, owner, pa, ny(4, 23, 30), 1800)
    await add_entry(http, owner, pa, ny(8, 23), 3600)
    await add_entry(http, owner, pa, ny(9, 0, 30), 1800, billable=False)
    await add_entry(http, owner, pb, ny(10, 10), 7200)
    await add_entry(http, owner, pb, ny(1, 10, month=4), 3600)
    await add_entry(http, owner, pd, ny(11, 10), 3600)
    return Agency(owner, a, b, d, pa, pb, pd)


async def test_time_by_client_prices_each_entry_at_its_dates_rates_in_the_base_currency(
    client, app
):
    w = await agency(client, app)
    body = await report(client, w.owner, group_by="client", **MARCH)
    assert (body["currency"], body["from"], body["to"]) == ("EUR", "2026-03-01", "2026-04-30")
    rows = by_key(body)
    assert [r["label"] for r in body["rows"]] == ["Alpha", "Bravo", "Delta"]
    # Alpha: 5400 s billable at 100.00 -> 150.00; cost 1800@40 + 3600@40 + 1800@60 = 90.00
    assert rows[w.a] == {
        "key": w.a,
        "label": "Alpha",
        "then_key": None,
        "then_label": None,
        "seconds": 7200,
        "billable_seconds": 5400,
        "billable_amount": 15000,
        "unpriced_seconds": 0,
        "cost_amount": 9000,
        "uncosted_seconds": 0,
    }
    # Bravo: 2 h x 120 USD x 0.9 + 1 h x 120 USD x 0.8 = 216.00 + 96.00 EUR; cost 3 h @ 60
    assert rows[w.b]["billable_amount"] == 31200
    assert rows[w.b]["cost_amount"] == 18000
    # Delta has no GBP rate: its hour is unpriced, not worth 0.
    assert rows[w.d]["billable_amount"] == 0
    assert rows[w.d]["unpriced_seconds"] == 3600
    assert body["totals"] == {
        "seconds": 21600,
        "billable_seconds": 19800,
        "billable_amount": 46200,
        "unpriced_seconds": 3600,
        "cost_amount": 33000,
        "uncosted_seconds": 0,
    }


async def test_days_and_iso_weeks_are_cut_in_the_team_time_zone_across_dst(client, app):
    w = await agency(client, app)
    weeks = by_key(await report(client, w.owner, group_by="week", **MARCH))
    # E2 starts on Monday 03-09 in UTC, but on Sunday 03-08 (the DST day) in New York.
    assert sorted(weeks) == ["2026-03-02", "2026-03-09", "2026-03-30"]
    assert weeks["2026-03-02"]["label"] == "2026-W10"
    assert (weeks["2026-03-02"]["seconds"], weeks["2026-03-02"]["billable_amount"]) == (5400, 15000)
    assert weeks["2026-03-09"]["seconds"] == 1800 + 7200 + 3600
    assert weeks["2026-03-09"]["billable_amount"] == 21600
    assert weeks["2026-03-30"]["billable_amount"] == 9600

    days = by_key(await report(client, w.owner, group_by="day", **MARCH))
    assert days["2026-03-04"]["seconds"] == 1800  # 23:30 local: not 03-05 as in UTC
    assert "2026-03-05" not in days
    assert days["2026-03-08"]["seconds"] == 3600

    # `from`/`to` are local dates too: 03-05..03-08 holds E2 only, not E1 (03-05 in UTC).
    span = await report(
        client, w.owner, group_by="day", **{"from": "2026-03-05", "to": "2026-03-08"}
    )
    assert [(r["key"], r["seconds"]) for r in span["rows"]] == [("2026-03-08", 3600)]


async def test_then_by_and_filters(client, app):
    w = await agency(client, app)
    body = await report(client, w.owner, group_by="client", then_by="week", **MARCH)
    pairs = {(r["key"], r["then_key"]): r for r in body["rows"]}
    assert set(pairs) == {
        (w.a, "2026-03-02"),
        (w.a, "2026-03-09"),
        (w.b, "2026-03-09"),
        (w.b, "2026-03-30"),
        (w.d, "2026-03-09"),
    }
    assert pairs[(w.b, "2026-03-30")]["then_label"] == "2026-W14"
    assert body["totals"]["billable_amount"] == 46200

    only_b = await report(client, w.owner, group_by="project", client_id=w.b, **MARCH)
    assert [(r["key"], r["billable_amount"]) for r in only_b["rows"]] == [(w.pb, 31200)]
    unbillable = await report(client, w.owner, group_by="user", billable="false", **MARCH)
    assert unbillable["totals"]["seconds"] == 1800
    assert unbillable["totals"]["billable_amount"] == 0
    by_task = await report(client, w.owner, group_by="task", project_id=w.pa, **MARCH)
    assert [(r["key"], r["label"], r["seconds"]) for r in by_task["rows"]] == [
        (None, "No task", 7200)
    ]


async def test_each_role_sees_its_rows_and_only_the_money_it_may_read(client, app):
    w = await agency(client, app)
    team = w.owner.team_id
    rep = await make_actor(app, team_id=team, role=Role.sales_rep)
    pm = await make_actor(app, team_id=team, role=Role.project_manager)
    member = await make_actor(app, team_id=team, role=Role.member)
    sales_manager = await make_actor(app, team_id=team, role=Role.sales_manager)
    r = await client.patch(
        w.owner.url(f"/clients/{w.b}"), json={"owner_id": str(rep.user_id)}, headers=w.owner.headers
    )
    assert r.status_code == 200, r.text
    await add_member(client, w.owner, w.pa, pm.user_id, role="manager")
    await add_member(client, w.owner, w.pa, member.user_id)
    await add_entry(client, member, w.pa, ny(12, 9), 3600)

    everyone = by_key(await report(client, sales_manager, group_by="client", **MARCH))
    assert everyone[w.a]["seconds"] == 7200 + 3600
    # The member has no cost rate of its own: the team's 40.00 applies to its hour.
    assert everyone[w.a]["cost_amount"] == 9000 + 4000
    assert everyone[w.a]["uncosted_seconds"] == 0

    rep_view = await report(client, rep, group_by="client", **MARCH)
    assert [row["key"] for row in rep_view["rows"]] == [w.b]  # own clients only
    assert rep_view["rows"][0]["seconds"] == 10800
    assert rep_view["rows"][0]["billable_amount"] is None  # no rates for a sales rep
    assert rep_view["totals"]["cost_amount"] is None

    pm_view = await report(client, pm, group_by="project", **MARCH)
    assert [row["key"] for row in pm_view["rows"]] == [w.pa]  # their projects
    assert pm_view["totals"]["billable_amount"] == 15000 + 10000
    assert pm_view["totals"]["cost_amount"] is None  # cost rates are the team's

    member_view = await report(client, member, group_by="user", **MARCH)
    assert [row["key"] for row in member_view["rows"]] == [str(member.user_id)]  # own time
    assert member_view["totals"]["billable_amount"] == 10000
    assert member_view["totals"]["cost_amount"] is None


async def test_one_statement_per_shape_answers_each_caller_with_its_own_values(client, app):
    """Report statements are built once per shape and cached: the next caller of the
    same shape (another member, another team, another period) binds its own values."""
    w = await agency(client, app)
    member = await make_actor(app, team_id=w.owner.team_id, role=Role.member)
    await add_member(client, w.owner, w.pa, member.user_id)
    await add_entry(client, member, w.pa, ny(12, 9), 900)
    other = await agency(client, app)
    await add_entry(client, other.owner, other.pa, ny(13, 9), 600)

    mine = await report(client, member, group_by="user", **MARCH)
    assert [(r["key"], r["seconds"]) for r in mine["rows"]] == [(str(member.user_id), 900)]
    owner = await report(client, w.owner, group_by="user", **MARCH)
    assert owner["totals"]["seconds"] == 1800 + 3600 + 1800 + 7200 + 3600 + 3600 + 900
    theirs = await report(client, other.owner, group_by="user", **MARCH)
    assert theirs["totals"]["seconds"] == owner["totals"]["seconds"] - 900 + 600
    april = await report(
        client, w.owner, group_by="user", **{"from": "2026-04-01", "to": "2026-04-30"}
    )
    assert april["totals"]["seconds"] == 3600  # E5 only


async def test_bad_input_is_a_problem(client, app):
    owner = await make_actor(app)
    cases = [
        ({"from": "2026-03-02", "to": "2026-03-01", "group_by": "day"}, "report_period_invalid"),
        ({"from": "2020-01-01", "to": "2026-03-01", "group_by": "day"}, "report_period_too_long"),
        (
            {"from": "2026-03-01", "to": "2026-03-02", "group_by": "day", "then_by": "day"},
            "report_then_by_same",
        ),
    ]
    for params, code in cases:
        r = await client.get(owner.url("/reports/time"), params=params, headers=owner.headers)
        assert_problem(r, 422, code)
    for params in (
        {"from": "2026-03-01", "to": "2026-03-02", "group_by": "month"},
        {"from": "2026-03-01", "group_by": "day"},
        {"from": "9999-01-01", "to": "9999-12-31", "group_by": "day"},
    ):
        r = await client.get(owner.url("/reports/time"), params=params, headers=owner.headers)
        assert_problem(r, 422)


def test_money_sums_exactly_across_currencies_and_rounds_half_up_once():
    half = Money()
    half.add(1800, "EUR", "EUR")  # 1 s at 18.00/h: half a cent
    assert half.amount() == 1
    mixed = Money()
    mixed.add(2250, "EUR", "EUR")  # 1 s at 22.50/h: 0.625 cent
    mixed.add(Decimal(2250) * Decimal("0.9"), "USD", "EUR")  # 1 s at 22.50 USD/h: 0.5625
    assert mixed.amount() == 1  # 1.1875 cents, rounded once (not 1 + 1)
    yen = Money()
    yen.add(Decimal(3600) * 100 * Decimal("0.0062"), "JPY", "EUR")  # 1 h at 100 JPY
    assert yen.amount() == 62  # JPY has no minor unit: 100 JPY = 0.62 EUR
    kwd = Money()
    kwd.add(Decimal("3600") * 1005 * Decimal("3.1"), "KWD", "EUR")  # 1.005 KWD at 3.1
    assert kwd.amount() == 312  # 3.1155 EUR


async def test_reports_and_entry_lists_price_with_the_same_resolution(client, app):
    """Every scope of the precedence, changing over time: each one-hour entry's rate on
    the time list (index probes) is its row's amount in the report (range joins)."""
    owner = await make_actor(app)
    await patch_team(client, owner, timezone="America/New_York")
    member = await make_actor(app, team_id=owner.team_id, role=Role.member)
    alpha, pa = await new_client_project(client, owner, "Alpha", hourly_rate_amount=7000)
    _, pb = await new_client_project(client, owner, "Bravo")
    r = await client.patch(
        owner.url(f"/projects/{pb}"), json={"hourly_rate_amount": 6500}, headers=owner.headers
    )
    assert r.status_code == 200, r.text
    for project in (pa, pb):
        await add_member(client, owner, project, member.user_id)
    await add_rate(client, owner, 5000, effective_from="2026-01-01")
    await add_rate(client, owner, 5500, effective_from="2026-02-01")
    await add_rate(
        client, owner, 6000, scope="member", user_id=member.user_id, effective_from="2026-02-10"
    )
    await add_rate(
        client, owner, 8000, scope="client", client_id=alpha, effective_from="2026-02-15"
    )
    await add_rate(client, owner, 9000, scope="project", project_id=pa, effective_from="2026-02-20")
    await add_rate(
        client,
        owner,
        9900,
        scope="project_member",
        project_id=pa,
        user_id=member.user_id,
        effective_from="2026-02-25",
    )
    entries = []
    for day in (5, 12, 16, 21, 26):
        for who in (owner, member):
            for project in (pa, pb):
                start = datetime(2026, 2, day, 9 if who is owner else 11, tzinfo=NY)
                start += timedelta(hours=0 if project == pa else 4)
                entries.append(await add_entry(client, who, project, start, 3600))
    r = await client.get(owner.url("/time-entries?limit=200"), headers=owner.headers)
    listed = {e["id"]: e["bill_rate_amount"] for e in r.json()["data"]}
    body = await report(
        client,
        owner,
        group_by="day",
        then_by="user",
        **{"from": "2026-02-01", "to": "2026-02-28"},
        project_id=pa,
    )
    body_b = await report(
        client,
        owner,
        group_by="day",
        then_by="user",
        **{"from": "2026-02-01", "to": "2026-02-28"},
        project_id=pb,
    )
    reported = {
        (row["key"], row["then_key"], project): row["billable_amount"]
        for project, b in ((pa, body), (pb, body_b))
        for row in b["rows"]
    }
    for e in entries:
        key = (e["started_at"][:10], e["user_id"], e["project_id"])
        assert reported[key] == listed[e["id"]], (key, reported[key], listed[e["id"]])
    assert len(set(listed.values())) >= 5  # the scopes really differ


async def test_the_authentication_query_gives_a_report_its_team_and_settings(app):
    """A report's team (time zone, base currency) and transaction settings come with
    its authentication, for the rest of that transaction only."""
    owner = await make_actor(app)
    state = app.state
    async with unit_of_work(state.db, state.redis) as session:
        ctx, team = await auth_service.team_row_for_token(
            session, state.redis, state.secrets, owner.access_token, owner.team_id, REPORT_LOOKUP
        )
        assert (ctx.team_id, team.base_currency, team.timezone) == (owner.team_id, "EUR", "UTC")
        shown = await session.execute(
            text("SELECT current_setting('work_mem'), current_setting('jit')")
        )
        assert tuple(shown.one()) == tuple(REPORT_SETTINGS.values())
    async with unit_of_work(state.db, state.redis) as session:
        assert await session.scalar(text("SELECT current_setting('work_mem')")) != "64MB"

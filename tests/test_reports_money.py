"""Revenue, outstanding, uninvoiced and a client's profitability: figures worked out by
hand in two currencies, and what each role may read of them."""

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from app.core.clock import today_in
from app.core.permissions import Role
from tests.factories import Actor, make_actor
from tests.factories.clients import new_client_project
from tests.factories.invoices import add_exchange_rate, finalize, manual_draft
from tests.factories.payments import pay
from tests.factories.projects import add_member
from tests.factories.rates import add_rate
from tests.factories.teams import create_api_key
from tests.factories.time_tracking import add_entry
from tests.helpers import assert_problem


def day(offset: int) -> str:
    return (today_in("UTC") + timedelta(days=offset)).isoformat()


async def get(http, actor: Actor, path: str, **params) -> dict:
    r = await http.get(actor.url(path), params=params, headers=actor.headers)
    assert r.status_code == 200, r.text
    return r.json()


@dataclass
class Books:
    owner: Actor
    rep: Actor
    alpha: str  # EUR client, project pa
    bravo: str  # USD client owned by the sales rep, project pb
    pa: str
    pb: str


async def books(http, app) -> Books:
    """Base EUR, UTC. USD at 0.9 from 2026-01-01, 0.95 from a week ago.

    Alpha: invoice of 100.00 + 20 % tax issued 60 days ago, due 45 days ago; 2 h of
    uninvoiced time at 100.00/h (cost 40.00/h) a week ago.
    Bravo: invoice of 200.00 USD issued 10 days ago (fixed at 0.9: 180.00 EUR), due in 5
    days; 100.00 USD paid 5 days ago at 0.95 (95.00 EUR, 5.00 gained); 1 h uninvoiced
    at 120.00 USD/h.
    """
    owner = await make_actor(app)
    rep = await make_actor(app, team_id=owner.team_id, role=Role.sales_rep)
    alpha, pa = await new_client_project(http, owner, "Alpha")
    bravo, pb = await new_client_project(http, owner, "Bravo", "USD", owner_id=str(rep.user_id))
    for client_id in (alpha, bravo):
        r = await http.patch(
            owner.url(f"/clients/{client_id}"),
            json={"payment_methods": ["bank"]},
            headers=owner.headers,
        )
        assert r.status_code == 200, r.text
    await add_exchange_rate(http, owner, "USD", "0.9", "2026-01-01")
    await add_rate(http, owner, 10000, effective_from="2026-01-01")
    await add_rate(http, owner, 4000, kind="cost", effective_from="2026-01-01")
    await add_rate(http, owner, 12000, "USD", scope="project", project_id=pb)

    lines = [{"description": "Design", "quantity": "1", "unit_amount": 10000, "tax_rate_bps": 2000}]
    r = await http.post(
        owner.url("/invoices"),
        json={"client_id": alpha, "lines": lines, "issue_date": day(-60), "due_date": day(-45)},
        headers=owner.headers,
    )
    assert r.status_code == 201, r.text
    a = await finalize(http, owner, r.json()["id"])
    assert (a["total_amount"], a["tax_amount"]) == (12000, 2000)
    b = await manual_draft(http, owner, bravo, 20000, issue_date=day(-10), due_date=day(5))
    b = await finalize(http, owner, b["id"])
    await add_exchange_rate(http, owner, "USD", "0.95", day(-7))
    paid_at = datetime.combine(today_in("UTC") - timedelta(days=5), datetime.min.time(), UTC)
    r = await pay(http, owner, b["id"], 10000, paid_at=paid_at.replace(hour=12).isoformat())
    assert r.status_code == 201, r.text
    assert (r.json()["base_amount"], r.json()["fx_difference_amount"]) == (9500, 500)

    week_ago = paid_at - timedelta(days=2) + timedelta(hours=9)
    await add_entry(http, owner, pa, week_ago, 7200)
    await add_entry(http, owner, pb, week_ago + timedelta(hours=3), 3600)
    return Books(owner, rep, alpha, bravo, pa, pb)


async def test_revenue_by_client_and_month_in_the_base_currency(client, app):
    w = await books(client, app)
    period = {"from": day(-90), "to": day(0)}
    body = await get(client, w.owner, "/reports/revenue", group_by="client", **period)
    rows = {r["key"]: r for r in body["rows"]}
    assert rows[w.alpha] == {
        "key": w.alpha,
        "label": "Alpha",
        "invoiced_amount": 12000,
        "net_amount": 10000,
        "paid_amount": 0,
        "fx_difference_amount": 0,
    }
    assert rows[w.bravo] == {
        "key": w.bravo,
        "label": "Bravo",
        "invoiced_amount": 18000,
        "net_amount": 18000,
        "paid_amount": 9500,
        "fx_difference_amount": 500,
    }
    assert body["totals"] == {
        "invoiced_amount": 30000,
        "net_amount": 28000,
        "paid_amount": 9500,
        "fx_difference_amount": 500,
    }
    months = await get(client, w.owner, "/reports/revenue", group_by="month", **period)
    assert sum(r["invoiced_amount"] for r in months["rows"]) == 30000
    assert [r["key"] for r in months["rows"]] == sorted({day(-60)[:7], day(-10)[:7], day(-5)[:7]})
    # A period before the invoices holds none of them.
    early = await get(
        client,
        w.owner,
        "/reports/revenue",
        group_by="client",
        **{"from": day(-200), "to": day(-61)},
    )
    assert early["rows"] == []


async def test_outstanding_ages_open_invoices_by_days_past_due(client, app):
    w = await books(client, app)
    body = await get(client, w.owner, "/reports/outstanding")
    rows = {r["client_id"]: r for r in body["rows"]}
    assert body["as_of"] == day(0)
    assert rows[w.alpha] == {
        "client_id": w.alpha,
        "label": "Alpha",
        "invoice_count": 1,
        "outstanding_amount": 12000,
        "current": 0,
        "1_30": 0,
        "31_60": 12000,
        "61_90": 0,
        "over_90": 0,
    }
    # 100.00 USD still due, at the invoice's fixed 0.9: 90.00 EUR, not yet due.
    assert (rows[w.bravo]["current"], rows[w.bravo]["outstanding_amount"]) == (9000, 9000)
    assert body["totals"]["outstanding_amount"] == 21000
    assert body["totals"]["31_60"] == 12000


async def test_uninvoiced_per_client_and_project_in_both_currencies(client, app):
    w = await books(client, app)
    body = await get(client, w.owner, "/reports/uninvoiced")
    rows = {r["project_id"]: r for r in body["rows"]}
    assert rows[w.pa]["seconds"] == 7200
    assert (rows[w.pa]["amount"], rows[w.pa]["currency"], rows[w.pa]["base_amount"]) == (
        20000,
        "EUR",
        20000,
    )
    # 1 h at 120.00 USD, worth 114.00 EUR at today's 0.95.
    assert (rows[w.pb]["amount"], rows[w.pb]["currency"], rows[w.pb]["base_amount"]) == (
        12000,
        "USD",
        11400,
    )
    assert rows[w.pb]["oldest_entry_date"] == day(-7)
    assert body["totals"] == {"seconds": 10800, "base_amount": 31400, "unpriced_seconds": 0}
    only = await get(client, w.owner, "/reports/uninvoiced", client_id=w.bravo)
    assert [r["project_id"] for r in only["rows"]] == [w.pb]


async def test_client_profitability(client, app):
    w = await books(client, app)
    period = {"from": day(-90), "to": day(0)}
    body = await get(client, w.owner, f"/reports/clients/{w.alpha}", **period)
    # Revenue before tax 100.00; cost 2 h at 40.00 = 80.00; profit 20.00: a 20 % margin.
    assert {
        k: body[k]
        for k in (
            "revenue_amount",
            "paid_amount",
            "outstanding_amount",
            "seconds",
            "billable_seconds",
            "cost_amount",
            "profit_amount",
            "margin_bps",
            "billable_amount",
            "currency",
        )
    } == {
        "revenue_amount": 10000,
        "paid_amount": 0,
        "outstanding_amount": 12000,
        "seconds": 7200,
        "billable_seconds": 7200,
        "cost_amount": 8000,
        "profit_amount": 2000,
        "margin_bps": 2000,
        "billable_amount": 20000,
        "currency": "EUR",
    }
    bravo = await get(client, w.owner, f"/reports/clients/{w.bravo}", **period)
    assert (bravo["revenue_amount"], bravo["paid_amount"], bravo["outstanding_amount"]) == (
        18000,
        9500,
        9000,
    )
    # 18000 - 4000 = 14000 of 18000: 77.78 %
    assert (bravo["profit_amount"], bravo["margin_bps"]) == (14000, 7778)


async def test_an_api_key_reads_the_reports_its_role_allows(client, app):
    """Reports read the team's time zone and base currency (and prepare their
    transaction) in the authentication query, the key's as well as the session's."""
    w = await books(client, app)
    period = {"from": day(-90), "to": day(0)}
    key = await create_api_key(client, w.owner, role="org_manager")
    as_key = replace(w.owner, access_token=key["key"])
    path = f"/reports/clients/{w.alpha}"
    assert await get(client, as_key, path, **period) == await get(client, w.owner, path, **period)
    revenue = await get(client, as_key, "/reports/revenue", group_by="client", **period)
    assert revenue == await get(client, w.owner, "/reports/revenue", group_by="client", **period)
    # A client of another team is not found, for the key as for its creator.
    other = await books(client, app)
    r = await client.get(
        as_key.url(f"/reports/clients/{other.alpha}"), params=period, headers=as_key.headers
    )
    assert_problem(r, 404)


async def test_roles_on_money_reports(client, app):
    w = await books(client, app)
    team = w.owner.team_id
    pm = await make_actor(app, team_id=team, role=Role.project_manager)
    member = await make_actor(app, team_id=team, role=Role.member)
    await add_member(client, w.owner, w.pa, pm.user_id, role="manager")
    await add_member(client, w.owner, w.pa, member.user_id)
    period = {"from": day(-90), "to": day(0)}
    # Invoices are not theirs to read.
    for who in (pm, member):
        for path, params in (
            ("/reports/revenue", {"group_by": "client", **period}),
            ("/reports/outstanding", {}),
        ):
            r = await client.get(who.url(path), params=params, headers=who.headers)
            assert_problem(r, 403, "forbidden")
    # A sales rep: its own client only, invoices yes, rates and costs no.
    rev = await get(client, w.rep, "/reports/revenue", group_by="client", **period)
    assert [r["key"] for r in rev["rows"]] == [w.bravo]
    out = await get(client, w.rep, "/reports/outstanding")
    assert [r["client_id"] for r in out["rows"]] == [w.bravo]
    unbilled = await get(client, w.rep, "/reports/uninvoiced")
    assert [(r["project_id"], r["amount"]) for r in unbilled["rows"]] == [(w.pb, None)]
    own = await get(client, w.rep, f"/reports/clients/{w.bravo}", **period)
    assert (own["revenue_amount"], own["seconds"]) == (18000, 3600)
    assert (own["cost_amount"], own["profit_amount"], own["billable_amount"]) == (None,) * 3
    r = await client.get(
        w.rep.url(f"/reports/clients/{w.alpha}"), params=period, headers=w.rep.headers
    )
    assert_problem(r, 404)
    # A project manager: its project's time with its value, no invoices, no cost.
    pm_view = await get(client, pm, f"/reports/clients/{w.alpha}", **period)
    assert (pm_view["seconds"], pm_view["billable_amount"]) == (7200, 20000)
    assert (pm_view["revenue_amount"], pm_view["cost_amount"], pm_view["margin_bps"]) == (
        None,
        None,
        None,
    )
    # A member: its own time only (none here).
    mine = await get(client, member, f"/reports/clients/{w.alpha}", **period)
    assert (mine["seconds"], mine["revenue_amount"]) == (0, None)

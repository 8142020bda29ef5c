"""Reports and the events list as CSV: the same figures as their JSON, money in major
units beside the currency, a `Total` row for reports, and the same role rules."""

import csv
import io

from app.core.permissions import Role
from tests.factories import make_actor
from tests.factories.clients import new_client_project
from tests.factories.events import all_events
from tests.factories.payments import open_invoice
from tests.factories.portal import portal_scene
from tests.factories.projects import add_member
from tests.factories.rates import add_rate
from tests.factories.time_tracking import add_entry
from tests.factories.webhooks import add_endpoint
from tests.helpers import at

PERIOD = {"from": "2026-03-01", "to": "2026-03-31"}


def rows(r) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    return list(csv.DictReader(io.StringIO(r.text, newline="")))


async def _agency(client, app):  # type: ignore[no-untyped-def]
    owner = await make_actor(app)
    member = await make_actor(app, team_id=owner.team_id, role=Role.member)
    _, project = await new_client_project(client, owner, "Acme")
    await add_member(client, owner, project, member.user_id)
    await add_rate(client, owner, 12000)  # 120.00 EUR an hour, team-wide
    await add_entry(client, owner, project, at(2, 9), 5400)  # 1.5 h = 180.00
    await add_entry(client, member, project, at(3, 9), 3600)  # 1 h = 120.00
    return owner, member


async def test_the_time_report_as_csv(client, app):
    owner, member = await _agency(client, app)
    params = {**PERIOD, "group_by": "user"}
    url = owner.url("/reports/time")
    body = (await client.get(url, params=params, headers=owner.headers)).json()
    r = await client.get(url, params={**params, "format": "csv"}, headers=owner.headers)
    assert 'filename="time-report-2026-03-01_2026-03-31.csv"' in r.headers["content-disposition"]
    found = rows(r)
    assert [row["key"] for row in found] == [row["key"] for row in body["rows"]] + [""]
    total = found[-1]
    assert total["label"] == "Total"
    assert total["seconds"] == "9000" and total["hours"] == "2.50"
    assert total["billable_amount"] == "300.00" and total["currency"] == "EUR"
    # A member's report is its own time, in CSV as in JSON (its own rate it may read).
    its = (await client.get(url, params=params, headers=member.headers)).json()
    r = await client.get(url, params={**params, "format": "csv"}, headers=member.headers)
    mine = rows(r)
    assert [row["seconds"] for row in mine] == ["3600", "3600"]
    assert its["totals"]["billable_amount"] == 12000
    assert [row["billable_amount"] for row in mine] == ["120.00", "120.00"]


async def test_the_outstanding_report_as_csv_ages_money(client, app):
    owner = await make_actor(app)
    await open_invoice(client, owner, amount=12345)
    url = owner.url("/reports/outstanding")
    body = (await client.get(url, headers=owner.headers)).json()
    found = rows(await client.get(url, params={"format": "csv"}, headers=owner.headers))
    assert len(found) == len(body["rows"]) + 1
    assert found[-1]["label"] == "Total"
    assert found[-1]["outstanding_amount"] == "123.45"
    assert found[-1]["current_amount"] == "123.45"  # not yet due: money, in major units
    assert found[-1]["invoice_count"] == "1"


async def test_revenue_and_uninvoiced_as_csv(client, app):
    owner, _ = await _agency(client, app)
    found = rows(
        await client.get(
            owner.url("/reports/uninvoiced"), params={"format": "csv"}, headers=owner.headers
        )
    )
    assert [(r["project_name"], r["amount"], r["currency"]) for r in found] == [
        ("Acme", "300.00", "EUR")
    ]
    found = rows(
        await client.get(
            owner.url("/reports/revenue"),
            params={**PERIOD, "group_by": "month", "format": "csv"},
            headers=owner.headers,
        )
    )
    assert found[-1]["label"] == "Total" and found[-1]["invoiced_amount"] == "0.00"


async def test_the_events_list_as_csv_for_each_role(client, app):
    owner, member = await _agency(client, app)
    for actor in (owner, member):
        listed = await all_events(client, actor)
        r = await client.get(actor.url("/events"), headers={**actor.headers, "Accept": "text/csv"})
        found = rows(r)
        assert [int(row["id"]) for row in found] == [e["id"] for e in listed]
        assert list(found[0]) == ["id", "type", "actor_type", "actor_id", "data", "created_at"]
    assert len(rows(r)) < len(await all_events(client, owner))  # the member sees less


async def test_the_portal_lists_as_csv(client, app, mailbox, run_jobs):
    scene = await portal_scene(client, app, mailbox, run_jobs)
    user = scene.user
    for path, name in [
        ("/time-entries", "time-entries"),
        ("/invoices", "invoices"),
        ("/projects", "projects"),
        (f"/projects/{scene.seen}/tasks", "tasks"),
    ]:
        listed = (await client.get(user.url(path), headers=user.headers)).json()["data"]
        r = await client.get(user.url(path), params={"format": "csv"}, headers=user.headers)
        found = rows(r)
        assert f'filename="{name}.csv"' in r.headers["content-disposition"]
        assert [row["id"] for row in found] == [item["id"] for item in listed], path
        header = " ".join(found[0]).lower()
        assert not any(word in header for word in ("rate", "cost", "notes", "lines")), path
    invoices = rows(
        await client.get(user.url("/invoices"), params={"format": "csv"}, headers=user.headers)
    )
    opened = next(row for row in invoices if row["id"] == scene.invoices["open"])
    assert opened["total_amount"] == "100.00" and opened["currency"] == "EUR"
    assert scene.invoices["draft"] not in {row["id"] for row in invoices}


async def test_webhook_endpoints_and_deliveries_as_csv(client, app):
    owner = await make_actor(app)
    endpoint = await add_endpoint(client, owner, description="ERP")
    r = await client.post(
        owner.url(f"/webhook-endpoints/{endpoint['id']}/ping"), headers=owner.headers
    )
    assert r.status_code == 202, r.text
    found = rows(
        await client.get(
            owner.url("/webhook-endpoints"), params={"format": "csv"}, headers=owner.headers
        )
    )
    assert [(row["id"], row["event_types"]) for row in found] == [(endpoint["id"], "*")]
    assert "secret" not in found[0] and not any(v.startswith("whsec_") for v in found[0].values())
    found = rows(
        await client.get(
            owner.url(f"/webhook-endpoints/{endpoint['id']}/deliveries"),
            params={"format": "csv"},
            headers=owner.headers,
        )
    )
    assert [row["event_type"] for row in found] == ["ping"]

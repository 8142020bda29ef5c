"""Every team list in CSV, for every role: the same rows as the JSON list read to its end
(same filters, same visibility), each JSON field in its column (money in major units of
its currency, null for a role that may not read it: empty), read in several batches, and
the same refusals as JSON."""

import csv
import io
from datetime import datetime
from decimal import Decimal

import pytest

from app.core import pagination
from app.core.money import exponent
from app.core.permissions import Role
from tests.factories import Actor, make_actor
from tests.factories.clients import new_client, new_client_project
from tests.factories.comments import comment
from tests.factories.contacts import new_activity, new_contact
from tests.factories.invoices import add_exchange_rate
from tests.factories.payments import open_invoice, pay
from tests.factories.projects import add_member, new_project, new_task
from tests.factories.rates import add_rate
from tests.factories.teams import create_api_key, invite
from tests.factories.time_tracking import add_entry
from tests.helpers import at, list_all

ROLES = [
    Role.superadmin,
    Role.org_manager,
    Role.sales_manager,
    Role.sales_rep,
    Role.project_manager,
    Role.member,
]
# Money columns read in another currency than the row's `currency`.
CURRENCY_OF = {"base_amount": "base_currency", "fx_difference_amount": "base_currency"}
FORMULA = ("=", "+", "-", "@", "\t", "\r")


def is_money(name: str) -> bool:
    return name == "amount" or name.endswith("_amount") or name.startswith("amount_")


def csv_rows(r) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.headers["content-disposition"].startswith('attachment; filename="')
    assert r.text.endswith("\r\n")
    return list(csv.DictReader(io.StringIO(r.text, newline="")))


def assert_cell(field: str, value, cell: str, row: dict) -> None:  # type: ignore[no-untyped-def]
    """`cell` is how the CSV writes the JSON `value` of `field`; `row`: the CSV row (it
    names the currency even where the JSON leaves it implicit, as for projects)."""
    if value is None:
        assert cell == "", field
    elif isinstance(value, bool):
        assert cell == ("true" if value else "false"), field
    elif isinstance(value, int) and is_money(field):
        currency = row[CURRENCY_OF.get(field, "currency")]
        digits = exponent(currency)
        assert Decimal(cell) * 10**digits == value, (field, cell, value, currency)
        assert len(cell.partition(".")[2]) == digits, (field, cell)
    elif isinstance(value, int):
        assert cell == str(value), field
    elif isinstance(value, list):
        assert cell == ";".join(value), field
    elif field.endswith("_at"):
        assert datetime.fromisoformat(cell) == datetime.fromisoformat(value), field
    elif field == "exchange_rate":
        assert Decimal(cell) == Decimal(value), field
    elif value.startswith(FORMULA):
        assert cell == "'" + value, field
    else:
        assert cell == value, field


def assert_same_rows(json_rows: list[dict], rows: list[dict[str, str]]) -> None:
    assert len(rows) == len(json_rows)
    for j, c in zip(json_rows, rows, strict=True):
        for field, value in j.items():
            if isinstance(value, list) and value and isinstance(value[0], dict):
                assert field not in c  # nested objects (an invoice's lines) stay in JSON
                continue
            if isinstance(value, dict):  # one object (a comment's author): its own columns
                for sub, inner in value.items():
                    assert_cell(f"{field}_{sub}", inner, c[f"{field}_{sub}"], c)
                continue
            assert field in c, field
            assert_cell(field, value, c[field], c)
            if field.endswith("_seconds"):
                hours = c[field.removesuffix("_seconds") + "_hours"]
                if value is None:
                    assert hours == ""
                else:
                    assert abs(Decimal(hours) - Decimal(value) / 3600) <= Decimal("0.005")
                    assert len(hours.partition(".")[2]) == 2


class World:
    owner: Actor
    actors: dict[Role, Actor]
    project_id: str
    ids: dict[str, str]


async def build_world(http, app) -> World:  # type: ignore[no-untyped-def]
    """A team with one actor per role; clients in EUR (the rep's, with a rate), JPY and
    KWD with rates; the EUR client's project with the project manager and the member on
    it, tasks, time of three people, contacts (one with a formula-like note), an open
    invoice partly paid, and a JPY invoice paid in full."""
    w = World()
    w.owner = await make_actor(app)
    team = w.owner.team_id
    w.actors = {Role.superadmin: w.owner}
    for role in ROLES[1:]:
        w.actors[role] = await make_actor(app, team_id=team, role=role, name=f"={role.value}")
    rep, pm, member = (w.actors[r] for r in (Role.sales_rep, Role.project_manager, Role.member))
    eur, w.project_id = await new_client_project(
        http, w.owner, "Acme, Inc.", owner_id=str(rep.user_id), hourly_rate_amount=12345
    )
    await add_member(http, w.owner, w.project_id, pm.user_id, role="manager")
    await add_member(http, w.owner, w.project_id, member.user_id)
    await add_member(http, w.owner, w.project_id, rep.user_id)
    jpy = await new_client(http, w.owner, '"Quoted" Co', currency="JPY", hourly_rate_amount=1235)
    second = await new_project(
        http, w.owner, "Second", client_id=jpy["id"], hourly_rate_amount=1500
    )
    await new_client(http, w.owner, "Kuwait\nLine", currency="KWD", hourly_rate_amount=1234)
    await add_rate(http, w.owner, 10000)
    await add_rate(http, w.owner, 4550, kind="cost", scope="member", user_id=member.user_id)
    # Invoiced before any time is logged: only their manual lines.
    invoice = await open_invoice(http, w.owner, amount=10050, client_id=eur)
    r = await pay(http, w.owner, invoice["id"], 2550)
    assert r.status_code == 201, r.text
    await add_exchange_rate(http, w.owner, "JPY", "0.0061")
    jpy_invoice = await open_invoice(http, w.owner, amount=1235, client_id=jpy["id"])
    r = await pay(http, w.owner, jpy_invoice["id"], 1235)
    assert r.status_code == 201, r.text
    await new_task(http, w.owner, w.project_id, "=HYPERLINK(1)", estimate_seconds=5400)
    plain = await new_task(http, w.owner, w.project_id, "Plain")
    for thread in (f"/projects/{w.project_id}", f"/projects/{w.project_id}/tasks/{plain['id']}"):
        await comment(http, w.owner, thread, "=cmd|' /C calc'!A0", visibility="client")
        await comment(http, w.owner, thread, "An internal **note**")
    entries = [
        await add_entry(http, who, w.project_id, at(2 + n, 9), 1800 * (n + 1), note=f"-{n}")
        for n, who in enumerate((w.owner, pm, member, rep))
    ]
    ann = await new_contact(http, w.owner, "Ann", client_id=eur, notes="@evil")
    await new_contact(http, w.owner, "Bob", client_id=jpy["id"], email="bob@example.com")
    cid = await new_contact(http, w.owner, "+Cid", client_id=eur, email="cid@example.com")
    for contact in (ann, cid):
        r = await http.post(
            w.owner.url(f"/projects/{w.project_id}/viewers"),
            json={"contact_id": contact["id"]},
            headers=w.owner.headers,
        )
        assert r.status_code == 201, r.text
    for body in ("=1+1", "Called, left a message"):
        await new_activity(http, w.owner, ann["id"], body=body)
    await add_exchange_rate(http, w.owner, "USD", "0.9")
    for email in ("new1@example.com", "new2@example.com"):
        await invite(http, w.owner, email)
    for role in ("member", "sales_rep"):
        await create_api_key(http, w.owner, role)
    for project in (second["id"], w.project_id):
        r = await http.post(
            w.owner.url(f"/time-entries/{entries[0]['id']}/move"),
            json={"project_id": project, "reason": "-wrong project"},
            headers=w.owner.headers,
        )
        assert r.status_code == 200, r.text
    w.ids = {
        "contact_id": ann["id"],
        "invoice_id": invoice["id"],
        "entry_id": entries[0]["id"],
        "task_id": plain["id"],
    }
    return w


LISTS = [
    "/time-entries",
    "/time-entries/{entry_id}/history",
    "/clients",
    "/contacts",
    "/contacts/{contact_id}/activities",
    "/projects",
    "/projects/{project_id}/tasks",
    "/projects/{project_id}/members",
    "/projects/{project_id}/viewers",
    "/projects/{project_id}/comments",
    "/projects/{project_id}/tasks/{task_id}/comments",
    "/rates",
    "/invoices",
    "/invoices/{invoice_id}/payments",
    "/exchange-rates",
    "/invoice-runs",
    "/payments",
    "/members",
    "/invitations",
    "/api-keys",
]
# Lists the world gives one row or none (each is still compared with its JSON).
FEW_ROWS = {"/invoice-runs", "/invoices/{invoice_id}/payments"}


async def test_every_list_in_csv_is_its_json_list_for_every_role(client, app, monkeypatch):
    monkeypatch.setattr(pagination, "BATCH_SIZE", 1)  # every list spans several batches
    w = await build_world(client, app)
    seen: dict[str, int] = {}
    for template in LISTS:
        path = template.format(project_id=w.project_id, **w.ids)
        for role, actor in w.actors.items():
            r = await client.get(actor.url(path), params={"format": "csv"}, headers=actor.headers)
            j = await client.get(actor.url(path), headers=actor.headers)
            if j.status_code != 200:
                assert r.status_code == j.status_code, (path, role)
                assert r.headers["content-type"] == "application/problem+json"
                assert r.json()["code"] == j.json()["code"]
                continue
            rows = csv_rows(r)
            assert_same_rows(await list_all(client, actor, path), rows)
            seen[template] = max(seen.get(template, 0), len(rows))
    # Each list had rows for some role, more than one batch of them.
    assert {p: n for p, n in seen.items() if n < 2 and p not in FEW_ROWS} == {}
    assert seen["/invoices/{invoice_id}/payments"] == 1


async def test_money_columns_by_currency_and_roles_without_rate_rights(client, app):
    w = await build_world(client, app)
    owner, member = w.owner, w.actors[Role.member]
    clients = {
        row["name"]: row
        for row in csv_rows(
            await client.get(owner.url("/clients"), params={"format": "csv"}, headers=owner.headers)
        )
    }
    assert clients["Acme, Inc."]["hourly_rate_amount"] == "123.45"
    assert clients['"Quoted" Co']["hourly_rate_amount"] == "1235"
    assert clients["Kuwait\nLine"]["hourly_rate_amount"] == "1.234"
    assert clients["Kuwait\nLine"]["currency"] == "KWD"

    payments = csv_rows(
        await client.get(owner.url("/payments"), params={"format": "csv"}, headers=owner.headers)
    )
    by_currency = {row["currency"]: row for row in payments}
    assert by_currency["EUR"]["amount"] == "25.50"
    assert by_currency["JPY"]["amount"] == "1235"
    assert by_currency["JPY"]["base_currency"] == "EUR"
    assert by_currency["JPY"]["base_amount"] == "7.53"  # 1235 x 0.0061, half up

    projects = csv_rows(
        await client.get(owner.url("/projects"), params={"format": "csv"}, headers=owner.headers)
    )
    assert sorted((p["name"], p["currency"], p["hourly_rate_amount"]) for p in projects) == [
        ("Acme, Inc.", "EUR", ""),
        ("Second", "JPY", "1500"),
    ]

    # The member reads its own rates, not a client's: the rate column is there, empty.
    member_clients = csv_rows(
        await client.get(member.url("/clients"), params={"format": "csv"}, headers=member.headers)
    )
    assert [c["name"] for c in member_clients] == ["Acme, Inc."]
    assert member_clients[0]["hourly_rate_amount"] == ""

    tasks = csv_rows(
        await client.get(
            owner.url(f"/projects/{w.project_id}/tasks"),
            params={"format": "csv"},
            headers=owner.headers,
        )
    )
    assert tasks[0]["title"] == "'=HYPERLINK(1)"
    assert (tasks[0]["estimate_seconds"], tasks[0]["estimate_hours"]) == ("5400", "1.50")
    assert tasks[1]["estimate_hours"] == ""

    members = csv_rows(
        await client.get(owner.url("/members"), headers={**owner.headers, "Accept": "text/csv"})
    )
    assert {m["name"] for m in members} >= {"'=sales_rep", "'=member"}


@pytest.mark.parametrize("path", ["/invoices", "/payments"])
async def test_roles_refused_a_list_are_refused_its_csv(client, app, path):
    w = await build_world(client, app)
    for role in (Role.project_manager, Role.member):
        actor = w.actors[role]
        r = await client.get(actor.url(path), params={"format": "csv"}, headers=actor.headers)
        assert r.status_code == 403
        assert r.headers["content-type"] == "application/problem+json"

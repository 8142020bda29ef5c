"""Fill the demo team through the API, in-process: every request passes the same
authentication, rules, events and queued emails as one from outside.

Direct service calls only where the API has no way: the overdue check (an hourly job).
Comments (issue 17): the portal contact collaborates on its onboarding project, where the
team left it a question and an internal note (`_comments`).
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from app.core.db import unit_of_work
from app.demo.agency import (
    CLIENTS,
    INTERNAL,
    LOGGERS,
    PROJECT_MEMBER_RATE,
    PROJECT_STAFF,
    TEAM_BILL_RATE,
    Calendar,
    Client,
    Project,
    time_slots,
)
from app.invoices import overdue

Tick = Callable[[int], None]

# Progress units: one per step below, one per workday of time.
STEPS = 10


class DemoError(Exception):
    """The API refused a demo request (the demo and the rules disagree)."""


@dataclass
class Seeded:
    """What the demo made that its printout and its test refer to."""

    team_id: uuid.UUID
    users: dict[str, uuid.UUID]
    clients: dict[str, str] = field(default_factory=dict)
    projects: dict[str, str] = field(default_factory=dict)
    # Invoice state (draft, open, overdue, partly_paid, paid, void) -> invoice.
    invoices: dict[str, dict[str, Any]] = field(default_factory=dict)
    portal_contact: str = ""
    api_key: str = ""
    webhook_endpoint: str | None = None
    entries: int = 0
    seconds: int = 0


class Api:
    """The superadmin's requests to its team; anything but `expect` is a DemoError."""

    def __init__(self, http: httpx.AsyncClient, token: str, team_id: uuid.UUID) -> None:
        self.http = http
        self.headers = {"Authorization": f"Bearer {token}"}
        self.base = f"/v1/teams/{team_id}"

    async def call(self, method: str, path: str, body: Any = None, expect: int = 200) -> Any:
        r = await self.http.request(method, self.base + path, json=body, headers=self.headers)
        if r.status_code != expect:
            raise DemoError(f"{method} {path} answered {r.status_code}: {r.text}")
        return r.json() if r.content else None

    async def post(self, path: str, body: Any = None, expect: int = 201) -> Any:
        return await self.call("POST", path, body, expect)


def _day(d: date) -> str:
    return d.isoformat()


async def seed(
    app: FastAPI, token: str, seeded: Seeded, calendar: Calendar, tick: Tick = lambda n: None
) -> Seeded:
    """Rates, clients, projects, boards, six weeks of time, invoices in every state,
    an API key, a webhook endpoint (on the local echo, or where local targets are
    allowed), a conversation."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://demo") as http:
        api = Api(http, token, seeded.team_id)
        await _rates(api, seeded, calendar)
        tick(1)
        for client in CLIENTS:
            await _client(api, seeded, client)
            tick(1)
        await _project(api, seeded, INTERNAL, client_id=None)
        await _project_member_rate(api, seeded, calendar)
        tick(1)
        await _time(api, seeded, calendar, tick)
        # The endpoint first: the invoices' and the conversation's events reach it.
        await _integrations(api, app, seeded)
        await _invoices(api, app, seeded, calendar)
        tick(4)
        await _comments(api, seeded)
        tick(1)
    return seeded


async def _rates(api: Api, seeded: Seeded, calendar: Calendar) -> None:
    """Exchange rates to EUR, the team's bill rate and each logger's cost rate."""
    since = _day(calendar.first - timedelta(days=14))
    for client in CLIENTS:
        if client.exchange_rate:
            body = {"currency": client.currency, "rate": client.exchange_rate}
            await api.post("/exchange-rates", {**body, "effective_from": since})
    team_rate = {"scope": "team", "currency": "EUR", "effective_from": since}
    await api.post("/rates", {**team_rate, "hourly_rate_amount": TEAM_BILL_RATE})
    for person in LOGGERS:
        cost = {"kind": "cost", "scope": "member", "user_id": str(seeded.users[person.key])}
        await api.post("/rates", {**team_rate, **cost, "hourly_rate_amount": person.cost_rate})


async def _client(api: Api, seeded: Seeded, client: Client) -> None:
    """The client onboarded with its first project (and portal contacts), its invoice
    settings, its other projects and contacts with a logged activity."""
    first, *others = client.projects
    portal = [c for c in client.contacts if c.portal]
    created = await api.post(
        "/clients",
        {
            "name": client.name,
            "currency": client.currency,
            "email": client.email,
            "address": client.address,
            "owner_id": str(seeded.users[client.owner]),
            "payment_methods": list(client.payment_methods),
            "hourly_rate_amount": client.hourly_rate_amount,
            "create_project": True,
            "project_name": first.name,
            "invite_contacts": [
                {"name": c.name, "email": c.email, "billing_contact": c.billing} for c in portal
            ],
        },
    )
    seeded.clients[client.key] = created["id"]
    if portal:
        seeded.portal_contact = portal[0].email
    await api.call(
        "PUT",
        f"/clients/{created['id']}/invoice-settings",
        {"due_days": 14, "tax_rate_bps": client.tax_rate_bps},
    )
    await _project(api, seeded, first, client_id=created["id"], project_id=created["project_id"])
    for project in others:
        await _project(api, seeded, project, client_id=created["id"])
    contact_ids = {c["email"]: c["id"] for c in created["contacts"]}
    for contact in client.contacts:
        if contact.email not in contact_ids:
            made = await api.post(
                "/contacts",
                {
                    "name": contact.name,
                    "email": contact.email,
                    "title": contact.title,
                    "client_id": created["id"],
                    "billing_contact": contact.billing,
                },
            )
            contact_ids[contact.email] = made["id"]
        else:
            await api.call(
                "PATCH", f"/contacts/{contact_ids[contact.email]}", {"title": contact.title}
            )
        if contact.activity:
            await api.post(
                f"/contacts/{contact_ids[contact.email]}/activities",
                {"kind": "note", "body": contact.activity},
            )
    # The portal contact sees every project of its client.
    for project in others:
        for contact in portal:
            await api.post(
                f"/projects/{seeded.projects[project.key]}/viewers",
                {"contact_id": contact_ids[contact.email]},
            )


async def _project(
    api: Api,
    seeded: Seeded,
    project: Project,
    *,
    client_id: str | None,
    project_id: str | None = None,
) -> None:
    """The project (unless onboarding made it), its staff, its board and its tasks."""
    if project_id is None:
        body: dict[str, Any] = {"name": project.name, "billable": project.billable}
        if client_id:
            body["client_id"] = client_id
        if project.hourly_rate_amount is not None:
            body["hourly_rate_amount"] = project.hourly_rate_amount
        if project.budget_hours is not None:
            body["budget_seconds"] = project.budget_hours * 3600
        project_id = (await api.post("/projects", body))["id"]
    elif project.budget_hours is not None:
        await api.call(
            "PATCH", f"/projects/{project_id}", {"budget_seconds": project.budget_hours * 3600}
        )
    seeded.projects[project.key] = project_id
    for key, role in PROJECT_STAFF:
        body = {"user_id": str(seeded.users[key]), "role": role}
        await api.post(f"/projects/{project_id}/members", body)
    board = await api.call("GET", f"/projects/{project_id}/board")
    columns = {c["kind"]: c["id"] for c in board["columns"]}
    if project.extra_column:
        done = next(c for c in board["columns"] if c["kind"] == "done")
        added = await api.post(
            f"/projects/{project_id}/board/columns",
            {"name": project.extra_column, "position": done["position"]},
        )
        columns[project.extra_column] = added["id"]
    for title, column, hours, assignee in project.tasks:
        task: dict[str, Any] = {"title": title, "column_id": columns[column]}
        if hours is not None:
            task["estimate_seconds"] = hours * 3600
        if assignee is not None:
            task["assignee_id"] = str(seeded.users[assignee])
        await api.post(f"/projects/{project_id}/tasks", task)


async def _project_member_rate(api: Api, seeded: Seeded, calendar: Calendar) -> None:
    """The most specific bill rate: one member's own rate on one project."""
    project_key, person, amount = PROJECT_MEMBER_RATE
    client = next(c for c in CLIENTS if any(p.key == project_key for p in c.projects))
    await api.post(
        "/rates",
        {
            "scope": "project_member",
            "project_id": seeded.projects[project_key],
            "user_id": str(seeded.users[person]),
            "hourly_rate_amount": amount,
            "currency": client.currency,
            "effective_from": _day(calendar.first - timedelta(days=14)),
        },
    )


async def _time(api: Api, seeded: Seeded, calendar: Calendar, tick: Tick) -> None:
    """Each logger's mornings and afternoons of six weeks, on the projects' tasks."""
    keys = [p.key for c in CLIENTS for p in c.projects] + [INTERNAL.key]
    tasks = {
        key: [
            t["id"]
            for t in (await api.call("GET", f"/projects/{seeded.projects[key]}/tasks"))["data"]
        ]
        for key in keys
    }
    day = None
    for n, slot in enumerate(time_slots(calendar, keys)):
        project_tasks = tasks[slot.project]
        await api.post(
            "/time-entries",
            {
                "project_id": seeded.projects[slot.project],
                "task_id": project_tasks[n % len(project_tasks)] if project_tasks else None,
                "user_id": str(seeded.users[slot.person]),
                "started_at": slot.start.isoformat(),
                "ended_at": (slot.start + timedelta(seconds=slot.seconds)).isoformat(),
                "note": slot.note,
            },
        )
        seeded.entries += 1
        seeded.seconds += slot.seconds
        if day is not None and slot.start.date() != day:
            tick(1)
        day = slot.start.date()
    tick(1)


def _period(calendar: Calendar, first_week: int, last_week: int) -> dict[str, str]:
    return {
        "period_start": _day(calendar.monday(first_week)),
        "period_end": _day(calendar.day(last_week, 6)),
    }


async def _invoices(api: Api, app: FastAPI, seeded: Seeded, calendar: Calendar) -> None:
    """One invoice of each state, finalized in the order of their issue dates (numbers
    follow issue dates); Harbor's last four weeks and Sakura's last two stay unbilled."""
    clients = seeded.clients

    async def issued(
        client: str,
        issue_week: int,
        *,
        weeks: tuple[int, int] | None = None,
        due_days: int | None = None,
        **body: Any,
    ) -> dict[str, Any]:
        """An invoice drafted (from the time of `weeks`) and finalized on `issue_week`'s
        Monday, due `due_days` later (else after the client's due days)."""
        monday = calendar.monday(issue_week)
        body["issue_date"] = _day(monday)
        if due_days is not None:
            body["due_date"] = _day(monday + timedelta(days=due_days))
        if weeks is not None:
            body.update(_period(calendar, *weeks))
        draft = await api.post("/invoices", {"client_id": clients[client], **body})
        return await api.post(f"/invoices/{draft['id']}/finalize", expect=200)

    async def pay(invoice: dict[str, Any], amount: int, day: date, ref: str) -> None:
        paid_at = calendar.at(day, 11).isoformat()
        body = {"amount": amount, "method": "bank", "paid_at": paid_at, "reference": ref}
        await api.post(f"/invoices/{invoice['id']}/payments", body)

    paid = await issued("lumen", 3, weeks=(1, 2))
    late = await issued("harbor", 3, weeks=(1, 2), due_days=14)
    duplicate = await issued(
        "harbor",
        4,
        lines=[{"description": "Design sprint 1", "quantity": "1", "unit_amount": 480000}],
        notes="Billed twice by mistake: voided.",
    )
    partly = await issued("sakura", 5, weeks=(1, 4), due_days=30)
    opened = await issued("lumen", 6, weeks=(3, 4), due_days=30)
    drafted = await api.post(
        "/invoices",
        {"client_id": clients["lumen"], **_period(calendar, 5, 6), "notes": "To check."},
    )

    await pay(paid, paid["total_amount"], calendar.day(4, 3), "SEPA LUMEN-0001")
    await pay(partly, partly["total_amount"] // 2, calendar.day(6, 1), "Furikomi 1/2")
    await api.post(f"/invoices/{duplicate['id']}/void", expect=200)
    for invoice in (late, partly, opened):
        await api.post(f"/invoices/{invoice['id']}/send", expect=202)
    # The hourly overdue job, for this invoice now rather than at the next hour.
    async with unit_of_work(app.state.db, app.state.redis, team_id=seeded.team_id) as session:
        await overdue.record_if_overdue(session, seeded.team_id, uuid.UUID(late["id"]))

    for state, invoice in (
        ("draft", drafted),
        ("open", opened),
        ("overdue", late),
        ("partly_paid", partly),
        ("paid", paid),
        ("void", duplicate),
    ):
        seeded.invoices[state] = await api.call("GET", f"/invoices/{invoice['id']}")


# What the demo's endpoint hears: invoices and payments, and the conversation.
WEBHOOK_EVENTS = ["invoice.finalized", "invoice.paid", "payment.succeeded", "comment.created"]


async def _integrations(api: Api, app: FastAPI, seeded: Seeded) -> None:
    """An API key for the curl tour; a webhook endpoint on the local echo `hourline serve`
    runs beside its mail sink (its deliveries land in `HOURLINE_HOME/webhooks`), or, where
    the settings allow local targets but no echo runs, one for an echo of your own on port
    9000 (disabled until it listens)."""
    key = await api.post("/api-keys", {"name": "Demo tour", "role": "org_manager"})
    seeded.api_key = key["key"]
    settings = app.state.settings
    echo = settings.webhook_echo_url
    if not echo and not settings.webhook_allow_private_targets:
        return
    endpoint = await api.post(
        "/webhook-endpoints",
        {
            "url": f"{echo}/hourline" if echo else "http://127.0.0.1:9000/hourline",
            "description": "The local webhook echo"
            if echo
            else "A local echo on port 9000: enable me once it listens.",
            "event_types": WEBHOOK_EVENTS,
        },
    )
    if not echo:
        await api.call("PATCH", f"/webhook-endpoints/{endpoint['id']}", {"status": "disabled"})
    seeded.webhook_endpoint = endpoint["id"]


async def _comments(api: Api, seeded: Seeded) -> None:
    """The portal contact made a collaborator of the first project it views; on its first
    task, a question for the client and a note it never sees."""
    for project_id in seeded.projects.values():
        viewers = (await api.call("GET", f"/projects/{project_id}/viewers"))["data"]
        tasks = (await api.call("GET", f"/projects/{project_id}/tasks"))["data"]
        if not viewers or not tasks:
            continue
        contact_id = viewers[0]["contact_id"]
        await api.call(
            "PATCH", f"/projects/{project_id}/viewers/{contact_id}", {"role": "collaborator"}
        )
        thread = f"/projects/{project_id}/tasks/{tasks[0]['id']}/comments"
        await api.post(
            thread,
            {"body": "Could you send the **final logo files** by Friday?", "visibility": "client"},
        )
        await api.post(thread, {"body": "Internal: the logo delay pushes QA by two days."})
        return

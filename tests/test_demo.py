"""`hourline demo` against the test database: a complete agency, made once, through the API.

The figures are checked through the API as the printed login sees them: every invoice
state with totals that add up, six weeks of time that the time report sums back, a
portal contact whose login link was queued as an email; then a second run changes no
row, and `--reset` makes the team anew leaving other teams alone.
"""

import io
import json
import os
import subprocess
import sys
import uuid
from collections import Counter

import httpx
from sqlalchemy import text

from app.cli import banner, read_serve_file, write_serve_file
from app.config import Settings
from app.core.embedded import WebhookEcho
from app.demo.agency import OWNER, PASSWORD, PEOPLE, TEAM_NAME, Calendar, time_slots
from app.demo.run import Output, run_demo
from app.models import metadata
from app.webhooks.targets import private_allowed
from tests.factories import make_actor
from tests.factories.clients import new_client
from tests.factories.portal import link_tokens
from tests.helpers import bearer, list_all


async def row_counts(app) -> dict[str, int]:
    """Rows of every table, of every team."""
    async with app.state.db.engine.connect() as conn:
        return {
            t.name: (await conn.execute(text(f'SELECT count(*) FROM "{t.name}"'))).scalar_one()
            for t in metadata.sorted_tables
        }


async def login(http) -> dict[str, str]:
    r = await http.post("/v1/auth/login", json={"email": OWNER.email, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return bearer(r.json()["access_token"])


async def get(http, headers, path: str, **params) -> dict:
    r = await http.get(path, headers=headers, params=params)
    assert r.status_code == 200, r.text
    return r.json()


async def test_demo_makes_a_complete_agency_once_and_resets_only_itself(
    app, settings, client, mailbox, run_jobs
):
    other = await make_actor(app)
    await new_client(client, other, "Not the demo's")

    printed = io.StringIO()
    seeded = await run_demo(settings, out=Output(printed))
    assert seeded is not None
    out = printed.getvalue()
    for person in PEOPLE:
        assert person.email in out and person.role in out
    assert PASSWORD in out and seeded.api_key in out and str(seeded.team_id) in out
    assert len(out.splitlines()) < 20, out

    # The superadmin's printed login sees the agency.
    headers = await login(client)
    team = f"/v1/teams/{seeded.team_id}"
    me = await get(client, headers, "/v1/me")
    assert [t["name"] for t in me["teams"]] == [TEAM_NAME]
    members = await get(client, headers, f"{team}/members")
    assert sorted(m["role"] for m in members["data"]) == sorted(p.role for p in PEOPLE)

    clients = await get(client, headers, f"{team}/clients")
    assert sorted(c["currency"] for c in clients["data"]) == ["EUR", "JPY", "USD"]
    contacts = await get(client, headers, f"{team}/contacts")
    assert {c["client_id"] for c in contacts["data"]} == {c["id"] for c in clients["data"]}
    assert [c["email"] for c in contacts["data"] if c["portal_access"]] == [seeded.portal_contact]

    # Boards: every column of every client project holds a task.
    for key in ("website", "brand", "mobile", "store"):
        board = await get(client, headers, f"{team}/projects/{seeded.projects[key]}/board")
        assert all(column["tasks"] for column in board["columns"]), (key, board)
    rates = await get(client, headers, f"{team}/rates", limit=200)
    assert {r["kind"] for r in rates["data"]} == {"bill", "cost"}

    # Every invoice state, with totals that add up to their lines and payments.
    invoices = await get(client, headers, f"{team}/invoices")
    assert Counter(i["status"] for i in invoices["data"]) == {
        "draft": 1,
        "open": 3,
        "paid": 1,
        "void": 1,
    }
    states = {state: invoice["id"] for state, invoice in seeded.invoices.items()}
    by_id = {i["id"]: i for i in invoices["data"]}
    assert by_id[states["overdue"]]["overdue"] is True
    assert [i["id"] for i in invoices["data"] if i["overdue"]] == [states["overdue"]]
    assert by_id[states["paid"]]["status"] == "paid"
    partly = by_id[states["partly_paid"]]
    assert 0 < partly["amount_paid"] < partly["total_amount"], partly
    assert by_id[states["open"]]["amount_paid"] == 0
    assert by_id[states["void"]]["status"] == "void"
    for invoice in invoices["data"]:
        detail = await get(client, headers, f"{team}/invoices/{invoice['id']}")
        assert detail["lines"], detail
        assert detail["subtotal_amount"] == sum(line["amount"] for line in detail["lines"])
        assert detail["total_amount"] == (
            detail["subtotal_amount"] - detail["discount_amount"] + detail["tax_amount"]
        )
        payments = await get(client, headers, f"{team}/invoices/{invoice['id']}/payments")
        assert detail["amount_paid"] == sum(p["amount"] for p in payments["data"])
        assert detail["amount_due"] == detail["total_amount"] - detail["amount_paid"]
    assert by_id[states["paid"]]["amount_due"] == 0

    # Six weeks of weekdays, as the time report sums them.
    calendar = Calendar.now()
    slots = time_slots(calendar, list(seeded.projects))
    assert seeded.entries == len(slots) and seeded.seconds == sum(s.seconds for s in slots)
    period = {"from": calendar.first.isoformat(), "to": calendar.last.isoformat()}
    report = await get(client, headers, f"{team}/reports/time", group_by="user", **period)
    assert report["totals"]["seconds"] == seeded.seconds
    assert len(report["rows"]) == 4 and report["totals"]["cost_amount"] > 0
    entries = await list_all(client, _Caller(seeded.team_id, headers), "/time-entries", **period)
    assert len(entries) == seeded.entries
    assert {e["started_at"][:10] for e in entries} <= {d.isoformat() for d in calendar.workdays}
    kinds = "member.created,invoice.overdue,payment.succeeded,invoice.voided"
    events = await get(client, headers, f"{team}/events", types=kinds, limit=200)
    assert Counter(e["type"] for e in events["data"]) == {
        "member.created": len(PEOPLE),
        "invoice.overdue": 1,
        "payment.succeeded": 2,
        "invoice.voided": 1,
    }
    # The portal contact's conversation: a question for it and the team's note.
    comments = await get(client, headers, f"{team}/events", types="comment.*")
    assert [e["data"]["visibility"] for e in comments["data"]] == ["client", "internal"]

    # Its emails were queued as jobs: the portal contact's login link among them.
    await run_jobs()
    assert link_tokens(mailbox, seeded.portal_contact)

    # A second run changes nothing and says the team exists.
    before = await row_counts(app)
    printed = io.StringIO()
    assert await run_demo(settings, out=Output(printed)) is None
    assert "exists" in printed.getvalue() and OWNER.email in printed.getvalue()
    assert f"KEY={seeded.api_key}" in printed.getvalue()
    assert await row_counts(app) == before

    # --reset deletes the demo team only, and makes it anew (where local webhook targets
    # are allowed, with a disabled endpoint for a local echo).
    local = settings.model_copy(update={"webhook_allow_private_targets": True})
    again = await run_demo(local, reset=True, out=Output(io.StringIO()))
    assert again is not None and again.team_id != seeded.team_id
    assert seeded.webhook_endpoint is None and again.webhook_endpoint is not None
    headers = await login(client)
    endpoints = await get(client, headers, f"/v1/teams/{again.team_id}/webhook-endpoints")
    assert [(e["url"], e["status"]) for e in endpoints["data"]] == [
        ("http://127.0.0.1:9000/hourline", "disabled")
    ]
    me = await get(client, headers, "/v1/me")
    assert [t["id"] for t in me["teams"]] == [str(again.team_id)]
    r = await client.get(other.url("/clients"), headers=other.headers)
    assert [c["name"] for c in r.json()["data"]] == ["Not the demo's"]
    after = await row_counts(app)
    for table in ("invoice", "time_entry", "client", "project", "task", "payment"):
        assert after[table] == before[table], table

    # The printed tour works with the printed key: clients, a draft of Harbor's unbilled
    # time, the open invoice's PDF and pay page, the events.
    key, team = bearer(again.api_key), f"/v1/teams/{again.team_id}"
    assert len((await get(client, key, f"{team}/clients"))["data"]) == 3
    r = await client.post(
        f"{team}/invoices", json={"client_id": again.clients["harbor"]}, headers=key
    )
    assert r.status_code == 201 and r.json()["lines"], r.text
    r = await client.get(f"{team}/invoices/{again.invoices['open']['id']}/pdf", headers=key)
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    r = await client.get(httpx.URL(again.invoices["open"]["pay_url"]).path)
    assert r.status_code == 200, r.text
    kinds = "invoice.overdue,payment.succeeded"
    assert len((await get(client, key, f"{team}/events", types=kinds))["data"]) == 3


class _Caller:
    """The shape `list_all` asks for: headers and a team path."""

    def __init__(self, team_id: uuid.UUID, headers: dict[str, str]) -> None:
        self.headers = headers
        self.team_id = team_id

    def url(self, path: str = "") -> str:
        return f"/v1/teams/{self.team_id}{path}"


def test_the_serve_file_names_a_running_server_only(tmp_path):
    running = Settings(
        database_url="postgresql://db",
        redis_url="redis://r",
        public_api_url="http://127.0.0.1:8123",
        webhook_echo_url="http://127.0.0.1:8124",
    )
    write_serve_file(tmp_path, running)
    assert read_serve_file(tmp_path) == {
        "pid": os.getpid(),
        "database_url": "postgresql://db",
        "redis_url": "redis://r",
        "api_url": "http://127.0.0.1:8123",
        "webhook_echo_url": "http://127.0.0.1:8124",
    }
    assert (tmp_path / "serve.json").stat().st_mode & 0o777 == 0o600
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        text=True,
        capture_output=True,
        check=True,
    )
    info = (tmp_path / "serve.json").read_text().replace(str(os.getpid()), gone.stdout.strip())
    (tmp_path / "serve.json").write_text(info)
    assert read_serve_file(tmp_path) is None
    assert read_serve_file(tmp_path / "nowhere") is None


async def test_the_demo_endpoint_delivers_to_the_local_echo(
    app, settings, client, run_jobs, tmp_path
):
    """`hourline serve` runs a webhook echo beside its mail sink; the demo's endpoint points
    at it, the SSRF rules let that origin (and only it) through, and deliveries land as
    files, signed."""
    echo = WebhookEcho(tmp_path / "webhooks")
    url = echo.start()
    try:
        local = settings.model_copy(update={"webhook_echo_url": url})
        seeded = await run_demo(local, out=Output(io.StringIO()))
        assert seeded is not None and seeded.webhook_endpoint is not None
        headers = await login(client)
        endpoints = await get(client, headers, f"/v1/teams/{seeded.team_id}/webhook-endpoints")
        assert [(e["url"], e["status"]) for e in endpoints["data"]] == [
            (f"{url}/hourline", "enabled")
        ]
        # Another port of the same loopback host is still refused, here and by the app.
        assert private_allowed(f"{url}/anything", local)
        other_port = url.rsplit(":", 1)[0] + ":9"
        assert not private_allowed(f"{other_port}/hourline", local)
        assert not private_allowed(f"{url}/hourline", settings)
        app.state.settings.webhook_echo_url = url
        try:
            await run_jobs()
        finally:
            app.state.settings.webhook_echo_url = None
        kept = [json.loads(f.read_text()) for f in sorted((tmp_path / "webhooks").iterdir())]
    finally:
        echo.stop()
    types = Counter(json.loads(k["body"])["type"] for k in kept)
    assert types["invoice.finalized"] >= 4 and types["comment.created"] == 2, types
    assert all(k["path"] == "/hourline" and "webhook-signature" in k["headers"] for k in kept)


def test_the_banner_gives_the_demo_login_once_it_exists(tmp_path):
    made = banner("http://127.0.0.1:8000", tmp_path, mail=True, embedded=True, demo=True)
    assert f"{OWNER.email} / {PASSWORD}" in made
    missing = banner("http://127.0.0.1:8000", tmp_path, mail=True, embedded=True, demo=False)
    assert OWNER.email not in missing and "make demo" in missing
    assert "  demo   " not in banner("http://127.0.0.1:8000", tmp_path, mail=True, embedded=True)

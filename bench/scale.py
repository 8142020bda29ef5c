"""Lists and the invoice draft with one team holding 1,000,000 time entries.

Loads the entries with SQL `generate_series` (a mature team: 20 members, an entry an hour
each for ~5.7 years, 90% billable, all but the last 50,000 entries invoiced on monthly
invoices per client; one client has 2 in 10 of all entries, 10,000 of them not invoiced
yet), then measures in the same run:

- each list shape over HTTP through the app (p50/p99 of `--requests` requests) against
  the SQL statements that one such request sends, replayed on a bare asyncpg connection;
- the draft from those 10,000 entries over HTTP, its deletion, and the draft's SQL
  replayed in a transaction that is rolled back.

The goals are printed beside the figures: list p99 < 50 ms at 1M rows, draft <= 1 s.

The database it is given is WIPED (schema dropped and rebuilt by the migrations) unless
`--reuse` keeps what a previous run loaded and only migrates it (timing the migration):
BENCH_DATABASE_URL must name a scratch database, else an embedded PostgreSQL is started;
Redis from BENCH_REDIS_URL, else embedded.

    .venv/bin/python bench/scale.py [--entries 1000000] [--requests 200] [--repeat 3]
"""

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
from harness import (  # bench/harness.py
    add_members,
    bench_app,
    capture,
    new_team,
    replay,
    served,
    services,
    timed_draft,
)
from sqlalchemy import text
from sqlalchemy.engine import make_url

from app.accounts import service as accounts_service
from app.core.db import unit_of_work

MEMBERS = 20
CLIENTS = 5
PROJECTS_PER_CLIENT = 4
DRAFT_ENTRIES = 10_000
START = datetime(2020, 1, 1, tzinfo=UTC)
LIST_GOAL_MS = 50.0
DRAFT_GOAL_S = 1.0


@dataclass
class World:
    headers: dict[str, str]
    team_id: str
    user_ids: list[str]
    project_ids: list[str]
    draft_client_id: str
    entries: int
    last_start: datetime


# ---------------------------------------------------------------- loading


async def _api(http: httpx.AsyncClient, path: str, body: dict[str, Any], headers: dict) -> dict:
    r = await http.post(path, json=body, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


# A UUIDv7-like id for row n at instant `at`: time-ordered like the app's `new_id`, so the
# primary key grows at its right edge as it does in production.
_ID = (
    "(lpad(to_hex((extract(epoch FROM {at}) * 1000)::bigint), 12, '0') || '7'"
    " || substr(md5({n}::text), 1, 3) || '8' || substr(md5({n}::text), 4, 15))::uuid"
)

_HISTORY = """
CREATE TEMP TABLE bench_month AS
SELECT c.ord AS client_ord, c.id AS client_id, m AS month,
       gen_random_uuid() AS invoice_id, gen_random_uuid() AS line_id,
       row_number() OVER (ORDER BY m, c.ord) AS seq
FROM unnest(CAST(:clients AS uuid[])) WITH ORDINALITY AS c(id, ord),
     generate_series(CAST(:start AS timestamptz), CAST(:cutoff AS timestamptz),
                     interval '1 month') AS m;
INSERT INTO invoice (team_id, id, client_id, number, status, currency, issue_date, due_date,
                     period_start, period_end, pay_token, created_at, updated_at, finalized_at)
SELECT :team, invoice_id, client_id, 'INV-' || lpad(seq::text, 6, '0'), 'open', 'EUR',
       (month + interval '1 month')::date, (month + interval '45 days')::date, month::date,
       (month + interval '1 month' - interval '1 day')::date, md5(invoice_id::text),
       month + interval '1 month', month + interval '1 month', month + interval '1 month'
FROM bench_month;
INSERT INTO invoice_line (team_id, id, invoice_id, position, kind, description, unit_amount,
                          amount, tax_rate_bps, tax_amount, created_at, updated_at)
SELECT :team, line_id, invoice_id, 0, 'time', 'Time', 9000, 0, 0, 0,
       month + interval '1 month', month + interval '1 month'
FROM bench_month;
"""

# Entry n: member n % MEMBERS, hour n / MEMBERS (45 minutes, so a member's entries never
# overlap); every tenth is not billable; 2 in 10 are on the draft client's two projects
# (client 1), the others spread over the other clients' projects; the billable ones
# before the tail are invoiced on their client's invoice of that month.
_ENTRIES = """
INSERT INTO time_entry (team_id, id, user_id, project_id, started_at, ended_at, billable,
                        invoice_id, note, created_at, updated_at)
SELECT :team, {id}, e.user_id, e.project_id, e.started_at, e.started_at + interval '45 minutes',
       e.billable, bm.invoice_id, NULL,
       e.started_at + interval '45 minutes',
       coalesce(bm.month + interval '1 month', e.started_at + interval '45 minutes')
FROM (
    SELECT n, s.started_at,
           (CAST(:users AS uuid[]))[n % {members} + 1] AS user_id,
           CASE WHEN n % 10 IN (1, 2)
                THEN (CAST(:draft_projects AS uuid[]))[n % 2 + 1]
                ELSE (CAST(:projects AS uuid[]))[(n / 7) % {projects} + 1] END AS project_id,
           CASE WHEN n % 10 IN (1, 2) THEN 1
                ELSE ((n / 7) % {projects}) / {per_client} + 2 END AS client_ord,
           n % 10 <> 0 AS billable
    FROM generate_series(0, :entries - 1) AS n,
         LATERAL (SELECT CAST(:start AS timestamptz) + (n / {members}) * interval '1 hour'
                         + (n % {members}) * interval '2 minutes' AS started_at) AS s
) AS e
LEFT JOIN bench_month bm
       ON e.n < :tail AND e.billable AND bm.client_ord = e.client_ord
      AND bm.month = date_trunc('month', e.started_at)
"""

# Each past invoice's line lists the entries it bills, as a draft's lines do.
_LINE_ENTRIES = """
UPDATE invoice_line l SET time_entry_ids = billed.ids
FROM (SELECT invoice_id, array_agg(id ORDER BY started_at, id) AS ids FROM time_entry
      WHERE team_id = :team AND invoice_id IS NOT NULL GROUP BY invoice_id) AS billed
WHERE l.team_id = :team AND l.invoice_id = billed.invoice_id
"""


async def seed(app: Any, entries: int) -> World:
    """The team, its clients and projects through the API; members, invoices and the
    entries by SQL."""
    team_id, user_id, token = await new_team(app, "Scale")
    headers = {"Authorization": f"Bearer {token}"}
    base = f"/v1/teams/{team_id}"
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
        clients = [
            (await _api(http, f"{base}/clients", {"name": f"C{i}", "currency": "EUR"}, headers))[
                "id"
            ]
            for i in range(CLIENTS + 1)
        ]
        draft_client, clients = clients[0], clients[1:]
        projects = [
            (
                await _api(
                    http,
                    f"{base}/projects",
                    {"name": f"P{i}", "client_id": clients[i // PROJECTS_PER_CLIENT]},
                    headers,
                )
            )["id"]
            for i in range(CLIENTS * PROJECTS_PER_CLIENT)
        ]
        draft_projects = [
            (
                await _api(
                    http, f"{base}/projects", {"name": f"D{i}", "client_id": draft_client}, headers
                )
            )["id"]
            for i in range(2)
        ]
        await _api(
            http,
            f"{base}/rates",
            {
                "scope": "team",
                "hourly_rate_amount": 9000,
                "currency": "EUR",
                "effective_from": "2015-01-01",
            },
            headers,
        )
    users = [str(u) for u in [user_id, *await add_members(app, team_id, MEMBERS - 1)]]
    # The last DRAFT_ENTRIES * 5 entries are not invoiced yet; 2 in 10 of them are the
    # draft client's (exactly DRAFT_ENTRIES when `entries` is a multiple of 10), whose
    # 190,000 earlier ones are on its past invoices.
    tail = max(0, entries - DRAFT_ENTRIES * 5)
    # Monthly invoices up to the month the tail starts in (its first days are billed).
    cutoff = START + timedelta(hours=tail // MEMBERS)
    cutoff = cutoff.replace(day=1, hour=0, minute=0)
    params = {
        "team": team_id,
        "clients": [draft_client, *clients],
        "start": START,
        "cutoff": cutoff,
        "users": users,
        "projects": projects,
        "draft_projects": draft_projects,
        "tail": tail,
        "entries": entries,
    }
    sql = _ENTRIES.format(
        id=_ID.format(at="e.started_at", n="e.n"),
        members=MEMBERS,
        projects=len(projects),
        per_client=PROJECTS_PER_CLIENT,
    )
    began = time.perf_counter()
    async with app.state.db.engine.begin() as conn:
        for statement in _HISTORY.strip().split(";\n"):
            await conn.execute(text(statement), params)
        await conn.execute(text(sql), params)
        await conn.execute(text(_LINE_ENTRIES), {"team": team_id})
    async with app.state.db.engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM ANALYZE"))
    print(f"loaded {entries:,} entries in {time.perf_counter() - began:.1f} s")
    return await load_world(app)


async def load_world(app: Any) -> World:
    """The loaded team as the measurements need it, read back from the database (so a
    `--reuse` run measures the very same requests)."""
    async with app.state.db.engine.connect() as conn:
        team_id, owner_id = (
            await conn.execute(
                text(
                    "SELECT t.id, m.user_id FROM team t JOIN team_membership m ON m.team_id = t.id"
                    " WHERE t.name = 'Scale' AND m.role = 'superadmin'"
                )
            )
        ).one()
        users = [
            str(u)
            for u in (
                await conn.execute(
                    text(
                        "SELECT u.id FROM team_membership m JOIN user_account u ON u.id = m.user_id"
                        " WHERE m.team_id = :t ORDER BY u.name"
                    ),
                    {"t": team_id},
                )
            ).scalars()
        ]
        projects = {
            name: str(pid)
            for pid, name in await conn.execute(
                text("SELECT id, name FROM project WHERE team_id = :t"), {"t": team_id}
            )
        }
        draft_client = (
            await conn.execute(
                text("SELECT id FROM client WHERE team_id = :t AND name = 'C0'"), {"t": team_id}
            )
        ).scalar_one()
        entries, last_start = (
            await conn.execute(
                text("SELECT count(*), max(started_at) FROM time_entry WHERE team_id = :t"),
                {"t": team_id},
            )
        ).one()
    async with unit_of_work(app.state.db, app.state.redis) as session:
        tokens = await accounts_service.start_session(
            session, app.state.secrets, app.state.settings, owner_id
        )
    headers = {"Authorization": f"Bearer {tokens.access_token}"}
    regular = [projects[f"P{i}"] for i in range(CLIENTS * PROJECTS_PER_CLIENT)]
    return World(headers, str(team_id), users, regular, str(draft_client), entries, last_start)


# ---------------------------------------------------------------- measuring


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def timed(call: Callable[[], Awaitable[Any]], n: int, budget_s: float = 60.0) -> list[float]:
    """Milliseconds of up to `n` calls (fewer if `budget_s` runs out), after 3 warm-ups."""
    for _ in range(3):
        await call()
    out: list[float] = []
    deadline = time.perf_counter() + budget_s
    while len(out) < n and time.perf_counter() < deadline:
        began = time.perf_counter()
        await call()
        out.append((time.perf_counter() - began) * 1000)
    return out


def shapes(w: World) -> list[tuple[str, str]]:
    month = (w.last_start - timedelta(days=400)).date().replace(day=1)
    month_end = (month + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    return [
        ("time entries, unfiltered", "/time-entries?limit=50"),
        ("time entries, from/to one month", f"/time-entries?from={month}&to={month_end}&limit=50"),
        ("time entries, billable+uninvoiced", "/time-entries?billable=true&invoiced=false"),
        ("time entries, one member", f"/time-entries?user_id={w.user_ids[3]}&limit=50"),
        ("time entries, one project", f"/time-entries?project_id={w.project_ids[5]}&limit=50"),
        (
            "time entries, updated_since",
            f"/time-entries?updated_since={(w.last_start - timedelta(days=30)).isoformat()}"
            "&limit=50".replace("+", "%2B"),
        ),
        ("invoices, unfiltered", "/invoices?limit=50"),
    ]


async def measure_lists(app: Any, w: World, pg_url: str, n: int) -> list[tuple]:  # type: ignore[type-arg]
    rows = []
    transport = httpx.ASGITransport(app=app)
    conn = await asyncpg.connect(pg_url)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
        for name, path in shapes(w):
            url = f"/v1/teams/{w.team_id}{path}"

            async def get(url: str = url) -> httpx.Response:
                r = await http.get(url, headers=w.headers)
                assert r.status_code == 200, r.text
                return r

            statements = await capture(app, get)
            page = await get()
            size = (len(page.json()["data"]), len(page.content))
            http_ms = await timed(get, n)
            sql_ms = await timed(lambda st=statements: replay(conn, st), n)
            rows.append((name, len(statements), size, http_ms, sql_ms))
    await conn.close()
    return rows


async def measure_draft(app: Any, w: World, pg_url: str, repeat: int) -> list[tuple]:  # type: ignore[type-arg]
    transport = httpx.ASGITransport(app=app)
    conn = await asyncpg.connect(pg_url)
    base = f"/v1/teams/{w.team_id}"
    create_s, delete_s, sql_s, count = [], [], [], 0
    async with httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=300) as http:
        for _ in range(repeat):
            # Each repetition starts from a vacuumed table: otherwise it also pays for
            # the dead row versions the previous one left in every index.
            await conn.execute("VACUUM time_entry")
            seconds, invoice, statements = await timed_draft(
                app, http, base, w.draft_client_id, w.headers
            )
            create_s.append(seconds)
            billed = sum(len(line["time_entry_ids"]) for line in invoice["lines"])
            assert billed == DRAFT_ENTRIES, billed
            count = len(statements)
            began = time.perf_counter()
            r = await http.delete(f"{base}/invoices/{invoice['id']}", headers=w.headers)
            delete_s.append(time.perf_counter() - began)
            assert r.status_code == 204, r.text
            # The same statements (same ids) on the released entries, then undone.
            tx = conn.transaction()
            await tx.start()
            began = time.perf_counter()
            await replay(conn, statements)
            sql_s.append(time.perf_counter() - began)
            await tx.rollback()
    await conn.close()
    return [
        ("draft from 10,000 entries", count, create_s, sql_s),
        ("delete that draft", None, delete_s, None),
    ]


def report(lists: list[tuple], drafts: list[tuple], entries: int, n: int, repeat: int) -> None:  # type: ignore[type-arg]
    print(f"\nLists at {entries:,} entries: {n} requests each (ms)")
    head = f"{'shape':<36} {'stmts':>5} {'items':>5} {'KB':>6} {'http p50':>9} {'http p99':>9} "
    head += f"{'sql p50':>8} "
    print(head + f"{'sql p99':>8} {'http/sql':>8}  goal p99 < {LIST_GOAL_MS:.0f} ms")
    for name, stmts, (items, size), http_ms, sql_ms in lists:
        p50, p99 = statistics.median(http_ms), pct(http_ms, 0.99)
        s50, s99 = statistics.median(sql_ms), pct(sql_ms, 0.99)
        ok = "ok" if p99 < LIST_GOAL_MS else "MISSED"
        print(
            f"{name:<36} {stmts:>5} {items:>5} {size / 1000:>6.0f} {p50:>9.2f} {p99:>9.2f}"
            f" {s50:>8.2f} {s99:>8.2f}"
            f" {p50 / s50:>8.1f}  {ok}"
        )
    print(f"\nDraft (median of {repeat}, s)")
    print(f"{'operation':<36} {'stmts':>5} {'http':>9} {'sql':>8} {'http/sql':>8}  goal <= 1 s")
    for name, stmts, http_s, sql_s in drafts:
        h = statistics.median(http_s)
        s = statistics.median(sql_s) if sql_s else None
        ok = ("ok" if h <= DRAFT_GOAL_S else "MISSED") if sql_s else ""
        print(
            f"{name:<36} {stmts if stmts is not None else '':>5} {h:>9.3f}"
            f" {(f'{s:.3f}' if s is not None else '-'):>8}"
            f" {(f'{h / s:.1f}' if s else '-'):>8}  {ok}"
        )


async def main(entries: int, n: int, repeat: int, reuse: bool) -> None:
    async with services(wipe=not reuse) as (db_url, redis_url, home):
        pg_url = make_url(db_url).set(drivername="postgresql").render_as_string(hide_password=False)
        async with served(bench_app(db_url, redis_url, home)) as app:
            world = await load_world(app) if reuse else await seed(app, entries)
            lists = await measure_lists(app, world, pg_url, n)
            drafts = await measure_draft(app, world, pg_url, repeat)
        report(lists, drafts, world.entries, n, repeat)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep the data a previous run loaded into BENCH_DATABASE_URL (migrate it only)",
    )
    args = parser.parse_args()
    asyncio.run(main(args.entries, args.requests, args.repeat, args.reuse))

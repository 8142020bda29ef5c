"""Draft an invoice from N uninvoiced entries: time, statements, and a raw-SQL baseline.

For a small baseline (100 entries) and the target (10,000 by default), each in a team of
its own on a real PostgreSQL (BENCH_DATABASE_URL, else embedded) and Redis
(BENCH_REDIS_URL, else embedded), `--repeat` times from a vacuumed table:

- the draft over HTTP through the app (`POST .../invoices`), capturing its SQL;
- deleting that draft over HTTP (its entries become billable again);
- the draft's SQL replayed on a bare asyncpg connection (same statements, same
  parameters, on the released entries) in a transaction that is rolled back: what the
  database alone costs, the floor for the app.

Medians are printed side by side with the goal (a draft from 10,000 entries <= 1 s):

    .venv/bin/python bench/invoice_draft.py [--entries 10000] [--repeat 5]
"""

import argparse
import asyncio
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
from harness import (  # bench/harness.py
    add_members,
    bench_app,
    new_team,
    replay,
    served,
    services,
    timed_draft,
)
from sqlalchemy import text
from sqlalchemy.engine import make_url

GOAL_S = 1.0


async def seed(app, entries: int) -> tuple[dict[str, str], str, str]:  # type: ignore[no-untyped-def]
    """A team with one client, 5 projects, 4 members and `entries` billable entries."""
    team_id, user_id, token = await new_team(app, "Bench")
    headers = {"Authorization": f"Bearer {token}"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
        base = f"/v1/teams/{team_id}"
        client = (
            await http.post(
                f"{base}/clients", json={"name": "Client", "currency": "EUR"}, headers=headers
            )
        ).json()
        projects = [
            (
                await http.post(
                    f"{base}/projects",
                    json={"name": f"P{i}", "client_id": client["id"]},
                    headers=headers,
                )
            ).json()["id"]
            for i in range(5)
        ]
        await http.post(
            f"{base}/rates",
            json={
                "scope": "team",
                "hourly_rate_amount": 9000,
                "currency": "EUR",
                "effective_from": "2020-01-01",
            },
            headers=headers,
        )
    members = [user_id, *await add_members(app, team_id, 3)]
    async with app.state.db.engine.begin() as conn:
        start = datetime(2025, 1, 1, tzinfo=UTC)
        rows = []
        for n in range(entries):
            member = members[n % len(members)]
            began = start + timedelta(hours=n // len(members))
            rows.append(
                {
                    "id": uuid.uuid4(),
                    "team": team_id,
                    "user": member,
                    "project": projects[n % len(projects)],
                    "s": began,
                    "e": began + timedelta(minutes=45),
                }
            )
        await conn.execute(
            text(
                "INSERT INTO time_entry"
                " (id, team_id, user_id, project_id, started_at, ended_at, billable)"
                " VALUES (:id, :team, :user, :project, :s, :e, true)"
            ),
            rows,
        )
    return headers, str(team_id), client["id"]


async def measure(app, pg_url: str, entries: int, repeat: int) -> tuple:  # type: ignore[no-untyped-def,type-arg]
    """(lines, statements, HTTP draft s, SQL replay s, HTTP delete s) per repetition."""
    headers, team_id, client_id = await seed(app, entries)
    conn = await asyncpg.connect(pg_url)
    await conn.execute("VACUUM ANALYZE")
    base = f"/v1/teams/{team_id}"
    create_s, sql_s, delete_s = [], [], []
    lines = statements = 0
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=300) as http:
        for _ in range(repeat):
            # Each repetition starts from a vacuumed table: otherwise it also pays for the
            # dead row versions the previous one left in every index.
            await conn.execute("VACUUM time_entry")
            seconds, invoice, sent = await timed_draft(app, http, base, client_id, headers)
            create_s.append(seconds)
            billed = sum(len(line["time_entry_ids"]) for line in invoice["lines"])
            assert billed == entries, (billed, entries)
            lines, statements = len(invoice["lines"]), len(sent)
            began = time.perf_counter()
            r = await http.delete(f"{base}/invoices/{invoice['id']}", headers=headers)
            delete_s.append(time.perf_counter() - began)
            assert r.status_code == 204, r.text
            # The same statements (same ids) on the released entries, then undone.
            await conn.execute("VACUUM time_entry")
            tx = conn.transaction()
            await tx.start()
            began = time.perf_counter()
            await replay(conn, sent)
            sql_s.append(time.perf_counter() - began)
            await tx.rollback()
    await conn.close()
    return lines, statements, create_s, sql_s, delete_s


async def main(entries: int, repeat: int) -> None:
    async with services() as (db_url, redis_url, home):
        pg_url = make_url(db_url).set(drivername="postgresql").render_as_string(hide_password=False)
        async with served(bench_app(db_url, redis_url, home)) as app:
            print(f"median of {repeat} (s); sql = the draft's statements replayed on asyncpg")
            print(
                f"{'entries':>8} {'lines':>6} {'stmts':>6} {'draft http':>11} {'draft sql':>10}"
                f" {'http/sql':>9} {'delete http':>12}  goal: draft of 10,000 <= {GOAL_S:.0f} s"
            )
            for n in (100, entries):
                lines, stmts, http_s, sql_s, delete_s = await measure(app, pg_url, n, repeat)
                h, s = statistics.median(http_s), statistics.median(sql_s)
                ok = ("ok" if h <= GOAL_S else "MISSED") if n == entries else ""
                print(
                    f"{n:>8} {lines:>6} {stmts:>6} {h:>11.3f} {s:>10.3f} {h / s:>9.1f}"
                    f" {statistics.median(delete_s):>12.3f}  {ok}"
                )
                print(f"{'':>8} runs: draft {' '.join(f'{x:.3f}' for x in http_s)}", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main(args.entries, args.repeat))

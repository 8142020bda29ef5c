"""Draft an invoice from N uninvoiced entries and print time and query count.

Runs the same request for a small baseline (100 entries) and the target (10,000 by
default) in one run, on a real PostgreSQL (BENCH_DATABASE_URL, else embedded) and Redis
(BENCH_REDIS_URL, else embedded):

    .venv/bin/python bench/invoice_draft.py [--entries 10000] [--repeat 3]
"""

import argparse
import asyncio
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx
from harness import bench_app, new_team, services  # bench/harness.py
from sqlalchemy import event, text


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
    members = [user_id]
    async with app.state.db.engine.begin() as conn:
        for i in range(3):
            uid = uuid.uuid4()
            await conn.execute(
                text("INSERT INTO user_account (id, email, name) VALUES (:id, :e, :n)"),
                {"id": uid, "e": f"m{i}-{uid.hex[:6]}@example.com", "n": f"Member {i}"},
            )
            await conn.execute(
                text(
                    "INSERT INTO team_membership (team_id, user_id, role) VALUES (:t, :u, 'member')"
                ),
                {"t": team_id, "u": uid},
            )
            members.append(uid)
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


async def draft_once(app, entries: int) -> tuple[float, int, int]:  # type: ignore[no-untyped-def]
    headers, team_id, client_id = await seed(app, entries)
    queries = 0

    def count(*_: object) -> None:
        nonlocal queries
        queries += 1

    engine = app.state.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=300) as http:
        began = time.perf_counter()
        r = await http.post(
            f"/v1/teams/{team_id}/invoices", json={"client_id": client_id}, headers=headers
        )
        elapsed = time.perf_counter() - began
    event.remove(engine, "before_cursor_execute", count)
    assert r.status_code == 201, r.text
    billed = sum(len(line["time_entry_ids"]) for line in r.json()["lines"])
    assert billed == entries, (billed, entries)
    return elapsed, queries, len(r.json()["lines"])


async def main(entries: int, repeat: int) -> None:
    async with services() as (db_url, redis_url, home):
        app = bench_app(db_url, redis_url, home)
        print(f"{'entries':>8} {'lines':>6} {'queries':>8} {'median s':>9} {'per 1k entries':>15}")
        for n in (100, entries):
            runs = [await draft_once(app, n) for _ in range(repeat)]
            med = statistics.median(r[0] for r in runs)
            print(f"{n:>8} {runs[0][2]:>6} {runs[0][1]:>8} {med:>9.3f} {med / n * 1000:>15.3f}")
        await app.state.redis.aclose()
        await app.state.db.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.entries, args.repeat))

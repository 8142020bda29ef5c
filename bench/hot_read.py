"""The hot read, Hourline against a bare baseline sending the same SQL.

`GET /v1/teams/{team_id}/clients?limit=50` (50 clients with their members), with a user
access token and with an `hl_` API key, served by:

- Hourline: `hourline serve --workers 1` (production path, no in-process worker);
- the baseline: `bench/baseline_app.py` (Starlette + asyncpg, the same statements in the
  same transaction, byte-identical JSON; checked before measuring), on the same uvicorn.

Both run side by side on the same PostgreSQL (BENCH_DATABASE_URL, else embedded; that
database is wiped) and Redis (BENCH_REDIS_URL, else embedded). A small asyncio HTTP/1.1
client loads them in turn, interleaved A/B/A/B, with a bounded number of connections
and a bounded time per run. It prints throughput, p50, p99, server CPU per request and
its own CPU use, the medians over the rounds, the ratio Hourline / baseline, and the
request rate at which p99 crosses 50 ms (open-loop runs at rising rates).

    .venv/bin/python bench/hot_read.py [--seconds 4] [--connections 32] [--rounds 3]
"""

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
from harness import (
    SECRET,
    Run,
    bench_app,
    closed_loop,
    get,
    new_team,
    open_loop,
    services,
    start,
)  # bench/harness.py
from sqlalchemy import text

from app.accounts import service as accounts_service
from app.core.db import unit_of_work
from app.core.embedded import free_port

CLIENTS = 60  # more than a page, so the page carries a cursor
P99_GOAL_MS = 50.0


# ---------------------------------------------------------------- set-up


async def seed(app: Any) -> tuple[str, str, str]:
    """A team with CLIENTS clients of two members each: (team id, access token, API key)."""
    team_id, owner_id, token = await new_team(app, "Bench")
    async with unit_of_work(app.state.db, app.state.redis) as session:
        other = await accounts_service.create_user(
            session, app.state.secrets, email="member@example.com", name="Member", password="x" * 12
        )
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://bench"
    ) as http:
        base = f"/v1/teams/{team_id}"
        async with unit_of_work(app.state.db, app.state.redis) as session:
            await session.execute(
                text(
                    "INSERT INTO team_membership (team_id, user_id, role) VALUES (:t, :u, 'member')"
                ),
                {"t": team_id, "u": other.id},
            )
        for i in range(CLIENTS):
            r = await http.post(
                f"{base}/clients",
                json={
                    "name": f"Client {i:02d} — Ünïcode GmbH",
                    "currency": "EUR",
                    "email": f"billing{i}@example.com",
                    "member_ids": [str(owner_id), str(other.id)],
                    "hourly_rate_amount": 9000 + i,
                    "notes": "Net 30",
                },
                headers=headers,
            )
            assert r.status_code == 201, r.text
        r = await http.post(
            f"{base}/api-keys", json={"name": "bench", "role": "org_manager"}, headers=headers
        )
        assert r.status_code == 201, r.text
        key = r.json()["key"]
    await app.state.db.dispose()
    await app.state.redis.aclose()
    return str(team_id), token, key


# ---------------------------------------------------------------- main


async def main(args: argparse.Namespace) -> None:
    async with services() as (database_url, redis_url, home):
        await measure(args, database_url, redis_url, home)


async def measure(args: argparse.Namespace, database_url: str, redis_url: str, home: Path) -> None:
    procs: list[subprocess.Popen[bytes]] = []
    try:
        team_id, token, key = await seed(bench_app(database_url, redis_url, home))

        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "SECRET_KEY": SECRET,
            "SMTP_URL": "smtp://127.0.0.1:1",
            "HOURLINE_HOME": str(home),
            "LOG_LEVEL": "WARNING",
        }
        ports = {"hourline": free_port(), "baseline": free_port()}
        hourline = start(
            "hourline",
            [
                sys.executable,
                "-m",
                "app.cli",
                "serve",
                "--port",
                str(ports["hourline"]),
                "--workers",
                "1",
                "--no-with-worker",
            ],
            env,
            ports["hourline"],
        )
        baseline = start(
            "baseline",
            [
                sys.executable,
                "-m",
                "uvicorn",
                "bench.baseline_app:app",
                "--port",
                str(ports["baseline"]),
                "--log-level",
                "warning",
            ],
            env,
            ports["baseline"],
        )
        procs = [hourline, baseline]
        pids = {"hourline": hourline.pid, "baseline": baseline.pid}
        urls = {
            name: f"http://127.0.0.1:{port}/v1/teams/{team_id}/clients?limit=50"
            for name, port in ports.items()
        }
        auths = {"bearer": token, "api key": key}

        async with httpx.AsyncClient() as http:
            for label, secret in auths.items():
                bodies = {}
                for name, url in urls.items():
                    r = await http.get(url, headers={"Authorization": f"Bearer {secret}"})
                    assert r.status_code == 200, (name, r.text)
                    bodies[name] = r.content
                assert bodies["hourline"] == bodies["baseline"], f"{label}: the JSON differs"
        print(f"same JSON from both ({len(bodies['hourline'])} bytes, 50 clients, 2 members each)")

        # Warm up both (statement caches, prepared statements, pools).
        for name, url in urls.items():
            for secret in auths.values():
                await closed_loop(
                    url, lambda r=get(url, secret): r, pids[name], args.connections, 1.0
                )

        results: dict[tuple[str, str], list[Run]] = {}
        for _ in range(args.rounds):
            for label, secret in auths.items():
                for name in ("baseline", "hourline"):
                    raw = get(urls[name], secret)
                    run = await closed_loop(
                        urls[name], lambda r=raw: r, pids[name], args.connections, args.seconds
                    )
                    results.setdefault((name, label), []).append(run)

        print(
            f"\nclosed loop, {args.connections} connections, {args.rounds} rounds of "
            f"{args.seconds:g} s each, interleaved; medians"
        )
        print(
            f"{'server':9} {'auth':8} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} "
            f"{'CPU ms/req':>10} {'client CPU':>10}"
        )
        medians: dict[tuple[str, str], float] = {}
        for (name, label), runs in sorted(results.items()):
            rps = statistics.median(r.rps for r in runs)
            medians[(name, label)] = rps
            print(
                f"{name:9} {label:8} {rps:7.0f} "
                f"{statistics.median(r.pct(0.5) for r in runs):7.1f} "
                f"{statistics.median(r.pct(0.99) for r in runs):7.1f} "
                f"{statistics.median(1000 * r.server_cpu / r.requests for r in runs):10.2f} "
                f"{statistics.median(100 * r.client_cpu / r.seconds for r in runs):9.0f}%"
            )
        for label in auths:
            ratio = medians[("hourline", label)] / medians[("baseline", label)]
            verdict = "meets" if ratio >= 0.5 else "misses"
            print(f"ratio Hourline / baseline, {label}: {ratio:.2f} ({verdict} the goal of 0.5)")

        print(f"\nopen loop, bearer token: the rate at which p99 crosses {P99_GOAL_MS:g} ms")
        for name in ("baseline", "hourline"):
            top = medians[(name, "bearer")]
            last_ok = 0.0
            for share in (0.2, 0.35, 0.5, 0.65, 0.8, 0.9):
                rate = round(top * share)
                run = await open_loop(
                    urls[name], get(urls[name], token), pids[name], rate, args.seconds
                )
                p99 = run.pct(0.99)
                print(f"  {name:9} {rate:5d} req/s  p50 {run.pct(0.5):6.1f} ms  p99 {p99:7.1f} ms")
                if p99 >= P99_GOAL_MS:
                    break
                last_ok = rate
            print(f"  {name}: p99 stays under {P99_GOAL_MS:g} ms up to ~{last_ok:.0f} req/s")
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=30)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="length of one run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    asyncio.run(main(parser.parse_args()))

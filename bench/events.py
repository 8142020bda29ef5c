"""What the event record costs a write, and how fast the event stream fans out.

1. Recording cost. `POST /time-entries` from 16 connections (each logging for its own
   member, so no two writes wait on the same user's overlap check), against
   `hourline serve --workers 1` as shipped and against the same server with
   `record_event` switched off (`bench/serve_without_events.py`), interleaved A/B over
   several rounds. Prints writes/s, p50, p99 and the ratio with/without (goal >= 0.85).

2. Fan-out. STREAMS event streams open on one API process, all in one team (the
   per-team and per-user limits raised for the run: the worst case, every stream woken
   by every commit). One write at a time; for each, the time from the write's answer
   (its transaction has committed) to the first and to the last stream receiving its
   event. Prints p50 and p99 of both over the writes.

Both run against BENCH_DATABASE_URL / BENCH_REDIS_URL (else embedded ones; the database
is wiped).

    .venv/bin/python bench/events.py [--seconds 4] [--rounds 3] [--streams 500] [--writes 40]
"""

import argparse
import asyncio
import itertools
import json
import os
import signal
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from harness import (  # bench/harness.py
    ROOT,
    SECRET,
    Run,
    add_members,
    bench_app,
    closed_loop,
    new_team,
    post,
    services,
    start,
)
from sqlalchemy import text

from app.core.embedded import free_port

COST_GOAL = 0.85
BASE = datetime(2020, 1, 1, tzinfo=UTC)


async def seed(app: Any, members: int) -> tuple[str, str, str, list[uuid.UUID]]:
    """A team, a client with its project, `members` members on it:
    (team id, project id, owner's token, member ids)."""
    team_id, _, token = await new_team(app, "Bench")
    member_ids = await add_members(app, team_id, members)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://bench", headers=headers
    ) as http:
        base = f"/v1/teams/{team_id}"
        r = await http.post(
            f"{base}/clients", json={"name": "Client", "currency": "EUR", "create_project": True}
        )
        assert r.status_code == 201, r.text
        project_id = r.json()["project_id"]
        for uid in member_ids:
            r = await http.post(
                f"{base}/projects/{project_id}/members",
                json={"user_id": str(uid), "role": "member"},
            )
            assert r.status_code == 201, r.text
    await app.state.db.dispose()
    await app.state.redis.aclose()
    return str(team_id), project_id, token, member_ids


def entry_writes(
    url: str, token: str, project_id: str, members: list[uuid.UUID], slots: Any
) -> Any:
    """Raw `POST /time-entries`, each for the next member, eleven minutes apart per member;
    `slots` (a shared counter) keeps the writes of both servers apart."""

    def next_request() -> bytes:
        n = next(slots)
        member = members[n % len(members)]
        start_at = BASE + timedelta(minutes=11 * (n // len(members)))
        body = json.dumps(
            {
                "project_id": project_id,
                "user_id": str(member),
                "started_at": start_at.isoformat(),
                "ended_at": (start_at + timedelta(minutes=10)).isoformat(),
                "note": "bench",
            }
        ).encode()
        return post(url, body, {"Authorization": f"Bearer {token}"})

    return next_request


def server_env(database_url: str, redis_url: str, home: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": SECRET,
        "SMTP_URL": "smtp://127.0.0.1:1",
        "HOURLINE_HOME": str(home),
        "LOG_LEVEL": "WARNING",
        **extra,
    }


def serve_argv(script: list[str], port: int) -> list[str]:
    return [*script, "serve", "--port", str(port), "--workers", "1", "--no-with-worker"]


async def event_count(database_url: str) -> int:
    from sqlalchemy.ext.asyncio import create_async_engine

    from app.core.db import async_url

    engine = create_async_engine(async_url(database_url))
    async with engine.connect() as conn:
        count = (await conn.execute(text("SELECT count(*) FROM event"))).scalar_one()
    await engine.dispose()
    return int(count)


# ---------------------------------------------------------------- 1. recording cost


async def recording_cost(
    args: argparse.Namespace, database_url: str, redis_url: str, home: Path
) -> float:
    team_id, project_id, token, members = await seed(
        bench_app(database_url, redis_url, home), args.connections
    )
    env = server_env(database_url, redis_url, home)
    ports = {"with events": free_port(), "without": free_port()}
    procs = {
        "with events": start(
            "hourline",
            serve_argv([sys.executable, "-m", "app.cli"], ports["with events"]),
            env,
            ports["with events"],
        ),
        "without": start(
            "hourline without events",
            serve_argv(
                [sys.executable, str(ROOT / "bench" / "serve_without_events.py")], ports["without"]
            ),
            env,
            ports["without"],
        ),
    }
    try:
        slots = itertools.count()
        urls = {
            n: f"http://127.0.0.1:{p}/v1/teams/{team_id}/time-entries" for n, p in ports.items()
        }
        writes = {
            name: entry_writes(url, token, project_id, members, slots) for name, url in urls.items()
        }
        counted = await event_count(database_url)
        for name in ("with events", "without"):
            await closed_loop(urls[name], writes[name], procs[name].pid, args.connections, 1.0)
            after = await event_count(database_url)
            print(f"warm-up {name}: {after - counted} events recorded")
            counted = after
        results: dict[str, list[Run]] = {}
        for _ in range(args.rounds):
            for name in ("without", "with events"):
                run = await closed_loop(
                    urls[name], writes[name], procs[name].pid, args.connections, args.seconds
                )
                results.setdefault(name, []).append(run)
    finally:
        for proc in procs.values():
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=30)
    print(
        f"\n1. POST /time-entries, {args.connections} connections, {args.rounds} rounds of "
        f"{args.seconds:g} s, interleaved; medians"
    )
    print(f"{'server':12} {'writes/s':>9} {'p50 ms':>7} {'p99 ms':>7} {'CPU ms/write':>12}")
    rps = {}
    for name, runs in results.items():
        rps[name] = statistics.median(r.rps for r in runs)
        print(
            f"{name:12} {rps[name]:9.0f} {statistics.median(r.pct(0.5) for r in runs):7.1f} "
            f"{statistics.median(r.pct(0.99) for r in runs):7.1f} "
            f"{statistics.median(1000 * r.server_cpu / r.requests for r in runs):12.2f}"
        )
    ratio = rps["with events"] / rps["without"]
    verdict = "meets" if ratio >= COST_GOAL else "misses"
    print(f"ratio with/without: {ratio:.2f} ({verdict} the goal of {COST_GOAL})")
    return ratio


# ---------------------------------------------------------------- 2. fan-out


class Listener:
    """One event stream over a raw connection: when each event id arrived."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.ready = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def run(self, url: str, token: str) -> None:
        parts = urlsplit(url)
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        writer.write(
            (
                f"GET {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                f"Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n"
            ).encode()
        )
        head = await reader.readuntil(b"\r\n\r\n")
        assert b" 200 " in head.split(b"\r\n", 1)[0], head
        try:
            while True:
                line = await reader.readline()
                if not line:
                    return
                if line.startswith(b": open"):
                    self.ready.set()
                elif line.startswith(b"id: "):
                    self.arrived[line[4:].strip().decode()] = time.perf_counter()
        finally:
            writer.close()


async def fan_out(args: argparse.Namespace, database_url: str, redis_url: str, home: Path) -> None:
    team_id, project_id, token, _ = await seed(bench_app(database_url, redis_url, home), 1)
    port = free_port()
    env = server_env(
        database_url,
        redis_url,
        home,
        EVENT_STREAMS_PER_TEAM=str(args.streams),
        EVENT_STREAMS_PER_USER=str(args.streams),
    )
    proc = start("hourline", serve_argv([sys.executable, "-m", "app.cli"], port), env, port)
    base = f"http://127.0.0.1:{port}/v1/teams/{team_id}"
    listeners = [Listener() for _ in range(args.streams)]
    first: list[float] = []
    last: list[float] = []
    every: list[float] = []
    try:
        for listener in listeners:
            listener.task = asyncio.create_task(
                listener.run(f"{base}/events?types=time_entry.created", token)
            )
        await asyncio.wait_for(asyncio.gather(*(li.ready.wait() for li in listeners)), 60)
        await asyncio.sleep(1)  # the process's subscription is live
        async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as http:
            for n in range(args.writes + 3):
                start_at = BASE + timedelta(hours=n)
                r = await http.post(
                    f"{base}/time-entries",
                    json={
                        "project_id": project_id,
                        "started_at": start_at.isoformat(),
                        "ended_at": (start_at + timedelta(minutes=30)).isoformat(),
                    },
                )
                committed = time.perf_counter()
                assert r.status_code == 201, r.text
                # Each write records one `time_entry.created`, the streams' only type.
                deadline = time.monotonic() + 30
                while not all(len(li.arrived) > n for li in listeners):
                    assert time.monotonic() < deadline, "an event did not reach every stream"
                    await asyncio.sleep(0.002)
                event_id = max(listeners[0].arrived, key=int)
                times = [li.arrived[event_id] - committed for li in listeners]
                if n >= 3:  # the first writes warm the server up
                    first.append(min(times) * 1000)
                    last.append(max(times) * 1000)
                    every += [t * 1000 for t in times]
                await asyncio.sleep(0.05)
    finally:
        for listener in listeners:
            if listener.task:
                listener.task.cancel()
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)

    def pct(values: list[float], q: float) -> float:
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    print(
        f"\n2. fan-out: {args.streams} streams on one API process, one team, "
        f"{args.writes} writes one at a time; ms from the write's answer"
    )
    print(f"{'':22} {'p50':>7} {'p99':>7}")
    print(f"{'first stream':22} {pct(first, 0.5):7.1f} {pct(first, 0.99):7.1f}")
    print(f"{'last stream':22} {pct(last, 0.5):7.1f} {pct(last, 0.99):7.1f}")
    print(f"{'every delivery':22} {pct(every, 0.5):7.1f} {pct(every, 0.99):7.1f}")


async def main(args: argparse.Namespace) -> None:
    if args.part in ("all", "cost"):
        async with services() as (database_url, redis_url, home):
            await recording_cost(args, database_url, redis_url, home)
    if args.part in ("all", "fanout"):
        async with services() as (database_url, redis_url, home):
            await fan_out(args, database_url, redis_url, home)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="length of one run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--streams", type=int, default=500)
    parser.add_argument("--writes", type=int, default=40)
    parser.add_argument("--part", choices=["all", "cost", "fanout"], default="all")
    asyncio.run(main(parser.parse_args()))

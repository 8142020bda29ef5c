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
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from app.accounts import service as accounts_service
from app.cli import migrate
from app.config import Settings
from app.core.db import async_url, unit_of_work
from app.core.embedded import EmbeddedPostgres, EmbeddedRedis, free_port
from app.main import create_app
from app.teams import service as teams_service

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-secret-key-" + "x" * 32
CLIENTS = 60  # more than a page, so the page carries a cursor
P99_GOAL_MS = 50.0


# ---------------------------------------------------------------- set-up


async def reset(database_url: str) -> None:
    engine = create_async_engine(async_url(database_url))
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()
    await asyncio.to_thread(migrate, database_url)


async def seed(settings: Settings) -> tuple[str, str, str]:
    """A team with CLIENTS clients of two members each: (team id, access token, API key)."""
    app = create_app(settings)
    async with unit_of_work(app.state.db, app.state.redis) as session:
        owner = await accounts_service.create_user(
            session, app.state.secrets, email="owner@example.com", name="Owner", password="x" * 12
        )
        team = await teams_service.create_team(
            session, owner_id=owner.id, name="Bench", base_currency="EUR", timezone="UTC"
        )
        other = await accounts_service.create_user(
            session, app.state.secrets, email="member@example.com", name="Member", password="x" * 12
        )
        tokens = await accounts_service.start_session(
            session, app.state.secrets, settings, owner.id
        )
    headers = {"Authorization": f"Bearer {tokens.access_token}"}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://bench"
    ) as http:
        base = f"/v1/teams/{team.id}"
        async with unit_of_work(app.state.db, app.state.redis) as session:
            await session.execute(
                text(
                    "INSERT INTO team_membership (team_id, user_id, role) VALUES (:t, :u, 'member')"
                ),
                {"t": team.id, "u": other.id},
            )
        for i in range(CLIENTS):
            r = await http.post(
                f"{base}/clients",
                json={
                    "name": f"Client {i:02d} — Ünïcode GmbH",
                    "currency": "EUR",
                    "email": f"billing{i}@example.com",
                    "member_ids": [str(owner.id), str(other.id)],
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
    return str(team.id), tokens.access_token, key


def start(name: str, argv: list[str], env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{name} exited: {proc.stderr.read().decode() if proc.stderr else ''}")
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
            return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit(f"{name} did not start")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its children that were waited for."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(f) for f in fields[11:15])
    return ticks / os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------- load


@dataclass
class Run:
    requests: int
    seconds: float
    latencies: list[float]
    server_cpu: float
    client_cpu: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def _conn(host: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection(host, port)


async def _request(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, raw: bytes
) -> tuple[int, bytes]:
    writer.write(raw)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    return status, await reader.readexactly(length)


def _raw(url: str, token: str) -> bytes:
    parts = urlsplit(url)
    return (
        f"GET {parts.path}?{parts.query} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        f"Authorization: Bearer {token}\r\n\r\n"
    ).encode()


async def closed_loop(url: str, token: str, pid: int, connections: int, seconds: float) -> Run:
    """`connections` clients, each sending the next request when the last one is answered."""
    parts = urlsplit(url)
    raw = _raw(url, token)
    latencies: list[float] = []
    stop = time.monotonic() + seconds

    async def client() -> None:
        reader, writer = await _conn(parts.hostname or "", parts.port or 80)
        try:
            while time.monotonic() < stop:
                t0 = time.perf_counter()
                status, _ = await _request(reader, writer, raw)
                assert status == 200, status
                latencies.append(time.perf_counter() - t0)
        finally:
            writer.close()

    cpu0, ccpu0, t0 = cpu_seconds(pid), time.process_time(), time.monotonic()
    await asyncio.gather(*(client() for _ in range(connections)))
    elapsed = time.monotonic() - t0
    return Run(
        len(latencies), elapsed, latencies, cpu_seconds(pid) - cpu0, time.process_time() - ccpu0
    )


async def open_loop(url: str, token: str, pid: int, rate: float, seconds: float) -> Run:
    """Requests sent on a fixed schedule (`rate` per second) whatever the answers; latency
    counts from the scheduled time, so queueing shows (no coordinated omission)."""
    parts = urlsplit(url)
    raw = _raw(url, token)
    idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(64):
        idle.put_nowait(await _conn(parts.hostname or "", parts.port or 80))
    latencies: list[float] = []

    async def one(due: float) -> None:
        reader, writer = await idle.get()
        try:
            status, _ = await _request(reader, writer, raw)
            assert status == 200, status
            latencies.append(time.perf_counter() - due)
        finally:
            idle.put_nowait((reader, writer))

    cpu0, ccpu0 = cpu_seconds(pid), time.process_time()
    start_at = time.perf_counter()
    tasks = []
    for i in range(int(rate * seconds)):
        due = start_at + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(due)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start_at
    while not idle.empty():
        idle.get_nowait()[1].close()
    return Run(
        len(latencies), elapsed, latencies, cpu_seconds(pid) - cpu0, time.process_time() - ccpu0
    )


# ---------------------------------------------------------------- main


async def main(args: argparse.Namespace) -> None:
    home = Path(tempfile.mkdtemp(prefix="hourline-bench-"))
    embedded: list[EmbeddedPostgres | EmbeddedRedis] = []
    procs: list[subprocess.Popen[bytes]] = []
    try:
        database_url = os.environ.get("BENCH_DATABASE_URL")
        redis_url = os.environ.get("BENCH_REDIS_URL")
        if not database_url:
            embedded.append(EmbeddedPostgres(home / "pg"))
            database_url = embedded[-1].start("hourline_bench")  # type: ignore[union-attr]
        if not redis_url:
            embedded.append(EmbeddedRedis(home / "redis"))
            redis_url = embedded[-1].start()
        await reset(database_url)
        settings = Settings(
            database_url=database_url, redis_url=redis_url, secret_key=SECRET, hourline_home=home
        )
        team_id, token, key = await seed(settings)

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
                await closed_loop(url, secret, pids[name], args.connections, 1.0)

        results: dict[tuple[str, str], list[Run]] = {}
        for _ in range(args.rounds):
            for label, secret in auths.items():
                for name in ("baseline", "hourline"):
                    run = await closed_loop(
                        urls[name], secret, pids[name], args.connections, args.seconds
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
                run = await open_loop(urls[name], token, pids[name], rate, args.seconds)
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
        for service in reversed(embedded):
            service.stop()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="length of one run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    asyncio.run(main(parser.parse_args()))

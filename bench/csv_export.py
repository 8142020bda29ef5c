"""Exporting 1,000,000 time entries as CSV through the real API, in flat memory.

Loads one team with `--entries` time entries (bench/scale.py's loader: SQL
`generate_series`), starts `hourline serve --workers 1` as production runs it, and
streams `GET /v1/teams/{id}/time-entries?format=csv` while sampling the serving process's
resident memory every 20 ms. Prints the rows (checked against the database's count), the
seconds, MB/s, the idle and the peak RSS, beside a baseline in the same run: PostgreSQL's
own `COPY (SELECT ... FROM time_entry ...) TO STDOUT (FORMAT csv)` of the same rows over a
bare asyncpg connection (no pricing, no shaping). Goal: peak RSS under 200 MB.

The database it is given is WIPED unless `--reuse` keeps what a previous run (of this
script or of bench/scale.py) loaded: BENCH_DATABASE_URL must name a scratch database,
else an embedded PostgreSQL is started; Redis from BENCH_REDIS_URL, else embedded.

    .venv/bin/python bench/csv_export.py [--entries 1000000] [--reuse]
"""

import argparse
import asyncio
import contextlib
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil
from harness import SECRET, bench_app, served, services, start  # bench/harness.py
from scale import load_world, seed  # bench/scale.py
from sqlalchemy.engine import make_url

from app.core.embedded import free_port

RSS_GOAL_MB = 200.0
MB = 1024 * 1024


class RssSampler:
    """The peak resident memory of a process and its children, sampled in a thread."""

    def __init__(self, pid: int, every: float = 0.02) -> None:
        self.process = psutil.Process(pid)
        self.every = every
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def rss(self) -> int:
        total = self.process.memory_info().rss
        for child in self.process.children(recursive=True):
            with contextlib.suppress(psutil.NoSuchProcess):
                total += child.memory_info().rss
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.rss())
            time.sleep(self.every)

    def __enter__(self) -> "RssSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


async def export(url: str, headers: dict[str, str]) -> tuple[int, int, float, str]:
    """Stream the CSV: (data rows, bytes, seconds, the header line)."""
    lines = size = 0
    head = b""
    began = time.perf_counter()
    async with (
        httpx.AsyncClient(timeout=None) as http,
        http.stream("GET", url, headers=headers) as r,
    ):
        assert r.status_code == 200, (await r.aread()).decode()
        assert r.headers["content-type"] == "text/csv; charset=utf-8"
        async for chunk in r.aiter_raw(1 << 20):
            if not head:
                head = chunk[: chunk.index(b"\r\n")]
            size += len(chunk)
            lines += chunk.count(b"\r\n")  # the bench's notes are null: one line a row
    return lines - 1, size, time.perf_counter() - began, head.decode()


async def copy_baseline(pg_url: str, team_id: str) -> tuple[int, float]:
    """PostgreSQL writing the same rows as CSV itself: (bytes, seconds)."""
    size = 0

    async def sink(data: bytes) -> None:
        nonlocal size
        size += len(data)

    conn = await asyncpg.connect(pg_url)
    try:
        began = time.perf_counter()
        await conn.copy_from_query(
            "SELECT * FROM time_entry WHERE team_id = $1 ORDER BY started_at DESC, id DESC",
            team_id,
            output=sink,
            format="csv",
            header=True,
        )
        return size, time.perf_counter() - began
    finally:
        await conn.close()


async def main(entries: int, reuse: bool) -> None:
    async with services(wipe=not reuse) as (db_url, redis_url, home):
        pg_url = make_url(db_url).set(drivername="postgresql").render_as_string(hide_password=False)
        async with served(bench_app(db_url, redis_url, home)) as app:
            world = await load_world(app) if reuse else await seed(app, entries)
        await measure(world, db_url, redis_url, home, pg_url)


async def measure(world: Any, db_url: str, redis_url: str, home: Path, pg_url: str) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": SECRET,
        "SMTP_URL": "smtp://127.0.0.1:1",
        "HOURLINE_HOME": str(home),
        "LOG_LEVEL": "WARNING",
    }
    port = free_port()
    argv = [sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--workers", "1"]
    server = start("hourline", [*argv, "--no-with-worker"], env, port)
    try:
        base = f"http://127.0.0.1:{port}/v1/teams/{world.team_id}"
        # Warm: the first JSON page loads the code paths an export uses.
        async with httpx.AsyncClient() as http:
            r = await http.get(f"{base}/time-entries?limit=200", headers=world.headers)
            assert r.status_code == 200, r.text
        sampler = RssSampler(server.pid)
        idle = sampler.rss()
        with sampler:
            rows, size, seconds, header = await export(
                f"{base}/time-entries?format=csv", world.headers
            )
        after = sampler.rss()
        copy_size, copy_seconds = await copy_baseline(pg_url, world.team_id)
    finally:
        server.terminate()
        server.wait(timeout=30)

    assert rows == world.entries, (rows, world.entries)
    peak = sampler.peak / MB
    print(f"\nCSV export of {world.entries:,} time entries (hourline serve --workers 1)")
    print(f"columns: {header}")
    print(f"{'':<28} {'rows':>10} {'MB':>8} {'s':>8} {'MB/s':>8} {'rows/s':>9}")
    print(
        f"{'GET ?format=csv':<28} {rows:>10,} {size / MB:>8.1f} {seconds:>8.1f}"
        f" {size / MB / seconds:>8.1f} {rows / seconds:>9,.0f}"
    )
    print(
        f"{'baseline: COPY ... CSV':<28} {world.entries:>10,} {copy_size / MB:>8.1f}"
        f" {copy_seconds:>8.1f} {copy_size / MB / copy_seconds:>8.1f}"
        f" {world.entries / copy_seconds:>9,.0f}"
    )
    print(f"\nserver RSS: idle {idle / MB:.0f} MB, peak while streaming {peak:.0f} MB,")
    print(f"after {after / MB:.0f} MB; goal peak < {RSS_GOAL_MB:.0f} MB: ", end="")
    print("ok" if peak < RSS_GOAL_MB else "MISSED")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep the data a previous run loaded into BENCH_DATABASE_URL (migrate it only)",
    )
    args = parser.parse_args()
    asyncio.run(main(args.entries, args.reuse))

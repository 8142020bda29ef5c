"""What the benches share: services, servers as subprocesses, and a small load client.

Services come from BENCH_DATABASE_URL / BENCH_REDIS_URL, else embedded ones are started
in a temporary folder. The load client speaks HTTP/1.1 over asyncio streams with
keep-alive; it is cheap enough to share the machine with the server it loads, and it
reports its own CPU use.
"""

import asyncio
import json
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import asyncpg
import httpx
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import create_async_engine

from app.accounts import service as accounts_service
from app.cli import migrate
from app.config import Settings
from app.core.db import async_url, unit_of_work
from app.core.embedded import EmbeddedPostgres, EmbeddedRedis
from app.main import create_app
from app.teams import service as teams_service

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-secret-key-long-enough-for-hs256-0123456789"


@asynccontextmanager
async def services(*, wipe: bool = True) -> AsyncIterator[tuple[str, str, Path]]:
    """(database URL, Redis URL, a scratch folder); the database is migrated, and emptied
    first unless `wipe` is false (to measure data a previous run loaded)."""
    home = Path(tempfile.mkdtemp(prefix="hourline-bench-"))
    embedded: list[EmbeddedPostgres | EmbeddedRedis] = []
    try:
        database_url = os.environ.get("BENCH_DATABASE_URL")
        redis_url = os.environ.get("BENCH_REDIS_URL")
        if not database_url:
            pg = EmbeddedPostgres(home / "pg")
            embedded.append(pg)
            database_url = pg.start("hourline_bench")
        if not redis_url:
            redis = EmbeddedRedis(home / "redis")
            embedded.append(redis)
            redis_url = redis.start()
        if wipe:
            await empty(database_url)
        began = time.perf_counter()
        await asyncio.to_thread(migrate, database_url)
        print(f"migrated in {time.perf_counter() - began:.1f} s")
        yield database_url, redis_url, home
    finally:
        for service in reversed(embedded):
            service.stop()
        shutil.rmtree(home, ignore_errors=True)


async def empty(database_url: str) -> None:
    """Drop every table of the database."""
    engine = create_async_engine(async_url(database_url))
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


def bench_app(database_url: str, redis_url: str, home: Path) -> Any:
    """The app against the bench's services, with a fixed key and cheap password hashing."""
    return create_app(
        Settings(
            database_url=database_url,
            redis_url=redis_url,
            secret_key=SECRET,
            argon2_memory_cost=1024,
            argon2_time_cost=1,
            hourline_home=home,
        )
    )


@asynccontextmanager
async def served(app: Any) -> AsyncIterator[Any]:
    """The in-process app run as `hourline serve` runs it: inside its lifespan, which tunes
    the garbage collector (start-up objects frozen, young collections every 10,000
    allocations) and closes the pools at the end. Without it a request that reads 10,000
    rows also pays for collections a served process does not make."""
    async with app.router.lifespan_context(app):
        yield app


@dataclass
class AsgiResponse:
    status_code: int
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode()

    def json(self) -> Any:
        return json.loads(self.content)


async def asgi_get(
    app: Any, path: str, *, headers: dict[str, str], params: dict[str, str] | None = None
) -> AsgiResponse:
    """A GET handed straight to the app's ASGI callable, as a server hands it over: the
    app's whole work for the request (middleware, routing, authentication, SQL, JSON)
    without an HTTP client's (httpx's in-process transport costs ~1 ms a request, a
    large share of a report that takes a few)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": urlencode(params or {}).encode(),
        "root_path": "",
        "headers": [(b"host", b"bench")]
        + [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("bench", 80),
    }
    status: list[int] = []
    body: list[bytes] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])
        elif message["type"] == "http.response.body":
            body.append(message.get("body", b""))

    await app(scope, receive, send)
    return AsgiResponse(status[0], b"".join(body))


async def new_team(app: Any, name: str) -> tuple[uuid.UUID, uuid.UUID, str]:
    """A user owning a new team, logged in: (team id, user id, access token)."""
    async with unit_of_work(app.state.db, app.state.redis) as session:
        user = await accounts_service.create_user(
            session,
            app.state.secrets,
            email=f"{name.lower()}-{uuid.uuid4().hex[:8]}@example.com",
            name=name,
            password="bench-password",
        )
        team = await teams_service.create_team(
            session, owner_id=user.id, name=name, base_currency="EUR", timezone="UTC"
        )
        tokens = await accounts_service.start_session(
            session, app.state.secrets, app.state.settings, user.id
        )
    return team.id, user.id, tokens.access_token


@dataclass
class Statement:
    sql: str
    params: Any
    many: bool


async def capture(app: Any, call: Callable[[], Awaitable[httpx.Response]]) -> list[Statement]:
    """The SQL statements (with their parameters) that one request sends."""
    seen: list[Statement] = []

    def record(_conn, _cursor, statement, parameters, _context, executemany) -> None:  # type: ignore[no-untyped-def]
        seen.append(Statement(statement, parameters, executemany))

    engine = app.state.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        r = await call()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert r.status_code < 300, r.text
    return seen


async def replay(conn: asyncpg.Connection, statements: list[Statement]) -> None:
    for s in statements:
        # "insertmanyvalues" batches reach the hook flagged many with one flat row.
        if s.many and s.params and isinstance(s.params[0], list | tuple):
            await conn.executemany(s.sql, [tuple(p) for p in s.params])
        else:
            await conn.fetch(s.sql, *(s.params or ()))


async def add_members(app: Any, team_id: Any, count: int) -> list[uuid.UUID]:
    """`count` users with the `member` role in the team, inserted directly (fast)."""
    members = []
    async with app.state.db.engine.begin() as conn:
        for i in range(count):
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
    return members


async def timed_draft(
    app: Any, http: httpx.AsyncClient, base: str, client_id: Any, headers: dict[str, str]
) -> tuple[float, dict[str, Any], list[Statement]]:
    """POST a draft of all the client's uninvoiced time: (seconds, the invoice, the SQL it
    sent, for `replay`)."""
    created: list[httpx.Response] = []

    async def create() -> httpx.Response:
        r = await http.post(f"{base}/invoices", json={"client_id": str(client_id)}, headers=headers)
        created.append(r)
        return r

    began = time.perf_counter()
    statements = await capture(app, create)
    return time.perf_counter() - began, created[0].json(), statements


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


def get(url: str, token: str) -> bytes:
    """A raw GET with a bearer token."""
    parts = urlsplit(url)
    return (
        f"GET {parts.path}?{parts.query} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        f"Authorization: Bearer {token}\r\n\r\n"
    ).encode()


def post(url: str, body: bytes, headers: dict[str, str]) -> bytes:
    """A raw POST of a JSON body."""
    parts = urlsplit(url)
    lines = [
        f"POST {parts.path} HTTP/1.1",
        f"Host: {parts.netloc}",
        "Content-Type: application/json",
    ]
    lines += [f"Content-Length: {len(body)}", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def closed_loop(
    url: str, next_request: Callable[[], bytes], pid: int, connections: int, seconds: float
) -> Run:
    """`connections` clients, each sending the next request when the last one is answered."""
    parts = urlsplit(url)
    latencies: list[float] = []
    stop = time.monotonic() + seconds

    async def client() -> None:
        reader, writer = await _conn(parts.hostname or "", parts.port or 80)
        try:
            while time.monotonic() < stop:
                raw = next_request()
                t0 = time.perf_counter()
                status, _ = await _request(reader, writer, raw)
                assert status in (200, 201, 202), (status, _)
                latencies.append(time.perf_counter() - t0)
        finally:
            writer.close()

    cpu0, ccpu0, t0 = cpu_seconds(pid), time.process_time(), time.monotonic()
    await asyncio.gather(*(client() for _ in range(connections)))
    elapsed = time.monotonic() - t0
    return Run(
        len(latencies), elapsed, latencies, cpu_seconds(pid) - cpu0, time.process_time() - ccpu0
    )


async def open_loop(url: str, raw: bytes, pid: int, rate: float, seconds: float) -> Run:
    """Requests sent on a fixed schedule (`rate` per second) whatever the answers; latency
    counts from the scheduled time, so queueing shows (no coordinated omission)."""
    parts = urlsplit(url)
    idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(64):
        idle.put_nowait(await _conn(parts.hostname or "", parts.port or 80))
    latencies: list[float] = []

    async def one(due: float) -> None:
        reader, writer = await idle.get()
        try:
            status, _ = await _request(reader, writer, raw)
            assert status in (200, 202), status
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

"""The event stream: `GET /events` with `Accept: text/event-stream` (server-sent events).

How an event reaches an open stream:

1. A transaction that recorded events publishes, once it has committed, a notice on
   Redis: `"<team id> <newest event id>"` on `CHANNEL` (`app.events.record`).
2. Every API process has one `EventHub`: one Redis subscription, started by the first
   stream, that wakes the process's streams of the notice's team.
3. A woken stream reads the rows after its last id from the event table, exactly as the
   list does (`list_events`: the same visibility, shaping and gap-free horizon), in a
   short transaction of its own that re-checks the credentials first: revoked or expired
   credentials end the stream.

The table is the truth and the notice only a wake-up. A stream that missed notices (Redis
restarted, the process was busy) catches up at its next read, and it reads at least once
per keep-alive interval; a client that reconnects with `Last-Event-ID` gets what it
missed; several API processes each deliver every event to their own streams.

A notice can arrive before the event is readable: ids below the horizon (the oldest
transaction still in flight, `visible_below`) are shown, and a transaction older than the
notified one may still be running. The stream then reads again shortly after, until the
horizon has passed the notified id.
"""

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass

import anyio
from arq.connections import ArqRedis
from redis.asyncio import Redis
from sqlalchemy import select
from sse_starlette import ServerSentEvent

from app.auth.service import team_context_for_token
from app.config import Settings
from app.core.context import TeamContext
from app.core.db import Database, unit_of_work
from app.core.errors import AppError, RateLimited
from app.core.jobs import REDIS_DOWN
from app.core.security import Secrets
from app.events.record import CHANNEL, visible_below
from app.events.schemas import EventOut
from app.events.service import EventQuery, list_events

log = logging.getLogger(__name__)

# Events read per query; a stream further behind reads again at once.
BATCH = 200
# How soon a browser reconnects after the stream ends (the SSE `retry:` field).
RECONNECT_MS = 3000
# Waits between reads while a notified event is not readable yet.
_BEHIND_FIRST, _BEHIND_MAX = 0.02, 1.0


class EventHub:
    """One per API process: one Redis subscription that wakes the streams of a team."""

    def __init__(self, redis_url: str | None) -> None:
        self._redis_url = redis_url
        self._wakers: dict[uuid.UUID, set[asyncio.Event]] = {}
        self._newest: dict[uuid.UUID, int] = {}
        self._task: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()

    def newest(self, team_id: uuid.UUID) -> int:
        """The newest event id announced for the team since a stream of it opened."""
        return self._newest.get(team_id, 0)

    @contextmanager
    def watch(self, team_id: uuid.UUID) -> Iterator[asyncio.Event]:
        """An event set whenever the team has new events, until the block ends."""
        self._start()
        wake = asyncio.Event()
        self._wakers.setdefault(team_id, set()).add(wake)
        try:
            yield wake
        finally:
            waiting = self._wakers.get(team_id)
            if waiting is not None:
                waiting.discard(wake)
                if not waiting:
                    del self._wakers[team_id]
                    self._newest.pop(team_id, None)

    async def subscribed(self) -> None:
        """Wait until the subscription is live (tests and benches open streams, then
        commit, and must not race the subscription)."""
        await self._subscribed.wait()

    @property
    def streams(self) -> int:
        return sum(len(w) for w in self._wakers.values())

    def _start(self) -> None:
        if self._redis_url and (self._task is None or self._task.done()):
            self._task = asyncio.get_running_loop().create_task(
                self._listen(), name="hourline-event-hub"
            )

    async def _listen(self) -> None:
        delay = 0.5
        while True:
            # Its own connection, without the queue client's read timeout: it waits.
            client = Redis.from_url(str(self._redis_url), socket_connect_timeout=2)
            try:
                async with client.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(CHANNEL)
                    self._subscribed.set()
                    delay = 0.5
                    # Notices published while nobody listened are lost: everyone reads.
                    self._wake_all()
                    async for message in pubsub.listen():
                        self._notice(message.get("data"))
            except REDIS_DOWN as exc:
                log.warning("event notices unavailable, retrying in %.1f s: %s", delay, exc)
            finally:
                self._subscribed.clear()
                await client.aclose()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)

    def _notice(self, data: object) -> None:
        if not isinstance(data, bytes):
            return
        try:
            team, newest = data.split()
            team_id, event_id = uuid.UUID(team.decode()), int(newest)
        except ValueError:
            return
        waiting = self._wakers.get(team_id)
        if not waiting:
            return
        self._newest[team_id] = max(self._newest.get(team_id, 0), event_id)
        for wake in waiting:
            wake.set()

    def _wake_all(self) -> None:
        for waiting in self._wakers.values():
            for wake in waiting:
                wake.set()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
            self._task = None


# ---------------------------------------------------------------- limits

# Open streams per subject and per team, in Redis so every API process counts them: a
# sorted set of stream ids scored by when each lapses. A stream renews its entry at every
# keep-alive and removes it when it ends; a process that died leaves entries that lapse.
_CLAIM = """
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then return 1 end
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[5]) then return 2 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[6])
redis.call('EXPIRE', KEYS[2], ARGV[6])
return 0
"""


@dataclass(frozen=True)
class Slot:
    """One open stream's place in its subject's and its team's counts."""

    id: str
    keys: tuple[str, str]
    lapse_seconds: float


def _subject(ctx: TeamContext) -> str:
    """Whom the per-user limit counts: the API key for a key, else the user."""
    caller = ctx.caller
    if caller.kind == "api_key" and caller.api_key_id is not None:
        return f"key:{caller.api_key_id}"
    return f"user:{caller.user_id}"


async def claim_slot(redis: ArqRedis, settings: Settings, ctx: TeamContext) -> Slot:
    """A place for one more stream, or 429 `too_many_streams`."""
    lapse = 3 * settings.event_stream_keepalive_seconds
    slot = Slot(
        id=uuid.uuid4().hex,
        keys=(
            f"hourline:streams:{_subject(ctx)}",
            f"hourline:streams:team:{ctx.team_id}",
        ),
        lapse_seconds=lapse,
    )
    now = time.time()
    limits = (settings.event_streams_per_user, settings.event_streams_per_team)
    arguments = (now, now + lapse, slot.id, *limits, int(lapse) + 1)
    refused = await redis.eval(  # type: ignore[misc]
        _CLAIM, 2, *slot.keys, *(str(a) for a in arguments)
    )
    if refused:
        limit, whose = (
            (settings.event_streams_per_user, "per user")
            if refused == 1
            else (settings.event_streams_per_team, "per team")
        )
        raise RateLimited(
            int(settings.event_stream_keepalive_seconds),
            f"At most {limit} event streams may be open {whose}; close one first.",
            code="too_many_streams",
        )
    return slot


async def _renew(redis: ArqRedis, slot: Slot) -> None:
    lapses = time.time() + slot.lapse_seconds
    with suppress(*REDIS_DOWN):  # unrenewed, the entry lapses: the count errs low
        for key in slot.keys:
            await redis.zadd(key, {slot.id: lapses}, xx=True)


async def _release(redis: ArqRedis, slot: Slot) -> None:
    for key in slot.keys:
        await redis.zrem(key, slot.id)


# ---------------------------------------------------------------- the stream


@dataclass(frozen=True)
class StreamRequest:
    team_id: uuid.UUID
    token: str
    after: int | None
    types: str | None
    # When the credentials lapse (an access token's `exp`), as a Unix time; a key's
    # expiry is found by the re-check at the next keep-alive.
    expires_at: float | None


@dataclass(frozen=True)
class _Batch:
    events: list[EventOut]
    has_more: bool
    after: int
    horizon: int


class EventStreams:
    """What the process's streams share: the hub, the database and the queue client."""

    def __init__(
        self,
        db: Database | None,
        redis: ArqRedis | None,
        secrets: Secrets,
        settings: Settings,
    ) -> None:
        self.hub = EventHub(settings.redis_url)
        self._db = db
        self._redis = redis
        self._secrets = secrets
        self._settings = settings

    async def open(
        self, ctx: TeamContext, request: StreamRequest
    ) -> AsyncIterator[ServerSentEvent]:
        """Claim a slot (429 when none is free), then the stream's events."""
        assert self._redis is not None
        slot = await claim_slot(self._redis, self._settings, ctx)
        return self._events(request, slot)

    async def _read(self, request: StreamRequest, after: int | None) -> _Batch | None:
        """The next events after `after` (from now when None), or None when the
        credentials no longer hold."""
        assert self._db is not None and self._redis is not None
        async with unit_of_work(self._db, self._redis) as session:
            try:
                ctx = await team_context_for_token(
                    session, self._redis, self._secrets, request.token, request.team_id
                )
            except AppError:
                return None
            horizon = int(await session.scalar(select(visible_below())) or 0)
            start = horizon - 1 if after is None else after
            page = await list_events(
                session, ctx, EventQuery(after=start, types=request.types, limit=BATCH)
            )
        last = page.data[-1].id if page.data else start
        return _Batch(page.data, page.has_more, last, horizon)

    async def _events(self, request: StreamRequest, slot: Slot) -> AsyncIterator[ServerSentEvent]:
        assert self._redis is not None
        keepalive = self._settings.event_stream_keepalive_seconds
        loop = asyncio.get_running_loop()
        try:
            with self.hub.watch(request.team_id) as wake:
                after = request.after
                next_ping = loop.time() + keepalive
                behind_wait = _BEHIND_FIRST
                opened = False
                while True:
                    wake.clear()
                    try:
                        batch = await self._read(request, after)
                    except Exception:
                        # The database went away: end the stream, the client reconnects
                        # with its last id and misses nothing.
                        log.warning("event stream ended by a failed read", exc_info=True)
                        return
                    if batch is None:
                        return  # revoked, expired or no longer a member
                    if not opened:
                        # Once the client reads this, its starting point is fixed: every
                        # event committed from now on reaches it.
                        yield ServerSentEvent(comment="open", retry=RECONNECT_MS)
                        opened = True
                    for event in batch.events:
                        yield ServerSentEvent(
                            data=event.model_dump_json(), id=str(event.id), event=event.type
                        )
                    after = batch.after
                    if batch.has_more:
                        continue
                    deadline = next_ping
                    if batch.horizon <= self.hub.newest(request.team_id):
                        deadline = min(deadline, loop.time() + behind_wait)
                        behind_wait = min(behind_wait * 2, _BEHIND_MAX)
                    else:
                        behind_wait = _BEHIND_FIRST
                    if request.expires_at is not None:
                        left = request.expires_at - time.time()
                        if left <= 0:
                            return
                        deadline = min(deadline, loop.time() + left)
                    with anyio.move_on_after(max(0.0, deadline - loop.time())):
                        await wake.wait()
                    if loop.time() >= next_ping:
                        yield ServerSentEvent(comment="keep-alive")
                        await _renew(self._redis, slot)
                        next_ping = loop.time() + keepalive
        finally:
            # Also when the client left and the stream is being cancelled.
            with anyio.move_on_after(2, shield=True):
                with suppress(*REDIS_DOWN):
                    await _release(self._redis, slot)

    async def stop(self) -> None:
        await self.hub.stop()

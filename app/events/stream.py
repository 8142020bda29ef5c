"""The event stream: `GET /events` with `Accept: text/event-stream` (server-sent events).

How an event reaches an open stream:

1. A transaction that recorded events publishes, once it has committed, a notice on
   Redis: `"<team id> <newest event id>"` (`app.core.notices`).
2. Every API process has one `EventHub`: one Redis subscription, started by the first
   stream, that wakes the process's feed of the notice's team.
3. A team's feed (one per team and process, while it has streams) reads the team's new
   rows from the event table once per wake, up to the gap-free horizon of
   `app.events.record`, and hands them to each of its streams.
4. Each stream keeps what its caller's role may see and shapes it as the list does
   (`app.events.service`: the same rules, one implementation). A role that reads every
   object of the batch's types needs no query; another asks the database which of the
   batch's ids its rules admit, in a transaction that re-checks its credentials first.

Credentials are re-checked at every keep-alive, at an access token's expiry, and before
anything more is delivered once a revocation notice (a session or key revoked, a member
removed or its role changed: `credentials_changed`) has been heard: a stream whose
credentials no longer hold ends.

The table is the truth and a notice only a wake-up: a feed that missed notices (Redis
restarted, the process was busy) catches up at its next read, and it reads at least once
per keep-alive interval; a client that reconnects with `Last-Event-ID` gets what it
missed, read by the stream itself before it joins the feed. Several API processes each
deliver every event to their own streams.

A notice can arrive before its event is readable: rows below the horizon (the oldest
transaction still in flight) are shown, and a transaction older than the notified one
may still be running. The feed then reads again shortly after, until the horizon has
passed the notified id.
"""

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, Protocol

import anyio
from arq.connections import ArqRedis
from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sse_starlette import ServerSentEvent

from app.auth.service import team_context_for_token
from app.config import Settings
from app.core.context import TeamContext
from app.core.db import Database, unit_of_work
from app.core.errors import AppError, RateLimited
from app.core.jobs import REDIS_DOWN
from app.core.notices import CHANNEL, RECHECK
from app.core.security import Secrets
from app.core.tenancy import team_rows
from app.events.models import Event
from app.events.record import visible_below
from app.events.service import event_out, sees_all, type_matcher, visible_ids
from app.teams.service import team_by_id

log = logging.getLogger(__name__)

# Rows read per query; a reader further behind reads again at once.
BATCH = 500
# How soon a browser reconnects after the stream ends (the SSE `retry:` field).
RECONNECT_MS = 3000
# Waits between reads while a notified event is not readable yet.
_BEHIND_FIRST, _BEHIND_MAX = 0.02, 1.0


class EventHub:
    """One per API process: one Redis subscription, waking the feeds of the teams named."""

    def __init__(self, redis_url: str | None, on_recheck: Callable[[], None]) -> None:
        self._redis_url = redis_url
        self._wakers: dict[uuid.UUID, asyncio.Event] = {}
        self._newest: dict[uuid.UUID, int] = {}
        self._task: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()
        # Told of each revocation notice: the streams re-check their credentials.
        self._on_recheck = on_recheck

    def newest(self, team_id: uuid.UUID) -> int:
        """The newest event id announced for the team while its feed ran."""
        return self._newest.get(team_id, 0)

    def watch(self, team_id: uuid.UUID, wake: asyncio.Event) -> None:
        self._start()
        self._wakers[team_id] = wake

    def unwatch(self, team_id: uuid.UUID) -> None:
        self._wakers.pop(team_id, None)
        self._newest.pop(team_id, None)

    async def subscribed(self) -> None:
        """Wait until the subscription is live (tests and benches open streams, then
        commit, and must not race the subscription)."""
        await self._subscribed.wait()

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
                    # Notices published while nobody listened are lost: all read again.
                    self._on_recheck()
                    for wake in self._wakers.values():
                        wake.set()
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
        if data == RECHECK.encode():
            self._on_recheck()
            return
        try:
            team, newest = data.split()
            team_id, event_id = uuid.UUID(team.decode()), int(newest)
        except ValueError:
            return
        wake = self._wakers.get(team_id)
        if wake is not None:
            self._newest[team_id] = max(self._newest.get(team_id, 0), event_id)
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


async def claim_slot(redis: ArqRedis, settings: Settings, keys: tuple[str, str]) -> Slot:
    """A place for one more stream of (a subject, a team), or 429 `too_many_streams`."""
    lapse = 3 * settings.event_stream_keepalive_seconds
    slot = Slot(
        id=uuid.uuid4().hex,
        keys=(f"hourline:streams:{keys[0]}", f"hourline:streams:{keys[1]}"),
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


# ---------------------------------------------------------------- feeds


@dataclass
class _Rows:
    """A batch of the team's new rows, with the team's base currency (for shaping)."""

    rows: list[Any]
    base_currency: str


class _Recheck:
    """Put in every stream's queue by a revocation notice."""


RECHECK_NOW = _Recheck()
# What a stream's queue carries: rows, a re-check, or None (the feed ended).
Item = _Rows | _Recheck | None


async def read_record(
    session: AsyncSession, team_id: uuid.UUID, after: int
) -> tuple[list[Any], int, str]:
    """The team's rows after `after` below the horizon (at most BATCH), the horizon, and
    the team's base currency (for shaping), in a transaction confined to the team."""
    horizon = int(await session.scalar(select(visible_below())) or 0)
    rows = (
        await session.execute(
            team_rows(Event, team_id)
            .where(Event.id > after, Event.id < horizon)
            .order_by(Event.id)
            .limit(BATCH)
        )
    ).all()
    team = await team_by_id(session, team_id)
    return list(rows), horizon, team.base_currency


class _Feed:
    """A team's new events, read once per wake for all the process's streams of the team."""

    def __init__(
        self, streams: "EventStreams", team_id: uuid.UUID, cursor: int, first: "Queue"
    ) -> None:
        self._streams = streams
        self.team_id = team_id
        self.cursor = cursor  # the last id handed out
        self.queues: set[Queue] = {first}
        self.wake = asyncio.Event()
        streams.hub.watch(team_id, self.wake)
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _read(self) -> tuple[list[Any], int, str]:
        assert self._streams.db is not None
        async with unit_of_work(
            self._streams.db, self._streams.redis, team_id=self.team_id
        ) as session:
            return await read_record(session, self.team_id, self.cursor)

    async def _run(self) -> None:
        hub = self._streams.hub
        keepalive = self._streams.settings.event_stream_keepalive_seconds
        behind_wait = _BEHIND_FIRST
        try:
            while self.queues:
                self.wake.clear()
                try:
                    rows, horizon, currency = await self._read()
                except Exception:
                    log.warning("an event feed read failed; reading again in 1 s", exc_info=True)
                    await asyncio.sleep(1)
                    continue
                if rows:
                    self.cursor = rows[-1].id
                    batch = _Rows(rows, currency)
                    for queue in self.queues:
                        queue.put_nowait(batch)
                    if len(rows) == BATCH:
                        continue
                wait = keepalive
                if horizon <= hub.newest(self.team_id):
                    wait = behind_wait  # a notified event is not readable yet
                    behind_wait = min(behind_wait * 2, _BEHIND_MAX)
                else:
                    behind_wait = _BEHIND_FIRST
                with anyio.move_on_after(wait):
                    await self.wake.wait()
        finally:
            self._streams.feed_ended(self)

    def leave(self, queue: "Queue") -> None:
        self.queues.discard(queue)
        if not self.queues:
            self.wake.set()  # its loop ends


Queue = asyncio.Queue[Item]


# ---------------------------------------------------------------- the stream


class Audience(Protocol):
    """Who a stream is for: how its credentials are re-checked and what of the record it
    is shown, and how."""

    team_id: uuid.UUID
    # Its places in the open-stream counts: (its own key, its team's key).
    slot_keys: tuple[str, str]

    async def check(self, session: AsyncSession) -> bool:
        """Re-check the credentials (confining the transaction to the team); False when
        they no longer hold."""
        ...

    def needs_query(self, rows: list[Any]) -> bool:
        """True when showing these rows needs the database (else `show` gets no session)."""
        ...

    async def show(self, session: AsyncSession | None, rows: list[Any], currency: str) -> list[Any]:
        """The rows this audience may see, shaped for it (models with `id` and `type`)."""
        ...


class TeamAudience:
    """A team member (by access token or API key): the list's rules and shaping."""

    def __init__(self, streams: "EventStreams", ctx: TeamContext, token: str) -> None:
        self._streams = streams
        self._token = token
        self.ctx = ctx
        self.team_id = ctx.team_id
        self.slot_keys = (f"team:{_subject(ctx)}", f"team:{ctx.team_id}")

    async def check(self, session: AsyncSession) -> bool:
        streams = self._streams
        assert streams.redis is not None
        try:
            self.ctx = await team_context_for_token(
                session, streams.redis, streams.secrets, self._token, self.team_id
            )
        except AppError:
            return False
        return True

    def needs_query(self, rows: list[Any]) -> bool:
        return bool(rows) and not sees_all(self.ctx, {r.object_type for r in rows})

    async def show(self, session: AsyncSession | None, rows: list[Any], currency: str) -> list[Any]:
        if session is not None:
            admitted = await visible_ids(session, self.ctx, [r.id for r in rows])
            rows = [r for r in rows if r.id in admitted]
        return [event_out(self.ctx, currency, r) for r in rows]


@dataclass(frozen=True)
class StreamRequest:
    after: int | None
    types: str | None
    # When the credentials lapse (an access token's `exp`), as a Unix time; else they
    # are found lapsed by the re-check at the next keep-alive.
    expires_at: float | None = None


class EventStreams:
    """The process's streams: the hub, the feeds, the database and the queue client."""

    def __init__(
        self,
        db: Database | None,
        redis: ArqRedis | None,
        secrets: Secrets,
        settings: Settings,
    ) -> None:
        self.hub = EventHub(settings.redis_url, self._recheck_all)
        self.db = db
        self.redis = redis
        self.secrets = secrets
        self.settings = settings
        self._feeds: dict[uuid.UUID, _Feed] = {}

    async def open(
        self, audience: Audience, request: StreamRequest
    ) -> AsyncIterator[ServerSentEvent]:
        """Claim a slot (429 when none is free), then the stream's events."""
        assert self.redis is not None
        slot = await claim_slot(self.redis, self.settings, audience.slot_keys)
        return self._events(audience, request, slot)

    async def _join(self, team_id: uuid.UUID) -> tuple[_Feed, Queue]:
        queue: Queue = asyncio.Queue()
        feed = self._feeds.get(team_id)
        if feed is None:
            assert self.db is not None
            async with unit_of_work(self.db, self.redis, team_id=team_id) as session:
                horizon = int(await session.scalar(select(visible_below())) or 0)
            feed = self._feeds.get(team_id)  # another stream may have made it meanwhile
            if feed is None:
                feed = self._feeds[team_id] = _Feed(self, team_id, horizon - 1, queue)
                return feed, queue
        feed.queues.add(queue)
        return feed, queue

    def feed_ended(self, feed: _Feed) -> None:
        if self._feeds.get(feed.team_id) is feed:
            del self._feeds[feed.team_id]
            self.hub.unwatch(feed.team_id)
        for queue in feed.queues:
            queue.put_nowait(None)  # a stream still on it ends; its client reconnects

    def _recheck_all(self) -> None:
        for feed in self._feeds.values():
            for queue in feed.queues:
                queue.put_nowait(RECHECK_NOW)

    async def _recheck(self, audience: Audience) -> bool:
        assert self.db is not None
        async with unit_of_work(self.db, self.redis) as session:
            return await audience.check(session)

    async def _shown(self, audience: Audience, rows: list[Any], currency: str) -> list[Any] | None:
        """What the audience may see of these rows, shaped; None when its credentials no
        longer hold (checked in the same transaction, before any row is read for it)."""
        if not audience.needs_query(rows):
            return await audience.show(None, rows, currency)
        assert self.db is not None
        async with unit_of_work(self.db, self.redis) as session:
            if not await audience.check(session):
                return None
            return await audience.show(session, rows, currency)

    async def _catch_up(
        self, audience: Audience, wanted: Callable[[Any], bool], after: int
    ) -> AsyncIterator[Any]:
        """The events after `after` the record holds now, batch by batch."""
        assert self.db is not None
        while True:
            async with unit_of_work(self.db, self.redis) as session:
                if not await audience.check(session):
                    return
                rows, _, currency = await read_record(session, audience.team_id, after)
                chosen = [r for r in rows if wanted(r)]
                shown = await audience.show(
                    session if audience.needs_query(chosen) else None, chosen, currency
                )
            for event in shown:
                yield event
            if len(rows) < BATCH:
                return
            after = rows[-1].id

    async def _events(
        self, audience: Audience, request: StreamRequest, slot: Slot
    ) -> AsyncIterator[ServerSentEvent]:
        assert self.redis is not None
        keepalive = self.settings.event_stream_keepalive_seconds
        loop = asyncio.get_running_loop()
        wanted = type_matcher(request.types)
        feed: _Feed | None = None
        queue: Queue | None = None
        try:
            # Join the team's feed first: what it hands out from now on reaches this
            # stream; what came before is read from the record (the resume point).
            feed, queue = await self._join(audience.team_id)
            after = feed.cursor if request.after is None else request.after
            # Once the client reads this, its starting point is fixed: every event
            # committed from now on reaches it.
            yield ServerSentEvent(comment="open", retry=RECONNECT_MS)
            async for event in self._catch_up(audience, wanted, after):
                yield _sse(event)
                after = max(after, event.id)
            next_check = loop.time() + keepalive
            while True:
                deadline = next_check
                if request.expires_at is not None:
                    left = request.expires_at - time.time()
                    if left <= 0:
                        return
                    deadline = min(deadline, loop.time() + left)
                item: Item | _Recheck = RECHECK_NOW
                with anyio.move_on_after(max(0.0, deadline - loop.time())):
                    item = await queue.get()
                if item is None:
                    return  # the feed ended: the client reconnects with its last id
                if isinstance(item, _Recheck):
                    if not await self._recheck(audience):
                        return  # revoked, expired or no longer a member
                    if loop.time() >= next_check:
                        yield ServerSentEvent(comment="keep-alive")
                        await _renew(self.redis, slot)
                        next_check = loop.time() + keepalive
                    continue
                rows = [r for r in item.rows if r.id > after and wanted(r)]
                shown = await self._shown(audience, rows, item.base_currency) if rows else []
                if shown is None:
                    return
                for event in shown:
                    yield _sse(event)
                after = max(after, item.rows[-1].id)
        except Exception:
            # The database went away: end the stream; the client reconnects with its
            # last id and misses nothing.
            log.warning("event stream ended by a failed read", exc_info=True)
        finally:
            if feed is not None and queue is not None:
                feed.leave(queue)
            # Also when the client left and the stream is being cancelled.
            with anyio.move_on_after(2, shield=True):
                with suppress(*REDIS_DOWN):
                    await _release(self.redis, slot)

    async def stop(self) -> None:
        for feed in list(self._feeds.values()):
            feed.queues.clear()
            feed.wake.set()
        await self.hub.stop()


def _sse(event: Any) -> ServerSentEvent:
    return ServerSentEvent(data=event.model_dump_json(), id=str(event.id), event=event.type)

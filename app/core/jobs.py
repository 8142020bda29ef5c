"""Jobs deferred inside a transaction and sent to arq only after it commits.

A job receives ids, never ORM objects, and loads fresh rows in its own transaction.
Jobs travel through Redis as msgpack (`pack_job`/`unpack_job`, set on the API's queue
client and on the worker), never pickle: whoever can write to Redis must not be able to
run code in the worker. Arguments are therefore plain data: str, int, float, bool,
None, bytes, lists and dicts (ids and dates as strings).
"""

import logging
from dataclasses import dataclass, field
from typing import Any

import msgpack
from arq.connections import ArqRedis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import ServiceUnavailable

log = logging.getLogger(__name__)

# What a Redis that is down, restarting or hanging raises (`BusyLoadingError` included).
REDIS_DOWN = (RedisConnectionError, RedisTimeoutError)


def redis_unavailable(what: str) -> ServiceUnavailable:
    """503 `redis_unavailable`: `what` needs Redis, which cannot be reached."""
    return ServiceUnavailable(
        f"{what} needs Redis, which cannot be reached; try again shortly.",
        code="redis_unavailable",
        headers={"Retry-After": "1"},
    )


_KEY = "hourline_deferred_jobs"
_NOTICES = "hourline_deferred_notices"


def _failure_text(value: Any) -> str:
    # arq stores a failed job's exception as its result: keep its text, not the object.
    if isinstance(value, BaseException):
        return f"{type(value).__name__}: {value}"
    raise TypeError(f"a job carries plain data only, not {type(value).__name__}")


def pack_job(data: dict[str, Any]) -> bytes:
    """arq `job_serializer`: a job (or its result) as msgpack."""
    packed: bytes = msgpack.packb(data, use_bin_type=True, default=_failure_text)
    return packed


def unpack_job(raw: bytes) -> dict[str, Any]:
    """arq `job_deserializer`: anything but a msgpack map (a pickle, say) is refused."""
    data = msgpack.unpackb(raw, raw=False)
    if not isinstance(data, dict):
        raise ValueError("a job is a msgpack map")
    if isinstance(data.get("a"), list):
        data["a"] = tuple(data["a"])  # arq's positional arguments are a tuple
    return data


def queue_client(url: str) -> ArqRedis:
    """The API's Redis client for the queue, rate limits and idempotency records.

    Lazy (no connection until first use); a Redis that is down or hangs fails a command
    within seconds rather than holding the request.
    """
    client = ArqRedis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
    client.job_serializer = pack_job
    client.job_deserializer = unpack_job
    return client


@dataclass
class DeferredJob:
    function: str
    args: tuple[Any, ...]
    options: dict[str, Any] = field(default_factory=dict)


def defer(session: AsyncSession, function: str, *args: Any, **options: Any) -> None:
    """Queue `function(*args)` to run after this session commits (`_job_id` dedupes)."""
    session.info.setdefault(_KEY, []).append(DeferredJob(function, args, options))


def notify(session: AsyncSession, channel: str, key: str, message: str) -> None:
    """Publish `message` on the Redis `channel` once this session commits; of several
    notices with the same `key`, the last one is sent. A notice is a wake-up call, never
    the data: a lost one delays its listeners, it loses nothing."""
    session.info.setdefault(_NOTICES, {})[(channel, key)] = message


async def queue_ready(session: AsyncSession, queue: Any) -> None:
    """Before a commit that deferred jobs: refuse (503 `redis_unavailable`, rolled back)
    when Redis does not answer, rather than commit work whose jobs cannot be queued."""
    if not session.info.get(_KEY):
        return
    try:
        await queue.ping()
    except REDIS_DOWN as exc:
        log.warning("refusing a write whose jobs cannot be queued: %s", exc)
        raise redis_unavailable("This change") from None


async def send_deferred(session: AsyncSession, queue: Any) -> None:
    """Enqueue the committed transaction's jobs.

    The data is committed, so a Redis that fails now (it answered the ping just before
    the commit) does not fail the request: each lost job is logged, with its arguments,
    at ERROR. (Events are rows of the same transaction: `app.events.record`.)
    """
    jobs: list[DeferredJob] = session.info.pop(_KEY, [])
    for job in jobs:
        try:
            await queue.enqueue_job(job.function, *job.args, **job.options)
        except REDIS_DOWN as exc:
            log.error(
                "job lost after commit: %s%r %r (%s)", job.function, job.args, job.options, exc
            )
    notices: dict[tuple[str, str], str] = session.info.pop(_NOTICES, {})
    for (channel, _), message in notices.items():
        try:
            await queue.publish(channel, message)
        except REDIS_DOWN as exc:
            log.warning("notice not published on %s: %s", channel, exc)

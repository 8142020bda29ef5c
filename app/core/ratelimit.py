"""Fixed-window rate limits kept in Redis, shared by every API process."""

from redis.asyncio import Redis

from app.core.errors import RateLimited
from app.core.jobs import REDIS_DOWN, redis_unavailable


async def hit(
    redis: Redis,
    bucket: str,
    *,
    limit: int,
    window_seconds: int,
    what: str = "Signing in",
    code: str | None = None,
) -> None:
    """Count one attempt in `bucket`; RateLimited (429 + Retry-After, `code` when given)
    past `limit`.

    Closed when Redis is down: an attempt that cannot be counted is refused (503
    `redis_unavailable`), or an outage would lift the limit.
    """
    key = f"hourline:rl:{bucket}"
    try:
        async with redis.pipeline(transaction=True) as pipe:
            pipe.set(key, 0, ex=window_seconds, nx=True)
            pipe.incr(key)
            pipe.ttl(key)
            _, count, ttl = await pipe.execute()
    except REDIS_DOWN:
        raise redis_unavailable(what) from None
    if count > limit:
        raise RateLimited(retry_after=ttl if ttl and ttl > 0 else window_seconds, code=code)

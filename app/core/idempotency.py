"""`Idempotency-Key` for every POST, as an ASGI middleware.

The same caller, key and request (method, path, query, body) within the TTL replays the
first response byte for byte (with `Idempotent-Replayed: true`); the same key with
another request is a 409 `idempotency_key_reused`; a retry while the first is still
running is a 409 `idempotency_key_in_use`. 5xx responses are not kept, so a failed
request may be retried with the same key. Records live in Redis with the TTL.

Without Redis the promise cannot be kept: a request carrying a key is refused before it
runs (503 `redis_unavailable`); requests without one are not affected.
"""

import base64
import json
import logging
from typing import Any

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import send_problem
from app.core.jobs import REDIS_DOWN
from app.core.security import bearer_of, fingerprint

log = logging.getLogger(__name__)

_PENDING_TTL = 120
_MAX_KEY = 255


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        key = headers.get("idempotency-key")
        if key is None or scope["app"].state.redis is None:
            await self.app(scope, receive, send)
            return
        if not key or len(key) > _MAX_KEY:
            await send_problem(
                send, 400, "invalid_idempotency_key", "Idempotency-Key must be 1..255 characters."
            )
            return

        body = await _read_body(receive)
        state = scope["app"].state
        redis, secrets = state.redis, state.secrets
        caller = _caller_of(headers, scope, secrets)
        record_key = f"hourline:idem:{fingerprint(caller, key)}"
        request_fp = fingerprint(
            scope["method"], scope["path"], scope.get("query_string", b""), body
        )

        pending = json.dumps({"state": "pending", "fp": request_fp})
        try:
            reserved = await redis.set(record_key, pending, nx=True, ex=_PENDING_TTL)
            raw = None if reserved else await redis.get(record_key)
        except REDIS_DOWN as exc:
            log.warning("idempotent request refused, Redis is down: %s", exc)
            await send_problem(
                send,
                503,
                "redis_unavailable",
                "Idempotency-Key needs Redis, which cannot be reached; try again shortly.",
                headers={"Retry-After": "1"},
            )
            return
        if not reserved:
            record = json.loads(raw) if raw else {"state": "pending", "fp": request_fp}
            if record["fp"] != request_fp:
                await send_problem(
                    send,
                    409,
                    "idempotency_key_reused",
                    "This Idempotency-Key was used with a different request.",
                )
            elif record["state"] == "pending":
                await send_problem(
                    send,
                    409,
                    "idempotency_key_in_use",
                    "A request with this Idempotency-Key is still being processed.",
                )
            else:
                await _replay(send, record)
            return

        captured: dict[str, Any] = {"status": 500, "headers": [], "body": b""}

        async def replay_receive() -> Message:
            return {"type": "http.request", "body": body, "more_body": False}

        async def capture_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured["status"] = message["status"]
                captured["headers"] = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                captured["body"] += message.get("body", b"")
            await send(message)

        try:
            await self.app(scope, replay_receive, capture_send)
        except BaseException:
            await _forget(redis, record_key)
            raise
        if captured["status"] >= 500:
            await _forget(redis, record_key)
            return
        done = {
            "state": "done",
            "fp": request_fp,
            "status": captured["status"],
            "headers": [[k.decode("latin-1"), v.decode("latin-1")] for k, v in captured["headers"]],
            "body": base64.b64encode(captured["body"]).decode(),
        }
        try:
            await redis.set(record_key, json.dumps(done), ex=state.settings.idempotency_ttl_seconds)
        except REDIS_DOWN as exc:
            # The answer has been sent. The pending record expires after _PENDING_TTL;
            # a retry until then is 409 `idempotency_key_in_use`, after that it runs again.
            log.error("idempotent response not stored, Redis went down: %s", exc)


async def _forget(redis: Any, record_key: str) -> None:
    """Drop the reservation of a request that failed, so a retry may run it."""
    try:
        await redis.delete(record_key)
    except REDIS_DOWN as exc:
        log.warning("idempotency reservation left to expire: %s", exc)


def _caller_of(headers: Headers, scope: Scope, secrets: Any) -> str:
    """Who the key belongs to: a user (across token refreshes), a key, or an address."""
    token = bearer_of(headers.get("authorization", ""))
    if token:
        subject = secrets.access_token_subject(token)
        if subject is not None:
            return f"user:{subject[0]}"
        return f"token:{secrets.keyed_hash(token)}"
    client = scope.get("client")
    return f"anon:{client[0] if client else ''}"


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _replay(send: Send, record: dict[str, Any]) -> None:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in record["headers"]]
    headers.append((b"idempotent-replayed", b"true"))
    await send({"type": "http.response.start", "status": record["status"], "headers": headers})
    await send({"type": "http.response.body", "body": base64.b64decode(record["body"])})

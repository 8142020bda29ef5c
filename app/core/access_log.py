"""The access log: one line per request, with its request id, written by the app (not
uvicorn, which does not know the id). It never carries a secret of the URL: pay-link and
invitation tokens in paths, and `token=` in query strings, are logged as `[redacted]`."""

import logging
import re
import time
from collections.abc import MutableMapping
from typing import Any

log = logging.getLogger("hourline.access")

# /pay/<token>, /v1/pay/<token>, /v1/invitations/<token>: the segment after them.
_IN_PATH = re.compile(r"(/(?:v1/)?(?:pay|invitations)/)[^/?#\s]+")
_IN_QUERY = re.compile(r"([?&]token=)[^&#\s]+")


def redact(target: str) -> str:
    return _IN_QUERY.sub(r"\1[redacted]", _IN_PATH.sub(r"\1[redacted]", target))


def log_request(
    scope: MutableMapping[str, Any], status: int, started: float, request_id: str
) -> None:
    """`127.0.0.1:5000 "GET /v1/health" 200 1.2 ms id=<request id>`."""
    if not log.isEnabledFor(logging.INFO):
        return
    target = scope.get("path", "")
    query = scope.get("query_string", b"")
    if query:
        target = f"{target}?{query.decode('latin-1')}"
    client = scope.get("client")
    peer = f"{client[0]}:{client[1]}" if client else "-"
    elapsed = (time.perf_counter() - started) * 1000
    log.info(
        '%s "%s %s" %d %.1f ms id=%s',
        peer,
        scope.get("method", ""),
        redact(target),
        status,
        elapsed,
        request_id,
    )

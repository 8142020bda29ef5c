"""Application errors and their problem+json (RFC 9457) rendering.

Raise an `AppError` subclass anywhere below the router; the handlers in `app.main`
turn it into `application/problem+json` with a stable `code`. 422 is for payload
validation only; state conflicts are 409.
"""

import json
from http import HTTPStatus
from typing import Any

from starlette.types import Send

PROBLEM_JSON = "application/problem+json"


class AppError(Exception):
    status: int = 400
    code: str = "bad_request"

    def __init__(
        self,
        detail: str | None = None,
        *,
        code: str | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
        keep_changes: bool = False,
    ) -> None:
        self.detail = detail or HTTPStatus(self.status).phrase
        if code is not None:
            self.code = code
        self.headers = headers or {}
        self.extra = extra or {}
        # Commit what the unit of work did before failing (e.g. revoking a token family
        # on refresh-token reuse must stick although the request answers 401).
        self.keep_changes = keep_changes
        super().__init__(self.detail)


class BadRequest(AppError):
    status = 400
    code = "bad_request"


class Unauthorized(AppError):
    status = 401
    code = "unauthorized"

    def __init__(self, detail: str | None = None, **kw: Any) -> None:
        kw.setdefault("headers", {"WWW-Authenticate": "Bearer"})
        super().__init__(detail or "Missing or invalid credentials.", **kw)


class Forbidden(AppError):
    status = 403
    code = "forbidden"

    def __init__(self, detail: str | None = None, **kw: Any) -> None:
        super().__init__(detail or "Your role does not allow this action.", **kw)


class NotFound(AppError):
    status = 404
    code = "not_found"

    def __init__(self, what: str = "Resource", **kw: Any) -> None:
        kw.setdefault("code", f"{what.lower().replace(' ', '_')}_not_found")
        super().__init__(f"{what} not found.", **kw)


class Conflict(AppError):
    status = 409
    code = "conflict"


class Unprocessable(AppError):
    """A well-formed request that breaks a business rule tied to its payload."""

    status = 422
    code = "unprocessable"


class RateLimited(AppError):
    status = 429
    code = "rate_limited"

    def __init__(
        self, retry_after: int, detail: str | None = None, *, code: str | None = None
    ) -> None:
        super().__init__(
            detail or "Too many attempts; try again later.",
            code=code,
            headers={"Retry-After": str(max(1, retry_after))},
        )


class ServiceUnavailable(AppError):
    status = 503
    code = "service_unavailable"


def problem(
    status: int, code: str, detail: str, *, title: str | None = None, **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": f"https://hourline.dev/problems/{code}",
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
    }
    body.update(extra)
    return body


async def send_problem(
    send: Send, status: int, code: str, detail: str, *, headers: dict[str, str] | None = None
) -> None:
    """Answer with a problem straight from an ASGI middleware (outside the handlers)."""
    body = json.dumps(problem(status, code, detail)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", PROBLEM_JSON.encode()),
                (b"content-length", str(len(body)).encode()),
                *((k.lower().encode(), v.encode()) for k, v in (headers or {}).items()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})

"""What a request must be before anything else looks at it, as an ASGI middleware.

- No NUL character in the path or the query string: 400 `invalid_character`. PostgreSQL
  cannot hold U+0000 in text, so a `%00` that reached a statement was a 500. JSON bodies
  are checked field by field by `InputSchema` (422, same code).
- A body of at most `MAX_BODY_BYTES`: 413 `payload_too_large`, at once when
  `Content-Length` announces more, else as soon as the bytes read pass the limit, so a
  20 MB body costs 1 MiB, not 20.

Not FastAPI's `max_body_size`: its 413 is plain text when the limit trips outside a route
(`IdempotencyMiddleware` reads POST bodies first), and for an endpoint that reads no body
it replaces the response only after the handler ran and committed.
"""

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import send_problem

MAX_BODY_BYTES = 1024 * 1024


class PayloadTooLarge(HTTPException):
    """Raised by `receive` past the limit. An HTTPException so that FastAPI's body parsing
    lets it through to the handlers in `app.main`; outside a route, caught below."""

    def __init__(self) -> None:
        super().__init__(413, f"The body exceeds {MAX_BODY_BYTES} bytes.")


class InputGuardMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query = scope.get("query_string", b"")
        if "\x00" in scope["path"] or b"%00" in query or b"\x00" in query:
            await send_problem(
                send, 400, "invalid_character", "The path or query contains a NUL character."
            )
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            await send_problem(send, 413, "payload_too_large", PayloadTooLarge().detail)
            return

        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > MAX_BODY_BYTES:
                    raise PayloadTooLarge
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, watched_send)
        except PayloadTooLarge as exc:
            if started:
                raise
            await send_problem(send, 413, "payload_too_large", exc.detail)

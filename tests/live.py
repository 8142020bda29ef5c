"""The app served over real HTTP on 127.0.0.1, in the test's own event loop (the shared
app's database pool belongs to it), for answers that do not end: event streams."""

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass, field

import httpx
import uvicorn


class _Server(uvicorn.Server):
    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # the test runner keeps its own signal handlers


@asynccontextmanager
async def serving(app) -> AsyncIterator[str]:  # type: ignore[no-untyped-def]
    """The base URL of `app` served by uvicorn until the block ends."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        app, lifespan="off", log_level="warning", access_log=False, timeout_graceful_shutdown=1
    )
    server = _Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while not server.started:
        assert not task.done(), "the server did not start"
        assert loop.time() < deadline
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        sock.close()


@dataclass
class Block:
    """One server-sent block: an event (id, event, data) or comments only."""

    id: str | None = None
    event: str | None = None
    data: str | None = None
    retry: int | None = None
    comments: list[str] = field(default_factory=list)

    @property
    def json(self) -> dict:
        assert self.data is not None
        return json.loads(self.data)


class EventStream:
    """A server-sent event reader over a streamed httpx response. Lines are read by a
    task of their own, so a wait that times out leaves the stream readable."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._lines: asyncio.Queue[str | None] = asyncio.Queue()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for line in self.response.aiter_lines():
                await self._lines.put(line)
        except httpx.HTTPError:
            pass
        finally:
            await self._lines.put(None)

    @classmethod
    def refused(cls, response: httpx.Response) -> "EventStream":
        """A refusal (no stream): only `.response` is of use."""
        stream = cls.__new__(cls)
        stream.response = response
        return stream

    async def close(self) -> None:
        self._reader.cancel()
        with suppress(asyncio.CancelledError):
            await self._reader

    async def block(self, within: float = 10) -> Block | None:
        """The next block, or None when the stream ended."""
        found = Block()
        seen = False
        async with asyncio.timeout(within):
            while (line := await self._lines.get()) is not None:
                if line == "":
                    if seen:
                        return found
                    continue
                seen = True
                name, _, value = line.partition(":")
                value = value.removeprefix(" ")
                if name == "":
                    found.comments.append(value)
                elif name == "data":
                    found.data = value if found.data is None else f"{found.data}\n{value}"
                elif name == "retry":
                    found.retry = int(value)
                elif name in ("id", "event"):
                    setattr(found, name, value)
        self._lines.put_nowait(None)  # ended: so it stays for the next reader
        return found if seen else None

    async def event(self, within: float = 10) -> Block:
        """The next event, skipping comment blocks."""
        while True:
            block = await self.block(within)
            assert block is not None, "the stream ended"
            if block.event is not None:
                return block

    async def ended(self, within: float = 10) -> bool:
        """True once the server ends the stream (comment blocks in between are skipped)."""
        while True:
            block = await self.block(within)
            if block is None:
                return True
            assert block.event is None, f"an event arrived: {block}"


@asynccontextmanager
async def open_stream(
    http: httpx.AsyncClient, path: str, headers: dict[str, str], **params
) -> AsyncIterator[EventStream]:
    """GET `path` as an event stream; yields once the server has fixed its starting point
    (its `open` comment was read). A refusal is asserted by the caller on `.response`."""
    request = http.build_request(
        "GET", path, params=params, headers={**headers, "Accept": "text/event-stream"}
    )
    response = await http.send(request, stream=True)
    stream = None
    try:
        if response.status_code == 200:
            stream = EventStream(response)
            first = await stream.block()
            assert first is not None and "open" in first.comments, first
        yield stream or EventStream.refused(response)
    finally:
        if stream is not None:
            await stream.close()
        await response.aclose()

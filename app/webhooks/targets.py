"""Where a webhook may go (SSRF rules), and one signed POST to the address checked.

A target URL is `https://` or `http://`. Its host is resolved at creation, at each
change and again at each delivery; every address it resolves to must be public: no
loopback, private, shared (CGNAT), link-local, multicast, reserved, unspecified or
documentation address, IPv4 or IPv6, including IPv4 inside IPv6 (mapped, 6to4, Teredo).
The request then connects to the address that was checked - the URL's host replaced by
that IP, with the name sent as `Host` and as TLS SNI (and used for the certificate
check) - so a DNS answer that changes between the check and the connection (rebinding)
cannot redirect it. Redirects are not followed; proxies from the environment are not
used. `WEBHOOK_ALLOW_PRIVATE_TARGETS=true` lifts the address rule (development, tests);
the local webhook echo `hourline serve` starts beside its mail sink is the one loopback
target allowed without it (`WEBHOOK_ECHO_URL`: its scheme, host and port exactly).
"""

import asyncio
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from app.config import Settings
from app.core.errors import Unprocessable

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# How much of an answer is kept on the delivery.
KEPT_BYTES = 1024


class TargetRefused(Exception):
    """The URL may not be called; the text says why (kept on the delivery)."""


def not_allowed(reason: str) -> Unprocessable:
    return Unprocessable(
        f"This webhook URL is not allowed: {reason}.", code="webhook_url_not_allowed"
    )


def address_refused(ip: IPAddress) -> str | None:
    """Why `ip` may not be called, or None for a public address."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None:
            inner = address_refused(embedded)
            return f"{inner} (inside {ip})" if inner else None
    for label, flag in (
        ("loopback", ip.is_loopback),
        ("unspecified", ip.is_unspecified),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("reserved", ip.is_reserved),
        ("private", ip.is_private),
        ("not globally routable", not ip.is_global),
    ):
        if flag:
            return f"{ip} is a {label} address"
    return None


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # as in the URL (an IPv6 literal without brackets)
    port: int


def parse_target(url: str) -> Target:
    """The scheme, host and port of `url`; TargetRefused unless http(s) with a host."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise TargetRefused(f"the URL is malformed ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http"):
        raise TargetRefused("only https:// and http:// URLs are allowed")
    if not parts.hostname:
        raise TargetRefused("the URL names no host")
    return Target(scheme, parts.hostname, port or (443 if scheme == "https" else 80))


async def lookup(host: str, port: int) -> list[IPAddress]:
    """The addresses of `host` (the system resolver, without blocking the loop)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


def private_allowed(url: str, settings: Settings) -> bool:
    """Whether `url` may reach a non-public address: any URL with
    WEBHOOK_ALLOW_PRIVATE_TARGETS, else only one on the local webhook echo's origin."""
    if settings.webhook_allow_private_targets:
        return True
    if not settings.webhook_echo_url:
        return False
    try:
        return parse_target(url) == parse_target(settings.webhook_echo_url)
    except TargetRefused:
        return False


async def resolve(target: Target, *, allow_private: bool) -> IPAddress:
    """The address to connect to: every address of the host must be allowed (a name
    resolving to one public and one private address is refused), the first is used."""
    try:
        literal: IPAddress | None = ipaddress.ip_address(target.host)
    except ValueError:
        literal = None
    if literal is not None:
        found = [literal]
    else:
        try:
            found = await lookup(target.host, target.port)
        except (OSError, UnicodeError) as exc:
            raise TargetRefused(f"{target.host} does not resolve ({exc})") from None
        if not found:
            raise TargetRefused(f"{target.host} does not resolve")
    if not allow_private:
        for ip in found:
            reason = address_refused(ip)
            if reason is not None:
                raise TargetRefused(reason)
    return found[0]


async def check_url(url: str, *, allow_private: bool) -> None:
    """422 `webhook_url_not_allowed` for a URL no delivery would be sent to."""
    try:
        await resolve(parse_target(url), allow_private=allow_private)
    except TargetRefused as exc:
        raise not_allowed(str(exc)) from None


def tls_verification() -> ssl.SSLContext | bool:
    """How receivers' certificates are checked: the system's trust store (tests trust a
    certificate of their own here)."""
    return True


@dataclass(frozen=True)
class Answer:
    status: int
    body: str  # the first KEPT_BYTES, decoded leniently


async def post(
    url: str, body: str, headers: dict[str, str], *, allow_private: bool, seconds: float
) -> Answer:
    """POST `body` to `url` at an address checked just now; TargetRefused, or httpx and
    timeout errors, when nothing was answered."""
    target = parse_target(url)
    ip = await resolve(target, allow_private=allow_private)
    pinned = httpx.URL(url).copy_with(host=str(ip))
    default_port = 443 if target.scheme == "https" else 80
    host = f"[{target.host}]" if ":" in target.host else target.host
    host_header = host if target.port == default_port else f"{host}:{target.port}"
    request_headers = {**headers, "host": host_header, "content-type": "application/json"}
    async with (
        asyncio.timeout(seconds),
        httpx.AsyncClient(
            follow_redirects=False, trust_env=False, timeout=seconds, verify=tls_verification()
        ) as client,
        client.stream(
            "POST",
            pinned,
            content=body.encode(),
            headers=request_headers,
            extensions={"sni_hostname": target.host} if target.scheme == "https" else {},
        ) as response,
    ):
        kept = bytearray()
        async for chunk in response.aiter_bytes():
            kept += chunk
            if len(kept) >= KEPT_BYTES:
                break
        return Answer(response.status_code, bytes(kept[:KEPT_BYTES]).decode("utf-8", "replace"))

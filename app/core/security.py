"""Password hashing, signed access tokens and opaque secrets.

Opaque secrets (refresh tokens, invitation and API-key tokens) are never stored: only
an HMAC-SHA256 of them keyed with the server secret is kept, so a database dump does
not yield usable credentials.
"""

import base64
import hashlib
import hmac
import secrets
import time
import uuid
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from app.config import Settings
from app.core.crypto import WEBHOOK_SECRETS, SecretBox

_ALGORITHM = "HS256"
API_KEY_PREFIX = "hl_"
# Portal session tokens: a kind the team API refuses (it reads `hl_` keys and JWTs only).
PORTAL_TOKEN_PREFIX = "hlp_"
_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


class Secrets:
    """Everything that needs the server secret, built once per app."""

    def __init__(self, settings: Settings, secret_key: str) -> None:
        self._key = secret_key.encode()
        # Access tokens verified already, with their subject and expiry: a client sends
        # the same token on every request of its lifetime, and checking the signature and
        # parsing the claims each time costs more than the rest of authentication. Keyed
        # by the whole token, signature included, so only a verified token ever hits.
        self._verified: dict[str, tuple[uuid.UUID, uuid.UUID, float]] = {}
        self._settings = settings
        # Webhook signing secrets, encrypted at rest (they sign, so cannot be hashed).
        self.webhook_box = SecretBox(secret_key, WEBHOOK_SECRETS)
        self.passwords = PasswordHash(
            (
                Argon2Hasher(
                    time_cost=settings.argon2_time_cost,
                    memory_cost=settings.argon2_memory_cost,
                ),
            )
        )
        # Verifying against this keeps unknown-email logins as slow as wrong passwords.
        self._dummy_hash = self.passwords.hash(secrets.token_hex(8))

    # passwords
    def hash_password(self, password: str) -> str:
        return self.passwords.hash(password)

    def verify_password(self, password: str, hashed: str | None) -> bool:
        if hashed is None:
            self.passwords.verify(password, self._dummy_hash)
            return False
        return self.passwords.verify(password, hashed)

    # access tokens
    def issue_access_token(self, user_id: uuid.UUID, session_id: uuid.UUID) -> tuple[str, int]:
        ttl = self._settings.access_token_ttl_seconds
        now = datetime.now(UTC)
        claims = {
            "sub": str(user_id),
            "sid": str(session_id),
            "typ": "access",
            "jti": secrets.token_hex(8),
            "iat": now,
            "exp": now + timedelta(seconds=ttl),
        }
        return jwt.encode(claims, self._key, algorithm=_ALGORITHM), ttl

    def decode_access_token(self, token: str) -> dict[str, Any] | None:
        try:
            claims = jwt.decode(
                token, self._key, algorithms=[_ALGORITHM], options={"require": ["exp", "sub"]}
            )
        except jwt.PyJWTError:
            return None
        return claims if claims.get("typ") == "access" else None

    def access_token_subject(self, token: str) -> tuple[uuid.UUID, uuid.UUID] | None:
        """(user id, session id) of a valid access token; None for any other token,
        however well signed (a missing, non-string or non-UUID `sub` or `sid`)."""
        known = self._verified.get(token)
        if known is not None:
            if known[2] > time.time():
                return known[0], known[1]
            del self._verified[token]
            return None
        claims = self.decode_access_token(token)
        if claims is None:
            return None
        sub, sid = claims.get("sub"), claims.get("sid")
        if not isinstance(sub, str) or not isinstance(sid, str):
            return None
        try:
            subject = uuid.UUID(sub), uuid.UUID(sid)
        except ValueError:
            return None
        if len(self._verified) >= _VERIFIED_MAX:
            self._verified.clear()
        self._verified[token] = (*subject, float(claims["exp"]))
        return subject

    # opaque secrets
    def keyed_hash(self, token: str) -> str:
        return hmac.new(self._key, token.encode(), hashlib.sha256).hexdigest()


_VERIFIED_MAX = 10_000


def bearer_of(authorization: str) -> str | None:
    """The token of an `Authorization: Bearer <token>` header value (the scheme in any
    case, surrounding spaces dropped), or None: the one reading of the header."""
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def opaque_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def _b62(n: int, width: int) -> str:
    out = []
    for _ in range(width):
        n, r = divmod(n, 62)
        out.append(_B62[r])
    return "".join(reversed(out))


def new_api_key() -> str:
    """`hl_` + 32 base62 chars of randomness + 6 chars of CRC32 checksum."""
    body = _b62(secrets.randbits(190), 32)
    return f"{API_KEY_PREFIX}{body}{_b62(zlib.crc32(body.encode()), 6)}"


def api_key_checksum_ok(token: str) -> bool:
    """Cheap offline check that rejects typos and garbage before any database work."""
    if not token.startswith(API_KEY_PREFIX) or len(token) != len(API_KEY_PREFIX) + 38:
        return False
    body, check = token[3:35], token[35:]
    return hmac.compare_digest(_b62(zlib.crc32(body.encode()), 6), check)


def fingerprint(*parts: bytes | str) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode() if isinstance(part, str) else part)
        h.update(b"\0")
    return base64.urlsafe_b64encode(h.digest()).decode().rstrip("=")


def new_portal_token() -> str:
    """A portal session's bearer token: `hlp_` + 43 url-safe characters (256 bits)."""
    return PORTAL_TOKEN_PREFIX + opaque_token()

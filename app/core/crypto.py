"""Secrets the server must read back (webhook signing secrets), encrypted at rest.

Hashing does not do here: a webhook secret signs every delivery, so the worker needs it
in clear. It is sealed with AES-256-GCM (`cryptography`) under a key derived from
SECRET_KEY with HKDF-SHA256, one key per purpose, so a database dump alone yields no
secret. The purpose is also bound as associated data: a value sealed for one purpose
does not open for another.
"""

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

# The purpose of the secrets of outgoing webhook endpoints.
WEBHOOK_SECRETS = "webhook endpoint secrets"

_VERSION = "v1"
_NONCE_BYTES = 12


class SecretBox:
    """Seal and open short secrets for one `purpose` under a key derived from SECRET_KEY."""

    def __init__(self, secret_key: str, purpose: str) -> None:
        self._purpose = purpose.encode()
        key = HKDF(
            algorithm=hashes.SHA256(),
            length=32,
            salt=b"hourline secret box",
            info=self._purpose,
        ).derive(secret_key.encode())
        self._aead = AESGCM(key)

    def seal(self, plaintext: str) -> str:
        """`v1.<base64url(nonce || ciphertext || tag)>`; a fresh random nonce each time."""
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), self._purpose)
        return f"{_VERSION}.{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def open(self, token: str) -> str:
        """The plaintext of `seal`; ValueError when the value was altered, sealed for
        another purpose or under another SECRET_KEY."""
        version, _, body = token.partition(".")
        if version != _VERSION:
            raise ValueError("unknown sealed-secret version")
        raw = base64.urlsafe_b64decode(body)
        try:
            plain = self._aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], self._purpose)
        except InvalidTag:
            raise ValueError("the sealed secret does not open under this key") from None
        return plain.decode()

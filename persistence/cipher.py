"""Encryption of broker tokens at rest: Fernet under a list of keys, newest first.

The newest key encrypts; every key decrypts, so a key can be rotated in by
putting it first and rotated out once `alphap keys rotate` has re-encrypted
everything under it. No message raised here ever contains a key or a token.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from persistence.errors import InvalidTokenKeyError, TokenDecryptError, TokenKeyMissingError

_FERNET_VERSION = 0x80
# version (1) + timestamp (8) + IV (16) + one AES block (16) + HMAC (32)
_MIN_TOKEN_BYTES = 73


def generate_key() -> str:
    """A new random Fernet key (url-safe base64 text)."""
    return Fernet.generate_key().decode("ascii")


def parse_keys(text: str | None) -> list[str]:
    """Split a comma-separated key list (newest first), dropping blanks."""
    if not text:
        return []
    return [part.strip() for part in text.split(",") if part.strip()]


def looks_encrypted(value: str) -> bool:
    """True when `value` has the shape of a Fernet token (whatever key made it)."""
    try:
        raw = base64.urlsafe_b64decode(value.encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return False
    return len(raw) >= _MIN_TOKEN_BYTES and raw[0] == _FERNET_VERSION


class TokenCipher:
    """Encrypts and decrypts token strings; thread-safe (it holds no mutable state)."""

    def __init__(self, keys: Sequence[str]) -> None:
        fernets = []
        for position, key in enumerate(keys, start=1):
            try:
                fernets.append(Fernet(key))
            except (ValueError, TypeError, binascii.Error):
                raise InvalidTokenKeyError(
                    f"token key {position} of {len(keys)} (counting from the newest) is not a "
                    "valid Fernet key: it must be 32 url-safe base64-encoded bytes"
                ) from None
        self._multi = MultiFernet(fernets) if fernets else None
        self.key_count = len(fernets)

    @classmethod
    def from_text(cls, text: str | None) -> TokenCipher:
        """A cipher from a comma-separated key list, newest first (empty: no keys)."""
        return cls(parse_keys(text))

    def __repr__(self) -> str:
        return f"TokenCipher(key_count={self.key_count})"

    @property
    def has_keys(self) -> bool:
        return self._multi is not None

    def _require(self, action: str) -> MultiFernet:
        if self._multi is None:
            raise TokenKeyMissingError(
                f"cannot {action} a token: no token key is configured "
                "(set ALPHAP_TOKEN_KEYS or the ALPHAP_TOKEN_KEYS credential; "
                "`alphap keys generate` makes one)"
            )
        return self._multi

    def encrypt(self, plaintext: str) -> str:
        """Ciphertext of `plaintext` under the newest key."""
        return self._require("encrypt").encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        """Plaintext of a token made with any configured key."""
        multi = self._require("decrypt")
        try:
            return multi.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError):
            raise TokenDecryptError(self._undecryptable(token)) from None

    def rotate(self, token: str) -> str:
        """The same plaintext re-encrypted under the newest key."""
        multi = self._require("rotate")
        try:
            return multi.rotate(token.encode("ascii")).decode("ascii")
        except (InvalidToken, UnicodeError):
            raise TokenDecryptError(self._undecryptable(token)) from None

    def _undecryptable(self, token: str) -> str:
        if not looks_encrypted(token):
            return (
                "a stored token is not encrypted (a legacy plaintext value?): "
                "run `alphap keys rotate` to encrypt it"
            )
        return (
            f"a stored token cannot be decrypted with any of the {self.key_count} configured "
            "token keys: was the key that encrypted it removed?"
        )

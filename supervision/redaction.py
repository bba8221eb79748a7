"""Redaction of secrets in anything that is logged or stored for operators.

Three layers, because a secret can hide in a key, in a known value or in a
shape: values under secret-looking keys are replaced whole; values registered
at start-up (from the settings) are replaced wherever they appear inside a
string; and well-known shapes (DSN passwords, Fernet keys and tokens, Kite
`token api_key:access_token` headers) are replaced by pattern.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import unquote

MASK = "***"

SECRET_KEY_PARTS = (
    "access_token",
    "request_token",
    "refresh_token",
    "public_token",
    "enctoken",
    "api_secret",
    "password",
    "passwd",
    "secret",
    "token_keys",
    "fernet",
    "authorization",
    "checksum",
)

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # scheme://user:password@host -> scheme://user:***@host. The scheme's length is
    # bounded: unbounded, a long run of letters (a hostile document) costs quadratic time.
    (
        re.compile(r"(?P<head>[a-zA-Z][a-zA-Z0-9+.-]{0,31}://[^:/@\s]*:)[^@\s/]+(?=@)"),
        r"\g<head>" + MASK,
    ),
    # password=... in libpq keyword DSNs and query strings
    (
        re.compile(r"(?i)(?P<head>\b(?:password|passwd)\s*=\s*)('[^']*'|[^\s&;]+)"),
        r"\g<head>" + MASK,
    ),
    # Fernet tokens (version byte 0x80 encodes to gAAAAA) and 32-byte urlsafe keys
    (re.compile(r"gAAAAA[A-Za-z0-9_\-]{20,}={0,2}"), MASK),
    (re.compile(r"(?<![A-Za-z0-9_\-])[A-Za-z0-9_\-]{43}=(?![A-Za-z0-9_\-=])"), MASK),
    # Kite's Authorization header: "token api_key:access_token"
    (re.compile(r"(?i)(?P<head>\btoken\s+[A-Za-z0-9]+:)[A-Za-z0-9]+"), r"\g<head>" + MASK),
    # key=value or "key": "value" pairs for the secret keys above, inside free text
    (
        re.compile(
            r"(?i)(?P<head>\b(?:access_token|request_token|refresh_token|enctoken|api_secret)"
            r"['\"]?\s*[:=]\s*['\"]?)[^'\"\s,&}]+"
        ),
        r"\g<head>" + MASK,
    ),
)


class Redactor:
    """Replaces secrets in nested data; thread-safe, shared by logs and dead letters."""

    def __init__(self, known_secrets: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._known: tuple[str, ...] = ()
        self.register(known_secrets)

    def register(self, secrets: Iterable[str]) -> None:
        """Add exact secret values to replace wherever they occur (short ones are ignored)."""
        fresh = {s for s in secrets if isinstance(s, str) and len(s) >= 6}
        with self._lock:
            # Longest first, so a secret containing another is replaced whole.
            self._known = tuple(sorted(set(self._known) | fresh, key=len, reverse=True))

    def text(self, value: str) -> str:
        """Redact one string."""
        for secret in self._known:
            if secret in value:
                value = value.replace(secret, MASK)
        for pattern, replacement in _PATTERNS:
            value = pattern.sub(replacement, value)
        return value

    def value(self, value: Any, key: str | None = None) -> Any:
        """Redact any JSON-like value; values under secret-looking keys are masked whole."""
        if key is not None and is_secret_key(key) and value not in (None, ""):
            return MASK
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {k: self.value(v, str(k)) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(v) for v in value]
        if isinstance(value, BaseException):
            return self.text(f"{type(value).__name__}: {value}")
        return value

    def mapping(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """Redact a mapping such as a structlog event dict."""
        return {k: self.value(v, k) for k, v in data.items()}


def is_secret_key(key: str) -> bool:
    """True when a mapping key names something that must never be shown."""
    lowered = key.lower()
    if lowered in ("token", "key"):
        return False
    return any(part in lowered for part in SECRET_KEY_PARTS)


_URL_AUTHORITY = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://(?P<authority>[^/?#]*)")
_KEYWORD_PASSWORD = re.compile(r"(?i)\b(?:password|passwd)\s*=\s*('(?:[^'\\]|\\.)*'|[^\s&]+)")


def connection_passwords(conninfo: str) -> list[str]:
    """The passwords in a URL or libpq keyword conninfo, raw and percent-decoded.

    Tolerant of malformed input on purpose: libpq quotes the offending part of a
    conninfo it cannot parse (a bad percent-escape, a space), which may be the
    password, and no pattern recognises it there; registering it does.
    """
    found = []
    for match in _URL_AUTHORITY.finditer(conninfo):
        userinfo, at, _ = match["authority"].rpartition("@")
        if at and ":" in userinfo:
            found.append(userinfo.partition(":")[2])
    for match in _KEYWORD_PASSWORD.finditer(conninfo):
        value = match.group(1)
        if value.startswith("'"):
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        found.append(value)
    decoded = [unquote(value) for value in found]
    return [value for value in dict.fromkeys(found + decoded) if value]


DEFAULT_REDACTOR = Redactor()

"""Which Kite failures are worth retrying, and how long to wait between attempts.

Transient: the network (refused, reset, dropped, timed out), HTTP 429 (Kite's
"Too many requests", which the client raises as NetworkException) and any 5xx.
Everything else is an answer: a TokenException needs a fresh login, and other
4xx (input, permission, order) would fail again identically.
"""

from __future__ import annotations

from dataclasses import dataclass

import kiteconnect.exceptions as kite_errors
import requests

DEFAULT_MAX_ATTEMPTS = 5
DEFAULT_BACKOFF_BASE_S = 0.5
DEFAULT_BACKOFF_MAX_S = 8.0

TOO_MANY_REQUESTS = 429
FIRST_SERVER_ERROR = 500

_TRANSIENT_TRANSPORT = (
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
    requests.exceptions.ChunkedEncodingError,
)


@dataclass(frozen=True)
class RetryPolicy:
    """Attempts per call and exponential backoff: base, 2*base, 4*base, ... capped at max."""

    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    backoff_base_s: float = DEFAULT_BACKOFF_BASE_S
    backoff_max_s: float = DEFAULT_BACKOFF_MAX_S

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.backoff_base_s < 0 or self.backoff_max_s < self.backoff_base_s:
            raise ValueError("backoff must satisfy 0 <= base <= max")

    def wait_before_retry(self, failed_attempts: int) -> float:
        """Seconds to wait after the `failed_attempts`-th failure (1-based)."""
        return float(min(self.backoff_max_s, self.backoff_base_s * 2 ** (failed_attempts - 1)))


def http_status(error: BaseException) -> int | None:
    """The HTTP status Kite answered with, when the failure carries one."""
    if isinstance(error, kite_errors.KiteException):
        return int(error.code)
    response = getattr(error, "response", None)
    status = getattr(response, "status_code", None)
    return status if isinstance(status, int) else None


def is_transient(error: BaseException) -> bool:
    """True when the same request may well succeed if sent again later."""
    if isinstance(error, kite_errors.TokenException):
        return False
    if isinstance(error, kite_errors.KiteException):
        code = int(error.code)
        return code == TOO_MANY_REQUESTS or code >= FIRST_SERVER_ERROR
    return isinstance(error, _TRANSIENT_TRANSPORT)

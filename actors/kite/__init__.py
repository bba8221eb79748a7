"""Kite Connect access: the gateway, its retry policy and its rate limit."""

from actors.kite.gateway import DEFAULT_TIMEOUT_S, KiteGateway
from actors.kite.rate_limit import KITE_REQUESTS_PER_SECOND, TokenBucket
from actors.kite.retry import RetryPolicy, is_transient

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "KITE_REQUESTS_PER_SECOND",
    "KiteGateway",
    "RetryPolicy",
    "TokenBucket",
    "is_transient",
]

"""Client-side rate limit for Kite's HTTP API, so we slow down before Kite answers 429."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

# Kite allows about ten requests a second per API key on most endpoints.
KITE_REQUESTS_PER_SECOND = 10.0


class TokenBucket:
    """Thread-safe token bucket: bursts up to `capacity`, then `rate` acquisitions a second."""

    def __init__(
        self,
        rate: float = KITE_REQUESTS_PER_SECOND,
        capacity: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self._rate = rate
        self._capacity = capacity if capacity is not None else max(1.0, rate)
        if self._capacity < 1:
            raise ValueError("capacity must allow at least one request")
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = self._capacity
        self._updated = clock()

    def acquire(self) -> float:
        """Take one token, sleeping until one is free; returns the seconds waited."""
        # Reserve under the lock (the balance may go negative), sleep outside it:
        # callers queue fairly and none holds the lock while waiting.
        with self._lock:
            now = self._clock()
            elapsed = max(0.0, now - self._updated)
            self._tokens = min(self._capacity, self._tokens + elapsed * self._rate)
            self._updated = now
            self._tokens -= 1
            wait = 0.0 if self._tokens >= 0 else -self._tokens / self._rate
        if wait > 0:
            self._sleep(wait)
        return wait

"""Which live portfolios hold an instrument, so the ingress sends a tick only to them.

A portfolio counts as holding every instrument it has ever traded, closed
positions included: a closed position keeps its realized P&L and its last price
keeps ticking (actors/accounting.py). Portfolio actors register on recovery and
after each fill, and leave on passivation and stop; a crashed incarnation stays
registered, so ticks wait in its mailbox for the restarted one.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable, Iterable


class HoldingsIndex:
    """instrument_token -> keys of the live portfolios that traded it; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_token: dict[int, set[Hashable]] = {}
        self._by_key: dict[Hashable, set[int]] = {}

    def add(self, key: Hashable, instrument_tokens: Iterable[int]) -> None:
        """Record that `key` holds these instruments (in addition to those known)."""
        with self._lock:
            held = self._by_key.setdefault(key, set())
            for token in instrument_tokens:
                if token not in held:
                    held.add(token)
                    self._by_token.setdefault(token, set()).add(key)

    def remove(self, key: Hashable) -> None:
        """Forget `key` entirely (its actor passivated or stopped)."""
        with self._lock:
            for token in self._by_key.pop(key, ()):
                keys = self._by_token.get(token)
                if keys is not None:
                    keys.discard(key)
                    if not keys:
                        del self._by_token[token]

    def holders(self, instrument_token: int) -> tuple[Hashable, ...]:
        """The keys holding `instrument_token` now (a copy; safe to iterate)."""
        with self._lock:
            return tuple(self._by_token.get(instrument_token, ()))

    def held_by(self, key: Hashable) -> frozenset[int]:
        """The instruments `key` is registered for."""
        with self._lock:
            return frozenset(self._by_key.get(key, ()))

    def __len__(self) -> int:
        with self._lock:
            return len(self._by_key)

"""The dead-letter actor's storage engine: Redis first, the spill file while Redis is away."""

from __future__ import annotations

import enum
import threading
from typing import Any

import redis
import structlog
from redis.backoff import NoBackoff
from redis.retry import Retry

from supervision.deadletters.letter import DeadLetter
from supervision.deadletters.redact import redact_letter
from supervision.deadletters.registry import DeadLetterRegistry
from supervision.deadletters.spill import SpillFile

log = structlog.get_logger(__name__)

# Short, and no retries inside redis-py: while Redis is away the spill file is
# the retry, and a dead letter must not wait seconds to reach it.
CLIENT_TIMEOUT_SECONDS = 2.0


def dead_letter_client(url: str, timeout: float = CLIENT_TIMEOUT_SECONDS) -> redis.Redis:
    """A Redis client suited to the store: fails fast instead of retrying."""
    return redis.Redis.from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
    )


class StoreOutcome(enum.Enum):
    """Where one delivered letter ended up."""

    STORED = "stored"
    DUPLICATE = "duplicate"
    SPILLED = "spilled"


class DeadLetterStore:
    """Redacts each letter, stores it in Redis, and spills it to disk when Redis fails.

    Thread-safe; the actor calls it from its own thread, tests call it directly.
    """

    def __init__(self, registry: DeadLetterRegistry, spill: SpillFile) -> None:
        self.registry = registry
        self.spill = spill
        self._lock = threading.Lock()
        self._stored = 0
        self._duplicates = 0
        self._spilled = 0
        self._drained = 0
        self._last_error: str | None = None

    def store(self, letter: DeadLetter) -> StoreOutcome:
        """Keep one letter: in Redis, or in the spill file if Redis fails (OSError propagates)."""
        clean = redact_letter(letter, self.registry.redactor)
        try:
            added = self.registry.add(clean)
        except redis.RedisError as exc:
            self.spill.append(clean)
            self._note_error(exc)
            with self._lock:
                self._spilled += 1
            log.warning("dead_letter_spilled", letter_id=clean.id, actor=clean.actor)
            return StoreOutcome.SPILLED
        with self._lock:
            if added > 0:
                self._stored += 1
            else:
                self._duplicates += 1
        log.info("dead_letter_stored", letter_id=clean.id, actor=clean.actor, added=added > 0)
        return StoreOutcome.STORED if added > 0 else StoreOutcome.DUPLICATE

    def drain(self) -> int:
        """Move every spilled letter into Redis; returns how many lines were confirmed.

        Raises the Redis error that stopped it; the rest stays on disk.
        """
        try:
            confirmed = self.spill.drain(self.registry.add)
        except redis.RedisError as exc:
            self._note_error(exc)
            raise
        with self._lock:
            self._drained += confirmed
        if confirmed:
            log.info("dead_letter_spill_drained", letters=confirmed)
        return confirmed

    def _note_error(self, exc: BaseException) -> None:
        text = self.registry.redactor.text(f"{type(exc).__name__}: {exc}")
        with self._lock:
            self._last_error = text

    def get_stats(self) -> dict[str, Any]:
        """Counters since start and the current spill backlog."""
        with self._lock:
            return {
                "stored": self._stored,
                "duplicates": self._duplicates,
                "spilled": self._spilled,
                "drained": self._drained,
                "spill_pending": self.spill.pending,
                "last_error": self._last_error,
            }

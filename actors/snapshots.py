"""Batched snapshot writes: portfolios publish their state, one writer upserts what changed.

A portfolio actor publishes its immutable `PortfolioState` into the shared
`DirtySnapshots` after every change (O(1), under a lock). The `SnapshotWriter`
takes everything changed since its last flush every `interval` seconds (or on
`FlushSnapshots`) and upserts it in one transaction, in chunks per statement.
`snapshots.upsert_many` fences stale writes by journal id; fenced keys are logged.

The buffer also keeps each live portfolio's latest state, so an incarnation that
replaces a crashed one resumes from it (ticks included) instead of the older
stored snapshot.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import psycopg
import structlog

from actors.messages import ChangeSnapshotInterval, FlushSnapshots
from actors.portfolio_state import PortfolioState
from actors.schedule import SelfTimers, Teller, retry_delay
from persistence.pool import Pool
from persistence.repositories import snapshots
from persistence.uow import unit_of_work
from supervision import SupervisedActor

log = structlog.get_logger(__name__)

DEFAULT_INTERVAL_SECONDS = 30.0
DEFAULT_CHUNK_ROWS = 1000


class DirtySnapshots:
    """The latest published state per portfolio, and which changed since the last take."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._latest: dict[Hashable, PortfolioState] = {}
        self._dirty: dict[Hashable, PortfolioState] = {}

    def publish(self, state: PortfolioState) -> None:
        """Record a portfolio's new state (its actor calls this after each change)."""
        with self._lock:
            self._latest[state.key] = state
            self._dirty[state.key] = state

    def latest(self, key: Hashable) -> PortfolioState | None:
        """The last state published for `key` in this process, if its actor is live."""
        with self._lock:
            return self._latest.get(key)

    def take(self) -> list[PortfolioState]:
        """Every state changed since the last take; they are no longer dirty."""
        with self._lock:
            taken, self._dirty = self._dirty, {}
        return list(taken.values())

    def take_one(self, key: Hashable) -> PortfolioState | None:
        """`key`'s state if it changed since the last take (it is then no longer dirty)."""
        with self._lock:
            return self._dirty.pop(key, None)

    def restore(self, states: Iterable[PortfolioState]) -> None:
        """Mark states dirty again after a failed write, unless a newer one was published."""
        with self._lock:
            for state in states:
                self._dirty.setdefault(state.key, state)

    def written(self, state: PortfolioState) -> None:
        """`state` is stored: it is no longer dirty (unless a newer state was published)."""
        with self._lock:
            if self._dirty.get(state.key) is state:
                del self._dirty[state.key]

    def forget(self, key: Hashable, written: PortfolioState) -> None:
        """Drop `key` once `written` (its latest state) is stored: its actor is going away."""
        with self._lock:
            if self._latest.get(key) is written:
                del self._latest[key]
            if self._dirty.get(key) is written:
                del self._dirty[key]

    def dirty_count(self) -> int:
        """How many portfolios changed since the last take."""
        with self._lock:
            return len(self._dirty)


def write_snapshots(
    pool: Pool,
    states: Sequence[PortfolioState],
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    timeout: float | None = None,
) -> set[Hashable]:
    """Upsert `states` in one transaction; return the keys fenced (a newer row was stored)."""
    now = datetime.now(UTC)
    fenced: set[Hashable] = set()
    with unit_of_work(pool, timeout=timeout) as uow:
        for start in range(0, len(states), chunk_rows):
            chunk = states[start : start + chunk_rows]
            written = snapshots.upsert_many(uow.conn, [s.to_snapshot(now) for s in chunk])
            fenced.update(
                s.key for s in chunk if (s.key.broker_namespace, s.key.portfolio_id) not in written
            )
    if fenced:
        log.warning("snapshots_fenced", keys=sorted(str(k) for k in fenced))
    return fenced


@dataclass(frozen=True)
class SnapshotWriterConfig:
    """How often the writer flushes and how many rows go into one statement."""

    interval: float = DEFAULT_INTERVAL_SECONDS
    chunk_rows: int = DEFAULT_CHUNK_ROWS
    checkout_timeout: float = 5.0
    retry_cap: float = 30.0


class SnapshotWriter(SupervisedActor):
    """Flushes `DirtySnapshots` every `interval` seconds, on `FlushSnapshots`, and at stop.

    `myself` returns the writer's own handle (for its timer); None disables the
    timer, so only `FlushSnapshots` and stop flush. A failed flush puts the
    states back and is retried at the next interval (sooner, with backoff,
    while the database is unreachable); the actor reports itself degraded.
    """

    def __init__(
        self,
        pool: Pool,
        dirty: DirtySnapshots,
        config: SnapshotWriterConfig | None = None,
        myself: Callable[[], Teller] | None = None,
    ) -> None:
        self.pool = pool
        self.dirty = dirty
        self.config = config or SnapshotWriterConfig()
        self.timers = SelfTimers(myself, "snapshots")
        self.next_due = 0.0
        self.flushes = 0
        self.written = 0
        self.fenced = 0
        self.failures = 0
        self.last_flush_ms: float | None = None
        self.last_error: str | None = None

    def on_start(self) -> None:
        self._schedule(self.config.interval)

    def handle(self, message: Any) -> Any:
        if isinstance(message, FlushSnapshots):
            if time.monotonic() >= self.next_due:
                self._schedule(self.config.interval)
            return self.flush()
        if isinstance(message, ChangeSnapshotInterval):
            self.config = replace(self.config, interval=message.interval)
            self._schedule(message.interval)
            log.info("snapshot_interval_changed", interval=message.interval)
            return None
        raise TypeError(f"snapshot writer cannot handle {type(message).__name__}")

    def on_stop(self) -> None:
        self.timers.cancel_all()
        self.flush()

    def flush(self) -> int:
        """Write every changed portfolio now; returns how many were written."""
        states = self.dirty.take()
        if not states:
            return 0
        started = time.perf_counter()
        try:
            fenced = write_snapshots(
                self.pool,
                states,
                chunk_rows=self.config.chunk_rows,
                timeout=self.config.checkout_timeout,
            )
        except psycopg.Error as error:
            self.dirty.restore(states)
            self.failures += 1
            self.last_error = type(error).__name__
            self.set_degraded(True)
            log.warning(
                "snapshots_flush_failed",
                portfolios=len(states),
                failures=self.failures,
                error=self.last_error,
            )
            self._schedule(retry_delay(self.failures, 0.5, self.config.retry_cap))
            return 0
        self.failures = 0
        self.set_degraded(False)
        self.flushes += 1
        self.written += len(states) - len(fenced)
        self.fenced += len(fenced)
        self.last_flush_ms = (time.perf_counter() - started) * 1000
        log.debug("snapshots_flushed", portfolios=len(states), fenced=len(fenced))
        return len(states) - len(fenced)

    def _schedule(self, delay: float) -> None:
        delay = min(delay, self.config.interval)
        self.next_due = time.monotonic() + delay
        self.timers.later(delay, FlushSnapshots())

    def describe(self) -> dict[str, Any]:
        return {
            "dirty": self.dirty.dirty_count(),
            "flushes": self.flushes,
            "written": self.written,
            "fenced": self.fenced,
            "failures": self.failures,
            "last_flush_ms": None if self.last_flush_ms is None else round(self.last_flush_ms, 3),
            "last_error": self.last_error,
            "interval_seconds": self.config.interval,
        }

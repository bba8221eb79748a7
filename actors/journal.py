"""The journal: the only writer of trading_events, committing requests in groups.

`AppendToJournal` requests are buffered and committed together when `max_batch`
events are waiting, when a request asks to be committed now, or `max_delay_ms`
after the first one arrived (a timer tells the journal `FlushJournal`), one
transaction per batch with `events.append`.
Each request's future gets its slice of the AppendResults. Journal ids grow in
commit order because nothing else writes the table.

- Database unreachable (OperationalError, pool timeout): the batch stays
  buffered, the journal reports itself degraded and retries with backoff
  (scheduled, so it keeps taking requests); nothing is dead-lettered or lost.
- Database refuses the data: the batch's requests are retried one transaction
  each, and only the refused request's future fails (`JournalRefusedError`).

The buffer belongs to the child, not to one incarnation (`JournalActor.factory`),
so a restarted journal still commits what its predecessor had accepted.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass, field
from typing import Any

import psycopg
import structlog

from actors.errors import JournalRefusedError, JournalUnavailableError
from actors.messages import AppendToJournal, FlushJournal
from actors.schedule import SelfTimers, Teller, retry_delay
from persistence.pool import Pool
from persistence.repositories import events
from persistence.repositories.events import AppendResult
from persistence.uow import unit_of_work
from supervision import SupervisedActor

log = structlog.get_logger(__name__)

UNAVAILABLE = (psycopg.OperationalError, psycopg.InterfaceError)
"""The database cannot be reached now (PoolTimeout is an OperationalError): retry later."""
REFUSED = (psycopg.Error, TypeError, ValueError)
"""Anything else the database or the driver refuses is about the data: isolate it."""


@dataclass(frozen=True)
class JournalConfig:
    """Group commit and retry settings."""

    max_batch: int = 1000
    max_delay_ms: float = 5.0
    checkout_timeout: float = 5.0
    retry_initial: float = 0.05
    retry_cap: float = 2.0
    stop_flush_seconds: float = 10.0


@dataclass
class JournalBuffer:
    """Requests accepted but not yet committed, shared by the journal's incarnations."""

    requests: deque[AppendToJournal] = field(default_factory=deque)
    events: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class JournalActor(SupervisedActor):
    """Group-commits `AppendToJournal` requests; see the module docstring.

    `myself` returns the journal's own handle, for its flush and retry timers;
    without it, buffered requests are committed only when `max_batch` is reached,
    on `FlushJournal` and at stop.
    """

    def __init__(
        self,
        pool: Pool,
        config: JournalConfig | None = None,
        myself: Callable[[], Teller] | None = None,
        buffer: JournalBuffer | None = None,
    ) -> None:
        self.pool = pool
        self.config = config or JournalConfig()
        self.buffer = buffer or JournalBuffer()
        self.timers = SelfTimers(myself, "journal")
        self.flush_due: float | None = None
        self.retrying = False
        self.failures = 0
        self.batches = 0
        self.written = 0
        self.duplicates = 0
        self.refused = 0
        self.last_flush_ms: float | None = None
        self.last_error: str | None = None

    @classmethod
    def factory(
        cls,
        pool: Pool,
        config: JournalConfig | None = None,
        myself: Callable[[], Teller] | None = None,
    ) -> Callable[[], JournalActor]:
        """A ChildSpec factory whose incarnations share one buffer."""
        buffer = JournalBuffer()
        return lambda: cls(pool, config, myself, buffer)

    # Messages

    def on_start(self) -> None:
        if self.buffer.requests:
            self._schedule(0.0)

    def handle(self, message: Any) -> Any:
        if isinstance(message, AppendToJournal):
            self._accept(message)
        elif isinstance(message, FlushJournal):
            due = self.flush_due
            waiting_to_retry = self.retrying and due is not None and time.monotonic() < due
            if self.buffer.requests and not waiting_to_retry:
                self.flush()
        else:
            raise TypeError(f"journal cannot handle {type(message).__name__}")
        return None

    def on_stop(self) -> None:
        self.timers.cancel_all()
        deadline = time.monotonic() + self.config.stop_flush_seconds
        while self.buffer.requests:
            self.flush()
            if not self.buffer.requests:
                break
            wait = retry_delay(self.failures, self.config.retry_initial, self.config.retry_cap)
            if time.monotonic() + wait > deadline:
                break
            time.sleep(wait)
        self._fail_all(JournalUnavailableError("the journal stopped before it could commit"))

    def _accept(self, request: AppendToJournal) -> None:
        buffer = self.buffer
        with buffer.lock:
            first = not buffer.requests
            buffer.requests.append(request)
            buffer.events += len(request.events)
            full = buffer.events >= self.config.max_batch
        if self.retrying:
            return
        if full or request.commit_now:
            self.flush()
        elif first:
            self._schedule(self.config.max_delay_ms / 1000)

    def _schedule(self, delay: float) -> None:
        self.flush_due = time.monotonic() + delay
        self.timers.later(delay, FlushJournal())

    # Committing

    def flush(self) -> None:
        """Commit everything buffered now, in batches of about `max_batch` events."""
        self.flush_due = None
        while self.buffer.requests:
            batch = self._next_batch()
            if not self._commit(batch):
                return
        self.retrying = False

    def _next_batch(self) -> list[AppendToJournal]:
        batch: list[AppendToJournal] = []
        count = 0
        for request in self.buffer.requests:
            if batch and count + len(request.events) > self.config.max_batch:
                break
            batch.append(request)
            count += len(request.events)
        return batch

    def _commit(self, batch: list[AppendToJournal]) -> bool:
        """Commit one batch; False when the database is unreachable (the batch stays buffered)."""
        started = time.perf_counter()
        try:
            results = self._append([e for request in batch for e in request.events])
        except UNAVAILABLE as error:
            self._unavailable(error)
            return False
        except REFUSED as error:
            log.warning("journal_batch_refused", requests=len(batch), error=type(error).__name__)
            return self._isolate(batch)
        self._done(batch, results, started)
        return True

    def _isolate(self, batch: list[AppendToJournal]) -> bool:
        """Commit each request of a refused batch on its own; fail only the refused ones."""
        for request in batch:
            started = time.perf_counter()
            try:
                results = self._append(list(request.events))
            except UNAVAILABLE as error:
                self._unavailable(error)
                return False
            except REFUSED as error:
                self._refuse(request, error)
                continue
            self._done([request], results, started)
        return True

    def _append(self, batch: list[events.Event]) -> list[AppendResult]:
        with unit_of_work(self.pool, timeout=self.config.checkout_timeout) as uow:
            return events.append(uow.conn, batch)

    def _done(
        self, batch: list[AppendToJournal], results: list[AppendResult], started: float
    ) -> None:
        offset = 0
        for request in batch:
            size = len(request.events)
            self._release(request)
            _resolve(request.reply, results[offset : offset + size])
            offset += size
        inserted = sum(1 for r in results if r.inserted)
        self.batches += 1
        self.written += inserted
        self.duplicates += len(results) - inserted
        self.last_flush_ms = (time.perf_counter() - started) * 1000
        if self.failures:
            log.info("journal_recovered", failures=self.failures)
        self.failures = 0
        self.set_degraded(False)

    def _refuse(self, request: AppendToJournal, error: Exception) -> None:
        self._release(request)
        self.refused += 1
        reason = f"{type(error).__name__}: {str(error).strip()[:300]}"
        log.error("journal_request_refused", events=len(request.events), error=reason)
        _fail(request.reply, JournalRefusedError(f"the database refused the events: {reason}"))

    def _release(self, request: AppendToJournal) -> None:
        buffer = self.buffer
        with buffer.lock:
            buffer.requests.remove(request)
            buffer.events -= len(request.events)

    def _unavailable(self, error: Exception) -> None:
        self.failures += 1
        self.retrying = True
        self.last_error = type(error).__name__
        self.set_degraded(True)
        delay = retry_delay(self.failures, self.config.retry_initial, self.config.retry_cap)
        log.warning(
            "journal_database_unavailable",
            failures=self.failures,
            buffered=self.buffer.events,
            retry_in=delay,
            error=self.last_error,
        )
        self._schedule(delay)

    def _fail_all(self, error: Exception) -> None:
        buffer = self.buffer
        with buffer.lock:
            left = list(buffer.requests)
            buffer.requests.clear()
            buffer.events = 0
        for request in left:
            _fail(request.reply, error)
        if left:
            log.error("journal_requests_not_committed", requests=len(left))

    def describe(self) -> dict[str, Any]:
        return {
            "buffered": self.buffer.events,
            "buffered_requests": len(self.buffer.requests),
            "flushed_batches": self.batches,
            "events_written": self.written,
            "duplicates": self.duplicates,
            "refused_requests": self.refused,
            "retrying": self.retrying,
            "last_flush_ms": None if self.last_flush_ms is None else round(self.last_flush_ms, 3),
            "last_error": self.last_error,
        }


def _resolve(reply: Future[list[AppendResult]], results: list[AppendResult]) -> None:
    # A sender may have cancelled its future; the events are committed all the same.
    with contextlib.suppress(InvalidStateError):
        reply.set_result(results)


def _fail(reply: Future[list[AppendResult]], error: Exception) -> None:
    with contextlib.suppress(InvalidStateError):
        reply.set_exception(error)

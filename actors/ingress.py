"""The ingress actor: reads the ingress log, routes each entry, acknowledges once durable.

Its loop is driven by messages it sends itself: `PollStream` reads one batch
and is sent again after it, unless `max_in_flight` batches wait for the
journal; then the journal's answer (`BatchReplied`) sends it. So it never reads
faster than the journal commits, and memory holds at most that many batches.
Only one batch's request is at the journal at a time: the next is sent once
the journal has answered for every event before it (a failed request is split
and retried first), so journal ids follow stream order even when a request
fails, and the portfolios, which skip journal ids below their last, lose no
fill. Reading and parsing still run ahead of the journal.
Batches complete strictly in read order: fills and ticks reach the portfolios
in stream (and journal) order, dead letters are stored, then the entries are
acknowledged. `Housekeep`, on a timer, claims entries abandoned by other
consumers, refreshes the strategy cache, reads the lag and watches for a
journal that stopped answering. Flow: docs/DESIGN-ACTORS.md.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Protocol

import redis
import structlog
from pydantic import BaseModel, ConfigDict

from actors.ingress_batch import Batch, route
from actors.ingress_completion import Completion, LetterStore, Teller
from actors.messages import AppendToJournal
from actors.strategies import StrategyDirectory
from actors.stream import IngressLog, StreamEntry
from persistence.repositories.events import AppendResult
from supervision import ActorState, SupervisedActor
from supervision.errors import ActorStopped, MailboxFull

log = structlog.get_logger(__name__)

_instances = itertools.count(1)


class _Own(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    instance: int


class PollStream(_Own):
    """Read the next batch if fewer than `max_in_flight` wait for the journal."""


class BatchReplied(_Own):
    """The journal answered for (part of) a batch: complete what is ready, in order."""


class Housekeep(_Own):
    """Periodic work: claim idle entries, refresh strategies, read the lag, check the journal."""


@dataclass(frozen=True)
class IngressConfig:
    """How the ingress reads and how long it waits (ALPHAP_INGRESS_* settings)."""

    batch_size: int = 500
    block_ms: int = 200
    max_in_flight: int = 4
    claim_idle_seconds: float = 60.0
    claim_interval_seconds: float = 10.0
    strategy_refresh_seconds: float = 30.0
    journal_timeout_seconds: float = 30.0
    housekeeping_seconds: float = 1.0
    send_timeout_seconds: float = 30.0
    retry_max_seconds: float = 5.0
    version: str = ""


class Holdings(Protocol):
    """Which live portfolios hold an instrument (actors.holdings.HoldingsIndex)."""

    def holders(self, instrument_token: int) -> Iterable[Hashable]:
        """Keys of the portfolios holding `instrument_token` now."""

    def add(self, key: Hashable, instrument_tokens: Iterable[int]) -> None:
        """Record that `key` holds these instruments."""


class KeyedTeller(Protocol):
    """The portfolios' keyed supervisor, as the ingress uses it."""

    def tell(self, key: Hashable, message: Any, timeout: float | None = None) -> None:
        """Queue `message` for the actor of `key`."""


@dataclass(frozen=True)
class IngressWiring:
    """Everything the ingress talks to; `myself` is its own stable handle."""

    stream: Callable[[], IngressLog]
    journal: Teller
    portfolios: KeyedTeller
    holdings: Holdings
    letters: LetterStore
    strategies: StrategyDirectory
    myself: Callable[[], Teller]
    stopping: threading.Event


class IngressActor(SupervisedActor):
    """Reads `<prefix>:ingress` through the consumer group; see the module docstring."""

    def __init__(self, config: IngressConfig, wiring: IngressWiring) -> None:
        self.config = config
        self.wiring = wiring
        self.instance = next(_instances)
        self.stream: IngressLog | None = None
        self.completion: Completion | None = None
        self.batches: deque[Batch] = deque()
        self.seq = 0
        self.read = 0
        self.redis_failures = 0
        self.lag: dict[str, int | None] = {"lag": None, "pending": None}
        self.last_error: str | None = None
        self._poll_queued = False
        self._timers: set[threading.Timer] = set()
        self._next_claim = 0.0
        self._stopped = False
        self._group_ready = False

    # Lifecycle

    def on_start(self) -> None:
        stream = self.wiring.stream()
        self.stream = stream
        self.completion = Completion(self.config, self.wiring, stream)
        self.wiring.strategies.refresh()
        self._next_claim = time.monotonic() + self.config.claim_interval_seconds
        self._tell(PollStream(instance=self.instance))
        self._poll_queued = True
        self._later(self.config.housekeeping_seconds, Housekeep(instance=self.instance))

    def on_stop(self) -> None:
        """Stop reading; finish and acknowledge the batches in flight; release the log."""
        self._stopped = True
        for timer in list(self._timers):
            timer.cancel()
        deadline = time.monotonic() + self.config.journal_timeout_seconds
        completion = self.completion
        while self.batches and completion is not None:
            try:
                self._send_next()
            except (ActorStopped, MailboxFull):
                log.warning("ingress_stopped_unfinished", batches=len(self.batches))
                break
            head = self.batches[0]
            self._wait(head, deadline)
            if not head.done() or not completion.finish(head, journal_degraded=False):
                log.warning("ingress_stopped_unfinished", batches=len(self.batches))
                break
            self.batches.popleft()
        if completion is not None:
            completion.flush_acks()
        if self.stream is not None:
            self.stream.close()

    def _wait(self, batch: Batch, deadline: float) -> None:
        futures = batch.singles if batch.singles is not None else [batch.reply]
        for future in futures:
            if future is not None:
                try:
                    future.exception(timeout=max(0.0, deadline - time.monotonic()))
                except TimeoutError:
                    return

    # Messages

    def handle(self, message: Any) -> Any:
        if not isinstance(message, _Own) or message.instance != self.instance:
            return None
        if isinstance(message, PollStream):
            self._poll_queued = False
            self._poll()
        elif isinstance(message, BatchReplied):
            self._send_next()
            self._complete_ready()
        elif isinstance(message, Housekeep):
            self._later(self.config.housekeeping_seconds, Housekeep(instance=self.instance))
            self._housekeep()
        return None

    def _poll(self) -> None:
        if self._stopping() or len(self.batches) >= self.config.max_in_flight:
            return
        stream = self.stream
        assert stream is not None
        try:
            if not self._group_ready:
                stream.ensure_group()
                self._group_ready = True
            entries = self._next_entries(stream)
        except redis.RedisError as exc:
            if "NOGROUP" in str(exc):
                self._group_ready = False
            self._redis_failed(exc)
            return
        self._redis_ok()
        if entries:
            self._dispatch(entries)
            self._schedule_poll()
        elif not self.batches:
            self._schedule_poll()

    def _next_entries(self, stream: IngressLog) -> list[StreamEntry]:
        config = self.config
        if time.monotonic() >= self._next_claim:
            self._next_claim = time.monotonic() + config.claim_interval_seconds
            in_flight = {entry_id for batch in self.batches for entry_id in batch.entry_ids}
            claimed = stream.claim_idle(int(config.claim_idle_seconds * 1000), config.batch_size)
            claimed = [entry for entry in claimed if entry.entry_id not in in_flight]
            if claimed:
                log.info("ingress_claimed", entries=len(claimed))
                return claimed
        block = config.block_ms if not self.batches else None
        return stream.read(config.batch_size, block)

    def _dispatch(self, entries: list[StreamEntry]) -> None:
        self.seq += 1
        self.read += len(entries)
        completion = self.completion
        assert completion is not None
        batch = route(
            self.seq,
            entries,
            stream=completion.stream_key,
            refusal=self.wiring.strategies.refusal,
            version=self.config.version,
        )
        self.batches.append(batch)
        self._send_next()
        if not batch.events:
            self._complete_ready()

    def _send_next(self) -> None:
        """Send the first unsent batch to the journal once every batch before it is settled."""
        for batch in self.batches:
            if not batch.sent():
                batch.sent_at = time.monotonic()
                batch.reply = self._append(batch.events, commit_now=True)
                return
            if not batch.settled():
                return

    def _append(self, events: list[Any], *, commit_now: bool) -> Future[list[AppendResult]]:
        reply: Future[list[AppendResult]] = Future()
        reply.add_done_callback(self._replied)
        self.wiring.journal.tell(
            AppendToJournal(events=tuple(events), reply=reply, commit_now=commit_now),
            timeout=self.config.send_timeout_seconds,
        )
        return reply

    def _replied(self, _: Future[list[AppendResult]]) -> None:
        # Runs in the journal's thread: only a tell, which must not raise there.
        if not self._stopped:
            try:
                self.wiring.myself().tell(BatchReplied(instance=self.instance), timeout=0)
            except (ActorStopped, MailboxFull):
                log.debug("ingress_reply_not_queued")

    def _complete_ready(self) -> None:
        completion = self.completion
        assert completion is not None
        degraded = self._journal_degraded()
        while self.batches and self.batches[0].done():
            head = self.batches[0]
            if not completion.finish(head, journal_degraded=degraded):
                self._split(head)
                break
            self.batches.popleft()
        self._send_next()
        if not self._poll_queued:
            self._schedule_poll()

    def _split(self, batch: Batch) -> None:
        """The journal refused or stalled on the whole request: one request per event."""
        log.warning("ingress_batch_split", batch=batch.seq, events=len(batch.events))
        batch.reapply = True
        batch.sent_at = time.monotonic()
        batch.singles = [self._append([event], commit_now=False) for event in batch.events]

    def _housekeep(self) -> None:
        self.wiring.strategies.refresh_if_due()
        completion = self.completion
        stream = self.stream
        assert completion is not None and stream is not None
        if self.batches:
            head = self.batches[0]
            waited = time.monotonic() - head.sent_at
            if not head.done() and waited > self.config.journal_timeout_seconds:
                if self._journal_degraded():
                    log.warning("ingress_waiting_for_journal", batch=head.seq, waited=waited)
                elif head.singles is None:
                    self._split(head)
                else:
                    completion.give_up_waiting(head)
                    self._complete_ready()
        try:
            completion.flush_acks()
            self.lag = stream.lag()
        except redis.RedisError as exc:
            self._redis_failed(exc, schedule=False)
            return
        self._redis_ok()
        if not self._poll_queued and len(self.batches) < self.config.max_in_flight:
            self._schedule_poll()

    # Helpers

    def _journal_degraded(self) -> bool:
        info = getattr(self.wiring.journal, "info", None)
        return info is not None and info().state == ActorState.DEGRADED.value

    def _stopping(self) -> bool:
        return self._stopped or self.wiring.stopping.is_set()

    def _redis_failed(self, exc: redis.RedisError, *, schedule: bool = True) -> None:
        self.redis_failures += 1
        self.last_error = type(exc).__name__
        self.set_degraded(True)
        delay = min(self.config.retry_max_seconds, 0.1 * 2 ** min(self.redis_failures, 10))
        log.warning("ingress_redis_unavailable", error=type(exc).__name__, retry_in=delay)
        if schedule and not self._poll_queued:
            self._poll_queued = True
            self._later(delay, PollStream(instance=self.instance))

    def _redis_ok(self) -> None:
        if self.redis_failures:
            log.info("ingress_redis_back", failures=self.redis_failures)
        self.redis_failures = 0
        self.set_degraded(False)

    def _schedule_poll(self) -> None:
        if not self._stopping() and not self._poll_queued:
            self._poll_queued = self._tell(PollStream(instance=self.instance))

    def _tell(self, message: _Own) -> bool:
        try:
            self.wiring.myself().tell(message, timeout=self.config.send_timeout_seconds)
        except (ActorStopped, MailboxFull):
            return False
        return True

    def _later(self, delay: float, message: _Own) -> None:
        if self._stopping():
            return

        def fire() -> None:
            self._timers.discard(timer)
            if not self._stopped:
                self._tell(message)

        timer = threading.Timer(delay, fire)
        timer.daemon = True
        self._timers.add(timer)
        timer.start()

    def describe(self) -> dict[str, Any]:
        completion = self.completion
        return {
            "read": self.read,
            "acked": completion.acked if completion else 0,
            "dead_lettered": completion.dead_lettered if completion else 0,
            "applied": completion.applied if completion else 0,
            "in_flight_batches": len(self.batches),
            "in_flight_entries": sum(batch.size for batch in self.batches),
            "lag": self.lag.get("lag"),
            "pending": self.lag.get("pending"),
            "redis_failures": self.redis_failures,
            "last_error": self.last_error,
        }

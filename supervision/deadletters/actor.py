"""The dead-letter actor: takes letters without blocking anyone and never loses them.

It stores through a `DeadLetterStore`; while Redis is away letters go to the
spill file and a drain is retried with a tenacity backoff. Each drain run
schedules the next one before it does its work, so an error never loses the
next run; a successful drain cancels it. On start, a spill file left by a
previous run is drained first (start-up and recovery share one path).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pykka
import structlog
import tenacity
from tenacity.wait import wait_base

from supervision.deadletters.letter import DeadLetter
from supervision.deadletters.messages import DeliverLetter, DrainSpill
from supervision.deadletters.store import DeadLetterStore, StoreOutcome

log = structlog.get_logger(__name__)

DRAIN_INITIAL_DELAY_SECONDS = 0.5
DRAIN_MAX_DELAY_SECONDS = 30.0
DRAIN_JITTER_SECONDS = 0.5
DEFAULT_DRAIN_WAIT: wait_base = tenacity.wait_exponential(
    multiplier=DRAIN_INITIAL_DELAY_SECONDS, max=DRAIN_MAX_DELAY_SECONDS
) + tenacity.wait_random(0, DRAIN_JITTER_SECONDS)


def drain_delay(wait: wait_base, attempt: int) -> float:
    """The delay `wait` gives before drain attempt number `attempt` (1-based)."""
    state = tenacity.RetryCallState(tenacity.Retrying(), None, (), {})
    state.attempt_number = attempt
    return float(wait(state))


class DeadLetterActor(pykka.ThreadingActor):
    """Owns the dead-letter store; `deliver` is its DeadLetterSink method."""

    def __init__(
        self,
        store: DeadLetterStore,
        *,
        drain_wait: wait_base = DEFAULT_DRAIN_WAIT,
        on_drained: Callable[[int], None] | None = None,
    ) -> None:
        super().__init__()
        self.store = store
        self.drain_wait = drain_wait
        self.on_drained = on_drained
        self._failed_drains = 0
        self._timer: threading.Timer | None = None
        self._log = log

    def on_start(self) -> None:
        self._log = log.bind(actor="dead_letters", actor_urn=self.actor_urn)
        if self.store.spill.pending:
            self.drain_spill()

    def on_stop(self) -> None:
        self._cancel_drain()

    def on_receive(self, message: Any) -> Any:
        if isinstance(message, DeliverLetter):
            self.deliver(message.letter)
        elif isinstance(message, DrainSpill):
            self.drain_spill()
        else:
            self._log.warning("dead_letter_actor_unknown_message", type=type(message).__name__)
        return None

    def deliver(self, letter: DeadLetter) -> None:
        """Store one letter, or spill it; never raises (a raise would stop the actor)."""
        try:
            outcome = self.store.store(letter)
        # Anything, a full disk included: a raise inside a tell would stop the actor.
        except Exception as exc:
            self._log.error(
                "dead_letter_lost",
                letter_id=letter.id,
                letter_actor=letter.actor,
                error=type(exc).__name__,
            )
            return
        if outcome is StoreOutcome.SPILLED:
            if self._timer is None:
                self._schedule_drain()
        elif self.store.spill.pending:
            self.drain_spill()

    def drain_spill(self) -> None:
        """One drain attempt; the next is scheduled first and cancelled on success."""
        retry_in = self._schedule_drain()
        try:
            drained = self.store.drain()
        # Anything: the next attempt is already scheduled, and the actor must live on.
        except Exception as exc:
            self._failed_drains += 1
            self._log.warning(
                "dead_letter_drain_failed",
                error=type(exc).__name__,
                attempt=self._failed_drains,
                retry_in=retry_in,
                pending=self.store.spill.pending,
            )
            return
        self._cancel_drain()
        self._failed_drains = 0
        if self.on_drained is not None:
            self.on_drained(drained)

    def get_stats(self) -> dict[str, Any]:
        """The store's counters, for the console."""
        return self.store.get_stats()

    def _schedule_drain(self) -> float:
        self._cancel_drain()
        delay = drain_delay(self.drain_wait, self._failed_drains + 1)
        self._timer = threading.Timer(delay, self._request_drain)
        self._timer.daemon = True
        self._timer.start()
        return delay

    def _cancel_drain(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _request_drain(self) -> None:
        try:
            self.actor_ref.tell(DrainSpill())
        except pykka.ActorDeadError:
            return


class ActorDeadLetterSink:
    """A DeadLetterSink that hands letters to a DeadLetterActor by `tell`: never blocks."""

    def __init__(self, actor_ref: pykka.ActorRef[DeadLetterActor]) -> None:
        self.actor_ref = actor_ref

    def deliver(self, letter: DeadLetter) -> None:
        """Queue the letter for the actor; raises pykka.ActorDeadError if it has stopped."""
        self.actor_ref.tell(DeliverLetter(letter=letter))

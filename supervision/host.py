"""One incarnation of a supervised child: a pykka ThreadingActor around a fresh instance.

The host never lets an exception reach pykka: a failing message is either
put back at the head of the mailbox (to be retried by the next incarnation)
or dead-lettered, and the host then ends itself and tells its supervisor,
which decides on the restart. The mailbox outlives the host, so nothing queued
behind the failing message is lost.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

import pykka
import structlog

from supervision.envelope import Envelope
from supervision.errors import MessageDeadLettered, Reject
from supervision.introspection import ActorState
from supervision.letters import build_letter, send_letter
from supervision.mailbox import HostInbox
from supervision.policy import Restart

if TYPE_CHECKING:
    from supervision.actor import SupervisedActor
    from supervision.child import ActorChild

log = structlog.get_logger(__name__)

PING = "supervision.ping"
DESCRIBE = "supervision.describe"
PASSIVATE = "supervision.passivate"
DRAIN_STOP = "supervision.drain_stop"


class ExitReason:
    """Why an incarnation ended (plain strings, compared by value)."""

    CRASHED = "crashed"
    START_FAILED = "start_failed"
    STOPPED = "stopped"
    NORMAL = "normal"
    PASSIVATED = "passivated"


class ActorHost(pykka.ThreadingActor):
    """Runs one instance built by the child's factory, reading the child's mailbox."""

    def __init__(self, child: ActorChild, generation: int) -> None:
        super().__init__()
        self.child = child
        self.generation = generation
        self.inbox = HostInbox(child.mailbox)
        self.actor_inbox = self.inbox
        self.actor_ref.actor_inbox = self.inbox
        self.instance: SupervisedActor | None = None
        self.thread: threading.Thread | None = None
        self.exit_reason = ExitReason.STOPPED
        self.exit_error: BaseException | None = None
        self.started = threading.Event()
        self.done = threading.Event()
        child.host = self

    def on_start(self) -> None:
        self.thread = threading.current_thread()
        child = self.child
        try:
            faults = child.faults
            if faults is not None:
                faults.on_start(child.fault_name, child.key)
            instance = child.build()
            instance.on_start()
        except Exception as exc:
            child.record_error(exc)
            log.warning("actor_start_failed", actor=child.name, error=child.stats.last_error)
            self._exit(ExitReason.START_FAILED, exc)
            self.started.set()
            return
        self.instance = instance
        child.stats.state = ActorState.RUNNING
        self.started.set()

    def on_receive(self, message: Any) -> Any:
        if message.__class__ is Envelope:
            self._process(message)
            return None
        if message == PING:
            return True
        if message == DESCRIBE:
            return self._describe()
        if message == DRAIN_STOP:
            self._exit(ExitReason.STOPPED, None)
        elif message == PASSIVATE:
            self._passivate()
        return None

    def on_stop(self) -> None:
        self.inbox.detach()
        instance = self.instance
        try:
            if instance is not None and self.exit_reason in (
                ExitReason.STOPPED,
                ExitReason.NORMAL,
            ):
                instance.on_stop()
        except Exception as exc:
            self.child.record_error(exc)
            log.exception("actor_on_stop_failed", actor=self.child.name)
        finally:
            self.done.set()
            self.child.owner.child_exited(
                self.child, self.generation, self.exit_reason, self.exit_error
            )

    def join(self, timeout: float) -> bool:
        """Wait for this incarnation to end; False if it is still running after `timeout`."""
        if not self.done.wait(timeout):
            return False
        thread = self.thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        return True

    def _process(self, envelope: Envelope) -> None:
        child = self.child
        instance = self.instance
        assert instance is not None, "a host reads envelopes only after a successful start"
        try:
            faults = child.faults
            if faults is not None:
                faults.on_message(child.fault_name, child.key, envelope.payload)
            result = instance.handle(envelope.payload)
        except Reject as exc:
            self._reject(envelope, exc)
        except Exception as exc:
            self._fail(envelope, exc)
        else:
            stats = child.stats
            stats.processed += 1
            stats.last_message_at = time.time()
            if envelope.future is not None:
                envelope.future.set(result)
            if instance.context.stop_requested:
                self._exit(ExitReason.NORMAL, None)

    def _reject(self, envelope: Envelope, exc: Reject) -> None:
        now = time.time()
        envelope.attempts += 1
        envelope.first_failed_at = envelope.first_failed_at or now
        self.child.stats.last_message_at = now
        self._dead_letter(envelope, exc, "rejected", now)
        envelope.fail(exc)

    def _fail(self, envelope: Envelope, exc: Exception) -> None:
        child = self.child
        now = time.time()
        envelope.attempts += 1
        envelope.first_failed_at = envelope.first_failed_at or now
        child.record_error(exc)
        child.stats.failed += 1
        child.stats.last_message_at = now
        log.warning(
            "message_failed",
            actor=child.name,
            message_type=type(envelope.payload).__name__,
            envelope_id=envelope.id,
            attempt=envelope.attempts,
            error=child.stats.last_error,
        )
        if envelope.attempts >= child.spec.max_attempts or child.spec.restart is Restart.TEMPORARY:
            letter_id = self._dead_letter(envelope, exc, "failed", now)
            error = MessageDeadLettered(
                f"{child.name} failed {envelope.attempts} times on this message "
                f"(dead letter {letter_id})"
            )
            error.__cause__ = exc
            envelope.fail(error)
        else:
            child.mailbox.put_front(envelope)
        self._exit(ExitReason.CRASHED, exc)

    def _dead_letter(self, envelope: Envelope, exc: Exception, reason: str, now: float) -> str:
        child = self.child
        letter = build_letter(
            child.name,
            envelope=envelope,
            error=exc,
            reason=reason,
            config=child.config,
            failed_at=now,
        )
        child.stats.dead_lettered += 1
        log.error(
            "message_dead_lettered",
            actor=child.name,
            message_type=letter.message_type,
            reason=reason,
            attempts=envelope.attempts,
            letter_id=letter.id,
        )
        send_letter(letter, child.config)
        return letter.id

    def _passivate(self) -> None:
        instance = self.instance
        if instance is None or not self.child.mailbox.try_park():
            return
        try:
            instance.on_passivate()
        except Exception as exc:
            self.child.record_error(exc)
            log.exception("actor_passivate_failed", actor=self.child.name)
            self._exit(ExitReason.CRASHED, exc)
            return
        self._exit(ExitReason.PASSIVATED, None)

    def _describe(self) -> dict[str, Any] | None:
        instance = self.instance
        if instance is None:
            return None
        try:
            return instance.describe()
        except Exception as exc:
            return {"describe_failed": f"{type(exc).__name__}: {exc}"}

    def _exit(self, reason: str, error: BaseException | None) -> None:
        self.exit_reason = reason
        self.exit_error = error
        self.inbox.detach()
        self.actor_ref.stop(block=False)

"""A supervised actor child: the mailbox, counters and handle that outlive its incarnations."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Hashable
from typing import TYPE_CHECKING, Any, Protocol

import pykka
import structlog

from supervision.actor import ActorContext, SupervisedActor
from supervision.envelope import Envelope, Marker
from supervision.errors import ActorStopped, AskTimeout
from supervision.host import DESCRIBE, DRAIN_STOP, PING, ActorHost
from supervision.introspection import ActorInfo, ActorState, ActorStats, actor_info
from supervision.mailbox import Mailbox
from supervision.policy import ChildSpec, RuntimeConfig

if TYPE_CHECKING:
    from supervision.faults import FaultPlan

log = structlog.get_logger(__name__)


class ChildOwner(Protocol):
    """What a child reports to: its supervisor."""

    def child_exited(
        self, child: ActorChild, generation: int, reason: str, error: BaseException | None
    ) -> None:
        """Called in the ending incarnation's thread; must not block."""

    def activate(self, child: ActorChild) -> None:
        """A message arrived for a parked child; start an incarnation."""


class ActorChild:
    """One supervised actor: spec, mailbox, stats and the current incarnation (if any)."""

    def __init__(
        self,
        spec: ChildSpec,
        owner: ChildOwner,
        config: RuntimeConfig,
        faults: FaultPlan | None,
        *,
        key: Hashable | None = None,
        fault_name: str | None = None,
        parked: bool = False,
    ) -> None:
        self.spec = spec
        self.name = spec.name
        self.key = key
        self.fault_name = fault_name or spec.name
        self.owner = owner
        self.config = config
        self.faults = faults
        self.mailbox = Mailbox(spec.mailbox_size, parked=parked)
        self.stats = ActorStats(state=ActorState.PASSIVATED if parked else ActorState.STARTING)
        self.host: ActorHost | None = None
        self.generation = 0
        self.actor_class = "?"
        self.consecutive_failures = 0
        self.last_failure_at = 0.0
        self.restart_pending: object | None = None
        self.passivating = False
        self.waiting = False
        self.restart_requested = False
        self.last_active = time.time()

    def build(self) -> SupervisedActor:
        """A fresh instance from the factory, with its context (called in the host thread)."""
        instance = self.spec.factory()
        if not isinstance(instance, SupervisedActor):
            raise TypeError(f"factory of {self.name} returned {type(instance).__name__}")
        instance.context = ActorContext(self.name, self.key)
        self.actor_class = type(instance).__qualname__
        return instance

    def record_error(self, error: BaseException) -> None:
        """Remember the last error (redacted) and when it happened."""
        self.stats.last_error = self.config.redactor.text(f"{type(error).__name__}: {error}")
        self.stats.last_error_at = time.time()

    def start(self) -> None:
        """Start a new incarnation (supervisor thread only; the previous one has exited)."""
        self.generation += 1
        self.restart_requested = False
        self.last_active = time.time()
        self.mailbox.parked = False
        self.stats.state = ActorState.STARTING
        self.stats.started_at = self.last_active
        ActorHost.start(self, self.generation)

    def running(self) -> bool:
        """True while an incarnation exists (it may be starting or stopping)."""
        host = self.host
        return host is not None and not host.done.is_set()

    def stop(self, timeout: float, *, drain: bool) -> bool:
        """Stop the current incarnation; with `drain`, only after every queued message.

        Returns False when it did not end within `timeout` (it is then abandoned).
        """
        host = self.host
        if host is None or host.done.is_set():
            return True
        if drain:
            self.mailbox.refuse()
            self.mailbox.put_last(Marker(DRAIN_STOP))
        else:
            with contextlib.suppress(pykka.ActorDeadError):
                host.actor_ref.stop(block=False)
        if host.join(timeout):
            return True
        log.error("child_shutdown_timeout", actor=self.name, timeout=timeout)
        return False

    def discard_queued(self, state: ActorState) -> None:
        """Close the mailbox for good: waiting asks get ActorStopped; tells are logged."""
        left = self.mailbox.close()
        self.stats.state = state
        for envelope in left:
            envelope.fail(ActorStopped(f"{self.name} stopped before handling the message"))
        if left:
            log.warning("mailbox_discarded", actor=self.name, messages=len(left))

    def request_stop(self) -> bool:
        """Ask the incarnation to end after its current message, without waiting."""
        host = self.host
        if host is None or host.done.is_set():
            return False
        try:
            host.actor_ref.stop(block=False)
        except pykka.ActorDeadError:
            return False
        return True

    def ping(self) -> pykka.Future[Any] | None:
        """Ask the incarnation for a pong through the priority lane; None if there is none."""
        host = self.host
        if host is None or host.done.is_set():
            return None
        try:
            future: pykka.Future[Any] = host.actor_ref.ask(PING, block=False)
        except pykka.ActorDeadError:
            return None
        return future

    def describe(self) -> pykka.Future[Any] | None:
        """Ask the incarnation for its `describe()` through the priority lane."""
        host = self.host
        if host is None or host.done.is_set():
            return None
        try:
            future: pykka.Future[Any] = host.actor_ref.ask(DESCRIBE, block=False)
        except pykka.ActorDeadError:
            return None
        return future

    def info(self, description: dict[str, Any] | None = None) -> ActorInfo:
        """This child's counters as plain data."""
        stats = self.stats
        host = self.host
        if stats.state is ActorState.RUNNING and host is not None:
            instance = host.instance
            if instance is not None and instance.context.degraded:
                stats.state = ActorState.DEGRADED
        elif stats.state is ActorState.DEGRADED and host is not None:
            instance = host.instance
            if instance is not None and not instance.context.degraded:
                stats.state = ActorState.RUNNING
        return actor_info(self.name, self.actor_class, stats, self.mailbox.depth(), description)


class ActorHandle:
    """A stable address of a supervised actor: valid across restarts and passivation."""

    __slots__ = ("_child", "_config")

    def __init__(self, child: ActorChild) -> None:
        self._child = child
        self._config = child.config

    @property
    def name(self) -> str:
        """The actor's name."""
        return self._child.name

    def info(self) -> ActorInfo:
        """The actor's state and counters now (without its description)."""
        return self._child.info()

    def tell(self, message: Any, timeout: float | None = None) -> None:
        """Queue a message; blocks up to `timeout` on a full mailbox, then raises MailboxFull."""
        child = self._child
        wait = self._config.send_timeout if timeout is None else timeout
        if child.mailbox.put(Envelope(message), wait):
            child.owner.activate(child)

    def ask(self, message: Any, timeout: float | None = None) -> Any:
        """Send a message and wait for the reply; AskTimeout after `timeout` seconds in all."""
        child = self._child
        wait = self._config.ask_timeout if timeout is None else timeout
        deadline = time.monotonic() + wait
        future: pykka.ThreadingFuture[Any] = pykka.ThreadingFuture()
        if child.mailbox.put(Envelope(message, future), wait):
            child.owner.activate(child)
        try:
            return future.get(timeout=max(0.0, deadline - time.monotonic()))
        except pykka.Timeout:
            raise AskTimeout(f"no reply from {child.name} within {wait:.3f} s") from None

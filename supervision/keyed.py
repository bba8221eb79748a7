"""One actor per key, started on its first message and passivated when idle (the Orleans model).

Each key has its own mailbox, so order holds per key and one key's crashes
never touch another's. Idle children are asked to persist (`on_passivate`)
and stopped to free their thread; the next message for the key starts a
fresh instance, which recovers in `on_start`. With `max_live`, at most that
many keys have a thread at once: the least recently active one is passivated
to make room, and a key waiting for room keeps its messages queued.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import pykka
import structlog

from supervision.actor import SupervisedActor
from supervision.child import ActorChild, ActorHandle
from supervision.core import EscalationHandler, SupervisorCore
from supervision.errors import ActorStopped
from supervision.faults import FaultPlan
from supervision.host import PASSIVATE, ExitReason
from supervision.introspection import ActorInfo, ActorState, SupervisorInfo
from supervision.policy import (
    DEFAULT_MAILBOX_SIZE,
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_MAX_RESTARTS,
    DEFAULT_SHUTDOWN_TIMEOUT_SECONDS,
    DEFAULT_WITHIN_SECONDS,
    ChildSpec,
    Restart,
    RuntimeConfig,
)

log = structlog.get_logger(__name__)

DEFAULT_IDLE_SECONDS = 300.0
EVICTION_SCAN = 64


class KeyedSupervisor(SupervisorCore):
    """Supervises one actor per key, built by `factory(key)`; always one_for_one.

    Restart intensity counts the restarts of all keys together: a fault that
    makes many keys fail (a lost database, say) escalates like any other.
    """

    kind = "keyed"

    def __init__(
        self,
        name: str,
        factory: Callable[[Hashable], SupervisedActor],
        *,
        idle_after: float | None = DEFAULT_IDLE_SECONDS,
        max_live: int | None = None,
        sweep_interval: float | None = None,
        mailbox_size: int = DEFAULT_MAILBOX_SIZE,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        shutdown_timeout: float = DEFAULT_SHUTDOWN_TIMEOUT_SECONDS,
        max_restarts: int = DEFAULT_MAX_RESTARTS,
        within: float = DEFAULT_WITHIN_SECONDS,
        config: RuntimeConfig | None = None,
        faults: FaultPlan | None = None,
        on_escalation: EscalationHandler | None = None,
    ) -> None:
        super().__init__(
            name,
            max_restarts=max_restarts,
            within=within,
            config=config,
            faults=faults,
            on_escalation=on_escalation,
        )
        if max_live is not None and max_live < 1:
            raise ValueError("max_live must be at least 1")
        self.factory = factory
        self.idle_after = idle_after
        self.max_live = max_live
        default_sweep = min(idle_after / 2, 1.0) if idle_after else 1.0
        self.sweep_interval = sweep_interval or default_sweep
        self.mailbox_size = mailbox_size
        self.max_attempts = max_attempts
        self.shutdown_timeout = shutdown_timeout
        self._children: dict[Hashable, ActorChild] = {}
        self._lock = threading.Lock()
        self._live: OrderedDict[Hashable, ActorChild] = OrderedDict()
        self._waiting: deque[ActorChild] = deque()

    def start(self) -> KeyedSupervisor:
        """Start the supervisor thread and the passivation sweep (children start on demand)."""
        self._start_steps()
        self.state = ActorState.RUNNING
        self._later(self.sweep_interval, self._sweep)
        return self

    # Sending (any thread)

    def ref(self, key: Hashable) -> ActorHandle:
        """The stable handle of the actor for `key` (valid across restarts and passivation)."""
        child = self._children.get(key)
        if child is None:
            child = self._create(key)
        return ActorHandle(child)

    def tell(self, key: Hashable, message: Any, timeout: float | None = None) -> None:
        """Queue a message for the actor of `key`, starting or reactivating it if needed."""
        self.ref(key).tell(message, timeout)

    def ask(self, key: Hashable, message: Any, timeout: float | None = None) -> Any:
        """Send a message to the actor of `key` and wait for its reply."""
        return self.ref(key).ask(message, timeout)

    def _create(self, key: Hashable) -> ActorChild:
        factory = self.factory
        with self._lock:
            if self._stopping or self.state is not ActorState.RUNNING:
                raise ActorStopped(f"keyed supervisor {self.name} is not running")
            child = self._children.get(key)
            if child is None:
                spec = ChildSpec(
                    name=f"{self.name}/{key}",
                    factory=lambda: factory(key),
                    restart=Restart.TRANSIENT,
                    shutdown_timeout=self.shutdown_timeout,
                    mailbox_size=self.mailbox_size,
                    max_attempts=self.max_attempts,
                )
                child = ActorChild(
                    spec, self, self.config, self.faults, key=key, fault_name=self.name, parked=True
                )
                self._children[key] = child
            return child

    # Supervisor thread

    def _activate(self, child: ActorChild) -> None:
        if self._stopping:
            child.discard_queued(ActorState.STOPPED)
            return
        if child.running() or child.restart_pending or child.waiting:
            return
        if self.max_live is not None and len(self._live) >= self.max_live:
            child.waiting = True
            self._waiting.append(child)
            self._evict(len(self._waiting))
            return
        self._start_child(child)

    def _start_child(self, child: Any) -> None:
        child.passivating = False
        child.start()
        self._live[child.key] = child
        self._live.move_to_end(child.key)

    def _on_exit(
        self, child: Any, generation: int, reason: str, error: BaseException | None
    ) -> None:
        if reason == ExitReason.NORMAL and generation == child.generation and not self._stopping:
            child.mailbox.try_park()
            self._on_passivated(child)
            return
        super()._on_exit(child, generation, reason, error)

    def _on_passivated(self, child: ActorChild) -> None:
        child.stats.state = ActorState.PASSIVATED
        child.passivating = False
        child.host = None  # frees the ended incarnation: memory per idle key stays small
        self._live.pop(child.key, None)
        if not child.mailbox.parked:
            self._activate(child)
        self._admit_waiting()

    def _on_gone(self, child: Any) -> None:
        child.host = None
        self._live.pop(child.key, None)
        self._admit_waiting()

    def _admit_waiting(self) -> None:
        while self._waiting and (self.max_live is None or len(self._live) < self.max_live):
            child = self._waiting.popleft()
            child.waiting = False
            if not self._stopping and not child.running() and not child.restart_pending:
                self._start_child(child)
        if self._waiting and not self._stopping:
            self._evict(len(self._waiting))

    def _evict(self, wanted: int) -> None:
        """Ask the least recently active of the oldest live keys to passivate, up to `wanted`."""
        in_flight = 0
        candidates: list[ActorChild] = []
        for index, child in enumerate(self._live.values()):
            if index >= EVICTION_SCAN:
                break
            if child.passivating:
                in_flight += 1
            elif not child.restart_pending and child.running():
                candidates.append(child)
        candidates.sort(key=_last_activity)
        for child in candidates[: max(0, wanted - in_flight)]:
            self._passivate(child)

    def _passivate(self, child: ActorChild) -> None:
        host = child.host
        if host is None:
            return
        child.passivating = True
        try:
            host.actor_ref.tell(PASSIVATE)
        except pykka.ActorDeadError:
            child.passivating = False

    def _sweep(self) -> None:
        self._later(self.sweep_interval, self._sweep)
        if self.idle_after is not None:
            idle_since = time.time() - self.idle_after
            for child in list(self._live.values()):
                if (
                    _last_activity(child) < idle_since
                    and child.running()
                    and not child.restart_pending
                ):
                    self._passivate(child)
        if self._waiting:
            for child in self._live.values():
                child.passivating = False
            self._evict(len(self._waiting))

    def _children_in_order(self) -> Sequence[Any]:
        with self._lock:
            return list(self._children.values())

    # Introspection (any thread)

    def install_faults(self, faults: FaultPlan | None) -> None:
        """Install (or remove, with None) a fault plan for every key at run time."""
        self.faults = faults
        with self._lock:
            for child in self._children.values():
                child.faults = faults

    def passivate_child(self, name: str, timeout: float = 10.0) -> bool:
        """Ask the live actor called `name` to passivate now; False if it has no thread.

        It passivates only with an empty mailbox (as an idle one would); wait for
        state `passivated` with `wait_until`.
        """
        child = next((c for c in self._children_in_order() if c.name == name), None)
        if child is None:
            raise KeyError(f"{self.name} has no actor named {name!r}")

        def step() -> bool:
            if child.host is None or not child.running() or child.restart_pending:
                return False
            self._passivate(child)
            return bool(child.passivating)

        return bool(self._call(step, timeout))

    def live_count(self) -> int:
        """Keys that have a thread now (including ones starting or stopping)."""
        return len(self._live)

    def backlog(self) -> int:
        """Messages queued for all keys together, not yet taken by their actors."""
        with self._lock:
            children = list(self._children.values())
        return sum(child.mailbox.depth() for child in children)

    def healthy(self, deadline: float = 1.0) -> bool:
        """True if the supervisor and every live (not restarting) key answer within `deadline`."""
        if self.state is not ActorState.RUNNING:
            return False
        end = time.monotonic() + deadline
        try:
            live: list[ActorChild] = self._call(lambda: list(self._live.values()), deadline)
        except (ActorStopped, pykka.Timeout):
            return False
        futures = [f for c in live if not c.restart_pending and (f := c.ping()) is not None]
        for future in futures:
            try:
                future.get(timeout=max(0.0, end - time.monotonic()))
            except (pykka.Timeout, pykka.ActorDeadError):
                return False
        return True

    def tree(self, deadline: float = 1.0) -> SupervisorInfo:
        """The live keys as plain data, with counts of all keys in `summary`."""
        end = time.monotonic() + deadline
        try:
            live: list[ActorChild] = self._call(lambda: list(self._live.values()), deadline)
        except (ActorStopped, pykka.Timeout):
            live = []
        asked = [(child, child.describe()) for child in live]
        infos: list[ActorInfo | SupervisorInfo] = []
        for child, future in asked:
            description = None
            if future is not None:
                try:
                    description = future.get(timeout=max(0.0, end - time.monotonic()))
                except (pykka.Timeout, pykka.ActorDeadError):
                    description = None
            infos.append(child.info(description))
        with self._lock:
            keys = len(self._children)
        return SupervisorInfo(
            name=self.name,
            kind=self.kind,
            state=self.state.value,
            strategy="one_for_one",
            restarts_in_window=self.intensity.count(),
            children=tuple(infos),
            summary={"keys": keys, "live": len(live), "waiting": len(self._waiting)},
        )


def _last_activity(child: ActorChild) -> float:
    return max(child.last_active, child.stats.last_message_at or 0.0)

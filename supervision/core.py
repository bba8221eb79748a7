"""What every supervisor shares: its own thread, restart intensity, backoff and escalation.

All management steps (exits, restarts, activation, shutdown) run one at a time
in the supervisor's own pykka actor, so they never race one another; senders
never pass through it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import pykka
import structlog

from supervision.child import ActorChild
from supervision.errors import ActorStopped, Escalated
from supervision.faults import FaultPlan
from supervision.host import ExitReason
from supervision.introspection import ActorState, SupervisorInfo
from supervision.policy import (
    DEFAULT_MAX_RESTARTS,
    DEFAULT_WITHIN_SECONDS,
    Restart,
    RestartIntensity,
    RuntimeConfig,
)

log = structlog.get_logger(__name__)

EscalationHandler = Callable[[Escalated], None]

DEFAULT_CALL_TIMEOUT_SECONDS = 60.0


class _Steps(pykka.ThreadingActor):
    """The supervisor's thread: runs each submitted step; a failing step is logged."""

    def __init__(self, name: str, settled: threading.Condition) -> None:
        super().__init__()
        self.name = name
        self.settled = settled

    def on_receive(self, message: Any) -> Any:
        step, reply = message
        try:
            if reply:
                return step()
            step()
        except Exception:
            if reply:
                raise
            log.exception("supervisor_step_failed", supervisor=self.name)
        finally:
            with self.settled:
                self.settled.notify_all()
        return None


class SupervisorCore:
    """Base of `Supervisor` and `KeyedSupervisor` (not used directly)."""

    kind = "supervisor"

    def __init__(
        self,
        name: str,
        *,
        max_restarts: int = DEFAULT_MAX_RESTARTS,
        within: float = DEFAULT_WITHIN_SECONDS,
        config: RuntimeConfig | None = None,
        faults: FaultPlan | None = None,
        on_escalation: EscalationHandler | None = None,
    ) -> None:
        self.name = name
        self.config = config or RuntimeConfig()
        self.faults = faults
        self.intensity = RestartIntensity(max_restarts, within)
        self.on_escalation: EscalationHandler = on_escalation or self._default_escalation
        self.escalated = threading.Event()
        """Set when this supervisor gave up; the default escalation handler only sets it."""
        self.state = ActorState.STARTING
        self._steps: pykka.ActorRef[_Steps] | None = None
        self._steps_thread: threading.Thread | None = None
        self._timers: set[threading.Timer] = set()
        self._timers_lock = threading.Lock()
        self._stopping = False
        self._settled = threading.Condition()

    def _default_escalation(self, error: Escalated) -> None:
        log.critical("supervisor_escalated", supervisor=self.name, error=str(error))
        self.escalated.set()

    def adopt(self, config: RuntimeConfig, faults: FaultPlan | None) -> None:
        """Inherit the parent's configuration and fault plan (before start)."""
        self.config = config
        if self.faults is None:
            self.faults = faults

    # The supervisor thread

    def _start_steps(self) -> None:
        self._steps = _Steps.start(self.name, self._settled)
        self._steps_thread = self._call(threading.current_thread)

    def _submit(self, step: Callable[[], Any]) -> None:
        steps = self._steps
        if steps is None:
            return
        try:
            steps.tell((step, False))
        except pykka.ActorDeadError:
            log.debug("supervisor_step_dropped", supervisor=self.name)

    def _call(self, step: Callable[[], Any], timeout: float = DEFAULT_CALL_TIMEOUT_SECONDS) -> Any:
        steps = self._steps
        if steps is None or not steps.is_alive():
            raise ActorStopped(f"supervisor {self.name} is not running")
        try:
            return steps.ask((step, True), timeout=timeout)
        except pykka.ActorDeadError:
            raise ActorStopped(f"supervisor {self.name} stopped") from None

    def _stop_steps(self, timeout: float) -> None:
        with self._timers_lock:
            timers = list(self._timers)
            self._timers.clear()
        for timer in timers:
            timer.cancel()
            timer.join(timeout)
        steps = self._steps
        if steps is not None:
            try:
                steps.stop(block=True, timeout=timeout)
            except (pykka.ActorDeadError, pykka.Timeout):
                log.warning("supervisor_thread_stop_failed", supervisor=self.name)
        thread = self._steps_thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _later(self, delay: float, step: Callable[[], Any]) -> None:
        def fire() -> None:
            with self._timers_lock:
                self._timers.discard(timer)
            self._submit(step)

        timer = threading.Timer(delay, fire)
        timer.name = f"{self.name}-restart"
        with self._timers_lock:
            if self._stopping:
                return
            self._timers.add(timer)
        timer.start()

    # Called by children (from their own threads)

    def child_exited(
        self, child: Any, generation: int, reason: str, error: BaseException | None
    ) -> None:
        """An incarnation of `child` ended; decide in the supervisor thread."""
        self._submit(lambda: self._on_exit(child, generation, reason, error))

    def activate(self, child: ActorChild) -> None:
        """A message arrived for a parked child (keyed supervisors override)."""
        self._submit(lambda: self._activate(child))

    def _activate(self, child: ActorChild) -> None:
        if self._stopping:
            child.discard_queued(ActorState.STOPPED)
        elif not child.running() and not child.restart_pending:
            child.start()

    # Restart decisions (supervisor thread)

    def _on_exit(
        self, child: Any, generation: int, reason: str, error: BaseException | None
    ) -> None:
        if generation != child.generation or self._stopping or child.restart_pending:
            return
        if reason == ExitReason.STOPPED:
            if getattr(child, "restart_requested", False):
                child.stats.restarts += 1
                self._start_child(child)
            return
        if reason == ExitReason.PASSIVATED:
            self._on_passivated(child)
            return
        restart: Restart = child.spec.restart
        failed = reason != ExitReason.NORMAL
        if restart is Restart.PERMANENT or (restart is Restart.TRANSIENT and failed):
            self._restart(child, error)
            return
        child.discard_queued(ActorState.FAILED if failed else ActorState.STOPPED)
        self._on_gone(child)

    def _on_passivated(self, child: ActorChild) -> None:
        child.stats.state = ActorState.PASSIVATED

    def _on_gone(self, child: Any) -> None:
        """A child stopped for good (keyed supervisors free its slot)."""

    def _restart(self, child: Any, error: BaseException | None) -> None:
        if not self.intensity.record():
            self._escalate(
                f"{child.name} failed: more than {self.intensity.max_restarts} restarts "
                f"within {self.intensity.within:g} s ({error!r})"
            )
            return
        now = time.monotonic()
        if now - child.last_failure_at > self.config.backoff.reset_after:
            child.consecutive_failures = 0
        child.consecutive_failures += 1
        child.last_failure_at = now
        delay = self.config.backoff.delay(child.consecutive_failures)
        group = self._restart_group(child)
        token = object()
        for member in reversed(group[1:]):
            member.restart_pending = token
            member.stop(member.spec.shutdown_timeout, drain=False)
        for member in group:
            member.restart_pending = token
            member.stats.state = ActorState.RESTARTING
        log.warning(
            "child_restarting",
            supervisor=self.name,
            child=child.name,
            delay=round(delay, 3),
            restarting=[m.name for m in group],
        )
        self._later(delay, lambda: self._restart_now(group, token))

    def _restart_group(self, child: Any) -> Sequence[Any]:
        return [child]

    def _restart_now(self, group: Sequence[Any], token: object) -> None:
        for member in group:
            if member.restart_pending is not token:
                continue  # a later failure took this member into a newer restart
            member.restart_pending = None
            if self._stopping or member.running():
                continue
            member.stats.restarts += 1
            self._start_child(member)

    def _start_child(self, child: Any) -> None:
        child.start()

    def _escalate(self, reason: str) -> None:
        log.error("supervisor_giving_up", supervisor=self.name, reason=reason)
        self._shutdown_children(drain=False)
        self.state = ActorState.FAILED
        self.on_escalation(Escalated(f"{self.name}: {reason}"))

    def _shutdown_children(self, *, drain: bool) -> None:
        """Stop every child in reverse start order (subclasses list them)."""
        self._stopping = True
        for child in reversed(self._children_in_order()):
            ended = child.stop(child.spec.shutdown_timeout, drain=drain)
            child.discard_queued(ActorState.STOPPED if ended else ActorState.FAILED)

    def _children_in_order(self) -> Sequence[Any]:
        raise NotImplementedError

    # Operator actions (any thread), for the console

    def locate(self, name: str) -> tuple[SupervisorCore, Any] | None:
        """The supervisor owning the child called `name` (here or in a subtree), and the child."""
        for child in self._children_in_order():
            if child.name == name:
                return self, child
            nested = getattr(child, "supervisor", None)
            if isinstance(nested, SupervisorCore):
                found = nested.locate(name)
                if found is not None:
                    return found
        return None

    def restart_child(self, name: str, timeout: float = DEFAULT_CALL_TIMEOUT_SECONDS) -> int:
        """Replace the child `name` with a fresh incarnation; returns its restart count before.

        An operator's restart: the current incarnation ends after the message it is
        handling (a hung one only once it returns), its mailbox is kept for the next
        one, and the restart counts in the child's `restarts`, not against intensity.
        A child that is already restarting or is not running is started at once.
        """
        return int(self._call(lambda: self._restart_by_operator(name), timeout))

    def _restart_by_operator(self, name: str) -> int:
        child = next((c for c in self._children_in_order() if c.name == name), None)
        if child is None:
            raise KeyError(f"{self.name} has no child named {name!r}")
        if self._stopping or self.state is not ActorState.RUNNING:
            raise ActorStopped(f"supervisor {self.name} is not running")
        before: int = child.stats.restarts
        if not isinstance(child, ActorChild):
            child.stats.restarts += 1
            self._start_child(child)
        elif child.request_stop():
            child.restart_requested = True
        elif not child.restart_pending:
            child.stats.restarts += 1
            self._activate(child)
        return before

    # Lifecycle (any thread)

    def start(self) -> SupervisorCore:
        """Start the supervisor thread and the children."""
        raise NotImplementedError

    def healthy(self, deadline: float = 1.0) -> bool:
        """True only if the supervisor and its permanent children answer within `deadline`."""
        raise NotImplementedError

    def tree(self, deadline: float = 1.0) -> SupervisorInfo:
        """The subtree as frozen plain data."""
        raise NotImplementedError

    def install_faults(self, faults: FaultPlan | None) -> None:
        """Install (or remove, with None) a fault plan on this subtree at run time."""
        raise NotImplementedError

    def stop(self, timeout: float = DEFAULT_CALL_TIMEOUT_SECONDS) -> None:
        """Drain and stop every child in reverse order, then the supervisor itself."""
        if self._steps is not None and self._steps.is_alive():
            try:
                self._call(lambda: self._shutdown_children(drain=True), timeout)
            except (ActorStopped, pykka.Timeout):
                log.warning("supervisor_stop_incomplete", supervisor=self.name)
        self._stopping = True
        self._stop_steps(timeout)
        if self.state is not ActorState.FAILED:
            self.state = ActorState.STOPPED

    def wait_until(self, condition: Callable[[], bool], timeout: float) -> bool:
        """Block until `condition()` holds, checked after each management step; False on timeout.

        For tests and the wiring layer (for example: wait for a child's state).
        """
        with self._settled:
            return self._settled.wait_for(condition, timeout)

    def __enter__(self) -> SupervisorCore:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

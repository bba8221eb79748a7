"""A supervisor of named children, started in order and stopped in reverse order."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import pykka
import structlog

from supervision.child import ActorChild, ActorHandle
from supervision.core import EscalationHandler, SupervisorCore
from supervision.errors import Escalated
from supervision.faults import FaultPlan
from supervision.host import ExitReason
from supervision.introspection import ActorInfo, ActorState, ActorStats, SupervisorInfo
from supervision.policy import (
    DEFAULT_MAX_RESTARTS,
    DEFAULT_WITHIN_SECONDS,
    ChildSpec,
    RuntimeConfig,
    Strategy,
)

log = structlog.get_logger(__name__)

DEFAULT_DEADLINE_SECONDS = 1.0


class SubtreeChild:
    """A child that is itself a supervisor; its escalation is its failure."""

    def __init__(self, spec: ChildSpec, owner: Supervisor) -> None:
        self.spec = spec
        self.name = spec.name
        self.owner = owner
        self.generation = 0
        self.supervisor: SupervisorCore | None = None
        self.stats = ActorStats()
        self.restart_pending: object | None = None
        self.consecutive_failures = 0
        self.last_failure_at = 0.0

    def start(self) -> None:
        """Build a fresh supervisor from the factory and start it."""
        self._stop_previous()
        self.generation += 1
        generation = self.generation
        self.stats.state = ActorState.STARTING
        try:
            supervisor = _built_supervisor(self.spec)
            supervisor.adopt(self.owner.config, self.owner.faults)

            def escalate(error: Escalated) -> None:
                self.owner.child_exited(self, generation, ExitReason.CRASHED, error)

            supervisor.on_escalation = escalate
            self.supervisor = supervisor
            supervisor.start()
        except Exception as exc:
            log.exception("subtree_start_failed", supervisor=self.owner.name, child=self.name)
            self.owner.child_exited(self, generation, ExitReason.START_FAILED, exc)
            return
        self.stats.state = ActorState.RUNNING

    def running(self) -> bool:
        """True while the current subtree runs (not after it escalated)."""
        supervisor = self.supervisor
        return supervisor is not None and supervisor.state is ActorState.RUNNING

    def _stop_previous(self) -> None:
        previous = self.supervisor
        if previous is not None:
            previous.stop(self.spec.shutdown_timeout)

    def stop(self, timeout: float, *, drain: bool) -> bool:
        """Stop the subtree (it always drains its own children)."""
        del drain
        self._stop_previous()
        return True

    def discard_queued(self, state: ActorState) -> None:
        """A subtree has no mailbox of its own; record the state."""
        self.stats.state = state

    def healthy(self, deadline: float) -> bool:
        """True when the subtree is healthy within `deadline`."""
        supervisor = self.supervisor
        return supervisor is not None and supervisor.healthy(deadline)

    def tree(self, deadline: float) -> SupervisorInfo:
        """The subtree as plain data."""
        supervisor = self.supervisor
        if supervisor is None:
            return SupervisorInfo(self.name, "supervisor", self.stats.state.value, "", 0)
        return supervisor.tree(deadline)


def _built_supervisor(spec: ChildSpec) -> SupervisorCore:
    supervisor = spec.factory()
    if not isinstance(supervisor, SupervisorCore):
        raise TypeError(f"factory of {spec.name} returned {type(supervisor).__name__}")
    return supervisor


class Supervisor(SupervisorCore):
    """Supervises children built from `ChildSpec`s with a one_for_one or rest_for_one strategy.

    More than `max_restarts` restarts within `within` seconds make it stop its
    children and call `on_escalation` (the parent's, or the wiring layer's at
    the root; by default it logs and sets `escalated`).
    """

    def __init__(
        self,
        name: str,
        children: Sequence[ChildSpec],
        *,
        strategy: Strategy = Strategy.ONE_FOR_ONE,
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
        names = [spec.name for spec in children]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate child names in supervisor {name}: {names}")
        self.strategy = strategy
        self._specs = tuple(children)
        self._children: list[ActorChild | SubtreeChild] = []

    def start(self) -> Supervisor:
        """Start the children in order; each start-up ends (or fails) before the next begins."""
        self._children = [self._make_child(spec) for spec in self._specs]
        self._start_steps()
        self._call(self._start_all)
        self.state = ActorState.RUNNING
        return self

    def _make_child(self, spec: ChildSpec) -> ActorChild | SubtreeChild:
        if spec.subtree:
            return SubtreeChild(spec, self)
        return ActorChild(spec, self, self.config, self.faults)

    def _start_all(self) -> None:
        for child in self._children:
            self._start_child(child)

    def _start_child(self, child: Any) -> None:
        child.start()
        host = getattr(child, "host", None)
        if host is not None:
            host.started.wait(child.spec.shutdown_timeout)

    def _children_in_order(self) -> Sequence[Any]:
        return self._children

    def _restart_group(self, child: Any) -> Sequence[Any]:
        if self.strategy is Strategy.ONE_FOR_ONE:
            return [child]
        index = self._children.index(child)
        return self._children[index:]

    def ref(self, name: str) -> ActorHandle:
        """The stable handle of the actor child `name` (tell/ask survive its restarts)."""
        for child in self._children:
            if child.name == name and isinstance(child, ActorChild):
                return ActorHandle(child)
        raise KeyError(f"{self.name} has no actor child named {name!r}")

    def subtree(self, name: str) -> SupervisorCore:
        """The current supervisor of the subtree child `name`."""
        for child in self._children:
            if child.name == name and isinstance(child, SubtreeChild):
                if child.supervisor is None:
                    break
                return child.supervisor
        raise KeyError(f"{self.name} has no running subtree named {name!r}")

    def install_faults(self, faults: FaultPlan | None) -> None:
        """Install (or remove, with None) a fault plan on this tree at run time."""
        self.faults = faults
        for child in self._children:
            if isinstance(child, ActorChild):
                child.faults = faults
            elif child.supervisor is not None:
                child.supervisor.install_faults(faults)

    def healthy(self, deadline: float = DEFAULT_DEADLINE_SECONDS) -> bool:
        """True only if this supervisor and every permanent child answer within `deadline`."""
        if self.state is not ActorState.RUNNING:
            return False
        end = time.monotonic() + deadline
        futures: list[pykka.Future[Any]] = []
        steps = self._steps
        if steps is None:
            return False
        try:
            futures.append(steps.ask((lambda: True, True), block=False))
        except pykka.ActorDeadError:
            return False
        subtrees: list[SubtreeChild] = []
        for child in self._children:
            if child.spec.restart != "permanent":
                continue
            if isinstance(child, SubtreeChild):
                subtrees.append(child)
                continue
            future = child.ping()
            if future is None or child.restart_pending:
                return False
            futures.append(future)
        for future in futures:
            try:
                future.get(timeout=max(0.0, end - time.monotonic()))
            except (pykka.Timeout, pykka.ActorDeadError):
                return False
        return all(s.healthy(max(0.0, end - time.monotonic())) for s in subtrees)

    def tree(self, deadline: float = DEFAULT_DEADLINE_SECONDS) -> SupervisorInfo:
        """This subtree as frozen plain data; descriptions not given within `deadline` are None."""
        end = time.monotonic() + deadline
        asked = [
            (child, child.describe() if isinstance(child, ActorChild) else None)
            for child in self._children
        ]
        infos: list[ActorInfo | SupervisorInfo] = []
        for child, future in asked:
            if isinstance(child, SubtreeChild):
                infos.append(child.tree(max(0.0, end - time.monotonic())))
                continue
            description = None
            if future is not None:
                try:
                    description = future.get(timeout=max(0.0, end - time.monotonic()))
                except (pykka.Timeout, pykka.ActorDeadError):
                    description = None
            infos.append(child.info(description))
        return SupervisorInfo(
            name=self.name,
            kind=self.kind,
            state=self.state.value,
            strategy=self.strategy.value,
            restarts_in_window=self.intensity.count(),
            children=tuple(infos),
        )

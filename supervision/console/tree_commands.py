"""The generic console commands over a running supervision tree.

Read-only: tree, actors, inspect NAME, health. Admin: restart NAME,
passivate NAME, fault NAME KIND [options]. Names are the children's names
as `actors` shows them (a keyed actor is `<supervisor>/<key>`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import Any

import pykka
import structlog

from supervision.child import ActorChild
from supervision.console.commands import Command, expect_args, number, options
from supervision.console.errors import CommandFailed, UsageError
from supervision.core import SupervisorCore
from supervision.faults import Effect, FaultPlan
from supervision.introspection import ActorInfo, ActorState, SupervisorInfo
from supervision.keyed import KeyedSupervisor

log = structlog.get_logger(__name__)

DEFAULT_DEADLINE_SECONDS = 2.0
DEFAULT_ACTION_SECONDS = 10.0
DEFAULT_HANG_SECONDS = 30.0
_TROUBLE = frozenset({ActorState.RESTARTING, ActorState.FAILED, ActorState.DEGRADED})
FAULT_USAGE = "NAME raise|fail_start|hang|slow|clear [--messages N] [--seconds S]"


class NextMessages:
    """A fault predicate: the next `count` distinct messages, each again on every retry.

    So `raise` makes exactly those messages fail every attempt and be dead-lettered,
    while the messages behind them go through.
    """

    def __init__(self, count: int) -> None:
        self.count = count
        self.chosen: list[Any] = []

    def __call__(self, message: Any) -> bool:
        if any(seen is message for seen in self.chosen):
            return True
        if len(self.chosen) < self.count:
            self.chosen.append(message)
            return True
        return False


def walk(info: SupervisorInfo) -> Iterator[tuple[SupervisorInfo, ActorInfo | SupervisorInfo]]:
    """Every (parent, child) pair of a tree, depth first in start order."""
    for child in info.children:
        yield info, child
        if isinstance(child, SupervisorInfo):
            yield from walk(child)


def actor_row(parent: SupervisorInfo, info: ActorInfo) -> dict[str, Any]:
    """One line of `actors`."""
    return {
        "name": info.name,
        "supervisor": parent.name,
        "actor_class": info.actor_class,
        "state": info.state,
        "mailbox": info.mailbox_depth,
        "processed": info.processed,
        "failed": info.failed,
        "dead_lettered": info.dead_lettered,
        "restarts": info.restarts,
        "last_error": info.last_error,
        "last_error_at": info.last_error_at,
        "uptime_seconds": round(info.uptime_seconds, 3),
    }


class TreeCommands:
    """The generic commands for one tree; fault rules go into the tree's plan (made on demand)."""

    def __init__(
        self,
        root: SupervisorCore,
        *,
        deadline: float = DEFAULT_DEADLINE_SECONDS,
        action_timeout: float = DEFAULT_ACTION_SECONDS,
    ) -> None:
        self.root = root
        self.deadline = deadline
        self.action_timeout = action_timeout
        self._plan_lock = threading.Lock()

    def commands(self) -> list[Command]:
        """The commands, ready for a CommandSet."""
        return [
            Command("tree", self.tree, "the supervision tree with states"),
            Command(
                "actors", self.actors, "every live actor: state, mailbox, counters, last error"
            ),
            Command(
                "inspect",
                self.inspect,
                "all an actor reports, including its own description",
                "NAME",
                takes_actor=True,
            ),
            Command(
                "health", self.health, "is every permanent actor answering; what is in trouble"
            ),
            Command(
                "restart",
                self.restart,
                "replace an actor (or subtree) with a fresh incarnation; its mailbox is kept",
                "NAME",
                admin=True,
                takes_actor=True,
            ),
            Command(
                "passivate",
                self.passivate,
                "stop an idle keyed actor now (it persists first and restarts on its next message)",
                "NAME",
                admin=True,
                takes_actor=True,
            ),
            Command(
                "fault",
                self.fault,
                "inject a fault: the next N messages fail every attempt (raise), the next N "
                "start-ups fail, or the next N messages hang or are slowed by S seconds "
                "(N=0: every message until `fault NAME clear`)",
                FAULT_USAGE,
                admin=True,
                takes_actor=True,
            ),
        ]

    # Read-only

    def tree(self, args: Sequence[str]) -> dict[str, Any]:
        expect_args(args, 0, "tree")
        return self.root.tree(self.deadline).as_dict()

    def actors(self, args: Sequence[str]) -> list[dict[str, Any]]:
        expect_args(args, 0, "actors")
        return [
            actor_row(parent, info)
            for parent, info in walk(self.root.tree(self.deadline))
            if isinstance(info, ActorInfo)
        ]

    def inspect(self, args: Sequence[str]) -> dict[str, Any]:
        expect_args(args, 1, "inspect NAME")
        name = args[0]
        if name == self.root.name:
            return {"node": "supervisor", **self.root.tree(self.deadline).as_dict()}
        owner, child = self._locate(name)
        if not isinstance(child, ActorChild):
            return {
                "node": "supervisor",
                "parent": owner.name,
                **child.tree(self.deadline).as_dict(),
            }
        description = None
        future = child.describe()
        if future is not None:
            try:
                description = future.get(timeout=self.deadline)
            except (pykka.Timeout, pykka.ActorDeadError):
                description = {"describe": f"no answer within {self.deadline:g} s"}
        return {
            "node": "actor",
            "supervisor": owner.name,
            "restart_type": child.spec.restart.value,
            "max_attempts": child.spec.max_attempts,
            "mailbox_size": child.spec.mailbox_size,
            **child.info(description).as_dict(),
        }

    def health(self, args: Sequence[str]) -> dict[str, Any]:
        expect_args(args, 0, "health")
        healthy = self.root.healthy(self.deadline)
        tree = self.root.tree(self.deadline)
        trouble: list[dict[str, Any]] = []
        actors = 0
        for _, info in walk(tree):
            if isinstance(info, ActorInfo):
                actors += 1
                if info.state in _TROUBLE:
                    trouble.append(
                        {"name": info.name, "state": info.state, "last_error": info.last_error}
                    )
            elif info.state != ActorState.RUNNING:
                trouble.append({"name": info.name, "state": info.state, "last_error": None})
        return {
            "healthy": healthy,
            "root": tree.name,
            "state": tree.state,
            "live_actors": actors,
            "trouble": trouble,
            "deadline_seconds": self.deadline,
        }

    # Admin

    def restart(self, args: Sequence[str]) -> dict[str, Any]:
        expect_args(args, 1, "restart NAME")
        name = args[0]
        if name == self.root.name:
            raise UsageError("the root is not restarted from the console; restart the daemon")
        owner, child = self._locate(name)
        before = owner.restart_child(name, self.action_timeout)
        log.warning("console_restart", actor=name)
        if not owner.wait_until(lambda: child.stats.restarts > before, self.action_timeout):
            raise CommandFailed(
                f"{name} is still handling a message after {self.action_timeout:g} s; "
                "it restarts as soon as that returns (see `inspect`)",
                code="pending",
            )
        host = getattr(child, "host", None)
        if host is not None:
            host.started.wait(self.action_timeout)
        return {"name": name, "restarts": child.stats.restarts, "state": child.stats.state.value}

    def passivate(self, args: Sequence[str]) -> dict[str, Any]:
        expect_args(args, 1, "passivate NAME")
        name = args[0]
        owner, child = self._locate(name)
        if not isinstance(owner, KeyedSupervisor):
            raise UsageError(f"{name} is not a keyed actor; only keyed actors passivate")
        if child.stats.state is not ActorState.PASSIVATED:
            owner.passivate_child(name, self.action_timeout)
            log.warning("console_passivate", actor=name)
            passivated = owner.wait_until(
                lambda: child.stats.state is ActorState.PASSIVATED, self.action_timeout
            )
            if not passivated:
                raise CommandFailed(
                    f"{name} did not passivate within {self.action_timeout:g} s: an actor "
                    "passivates only with an empty mailbox and while running",
                    code="pending",
                )
        return {"name": name, "state": child.stats.state.value, "live_keys": owner.live_count()}

    def fault(self, args: Sequence[str]) -> dict[str, Any]:
        usage = f"fault {FAULT_USAGE}"
        words, given = options(args, ("messages", "seconds"), usage)
        if len(words) != 2:
            raise UsageError(f"usage: {usage}")
        name, kind = words
        _, child = self._locate(name)
        if not isinstance(child, ActorChild):
            raise UsageError(f"{name} is a supervisor; faults are injected into actors")
        plan = self._plan()
        if kind == "clear":
            rules = [r for r in plan.rules() if r.actor == child.fault_name and r.key == child.key]
            for found in rules:
                plan.remove(found.id)
            log.warning("console_faults_cleared", actor=name, rules=len(rules))
            return {"name": name, "cleared": len(rules)}
        try:
            effect = Effect(kind)
        except ValueError:
            raise UsageError(f"unknown fault kind {kind!r}; usage: {usage}") from None
        messages = int(number(given.get("messages", "1"), "messages"))
        seconds = float(number(given.get("seconds", str(DEFAULT_HANG_SECONDS)), "seconds", float))
        if effect is Effect.FAIL_START:
            rule = plan.add(child.fault_name, effect, key=child.key, times=messages or None)
        else:
            rule = plan.add(
                child.fault_name,
                effect,
                key=child.key,
                when=NextMessages(messages) if messages else None,
                seconds=seconds if effect in (Effect.HANG, Effect.SLOW) else 0.0,
            )
        log.warning("console_fault_injected", actor=name, effect=effect.value, rule=rule)
        result: dict[str, Any] = {
            "name": name,
            "rule": rule,
            "effect": effect.value,
            "messages": messages or "all",
        }
        if effect in (Effect.HANG, Effect.SLOW):
            result["seconds"] = seconds
        return result

    # Helpers

    def _locate(self, name: str) -> tuple[SupervisorCore, Any]:
        found = self.root.locate(name)
        if found is None:
            raise UsageError(f"no actor named {name!r} (`actors` lists them)")
        return found

    def _plan(self) -> FaultPlan:
        with self._plan_lock:
            plan = self.root.faults
            if plan is None:
                plan = FaultPlan()
                self.root.install_faults(plan)
            return plan

"""Deterministic fault injection: make a named actor (or one key) fail, hang or slow down.

A `FaultPlan` is a seeded set of rules, addable and removable at run time by
actor name. The runtime consults it only when one is installed (a single None
check per message otherwise).
"""

from __future__ import annotations

import enum
import itertools
import random
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from supervision.errors import SupervisionError


class InjectedFault(SupervisionError):  # noqa: N818 - reads as what happened in logs and letters
    """The failure a fault rule raises."""


class Effect(enum.StrEnum):
    """What a matching rule does."""

    RAISE = "raise"
    FAIL_START = "fail_start"
    HANG = "hang"
    SLOW = "slow"


@dataclass(frozen=True)
class FaultRule:
    """One rule: which actor (and key), which messages, what effect, how often."""

    id: int
    actor: str
    effect: Effect
    key: Hashable | None = None
    nth: int | None = None
    when: Callable[[Any], bool] | None = None
    probability: float = 1.0
    seconds: float = 0.0
    times: int | None = None


class FaultPlan:
    """Seeded fault rules; thread-safe; `release()` ends every injected hang early."""

    def __init__(self, seed: int = 0) -> None:
        # Reproducible drills need a seeded generator, not a secure one.
        self._random = random.Random(seed)  # noqa: S311 - seeded fault schedule, not security
        self._lock = threading.Condition()
        self._rules: dict[str, list[FaultRule]] = {}
        self._seen: dict[tuple[str, Hashable | None], int] = {}
        self._fired: dict[int, int] = {}
        self._ids = itertools.count(1)
        self._release = threading.Event()

    def add(
        self,
        actor: str,
        effect: Effect,
        *,
        key: Hashable | None = None,
        nth: int | None = None,
        when: Callable[[Any], bool] | None = None,
        probability: float = 1.0,
        seconds: float = 0.0,
        times: int | None = None,
    ) -> int:
        """Add a rule and return its id; `nth` counts deliveries to the actor (or key) from 1."""
        rule = FaultRule(
            next(self._ids), actor, effect, key, nth, when, probability, seconds, times
        )
        with self._lock:
            self._rules.setdefault(actor, []).append(rule)
        return rule.id

    def remove(self, rule_id: int) -> None:
        """Remove one rule by id."""
        with self._lock:
            for actor, rules in list(self._rules.items()):
                self._rules[actor] = [r for r in rules if r.id != rule_id]

    def clear(self, actor: str | None = None) -> None:
        """Remove every rule, or every rule for one actor."""
        with self._lock:
            if actor is None:
                self._rules.clear()
            else:
                self._rules.pop(actor, None)

    def rules(self) -> list[FaultRule]:
        """The rules now in force."""
        with self._lock:
            return [r for rules in self._rules.values() for r in rules]

    def fired(self, rule_id: int) -> int:
        """How many times a rule has fired so far."""
        with self._lock:
            return self._fired.get(rule_id, 0)

    def wait_fired(self, rule_id: int, times: int = 1, timeout: float = 10.0) -> bool:
        """Block until a rule has fired `times` times; False on timeout."""
        with self._lock:
            return self._lock.wait_for(lambda: self._fired.get(rule_id, 0) >= times, timeout)

    def release(self) -> None:
        """End every current and future injected hang at once."""
        self._release.set()

    def on_start(self, actor: str, key: Hashable | None) -> None:
        """Raise if a FAIL_START rule fires for this actor's start-up."""
        rule = self._match(actor, key, None, start=True)
        if rule is not None:
            raise InjectedFault(f"injected start-up failure of {actor} (rule {rule.id})")

    def on_message(self, actor: str, key: Hashable | None, message: Any) -> None:
        """Apply the first rule that fires for this delivery."""
        rule = self._match(actor, key, message, start=False)
        if rule is None:
            return
        if rule.effect is Effect.RAISE:
            raise InjectedFault(f"injected failure of {actor} (rule {rule.id})")
        self._release.wait(rule.seconds)

    def _match(
        self, actor: str, key: Hashable | None, message: Any, *, start: bool
    ) -> FaultRule | None:
        with self._lock:
            rules = self._rules.get(actor)
            seen = 0
            if not start:
                seen = self._seen.get((actor, key), 0) + 1
                self._seen[(actor, key)] = seen
            if not rules:
                return None
            for rule in rules:
                if (rule.effect is Effect.FAIL_START) != start:
                    continue
                if rule.key is not None and rule.key != key:
                    continue
                if rule.nth is not None and rule.nth != seen:
                    continue
                if rule.when is not None and not rule.when(message):
                    continue
                fired = self._fired.get(rule.id, 0)
                if rule.times is not None and fired >= rule.times:
                    continue
                if rule.probability < 1.0 and self._random.random() >= rule.probability:
                    continue
                self._fired[rule.id] = fired + 1
                self._lock.notify_all()
                return rule
            return None

"""Test helpers for the supervision runtime: an in-memory dead-letter sink, probes, config."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pykka
import tenacity

from supervision import Backoff, RuntimeConfig, SupervisedActor
from supervision.deadletters.letter import DeadLetter

WAIT = 10.0
"""Upper bound for any wait in a test: generous, because CI machines are loaded."""


class MemorySink:
    """A DeadLetterSink for tests (the Redis store is tested by its own suite)."""

    def __init__(self) -> None:
        self.letters: list[DeadLetter] = []
        self._changed = threading.Condition()

    def deliver(self, letter: DeadLetter) -> None:
        with self._changed:
            self.letters.append(letter)
            self._changed.notify_all()

    def wait_for(self, count: int, timeout: float = WAIT) -> list[DeadLetter]:
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.letters) >= count, timeout):
                raise AssertionError(f"expected {count} dead letters, got {len(self.letters)}")
            return list(self.letters)


def fast_config(sink: MemorySink | None = None, **kwargs: Any) -> RuntimeConfig:
    """A config whose restarts happen after 1 ms, so tests do not wait on backoff."""
    return RuntimeConfig(
        dead_letters=sink,
        version="test-1",
        backoff=Backoff(wait=tenacity.wait_fixed(0.001), reset_after=60.0),
        send_timeout=WAIT,
        ask_timeout=WAIT,
        **kwargs,
    )


class Journal:
    """What actors did, shared by all their incarnations, with waits on conditions."""

    def __init__(self) -> None:
        self.handled: list[tuple[Any, Any]] = []
        self.starts: list[Any] = []
        self.stops: list[Any] = []
        self.passivations: list[Any] = []
        self.entered: list[tuple[Any, Any]] = []
        self._changed = threading.Condition()

    def record(self, kind: str, item: Any) -> None:
        with self._changed:
            getattr(self, kind).append(item)
            self._changed.notify_all()

    def wait(self, predicate: Callable[[Journal], bool], timeout: float = WAIT) -> None:
        with self._changed:
            if not self._changed.wait_for(lambda: predicate(self), timeout):
                raise AssertionError(f"condition not reached; handled={self.handled[-20:]}")


class Recorder(SupervisedActor):
    """Records each message; raises for messages in `fail_on`, blocks while `gate` is closed."""

    def __init__(
        self,
        journal: Journal,
        name: Any = None,
        *,
        fail_on: Callable[[Any], bool] | None = None,
        gate: threading.Event | None = None,
    ) -> None:
        self.journal = journal
        self.name = name
        self.fail_on = fail_on
        self.gate = gate

    def on_start(self) -> None:
        self.journal.record("starts", self.name)

    def handle(self, message: Any) -> Any:
        self.journal.record("entered", (self.name, message))
        if self.gate is not None and not self.gate.wait(WAIT):
            raise AssertionError("gate never opened")
        if self.fail_on is not None and self.fail_on(message):
            raise ValueError(f"cannot handle {message!r}")
        self.journal.record("handled", (self.name, message))
        return message

    def on_passivate(self) -> None:
        self.journal.record("passivations", self.name)

    def on_stop(self) -> None:
        self.journal.record("stops", self.name)


def actor_threads() -> list[threading.Thread]:
    """Threads other than the main one and pytest-timeout's."""
    return [t for t in threading.enumerate() if t is not threading.main_thread() and t.is_alive()]


@contextmanager
def no_leftovers() -> Iterator[None]:
    """Assert that no actor and no thread outlives the block."""
    before = set(threading.enumerate())
    yield
    assert pykka.ActorRegistry.get_all() == []
    left = [t for t in actor_threads() if t not in before]
    assert left == [], f"threads left running: {left}"

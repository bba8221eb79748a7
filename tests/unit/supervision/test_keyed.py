"""Keyed supervisor: start on first message, per-key order, passivation, max-live bound."""

from __future__ import annotations

import threading
from collections.abc import Hashable

import pytest

from supervision import ActorStopped, KeyedSupervisor, SupervisedActor
from tests.unit.supervision.support import WAIT, Journal, MemorySink, Recorder, fast_config


def test_each_key_gets_its_own_actor_on_its_first_message(sink: MemorySink) -> None:
    journal = Journal()
    with KeyedSupervisor(
        "p", lambda key: Recorder(journal, key), config=fast_config(sink)
    ).start() as keyed:
        for n in range(5):
            for key in ("x", "y"):
                keyed.tell(key, n)
        assert keyed.ask("x", "last", timeout=WAIT) == "last"
        assert keyed.ask("y", "last", timeout=WAIT) == "last"
        assert sorted(journal.starts) == ["x", "y"]
        for key in ("x", "y"):
            assert [m for k, m in journal.handled if k == key] == [0, 1, 2, 3, 4, "last"]


def test_a_crashing_key_does_not_disturb_the_others(sink: MemorySink) -> None:
    journal = Journal()

    def build(key: Hashable) -> SupervisedActor:
        return Recorder(journal, key, fail_on=lambda m: key == "bad")

    with KeyedSupervisor("p", build, config=fast_config(sink)).start() as keyed:
        keyed.tell("bad", "poison")
        for n in range(20):
            keyed.tell("good", n)
        sink.wait_for(1)
        assert keyed.ask("good", "end", timeout=WAIT) == "end"
        assert journal.starts.count("good") == 1
        assert [m for k, m in journal.handled if k == "good"] == [*range(20), "end"]
    assert sink.letters[0].actor == "p/bad"


def test_an_idle_key_persists_then_passivates_and_reactivates_on_the_next_message(
    sink: MemorySink,
) -> None:
    journal = Journal()
    keyed = KeyedSupervisor(
        "p",
        lambda key: Recorder(journal, key),
        idle_after=0.05,
        sweep_interval=0.01,
        config=fast_config(sink),
    ).start()
    try:
        keyed.tell("x", 1)
        journal.wait(lambda j: j.passivations == ["x"])
        assert keyed.wait_until(lambda: keyed.live_count() == 0, WAIT)
        assert keyed.ask("x", 2, timeout=WAIT) == 2
        assert journal.starts == ["x", "x"]
        assert [m for _, m in journal.handled] == [1, 2]
    finally:
        keyed.stop()


def test_max_live_bounds_the_threads_by_passivating_the_least_recently_used(
    sink: MemorySink,
) -> None:
    journal = Journal()
    peak = 0
    lock = threading.Lock()
    live: set[Hashable] = set()

    class Counted(Recorder):
        def on_start(self) -> None:
            nonlocal peak
            with lock:
                live.add(self.name)
                peak = max(peak, len(live))
            super().on_start()

        def on_passivate(self) -> None:
            with lock:
                live.discard(self.name)
            super().on_passivate()

    keyed = KeyedSupervisor(
        "p",
        lambda key: Counted(journal, key),
        idle_after=None,
        max_live=3,
        config=fast_config(sink),
    ).start()
    try:
        for key in range(10):
            assert keyed.ask(key, "hi", timeout=WAIT) == "hi"
        for key in range(10):
            assert keyed.ask(key, "again", timeout=WAIT) == "again"
        assert peak <= 3
        assert keyed.live_count() <= 3
        for key in range(10):
            assert [m for k, m in journal.handled if k == key] == ["hi", "again"]
    finally:
        keyed.stop()


def test_messages_for_a_stopped_keyed_supervisor_are_refused(sink: MemorySink) -> None:
    keyed = KeyedSupervisor("p", lambda key: Recorder(Journal(), key), config=fast_config(sink))
    keyed.start()
    keyed.stop()
    with pytest.raises(ActorStopped):
        keyed.tell("new", 1)


class Gate(SupervisedActor):
    def __init__(self, taken: threading.Event, gate: threading.Event) -> None:
        self.taken = taken
        self.gate = gate

    def handle(self, message: object) -> object:
        self.taken.set()
        self.gate.wait(WAIT)
        return message


def test_the_backlog_counts_messages_queued_for_every_key(sink: MemorySink) -> None:
    taken, gate = threading.Event(), threading.Event()
    with KeyedSupervisor(
        "p", lambda key: Gate(taken, gate), config=fast_config(sink)
    ).start() as keyed:
        assert keyed.backlog() == 0
        keyed.tell("x", 1)
        assert taken.wait(WAIT)
        for n in range(3):
            keyed.tell("x", n)
            keyed.tell("y", n)
        # "x" holds its first message; "y" may or may not have taken its first yet.
        assert keyed.backlog() in (5, 6)
        gate.set()
        assert keyed.ask("x", "end", timeout=WAIT) == "end"
        assert keyed.ask("y", "end", timeout=WAIT) == "end"
        assert keyed.backlog() == 0

"""Supervisor: replies, restarts that keep queued messages, strategies, restart types."""

from __future__ import annotations

import threading

import pytest

from supervision import (
    ActorState,
    ChildSpec,
    Escalated,
    MessageDeadLettered,
    Restart,
    Strategy,
    SupervisedActor,
    Supervisor,
)
from tests.unit.supervision.support import WAIT, Journal, MemorySink, Recorder, fast_config


def test_ask_returns_the_handlers_reply(sink: MemorySink) -> None:
    journal = Journal()
    with Supervisor(
        "root", [ChildSpec("a", lambda: Recorder(journal, "a"))], config=fast_config(sink)
    ).start() as root:
        assert root.ref("a").ask("hello", timeout=WAIT) == "hello"


def test_messages_queued_behind_a_failure_reach_the_restarted_instance_in_order(
    sink: MemorySink,
) -> None:
    journal = Journal()
    gate = threading.Event()
    failed_once: set[object] = set()

    def fail_first_time(message: object) -> bool:
        if message == 2 and message not in failed_once:
            failed_once.add(message)
            return True
        return False

    spec = ChildSpec("a", lambda: Recorder(journal, "a", fail_on=fail_first_time, gate=gate))
    with Supervisor("root", [spec], config=fast_config(sink)).start() as root:
        ref = root.ref("a")
        for n in range(10):
            ref.tell(n)
        gate.set()
        journal.wait(lambda j: len(j.handled) == 10)
        assert [m for _, m in journal.handled] == list(range(10))
        assert len(journal.starts) == 2
        assert root.tree().children[0].restarts == 1  # type: ignore[union-attr]
    assert sink.letters == []


def test_a_poison_message_is_dead_lettered_after_three_attempts_and_work_goes_on(
    sink: MemorySink,
) -> None:
    journal = Journal()
    spec = ChildSpec("a", lambda: Recorder(journal, "a", fail_on=lambda m: m == "poison"))
    with Supervisor("root", [spec], config=fast_config(sink)).start() as root:
        ref = root.ref("a")
        ref.tell(1)
        with pytest.raises(MessageDeadLettered):
            ref.ask("poison", timeout=WAIT)
        assert ref.ask(2, timeout=WAIT) == 2
    (letter,) = sink.letters
    assert letter.attempts == 3
    assert letter.actor == "a"
    assert letter.error_type == "ValueError"
    assert "cannot handle" in letter.traceback
    assert letter.version == "test-1"
    assert [m for _, m in journal.handled] == [1, 2]


def test_rest_for_one_restarts_the_failed_child_and_those_started_after_it(
    sink: MemorySink,
) -> None:
    journal = Journal()
    crashed: list[str] = []

    def crash_once(message: object) -> bool:
        if message == "crash" and not crashed:
            crashed.append("b")
            return True
        return False

    specs = [
        ChildSpec(name, lambda name=name: Recorder(journal, name, fail_on=crash_once))
        for name in ("a", "b", "c")
    ]
    config = fast_config(sink)
    with Supervisor("root", specs, strategy=Strategy.REST_FOR_ONE, config=config).start() as root:
        assert journal.starts == ["a", "b", "c"]
        root.ref("b").tell("crash")
        assert root.ref("b").ask("after", timeout=WAIT) == "after"
        assert root.ref("c").ask("ok", timeout=WAIT) == "ok"
        assert journal.starts == ["a", "b", "c", "b", "c"]
        assert [m for name, m in journal.handled if name == "b"] == ["crash", "after"]
    assert journal.stops == ["c", "c", "b", "a"]


def test_one_for_one_restarts_only_the_failed_child(sink: MemorySink) -> None:
    journal = Journal()
    specs = [
        ChildSpec(name, lambda name=name: Recorder(journal, name, fail_on=lambda m: m == "crash"))
        for name in ("a", "b", "c")
    ]
    with Supervisor("root", specs, config=fast_config(sink)).start() as root:
        root.ref("b").tell("crash")
        journal.wait(lambda j: j.starts.count("b") == 2)
        assert root.ref("c").ask("ok", timeout=WAIT) == "ok"
        assert journal.starts.count("a") == journal.starts.count("c") == 1


def test_exceeding_restart_intensity_stops_the_children_and_escalates(sink: MemorySink) -> None:
    journal = Journal()
    escalations: list[Escalated] = []
    escalated = threading.Event()

    def on_escalation(error: Escalated) -> None:
        escalations.append(error)
        escalated.set()

    spec = ChildSpec("a", lambda: Recorder(journal, "a", fail_on=lambda m: True), max_attempts=100)
    root = Supervisor(
        "root",
        [spec],
        max_restarts=2,
        within=60,
        config=fast_config(sink),
        on_escalation=on_escalation,
    ).start()
    try:
        root.ref("a").tell("x")
        assert escalated.wait(WAIT)
        assert "more than 2 restarts" in str(escalations[0])
        assert root.state is ActorState.FAILED
        assert not root.healthy()
    finally:
        root.stop()
    assert len(journal.starts) == 3


def test_a_failing_start_up_counts_against_restart_intensity(sink: MemorySink) -> None:
    class Broken(SupervisedActor):
        def on_start(self) -> None:
            raise RuntimeError("database unreachable")

    root = Supervisor("root", [ChildSpec("a", Broken)], max_restarts=3, config=fast_config(sink))
    root.start()
    try:
        assert root.escalated.wait(WAIT)
        assert root.tree().children[0].last_error == "RuntimeError: database unreachable"  # type: ignore[union-attr]
    finally:
        root.stop()


@pytest.mark.parametrize(
    ("restart", "restarted"),
    [(Restart.PERMANENT, True), (Restart.TRANSIENT, False), (Restart.TEMPORARY, False)],
)
def test_a_normal_stop_restarts_only_permanent_children(
    sink: MemorySink, restart: Restart, restarted: bool
) -> None:
    journal = Journal()

    class Quitter(Recorder):
        def handle(self, message: object) -> object:
            self.stop_self()
            return super().handle(message)

    spec = ChildSpec("a", lambda: Quitter(journal, "a"), restart=restart)
    with Supervisor("root", [spec], config=fast_config(sink)).start() as root:
        root.ref("a").ask("bye", timeout=WAIT)
        journal.wait(lambda j: len(j.stops) == 1)
        if restarted:
            journal.wait(lambda j: len(j.starts) == 2)
        else:
            ref = root.ref("a")
            assert root.wait_until(lambda: ref.info().state == "stopped", WAIT)


def test_a_temporary_child_that_fails_is_not_restarted(sink: MemorySink) -> None:
    journal = Journal()
    spec = ChildSpec(
        "a", lambda: Recorder(journal, "a", fail_on=lambda m: True), restart=Restart.TEMPORARY
    )
    with Supervisor("root", [spec], config=fast_config(sink)).start() as root:
        with pytest.raises(MessageDeadLettered):
            root.ref("a").ask("x", timeout=WAIT)
        assert len(sink.letters) == 1
        assert len(journal.starts) == 1


def test_stop_drains_mailboxes_and_stops_children_in_reverse_order(sink: MemorySink) -> None:
    journal = Journal()
    gate = threading.Event()
    specs = [ChildSpec(n, lambda n=n: Recorder(journal, n, gate=gate)) for n in ("a", "b")]
    root = Supervisor("root", specs, config=fast_config(sink)).start()
    for n in range(5):
        root.ref("a").tell(n)
    gate.set()
    root.stop()
    assert [m for name, m in journal.handled if name == "a"] == list(range(5))
    assert journal.stops == ["b", "a"]


def test_a_subtree_that_escalates_is_restarted_by_its_parent(sink: MemorySink) -> None:
    journal = Journal()

    def subtree() -> Supervisor:
        spec = ChildSpec("leaf", lambda: Recorder(journal, "leaf", fail_on=lambda m: m == "die"))
        return Supervisor("inner", [spec], max_restarts=0)

    parent = Supervisor(
        "root", [ChildSpec("inner", subtree, subtree=True)], config=fast_config(sink)
    ).start()
    try:
        parent.subtree("inner").ref("leaf").tell("die")  # type: ignore[attr-defined]
        journal.wait(lambda j: len(j.starts) == 2)
        leaf = parent.subtree("inner").ref("leaf")  # type: ignore[attr-defined]
        assert leaf.ask("ok", timeout=WAIT) == "ok"
        assert not parent.escalated.is_set()
    finally:
        parent.stop()

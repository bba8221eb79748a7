"""Fault plans: deterministic, per actor and key, addable and removable at run time."""

from __future__ import annotations

import pytest

from supervision import ChildSpec, Effect, FaultPlan, InjectedFault, KeyedSupervisor, Supervisor
from tests.unit.supervision.support import WAIT, Journal, MemorySink, Recorder, fast_config


def test_a_rule_fires_on_the_nth_delivery_only() -> None:
    plan = FaultPlan()
    plan.add("a", Effect.RAISE, nth=2)
    plan.on_message("a", None, "m1")
    with pytest.raises(InjectedFault):
        plan.on_message("a", None, "m2")
    plan.on_message("a", None, "m3")
    plan.on_message("b", None, "m2")


def test_predicates_keys_and_removal() -> None:
    plan = FaultPlan()
    rule = plan.add("k", Effect.RAISE, key="p1", when=lambda m: m == "bad")
    plan.on_message("k", "p2", "bad")
    plan.on_message("k", "p1", "good")
    with pytest.raises(InjectedFault):
        plan.on_message("k", "p1", "bad")
    plan.remove(rule)
    plan.on_message("k", "p1", "bad")
    assert plan.rules() == []


def test_the_same_seed_gives_the_same_faults() -> None:
    def run(seed: int) -> list[bool]:
        plan = FaultPlan(seed)
        plan.add("a", Effect.RAISE, probability=0.5)
        outcome = []
        for n in range(50):
            try:
                plan.on_message("a", None, n)
                outcome.append(False)
            except InjectedFault:
                outcome.append(True)
        return outcome

    assert run(7) == run(7)
    assert run(7) != run(8)


def test_an_injected_start_failure_is_retried_and_the_message_still_arrives(
    sink: MemorySink,
) -> None:
    plan = FaultPlan()
    plan.add("p", Effect.FAIL_START, key="x", times=2)
    journal = Journal()
    keyed = KeyedSupervisor("p", lambda key: Recorder(journal, key), config=fast_config(sink))
    keyed.install_faults(plan)
    with keyed.start():
        assert keyed.ask("x", "hello", timeout=WAIT) == "hello"
        assert keyed.ref("x").info().restarts == 2
    assert sink.letters == []


def test_faults_can_be_installed_and_removed_at_run_time(sink: MemorySink) -> None:
    journal = Journal()
    with Supervisor(
        "root", [ChildSpec("a", lambda: Recorder(journal, "a"))], config=fast_config(sink)
    ).start() as root:
        plan = FaultPlan()
        plan.add("a", Effect.RAISE, times=1)
        root.install_faults(plan)
        assert root.ref("a").ask(1, timeout=WAIT) == 1
        assert root.ref("a").info().restarts == 1
        root.install_faults(None)
        assert root.ref("a").ask(2, timeout=WAIT) == 2
        assert root.ref("a").info().restarts == 1

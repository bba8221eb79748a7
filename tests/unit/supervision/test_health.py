"""Health and introspection: a stuck actor makes the tree unhealthy; the tree is plain data."""

from __future__ import annotations

import json
import threading
from typing import Any

from supervision import (
    ActorState,
    ChildSpec,
    Effect,
    FaultPlan,
    KeyedSupervisor,
    Restart,
    SupervisedActor,
    Supervisor,
)
from tests.unit.supervision.support import WAIT, Journal, MemorySink, Recorder, fast_config


class Counter(SupervisedActor):
    def __init__(self) -> None:
        self.count = 0

    def handle(self, message: Any) -> Any:
        self.count += 1
        if message == "degrade":
            self.set_degraded()
        return self.count

    def describe(self) -> dict[str, Any]:
        return {"count": self.count}


def test_a_hanging_permanent_child_makes_the_supervisor_unhealthy(sink: MemorySink) -> None:
    plan = FaultPlan(seed=1)
    hang = plan.add("stuck", Effect.HANG, seconds=WAIT, nth=1)
    journal = Journal()
    specs = [ChildSpec("ok", Counter), ChildSpec("stuck", lambda: Recorder(journal, "stuck"))]
    with Supervisor("root", specs, config=fast_config(sink), faults=plan).start() as root:
        assert root.healthy(deadline=WAIT)
        root.ref("stuck").tell("x")
        try:
            assert plan.wait_fired(hang, timeout=WAIT)
            assert not root.healthy(deadline=0.05)
        finally:
            plan.release()
        journal.wait(lambda j: len(j.handled) == 1)
        assert root.healthy(deadline=WAIT)


def test_a_stuck_temporary_child_does_not_count(sink: MemorySink) -> None:
    gate = threading.Event()
    journal = Journal()
    specs = [ChildSpec("t", lambda: Recorder(journal, "t", gate=gate), restart=Restart.TEMPORARY)]
    with Supervisor("root", specs, config=fast_config(sink)).start() as root:
        root.ref("t").tell("x")
        journal.wait(lambda j: len(j.entered) == 1)
        assert root.healthy(deadline=0.05)
        gate.set()


def test_the_tree_is_json_able_and_reports_descriptions_and_degraded_state(
    sink: MemorySink,
) -> None:
    keyed_spec = ChildSpec(
        "portfolios", lambda: KeyedSupervisor("portfolios", lambda key: Counter()), subtree=True
    )
    specs = [ChildSpec("counter", Counter), keyed_spec]
    with Supervisor("root", specs, config=fast_config(sink)).start() as root:
        ref = root.ref("counter")
        ref.ask("a", timeout=WAIT)
        ref.ask("degrade", timeout=WAIT)
        root.subtree("portfolios").ask("p1", "x", timeout=WAIT)  # type: ignore[attr-defined]
        tree = root.tree(deadline=WAIT)
        data = json.loads(json.dumps(tree.as_dict()))
        counter, portfolios = data["children"]
        assert counter["name"] == "counter"
        assert counter["actor_class"] == "Counter"
        assert counter["state"] == ActorState.DEGRADED.value
        assert counter["processed"] == 2
        assert counter["description"] == {"count": 2}
        assert portfolios["kind"] == "keyed"
        assert portfolios["summary"]["keys"] == 1
        assert portfolios["children"][0]["name"] == "portfolios/p1"
        assert root.healthy(deadline=WAIT)

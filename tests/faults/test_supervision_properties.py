"""Property tests: random messages and injected faults against a simple model.

The model: a message that fails its first `f` deliveries is processed exactly
once if `f` < max attempts, otherwise dead-lettered exactly once after
exactly max attempts; a rejected message is dead-lettered after one attempt;
per key, processed messages keep their sending order; nothing is left running
after shutdown.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from supervision import (
    ChildSpec,
    Effect,
    FaultPlan,
    KeyedSupervisor,
    Reject,
    Strategy,
    SupervisedActor,
    Supervisor,
)
from supervision.deadletters.letter import DeadLetter
from supervision.policy import RestartIntensity
from tests.unit.supervision.support import WAIT, fast_config, no_leftovers

MAX_ATTEMPTS = 3
PROPERTY_SETTINGS = settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@dataclass(frozen=True)
class Work:
    key: Hashable
    seq: int
    fail_times: int
    reject: bool


class World:
    """Everything every incarnation did, and a wait for all outcomes."""

    def __init__(self) -> None:
        self.deliveries: Counter[tuple[Hashable, int]] = Counter()
        self.processed: list[Work] = []
        self.letters: list[DeadLetter] = []
        self.changed = threading.Condition()

    def deliver(self, letter: DeadLetter) -> None:
        with self.changed:
            self.letters.append(letter)
            self.changed.notify_all()

    def handle(self, work: Work) -> None:
        with self.changed:
            self.deliveries[(work.key, work.seq)] += 1
            count = self.deliveries[(work.key, work.seq)]
        if work.reject:
            raise Reject("invalid on purpose")
        if count <= work.fail_times:
            raise ValueError(f"injected failure {count} of {work}")
        with self.changed:
            self.processed.append(work)
            self.changed.notify_all()

    def wait_outcomes(self, total: int) -> None:
        with self.changed:
            done = self.changed.wait_for(
                lambda: len(self.processed) + len(self.letters) >= total, WAIT * 3
            )
        assert done, f"{len(self.processed)} processed + {len(self.letters)} letters of {total}"


class Worker(SupervisedActor):
    def __init__(self, world: World) -> None:
        self.world = world

    def handle(self, message: Any) -> Any:
        self.world.handle(message)
        return message.seq


def check_model(world: World, sent: list[Work]) -> None:
    letters_by_seq = {
        int(letter.payload["repr"].split("seq=")[1].split(",")[0]): letter
        for letter in world.letters
    }
    processed = Counter((w.key, w.seq) for w in world.processed)
    assert all(n == 1 for n in processed.values()), "a message was processed twice"
    for work in sent:
        if work.reject:
            assert letters_by_seq[work.seq].reason == "rejected"
            assert letters_by_seq[work.seq].attempts == 1
            assert (work.key, work.seq) not in processed
        elif work.fail_times >= MAX_ATTEMPTS:
            assert letters_by_seq[work.seq].attempts == MAX_ATTEMPTS
            assert world.deliveries[(work.key, work.seq)] == MAX_ATTEMPTS, "poison looped"
            assert (work.key, work.seq) not in processed
        else:
            assert processed[(work.key, work.seq)] == 1
            assert work.seq not in letters_by_seq
    for key in {w.key for w in sent}:
        got = [w.seq for w in world.processed if w.key == key]
        assert got == sorted(got), f"order broken for {key}: {got}"


work_lists = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "c"]),
        st.integers(min_value=0, max_value=4),
        st.booleans(),
    ),
    min_size=1,
    max_size=25,
)


def build_work(items: list[tuple[str, int, bool]]) -> list[Work]:
    return [
        Work(key, seq, fail_times, reject and fail_times == 0)
        for seq, (key, fail_times, reject) in enumerate(items)
    ]


@PROPERTY_SETTINGS
@given(
    items=work_lists,
    max_live=st.sampled_from([None, 1, 2]),
    start_failures=st.lists(st.sampled_from(["a", "b", "c"]), max_size=3),
    seed=st.integers(min_value=0, max_value=1000),
)
def test_keyed_actors_process_each_message_once_or_dead_letter_it(
    items: list[tuple[str, int, bool]],
    max_live: int | None,
    start_failures: list[str],
    seed: int,
) -> None:
    sent = build_work(items)
    world = World()
    plan = FaultPlan(seed)
    for key in start_failures:
        plan.add("k", Effect.FAIL_START, key=key, times=1)
    with no_leftovers():
        keyed = KeyedSupervisor(
            "k",
            lambda key: Worker(world),
            idle_after=0.005,
            sweep_interval=0.002,
            max_live=max_live,
            max_attempts=MAX_ATTEMPTS,
            max_restarts=1000,
            config=fast_config(world),  # type: ignore[arg-type]
            faults=plan,
        ).start()
        try:
            for work in sent:
                keyed.tell(work.key, work)
            world.wait_outcomes(len(sent))
            for key in {w.key for w in sent}:
                final = Work(key, 10_000, 0, False)
                assert keyed.ask(key, final, timeout=WAIT) == 10_000
        finally:
            keyed.stop()
    world.processed = [w for w in world.processed if w.seq != 10_000]
    check_model(world, sent)


@PROPERTY_SETTINGS
@given(items=work_lists, strategy=st.sampled_from(list(Strategy)))
def test_supervised_children_process_each_message_once_or_dead_letter_it(
    items: list[tuple[str, int, bool]], strategy: Strategy
) -> None:
    sent = build_work(items)
    world = World()
    specs = [ChildSpec(name, lambda: Worker(world), max_attempts=MAX_ATTEMPTS) for name in "abc"]
    with no_leftovers():
        root = Supervisor(
            "root",
            specs,
            strategy=strategy,
            max_restarts=1000,
            config=fast_config(world),  # type: ignore[arg-type]
        ).start()
        try:
            for work in sent:
                root.ref(str(work.key)).tell(work)
            world.wait_outcomes(len(sent))
        finally:
            root.stop()
    check_model(world, sent)


@settings(max_examples=200, deadline=None)
@given(
    gaps=st.lists(st.floats(min_value=0, max_value=3), max_size=30),
    max_restarts=st.integers(min_value=0, max_value=5),
    within=st.floats(min_value=0.5, max_value=5),
)
def test_restart_intensity_allows_at_most_r_restarts_in_any_window_of_t_seconds(
    gaps: list[float], max_restarts: int, within: float
) -> None:
    intensity = RestartIntensity(max_restarts, within)
    now = 0.0
    accepted: list[float] = []
    for gap in gaps:
        now += gap
        allowed = intensity.record(now)
        recent = [t for t in [*accepted, now] if t >= now - within]
        assert allowed == (len(recent) <= max_restarts)
        if not allowed:
            break
        accepted.append(now)

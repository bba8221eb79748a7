"""Redis goes away: letters are spilled to disk, then drained exactly once when it is back."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pykka
import pytest
import redis
import tenacity
from structlog.testing import capture_logs

from alphap.embedded import EmbeddedRedis
from supervision.deadletters import (
    ActorDeadLetterSink,
    DeadLetter,
    DeadLetterActor,
    DeadLetterRegistry,
    DeadLetterStore,
    SpillFile,
    StoreOutcome,
    dead_letter_client,
)
from supervision.deadletters.registry import ALREADY_STORED
from tests.integration.supervision.letters import make_letter

TIMEOUT = 30
PREFIX = "alphap-test"
# A fake secret, to prove the spill file holds it masked.
SECRET_DSN = "postgresql://alphap:hunter2-secret@db/alphap"  # noqa: S105 - a fake secret


@pytest.fixture
def client(own_redis: EmbeddedRedis) -> Iterator[redis.Redis]:
    client = dead_letter_client(own_redis.url)
    yield client
    client.close()


@pytest.fixture
def store(client: redis.Redis, tmp_path: Path) -> DeadLetterStore:
    return DeadLetterStore(DeadLetterRegistry(client, PREFIX), SpillFile(tmp_path / "dlq.jsonl"))


def test_store_spills_while_redis_is_down_and_drains_once(
    store: DeadLetterStore, own_redis: EmbeddedRedis
) -> None:
    before = make_letter()
    assert store.store(before) is StoreOutcome.STORED
    own_redis.stop()
    during = [make_letter(error_message=f"lost {SECRET_DSN}") for _ in range(5)]
    assert [store.store(letter) for letter in during] == [StoreOutcome.SPILLED] * 5
    spill_bytes = store.spill.path.read_bytes()
    assert spill_bytes.count(b"\n") == 5
    assert b"hunter2-secret" not in spill_bytes
    with pytest.raises(redis.ConnectionError):
        store.drain()
    assert store.spill.pending == 5
    own_redis.start()
    assert store.drain() == 5
    registry = store.registry
    assert sorted(registry.get_ids()) == sorted(letter.id for letter in during)
    assert registry.count() == 5
    assert not store.spill.path.exists()
    assert not store.spill.draining_path.exists()
    assert store.drain() == 0
    stats = store.get_stats()
    assert (stats["stored"], stats["spilled"], stats["drained"], stats["spill_pending"]) == (
        1,
        5,
        5,
        0,
    )
    assert stats["last_error"].startswith("ConnectionError")


def test_a_crash_between_redis_write_and_truncation_does_not_duplicate(
    store: DeadLetterStore, own_redis: EmbeddedRedis, tmp_path: Path
) -> None:
    own_redis.stop()
    letters = [make_letter() for _ in range(4)]
    for letter in letters:
        store.store(letter)
    kept = tmp_path / "copy.jsonl"
    shutil.copy(store.spill.path, kept)
    own_redis.start()
    assert store.drain() == 4
    # The crash: every line reached Redis, yet the draining file survived.
    shutil.copy(kept, store.spill.draining_path)
    restarted = SpillFile(store.spill.path)
    assert restarted.pending == 4
    outcomes: list[int] = []
    registry = store.registry
    assert restarted.drain(lambda letter: outcomes.append(registry.add(letter))) == 4
    assert outcomes == [ALREADY_STORED] * 4
    assert registry.count() == 4
    assert sorted(registry.get_ids()) == sorted(letter.id for letter in letters)
    assert restarted.pending == 0


def test_a_drain_cut_short_by_redis_resumes_without_duplicates(
    store: DeadLetterStore, own_redis: EmbeddedRedis
) -> None:
    own_redis.stop()
    letters = [make_letter() for _ in range(6)]
    for letter in letters:
        store.store(letter)
    own_redis.start()
    registry = store.registry
    calls = 0

    def add_then_fail(letter: DeadLetter) -> None:
        nonlocal calls
        calls += 1
        if calls == 4:
            raise redis.ConnectionError("cut")
        registry.add(letter)

    with pytest.raises(redis.ConnectionError):
        store.spill.drain(add_then_fail)
    assert registry.count() == 3
    assert store.spill.pending == 6
    assert store.drain() == 6
    assert registry.count() == 6
    assert store.spill.pending == 0


class Drained:
    """The actor's on_drained hook: an event set once `expected` letters were drained."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.total = 0
        self.done = threading.Event()

    def __call__(self, drained: int) -> None:
        self.total += drained
        if self.total >= self.expected:
            self.done.set()


@pytest.fixture
def stop_actors() -> Iterator[None]:
    yield
    pykka.ActorRegistry.stop_all()


FAST_RETRY = tenacity.wait_fixed(0.05)


@pytest.mark.usefixtures("stop_actors")
def test_actor_spills_during_an_outage_and_drains_when_redis_is_back(
    store: DeadLetterStore, own_redis: EmbeddedRedis
) -> None:
    drained = Drained(expected=5)
    ref = DeadLetterActor.start(store, drain_wait=FAST_RETRY, on_drained=drained)
    sink = ActorDeadLetterSink(ref)
    proxy = ref.proxy()
    sink.deliver(make_letter())
    assert proxy.get_stats().get(timeout=TIMEOUT)["stored"] == 1
    own_redis.stop()
    during = [make_letter() for _ in range(5)]
    for letter in during:
        sink.deliver(letter)
    stats = proxy.get_stats().get(timeout=TIMEOUT)
    assert stats["spilled"] == 5
    assert store.spill.path.exists()
    own_redis.start()
    assert drained.done.wait(timeout=TIMEOUT)
    after = make_letter()
    sink.deliver(after)
    stats = proxy.get_stats().get(timeout=TIMEOUT)
    assert (stats["drained"], stats["spill_pending"], stats["stored"]) == (5, 0, 2)
    # The restart without persistence lost the letter stored before the outage.
    expected = sorted([after.id, *(letter.id for letter in during)])
    assert sorted(store.registry.get_ids()) == expected
    assert not store.spill.path.exists()
    assert not store.spill.draining_path.exists()


@pytest.mark.usefixtures("stop_actors")
def test_actor_drains_a_spill_file_left_by_a_previous_run(
    client: redis.Redis, tmp_path: Path
) -> None:
    spill = SpillFile(tmp_path / "dlq.jsonl")
    left_over = [make_letter() for _ in range(3)]
    for letter in left_over:
        spill.append(letter)
    store = DeadLetterStore(DeadLetterRegistry(client, PREFIX), SpillFile(spill.path))
    drained = Drained(expected=3)
    DeadLetterActor.start(store, drain_wait=FAST_RETRY, on_drained=drained)
    assert drained.done.wait(timeout=TIMEOUT)
    assert sorted(store.registry.get_ids()) == sorted(letter.id for letter in left_over)
    assert store.spill.pending == 0


@pytest.mark.usefixtures("stop_actors")
def test_proxy_deliver_is_the_sink_method(client: redis.Redis, tmp_path: Path) -> None:
    store = DeadLetterStore(DeadLetterRegistry(client, PREFIX), SpillFile(tmp_path / "d.jsonl"))
    proxy = DeadLetterActor.start(store).proxy()
    letter = make_letter()
    proxy.deliver(letter).get(timeout=TIMEOUT)
    assert store.registry.get(letter.id) == letter


def test_drain_retries_back_off_as_the_policy_says(
    store: DeadLetterStore, own_redis: EmbeddedRedis
) -> None:
    own_redis.stop()
    store.store(make_letter())
    # Not started: the test thread calls the actor's methods itself, and the
    # delays are long enough that no timer fires meanwhile.
    actor = DeadLetterActor(store, drain_wait=tenacity.wait_exponential(multiplier=10, max=40))
    try:
        with capture_logs() as logs:
            for _ in range(4):
                actor.drain_spill()
    finally:
        actor.on_stop()
    failures = [e for e in logs if e["event"] == "dead_letter_drain_failed"]
    assert [e["retry_in"] for e in failures] == [10, 20, 40, 40]
    assert [e["attempt"] for e in failures] == [1, 2, 3, 4]
    assert store.spill.pending == 1


def test_no_secret_reaches_the_logs(store: DeadLetterStore, own_redis: EmbeddedRedis) -> None:
    with capture_logs() as logs:
        store.store(make_letter(error_message=SECRET_DSN, payload={"dsn": SECRET_DSN}))
        own_redis.stop()
        store.store(make_letter(traceback=SECRET_DSN))
        own_redis.start()
        store.drain()
    assert {e["event"] for e in logs} >= {"dead_letter_stored", "dead_letter_spilled"}
    assert "hunter2-secret" not in repr(logs)
    assert "hunter2-secret" not in repr(store.get_stats())

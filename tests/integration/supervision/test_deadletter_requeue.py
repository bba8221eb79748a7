"""Requeue: the target gets each letter once, and the letter goes only after that."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import redis

from supervision.deadletters import DeadLetter, DeadLetterRegistry, LetterFilter
from tests.integration.supervision.letters import RecordingRequeuer, make_letter


def test_requeue_puts_then_removes(registry: DeadLetterRegistry) -> None:
    letter = make_letter(original='{"type":"market_tick"}')
    registry.add(letter)
    target = RecordingRequeuer()
    assert registry.requeue(letter.id, target) is True
    assert target.received == [letter]
    assert registry.get(letter.id) is None
    assert registry.count() == 0


def test_requeue_twice_puts_once(registry: DeadLetterRegistry) -> None:
    letter = make_letter()
    registry.add(letter)
    target = RecordingRequeuer()
    assert registry.requeue(letter.id, target) is True
    assert registry.requeue(letter.id, target) is False
    report = registry.requeue_matching(LetterFilter(), target)
    assert report.requeued == ()
    assert target.ids == [letter.id]


def test_a_requeued_letter_is_not_stored_again(registry: DeadLetterRegistry) -> None:
    letter = make_letter()
    registry.add(letter)
    registry.requeue(letter.id, RecordingRequeuer())
    registry.add(letter)
    assert registry.count() == 0


def test_failed_put_keeps_the_letter_for_a_later_requeue(registry: DeadLetterRegistry) -> None:
    letter = make_letter()
    registry.add(letter)
    target = RecordingRequeuer()
    target.failing = True
    with pytest.raises(RuntimeError):
        registry.requeue(letter.id, target)
    assert registry.get(letter.id) == letter
    report = registry.requeue_matching(LetterFilter(), target)
    assert list(report.failed) == [letter.id]
    assert "target unavailable" in report.failed[letter.id]
    target.failing = False
    assert registry.requeue(letter.id, target) is True
    assert target.ids == [letter.id]


def test_concurrent_requeues_put_each_letter_once(registry: DeadLetterRegistry) -> None:
    letters = [make_letter() for _ in range(20)]
    for letter in letters:
        registry.add(letter)
    start = threading.Barrier(4)
    target = RecordingRequeuer()

    def requeue_all() -> tuple[str, ...]:
        start.wait(timeout=10)
        return registry.requeue_matching(LetterFilter(), target).requeued

    with ThreadPoolExecutor(4) as pool:
        reports = [f.result(timeout=30) for f in [pool.submit(requeue_all) for _ in range(4)]]
    assert sorted(target.ids) == sorted(letter.id for letter in letters)
    assert sorted(i for r in reports for i in r) == sorted(target.ids)
    assert registry.count() == 0


class SlowRequeuer(RecordingRequeuer):
    """Holds the put open until released, so a second requeue meets the claim."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.release = threading.Event()

    def put(self, letter: DeadLetter) -> None:
        self.entered.set()
        assert self.release.wait(timeout=10)
        super().put(letter)


def test_a_letter_being_requeued_is_skipped(registry: DeadLetterRegistry) -> None:
    letter = make_letter()
    registry.add(letter)
    target = SlowRequeuer()
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(registry.requeue, letter.id, target)
        assert target.entered.wait(timeout=10)
        assert registry.requeue(letter.id, RecordingRequeuer()) is False
        assert registry.client.hget(registry.keys.letter(letter.id), "state") == b"requeuing"
        target.release.set()
        assert first.result(timeout=10) is True
    assert target.ids == [letter.id]


def test_a_stale_claim_is_retried_with_the_same_letter_id(
    redis_client: redis.Redis, redis_prefix: str
) -> None:
    """A requeue that crashed after its put leaves a claim; after the timeout the letter
    is put again with the same id, which is what lets the target dedupe."""
    now = [datetime.now(UTC)]
    registry = DeadLetterRegistry(
        redis_client, redis_prefix, claim_timeout=timedelta(minutes=5), clock=lambda: now[0]
    )
    letter = make_letter()
    registry.add(letter)
    crashed = registry._claim(
        args=[registry.keys.base, letter.id, repr(now[0].timestamp()), "0", "crashed-token"]
    )
    assert crashed[0] == b"claimed"
    target = RecordingRequeuer()
    assert registry.requeue(letter.id, target) is False
    now[0] += timedelta(minutes=6)
    assert registry.requeue(letter.id, target) is True
    assert target.ids == [letter.id]
    assert registry.count() == 0

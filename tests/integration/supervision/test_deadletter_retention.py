"""Retention by count and by age: the dead set never grows without bound (rq#964)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import redis

from supervision.deadletters import DeadLetterRegistry, RetentionPolicy
from tests.integration.supervision.letters import BASE_TIME, make_letter


def test_defaults_are_ten_thousand_letters_and_thirty_days() -> None:
    policy = RetentionPolicy()
    assert (policy.max_entries, policy.max_age) == (10_000, timedelta(days=30))


def test_add_drops_the_oldest_beyond_max_entries(
    redis_client: redis.Redis, redis_prefix: str
) -> None:
    registry = DeadLetterRegistry(
        redis_client, redis_prefix, retention=RetentionPolicy(max_entries=5)
    )
    letters = [make_letter(at=datetime.now(UTC) - timedelta(minutes=10 - i)) for i in range(8)]
    for letter in letters:
        registry.add(letter)
    assert set(registry.get_ids()) == {letter.id for letter in letters[3:]}
    assert registry.stats().total == 5
    assert registry.stats().by_actor == {"portfolio": 5}
    for letter in letters[:3]:
        assert not redis_client.exists(registry.keys.letter(letter.id))
        assert redis_client.zscore(registry.keys.actor("portfolio"), letter.id) is None


def test_add_drops_letters_older_than_max_age(redis_client: redis.Redis, redis_prefix: str) -> None:
    now = datetime.now(UTC)
    registry = DeadLetterRegistry(
        redis_client, redis_prefix, retention=RetentionPolicy(max_age=timedelta(days=1))
    )
    old = make_letter(at=now - timedelta(days=2))
    young = make_letter(at=now - timedelta(hours=1))
    registry.add(old)
    registry.add(young)
    assert registry.get_ids() == [young.id]
    assert registry.stats().by_error_type == {"ValueError": 1}


def test_cleanup_applies_retention_as_time_passes(
    redis_client: redis.Redis, redis_prefix: str
) -> None:
    now = [BASE_TIME]
    registry = DeadLetterRegistry(
        redis_client,
        redis_prefix,
        retention=RetentionPolicy(max_age=timedelta(days=30)),
        clock=lambda: now[0],
    )
    letters = [make_letter(at=BASE_TIME - timedelta(days=d)) for d in (0, 10, 20)]
    for letter in letters:
        registry.add(letter)
    assert registry.cleanup() == 0
    now[0] = BASE_TIME + timedelta(days=15)
    assert registry.cleanup() == 1
    assert set(registry.get_ids()) == {letters[0].id, letters[1].id}
    now[0] = BASE_TIME + timedelta(days=31)
    assert registry.cleanup() == 2
    assert registry.stats().total == 0
    assert redis_client.hgetall(registry.keys.stats) == {}


def test_cleanup_trims_by_count_in_batches(redis_client: redis.Redis, redis_prefix: str) -> None:
    registry = DeadLetterRegistry(redis_client, redis_prefix)
    letters = [make_letter(at=datetime.now(UTC) - timedelta(seconds=i)) for i in range(1_500)]
    pipe = redis_client.pipeline()
    for letter in letters:
        registry.add(letter, pipeline=pipe)
    pipe.execute()
    smaller = DeadLetterRegistry(
        redis_client, redis_prefix, retention=RetentionPolicy(max_entries=200)
    )
    assert smaller.cleanup() == 1_300
    assert set(smaller.get_ids()) == {letter.id for letter in letters[:200]}


def test_tombstones_expire_with_max_age(redis_client: redis.Redis, redis_prefix: str) -> None:
    now = [BASE_TIME]
    registry = DeadLetterRegistry(
        redis_client,
        redis_prefix,
        retention=RetentionPolicy(max_age=timedelta(days=1)),
        clock=lambda: now[0],
    )
    letter = make_letter(at=BASE_TIME)
    registry.add(letter)
    registry.remove(letter.id)
    assert redis_client.zcard(registry.keys.removed) == 1
    now[0] = BASE_TIME + timedelta(days=2)
    registry.cleanup()
    assert redis_client.zcard(registry.keys.removed) == 0

"""Every registry verb against a real Redis."""

from __future__ import annotations

import json
from datetime import timedelta

import redis

from supervision.deadletters import DeadLetterRegistry, LetterFilter
from supervision.deadletters.registry import ADDED, ALREADY_STORED, REMOVED_BEFORE
from tests.integration.supervision.letters import BASE_TIME, make_letter


def test_add_then_get_returns_the_letter(registry: DeadLetterRegistry) -> None:
    letter = make_letter(payload={"quantity": 3}, original='{"type":"order_filled"}')
    assert registry.add(letter) == ADDED
    assert registry.get(letter.id) == letter
    assert registry.get("no-such-id") is None


def test_add_is_idempotent_by_id(registry: DeadLetterRegistry) -> None:
    letter = make_letter()
    assert registry.add(letter) == ADDED
    assert registry.add(letter) == ALREADY_STORED
    assert registry.count() == 1
    assert registry.stats().by_actor == {"portfolio": 1}


def test_a_removed_letter_is_not_stored_again(registry: DeadLetterRegistry) -> None:
    letter = make_letter()
    registry.add(letter)
    assert registry.remove(letter.id) is True
    assert registry.remove(letter.id) is False
    assert registry.add(letter) == REMOVED_BEFORE
    assert registry.get(letter.id) is None
    assert registry.count() == 0


def test_add_and_remove_take_a_pipeline(registry: DeadLetterRegistry) -> None:
    first, second = make_letter(), make_letter()
    pipe = registry.client.pipeline()
    registry.add(first, pipeline=pipe)
    registry.add(second, pipeline=pipe)
    assert registry.count() == 0
    assert pipe.execute() == [ADDED, ADDED]
    assert registry.count() == 2
    pipe = registry.client.pipeline()
    registry.remove(first.id, pipeline=pipe)
    assert pipe.execute() == [1]
    assert registry.get_ids() == [second.id]


def test_layout_in_redis(registry: DeadLetterRegistry, redis_client: redis.Redis) -> None:
    letter = make_letter(actor="journal", error_type="KeyError", at=BASE_TIME)
    registry.add(letter)
    keys = registry.keys
    raw = redis_client.hgetall(keys.letter(letter.id))
    assert raw[b"actor"] == b"journal"
    assert raw[b"error_type"] == b"KeyError"
    assert raw[b"state"] == b"dead"
    assert json.loads(raw[b"data"])["id"] == letter.id
    score = BASE_TIME.timestamp()
    assert redis_client.zscore(keys.index, letter.id) == score
    assert redis_client.zscore(keys.actor("journal"), letter.id) == score
    assert redis_client.zscore(keys.error_type("KeyError"), letter.id) == score
    assert redis_client.hgetall(keys.stats) == {b"actor:journal": b"1", b"error:KeyError": b"1"}
    stored_keys = [k.decode() for k in redis_client.keys(f"{keys.prefix}*") if isinstance(k, bytes)]
    assert stored_keys
    assert all(k.startswith(f"{keys.prefix}:dlq:") for k in stored_keys)


def test_list_is_newest_first_and_pages(registry: DeadLetterRegistry) -> None:
    letters = [make_letter(at=BASE_TIME + timedelta(minutes=i)) for i in range(7)]
    for letter in letters:
        registry.add(letter)
    newest_first = [letter.id for letter in reversed(letters)]
    assert [letter.id for letter in registry.list()] == newest_first
    assert [letter.id for letter in registry.list(limit=3)] == newest_first[:3]
    assert [letter.id for letter in registry.list(limit=3, offset=3)] == newest_first[3:6]
    assert [letter.id for letter in registry.list(limit=3, offset=6)] == newest_first[6:]


def test_list_and_count_filter_by_actor_error_and_time(registry: DeadLetterRegistry) -> None:
    a = make_letter(actor="journal", error_type="KeyError", at=BASE_TIME)
    b = make_letter(actor="journal", error_type="ValueError", at=BASE_TIME + timedelta(hours=1))
    c = make_letter(actor="session", error_type="KeyError", at=BASE_TIME + timedelta(hours=2))
    for letter in (a, b, c):
        registry.add(letter)

    def ids(where: LetterFilter) -> set[str]:
        listed = {letter.id for letter in registry.list(where)}
        assert registry.count(where) == len(listed)
        return listed

    assert ids(LetterFilter(actor="journal")) == {a.id, b.id}
    assert ids(LetterFilter(error_type="KeyError")) == {a.id, c.id}
    assert ids(LetterFilter(actor="journal", error_type="KeyError")) == {a.id}
    assert ids(LetterFilter(since=BASE_TIME + timedelta(hours=1))) == {b.id, c.id}
    assert ids(LetterFilter(until=BASE_TIME + timedelta(hours=1))) == {a.id}
    assert ids(LetterFilter(actor="nobody")) == set()
    assert ids(LetterFilter()) == {a.id, b.id, c.id}


def test_purge_removes_only_the_matching_letters(registry: DeadLetterRegistry) -> None:
    keep = make_letter(actor="session")
    drop = [make_letter(actor="journal") for _ in range(3)]
    for letter in (keep, *drop):
        registry.add(letter)
    assert registry.purge(LetterFilter(actor="journal")) == 3
    assert registry.get_ids() == [keep.id]
    assert registry.stats().by_actor == {"session": 1}


def test_stats_counts_by_actor_and_error_type(registry: DeadLetterRegistry) -> None:
    assert registry.stats().total == 0
    assert registry.stats().oldest is None
    registry.add(make_letter(actor="journal", error_type="KeyError", at=BASE_TIME))
    registry.add(make_letter(actor="journal", error_type="ValueError"))
    last = make_letter(actor="session", error_type="KeyError", at=BASE_TIME + timedelta(days=2))
    registry.add(last)
    stats = registry.stats()
    assert stats.total == 3
    assert stats.by_actor == {"journal": 2, "session": 1}
    assert stats.by_error_type == {"KeyError": 2, "ValueError": 1}
    assert stats.oldest == BASE_TIME
    assert stats.newest is not None
    assert stats.newest > last.last_failed_at
    registry.purge(LetterFilter(error_type="KeyError"))
    stats = registry.stats()
    assert (stats.total, stats.by_actor, stats.by_error_type) == (
        1,
        {"journal": 1},
        {"ValueError": 1},
    )

"""Bulk operations act on exactly the letters their filter matches (sidekiq#3243)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from supervision.deadletters import DeadLetter, DeadLetterRegistry, LetterFilter
from tests.integration.supervision.letters import BASE_TIME, RecordingRequeuer, make_letter

ACTORS = ("journal", "session", "portfolio:paper:p1")
ERRORS = ("KeyError", "ValueError", "ValidationError")
# A narrow range of whole minutes, so letters often sit exactly on a bound.
MINUTES = st.integers(min_value=0, max_value=8)

letters_strategy = st.lists(
    st.builds(
        lambda actor, error, minute: make_letter(
            actor=actor, error_type=error, at=BASE_TIME + timedelta(minutes=minute)
        ),
        st.sampled_from(ACTORS),
        st.sampled_from(ERRORS),
        MINUTES,
    ),
    max_size=30,
)


def _moment() -> st.SearchStrategy[datetime | None]:
    return st.none() | MINUTES.map(lambda m: BASE_TIME + timedelta(minutes=m))


filters_strategy = st.builds(
    LetterFilter,
    actor=st.none() | st.sampled_from((*ACTORS, "nobody")),
    error_type=st.none() | st.sampled_from(ERRORS),
    since=_moment(),
    until=_moment(),
)


def expected(letters: list[DeadLetter], where: LetterFilter) -> set[str]:
    """The model: the filter written out independently of the code under test."""
    return {
        letter.id
        for letter in letters
        if (where.actor is None or letter.actor == where.actor)
        and (where.error_type is None or letter.error_type == where.error_type)
        and (where.since is None or letter.last_failed_at >= where.since)
        and (where.until is None or letter.last_failed_at < where.until)
    }


def fresh_registry(
    client: redis.Redis, prefix: str, letters: list[DeadLetter]
) -> DeadLetterRegistry:
    registry = DeadLetterRegistry(client, f"{prefix}:{uuid.uuid4().hex[:8]}")
    for letter in letters:
        registry.add(letter)
    return registry


# Each example works under a prefix of its own inside the test's prefix, so
# sharing the function-scoped client across examples is safe.
examples = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@examples
@given(letters=letters_strategy, where=filters_strategy)
def test_list_and_count_match_the_model(
    redis_client: redis.Redis, redis_prefix: str, letters: list[DeadLetter], where: LetterFilter
) -> None:
    registry = fresh_registry(redis_client, redis_prefix, letters)
    listed = registry.list(where, limit=1000)
    assert {letter.id for letter in listed} == expected(letters, where)
    assert registry.count(where) == len(listed)
    times = [letter.last_failed_at for letter in listed]
    assert times == sorted(times, reverse=True)


@examples
@given(letters=letters_strategy, where=filters_strategy)
def test_requeue_acts_on_exactly_the_matching_letters(
    redis_client: redis.Redis, redis_prefix: str, letters: list[DeadLetter], where: LetterFilter
) -> None:
    registry = fresh_registry(redis_client, redis_prefix, letters)
    target = RecordingRequeuer()
    report = registry.requeue_matching(where, target)
    matching = expected(letters, where)
    assert set(target.ids) == matching
    assert len(target.ids) == len(matching)
    assert set(report.requeued) == matching
    assert set(registry.get_ids()) == {letter.id for letter in letters} - matching


@examples
@given(letters=letters_strategy, where=filters_strategy)
def test_purge_acts_on_exactly_the_matching_letters(
    redis_client: redis.Redis, redis_prefix: str, letters: list[DeadLetter], where: LetterFilter
) -> None:
    registry = fresh_registry(redis_client, redis_prefix, letters)
    matching = expected(letters, where)
    assert registry.purge(where) == len(matching)
    untouched = [letter for letter in letters if letter.id not in matching]
    assert {letter.id for letter in registry.list(limit=1000)} == {kept.id for kept in untouched}
    assert all(registry.get(letter.id) == letter for letter in untouched)
    assert registry.stats().total == len(untouched)


@examples
@given(letters=letters_strategy, where=filters_strategy, page=st.integers(1, 7))
def test_paging_walks_the_filtered_letters_once(
    redis_client: redis.Redis,
    redis_prefix: str,
    letters: list[DeadLetter],
    where: LetterFilter,
    page: int,
) -> None:
    registry = fresh_registry(redis_client, redis_prefix, letters)
    seen: list[str] = []
    while batch := registry.get_ids(where, limit=page, offset=len(seen)):
        seen.extend(batch)
    assert len(seen) == len(set(seen))
    assert set(seen) == expected(letters, where)

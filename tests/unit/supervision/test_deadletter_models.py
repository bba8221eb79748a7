"""Filters, retention settings and the drain backoff."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import tenacity
from pydantic import ValidationError

from supervision.deadletters import DeadLetter, LetterFilter, RetentionPolicy
from supervision.deadletters.actor import (
    DEFAULT_DRAIN_WAIT,
    DRAIN_JITTER_SECONDS,
    DRAIN_MAX_DELAY_SECONDS,
    drain_delay,
)

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def test_filter_bounds_are_since_inclusive_until_exclusive() -> None:
    letter = DeadLetter(actor="a", message_type="m", error_type="E", last_failed_at=T0)
    assert LetterFilter(since=T0).matches(letter)
    assert not LetterFilter(until=T0).matches(letter)
    assert LetterFilter(until=T0 + timedelta(microseconds=1)).matches(letter)
    assert not LetterFilter(actor="b").matches(letter)
    assert LetterFilter(actor="a", error_type="E").matches(letter)


def test_naive_times_are_taken_as_utc() -> None:
    letter = DeadLetter(actor="a", message_type="m", last_failed_at=T0.replace(tzinfo=None))
    assert LetterFilter(since=T0, until=T0 + timedelta(seconds=1)).matches(letter)


def test_retention_rejects_nonsense() -> None:
    with pytest.raises(ValidationError):
        RetentionPolicy(max_entries=0)
    with pytest.raises(ValidationError):
        RetentionPolicy(max_age=timedelta(0))


def test_drain_backoff_grows_and_is_capped() -> None:
    assert drain_delay(tenacity.wait_exponential(multiplier=1, max=8), 1) == 1
    assert drain_delay(tenacity.wait_exponential(multiplier=1, max=8), 3) == 4
    assert drain_delay(tenacity.wait_exponential(multiplier=1, max=8), 10) == 8
    delays = [drain_delay(DEFAULT_DRAIN_WAIT, n) for n in range(1, 20)]
    assert all(0 < d <= DRAIN_MAX_DELAY_SECONDS + DRAIN_JITTER_SECONDS for d in delays)
    assert delays[-1] >= DRAIN_MAX_DELAY_SECONDS

"""Daily wall-clock times and retry delays of actors' own schedules."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.schedule import next_daily, parse_clock, retry_delay
from actors.session_expiry import KITE_ZONE

MOMENTS = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
TIMES = st.times().map(lambda t: t.replace(second=0, microsecond=0))


@given(now=MOMENTS, at=TIMES)
def test_next_daily_is_the_first_matching_wall_clock_instant_after_now(
    now: datetime, at: time
) -> None:
    due = next_daily(at, now, KITE_ZONE)
    assert now < due <= now + timedelta(days=1)
    local = due.astimezone(KITE_ZONE)
    assert (local.hour, local.minute, local.second, local.microsecond) == (at.hour, at.minute, 0, 0)


def test_next_daily_at_the_exact_time_means_tomorrow() -> None:
    now = datetime(2026, 11, 27, 8, 30, tzinfo=KITE_ZONE)
    assert next_daily(time(8, 30), now, KITE_ZONE) == now + timedelta(days=1)
    assert next_daily(time(8, 30), now - timedelta(seconds=1), KITE_ZONE) == now


def test_next_daily_refuses_a_naive_now() -> None:
    with pytest.raises(ValueError, match="aware"):
        next_daily(time(8, 30), datetime(2026, 11, 27, 8, 0), KITE_ZONE)


@pytest.mark.parametrize(
    ("text", "expected"), [("08:30", time(8, 30)), ("0:05", time(0, 5)), (" 23:59 ", time(23, 59))]
)
def test_parse_clock(text: str, expected: time) -> None:
    assert parse_clock(text) == expected


@pytest.mark.parametrize("text", ["24:00", "8.30", "08:60", "", "08:30:00"])
def test_parse_clock_refuses_other_text(text: str) -> None:
    with pytest.raises(ValueError, match="HH:MM"):
        parse_clock(text)


@given(failures=st.integers(min_value=1, max_value=200))
def test_retry_delays_grow_and_stay_capped(failures: int) -> None:
    delay = retry_delay(failures, 5.0, 3600.0)
    assert 5.0 <= delay <= 3600.0
    assert retry_delay(failures + 1, 5.0, 3600.0) >= delay

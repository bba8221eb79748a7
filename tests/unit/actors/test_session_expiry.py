"""A Kite access token dies at the first 06:00 Asia/Kolkata after the login."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.session_expiry import KITE_ZONE, access_token_expiry, kite_login_time


def _ist(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=KITE_ZONE)


@pytest.mark.parametrize(
    ("login", "expiry"),
    [
        (_ist("2026-11-27 10:00:00"), _ist("2026-11-28 06:00:00")),
        (_ist("2026-11-27 23:59:59"), _ist("2026-11-28 06:00:00")),
        (_ist("2026-11-27 03:00:00"), _ist("2026-11-27 06:00:00")),
        (_ist("2026-11-27 05:59:59"), _ist("2026-11-27 06:00:00")),
        (_ist("2026-11-27 06:00:00"), _ist("2026-11-28 06:00:00")),
        (_ist("2026-12-31 18:30:00"), _ist("2027-01-01 06:00:00")),
    ],
)
def test_expiry_is_the_first_six_am_in_kolkata_after_login(
    login: datetime, expiry: datetime
) -> None:
    result = access_token_expiry(login)
    assert result == expiry
    assert result.tzinfo is UTC


def test_expiry_is_the_same_instant_whatever_zone_the_login_is_given_in() -> None:
    login_utc = datetime(2026, 11, 27, 4, 30, tzinfo=UTC)
    assert access_token_expiry(login_utc) == datetime(2026, 11, 28, 0, 30, tzinfo=UTC)


def test_a_naive_login_time_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        access_token_expiry(datetime(2026, 11, 27, 10, 0))


def test_kite_login_time_is_local_to_kolkata() -> None:
    expected = datetime(2026, 11, 27, 4, 30, tzinfo=UTC)
    assert kite_login_time("2026-11-27 10:00:00") == expected
    assert kite_login_time(datetime(2026, 11, 27, 10, 0)) == expected
    assert kite_login_time(expected) == expected


logins = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2100, 1, 1),
    timezones=st.just(UTC),
)


@given(logins)
def test_expiry_is_after_login_within_a_day_and_at_six_am_ist(login: datetime) -> None:
    expiry = access_token_expiry(login)
    assert login < expiry <= login + timedelta(hours=24)
    assert expiry.astimezone(KITE_ZONE).time() == time(6, 0)
    assert expiry.tzinfo is UTC


@given(logins)
def test_no_earlier_cutoff_lies_between_login_and_expiry(login: datetime) -> None:
    expiry = access_token_expiry(login)
    assert expiry - timedelta(days=1) <= login

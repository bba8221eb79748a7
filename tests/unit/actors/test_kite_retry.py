"""What the Kite gateway retries, how long it waits, and its client-side rate limit."""

from __future__ import annotations

import threading

import kiteconnect.exceptions as kite_errors
import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st

from actors.kite import RetryPolicy, TokenBucket, is_transient
from actors.kite.retry import DEFAULT_BACKOFF_MAX_S, DEFAULT_MAX_ATTEMPTS


@pytest.mark.parametrize(
    "error",
    [
        kite_errors.NetworkException("Too many requests", code=429),
        kite_errors.NetworkException("Service unavailable", code=503),
        kite_errors.GeneralException("Something went wrong", code=500),
        kite_errors.DataException("Unknown response", code=502),
        requests.exceptions.ConnectionError("refused"),
        requests.exceptions.ReadTimeout("slow"),
        requests.exceptions.ChunkedEncodingError("cut"),
    ],
)
def test_transient_failures_are_retried(error: BaseException) -> None:
    assert is_transient(error)


@pytest.mark.parametrize(
    "error",
    [
        kite_errors.TokenException("Invalid session", code=403),
        kite_errors.TokenException("odd status", code=500),
        kite_errors.InputException("Invalid `exchange`", code=400),
        kite_errors.PermissionException("Insufficient permission", code=403),
        kite_errors.OrderException("Order rejected", code=400),
        kite_errors.GeneralException("Route not found", code=404),
        requests.exceptions.InvalidURL("bad"),
        ValueError("not a network failure"),
    ],
)
def test_answers_are_not_retried(error: BaseException) -> None:
    assert not is_transient(error)


def test_backoff_doubles_from_the_base_up_to_the_cap() -> None:
    policy = RetryPolicy(max_attempts=6, backoff_base_s=0.5, backoff_max_s=3.0)
    assert [policy.wait_before_retry(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_default_policy_is_bounded() -> None:
    policy = RetryPolicy()
    assert policy.max_attempts == DEFAULT_MAX_ATTEMPTS
    total = sum(policy.wait_before_retry(n) for n in range(1, policy.max_attempts))
    assert total <= DEFAULT_BACKOFF_MAX_S * (policy.max_attempts - 1)


@pytest.mark.parametrize(
    "arguments",
    [
        {"max_attempts": 0},
        {"backoff_base_s": -1.0},
        {"backoff_base_s": 2.0, "backoff_max_s": 1.0},
    ],
)
def test_nonsense_policies_are_refused(arguments: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must"):
        RetryPolicy(**arguments)  # type: ignore[arg-type]


class FrozenClock:
    """A clock that moves only when the bucket sleeps or the test advances it."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_bucket_allows_a_burst_then_spaces_requests_at_the_rate() -> None:
    clock = FrozenClock()
    bucket = TokenBucket(rate=10, clock=clock, sleep=clock.sleep)
    waits = [bucket.acquire() for _ in range(12)]
    assert waits[:10] == [0.0] * 10
    assert waits[10:] == pytest.approx([0.1, 0.1])
    assert clock.sleeps == pytest.approx([0.1, 0.1])


def test_bucket_refills_while_idle_but_not_beyond_capacity() -> None:
    clock = FrozenClock()
    bucket = TokenBucket(rate=10, capacity=2, clock=clock, sleep=clock.sleep)
    bucket.acquire()
    bucket.acquire()
    clock.now += 60
    assert [bucket.acquire() for _ in range(3)] == pytest.approx([0.0, 0.0, 0.1])


@given(
    st.integers(min_value=1, max_value=200),
    st.floats(min_value=0.5, max_value=50),
    st.integers(min_value=1, max_value=20),
)
def test_bucket_never_exceeds_its_rate(requests_made: int, rate: float, burst: int) -> None:
    clock = FrozenClock()
    bucket = TokenBucket(rate=rate, capacity=burst, clock=clock, sleep=clock.sleep)
    start = clock.now
    for _ in range(requests_made):
        bucket.acquire()
    # n requests need (n - burst) / rate seconds after the burst.
    assert clock.now - start >= (requests_made - burst) / rate - 1e-9


def test_bucket_is_shared_safely_between_threads() -> None:
    # The clock stands still, so each waiter reserves the next slot in the queue:
    # with no lost update, 40 acquisitions from a bucket of 10 wait exactly
    # 0.1, 0.2, ... 3.0 seconds, whatever the interleaving.
    waits: list[float] = []
    lock = threading.Lock()

    def record(seconds: float) -> None:
        with lock:
            waits.append(seconds)

    bucket = TokenBucket(rate=10, clock=lambda: 100.0, sleep=record)
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait(timeout=10)
        for _ in range(5):
            bucket.acquire()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert sorted(waits) == pytest.approx([k / 10 for k in range(1, 31)])


def test_bucket_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="rate"):
        TokenBucket(rate=0)
    with pytest.raises(ValueError, match="capacity"):
        TokenBucket(rate=1, capacity=0.5)

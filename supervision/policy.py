"""Child specifications, restart types and strategies, intensity and backoff."""

from __future__ import annotations

import enum
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import tenacity
from tenacity.wait import wait_base

from supervision.redaction import DEFAULT_REDACTOR, Redactor

if TYPE_CHECKING:
    from supervision.deadletters.letter import DeadLetterSink

DEFAULT_MAX_ATTEMPTS = 3
DEFAULT_MAILBOX_SIZE = 1000
DEFAULT_SEND_TIMEOUT_SECONDS = 5.0
DEFAULT_ASK_TIMEOUT_SECONDS = 10.0
DEFAULT_SHUTDOWN_TIMEOUT_SECONDS = 10.0
DEFAULT_MAX_RESTARTS = 10
DEFAULT_WITHIN_SECONDS = 60.0
BACKOFF_INITIAL_SECONDS = 0.1
BACKOFF_MAX_SECONDS = 5.0
BACKOFF_JITTER_SECONDS = 0.1
BACKOFF_RESET_AFTER_SECONDS = 30.0


class Restart(enum.StrEnum):
    """When a child is restarted (Erlang/OTP's restart types)."""

    PERMANENT = "permanent"
    """Always restarted, whether it failed or stopped normally."""
    TRANSIENT = "transient"
    """Restarted only after a failure."""
    TEMPORARY = "temporary"
    """Never restarted."""


class Strategy(enum.StrEnum):
    """Which children are restarted when one fails."""

    ONE_FOR_ONE = "one_for_one"
    """Only the failed child."""
    REST_FOR_ONE = "rest_for_one"
    """The failed child and every child started after it."""


@dataclass(frozen=True)
class ChildSpec:
    """How to build, restart and stop one child of a `Supervisor`.

    `factory` returns a fresh `SupervisedActor` each time the child (re)starts,
    or, with `subtree=True`, a fresh `Supervisor` / `KeyedSupervisor` whose
    escalation counts as this child's failure.
    """

    name: str
    factory: Callable[[], Any]
    restart: Restart = Restart.PERMANENT
    shutdown_timeout: float = DEFAULT_SHUTDOWN_TIMEOUT_SECONDS
    mailbox_size: int = DEFAULT_MAILBOX_SIZE
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    subtree: bool = False


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with jitter between restarts, reset after a quiet period."""

    wait: wait_base = field(
        default_factory=lambda: tenacity.wait_exponential_jitter(
            multiplier=BACKOFF_INITIAL_SECONDS,
            max=BACKOFF_MAX_SECONDS,
            jitter=BACKOFF_JITTER_SECONDS,
        )
    )
    reset_after: float = BACKOFF_RESET_AFTER_SECONDS

    def delay(self, consecutive: int) -> float:
        """Seconds to wait before restart number `consecutive` (1-based) of a child."""
        state = tenacity.RetryCallState(tenacity.Retrying(), None, (), {})
        state.attempt_number = consecutive
        return float(self.wait(state))


@dataclass(frozen=True)
class RuntimeConfig:
    """Settings shared by a whole supervision tree (children inherit their parent's)."""

    dead_letters: DeadLetterSink | None = None
    version: str = ""
    redactor: Redactor = DEFAULT_REDACTOR
    send_timeout: float = DEFAULT_SEND_TIMEOUT_SECONDS
    ask_timeout: float = DEFAULT_ASK_TIMEOUT_SECONDS
    backoff: Backoff = field(default_factory=Backoff)


class RestartIntensity:
    """At most `max_restarts` restarts within `within` seconds (Erlang's intensity/period)."""

    def __init__(self, max_restarts: int, within: float) -> None:
        self.max_restarts = max_restarts
        self.within = within
        self._times: deque[float] = deque()

    def record(self, now: float | None = None) -> bool:
        """Count one restart; False when it exceeds the intensity."""
        now = time.monotonic() if now is None else now
        times = self._times
        times.append(now)
        while times and times[0] < now - self.within:
            times.popleft()
        return len(times) <= self.max_restarts

    def count(self) -> int:
        """Restarts counted in the current window."""
        now = time.monotonic()
        return sum(1 for t in self._times if t >= now - self.within)

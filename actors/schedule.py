"""Messages an actor sends itself later: intervals, daily wall-clock times, retries.

An actor gets a stable handle to itself (`myself`) from the wiring and keeps
a `SelfTimers`; each timer tells the handle a message when it fires. Timers of
a crashed incarnation are not cancelled (its `on_stop` never runs), so the
messages carry the incarnation number and a new incarnation ignores the old ones.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Callable
from datetime import datetime, time, timedelta, tzinfo
from typing import Any, Protocol

import structlog

from supervision.errors import ActorStopped, MailboxFull

log = structlog.get_logger(__name__)

_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_incarnations = itertools.count(1)
SEND_TIMEOUT_SECONDS = 5.0


class Teller(Protocol):
    """Anything that takes a message: a supervised actor's ActorHandle."""

    def tell(self, message: Any, timeout: float | None = None) -> None:
        """Queue `message`."""


def next_incarnation() -> int:
    """A number no other actor incarnation in this process has."""
    return next(_incarnations)


def parse_clock(text: str) -> time:
    """`HH:MM` (24-hour) as a time of day; ValueError otherwise."""
    found = _CLOCK.match(text.strip())
    if found is None:
        raise ValueError(f"expected a time of day as HH:MM, got {text!r}")
    return time(int(found.group(1)), int(found.group(2)))


def next_daily(at: time, now: datetime, zone: tzinfo) -> datetime:
    """The first instant strictly after `now` when the clock in `zone` shows `at`."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    local = now.astimezone(zone)
    candidate = datetime.combine(local.date(), at, tzinfo=zone)
    if candidate <= local:
        candidate = datetime.combine(local.date() + timedelta(days=1), at, tzinfo=zone)
    return candidate


def retry_delay(failures: int, base: float, cap: float) -> float:
    """Seconds before retry number `failures` (1-based): base, 2*base, 4*base ... up to cap."""
    return float(min(cap, base * 2 ** max(0, failures - 1)))


class SelfTimers:
    """Timers that tell an actor's own handle a message; `myself=None` disables them."""

    def __init__(self, myself: Callable[[], Teller] | None, name: str) -> None:
        self._myself = myself
        self._name = name
        self._timers: set[threading.Timer] = set()
        self._lock = threading.Lock()
        self._stopped = False

    @property
    def enabled(self) -> bool:
        return self._myself is not None

    def later(self, delay: float, message: Any) -> None:
        """Tell `message` to the actor after `delay` seconds."""
        myself = self._myself
        if myself is None:
            return

        def fire() -> None:
            with self._lock:
                self._timers.discard(timer)
                if self._stopped:
                    return
            try:
                myself().tell(message, timeout=SEND_TIMEOUT_SECONDS)
            except MailboxFull:
                # A busy actor must not lose its schedule: the chain of timers would end.
                log.warning("scheduled_message_delayed", actor=self._name)
                self.later(SEND_TIMEOUT_SECONDS, message)
            except ActorStopped:
                log.info("scheduled_message_dropped", actor=self._name)

        timer = threading.Timer(max(0.0, delay), fire)
        timer.name = f"{self._name}-timer"
        timer.daemon = True
        with self._lock:
            if self._stopped:
                return
            self._timers.add(timer)
        timer.start()

    def cancel_all(self) -> None:
        """Cancel every pending timer; later ones are not started."""
        with self._lock:
            self._stopped = True
            timers = list(self._timers)
            self._timers.clear()
        for timer in timers:
            timer.cancel()

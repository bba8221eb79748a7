"""Building dead letters for the tests."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from supervision.deadletters import DeadLetter

BASE_TIME = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def make_letter(
    actor: str = "portfolio",
    error_type: str = "ValueError",
    at: datetime | None = None,
    **fields: Any,
) -> DeadLetter:
    """A letter of `actor` failing with `error_type` at `at` (default: now)."""
    moment = at or datetime.now(UTC)
    defaults: dict[str, Any] = {
        "message_type": "OrderFilled",
        "error_message": f"{error_type}: boom",
        "first_failed_at": moment - timedelta(seconds=1),
        "attempts": 3,
    }
    return DeadLetter(
        actor=actor, error_type=error_type, last_failed_at=moment, **(defaults | fields)
    )


class RecordingRequeuer:
    """A requeue target that remembers what it got; fails while `failing` is set."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received: list[DeadLetter] = []
        self.failing = False

    def put(self, letter: DeadLetter) -> None:
        if self.failing:
            raise RuntimeError("target unavailable")
        with self.lock:
            self.received.append(letter)

    @property
    def ids(self) -> list[str]:
        with self.lock:
            return [letter.id for letter in self.received]

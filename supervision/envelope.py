"""The envelope every user message travels in: id, attempt count, first seen, reply slot."""

from __future__ import annotations

import contextlib
import itertools
import time
from concurrent.futures import Future, InvalidStateError
from typing import Any

import pykka

_ids = itertools.count(1)


class Envelope:
    """One message accepted into a mailbox, carried unchanged across restarts.

    `message` points at the envelope itself and `reply_to` is always None so
    that pykka's loop hands the envelope to the host untouched; replies go
    through `future`, which the runtime sets exactly once.
    """

    __slots__ = (
        "attempts",
        "first_failed_at",
        "first_seen",
        "future",
        "id",
        "message",
        "payload",
        "reply_to",
    )

    def __init__(self, payload: Any, future: pykka.ThreadingFuture[Any] | None = None) -> None:
        self.payload = payload
        self.future = future
        self.id = next(_ids)
        self.attempts = 0
        self.first_seen = time.time()
        self.first_failed_at: float | None = None
        self.message = self
        self.reply_to = None

    def reply(self, value: Any) -> None:
        """Send the handler's result to a waiting ask, if any."""
        if self.future is not None:
            self.future.set(value)

    def fail(self, error: BaseException) -> None:
        """Send an error to whoever waits for this message: an ask, or a told reply slot.

        A told message may carry its own `reply` Future (a command answered after a
        group commit, say). The runtime fails it too when the message will never be
        handled, so its sender learns at once instead of after its own timeout.
        """
        if self.future is not None:
            self.future.set_exception((type(error), error, error.__traceback__))
        reply = getattr(self.payload, "reply", None)
        if isinstance(reply, Future) and not reply.done():
            with contextlib.suppress(InvalidStateError):
                reply.set_exception(error)

    def __repr__(self) -> str:
        return f"Envelope(id={self.id}, attempts={self.attempts}, payload={self.payload!r})"


class Marker:
    """A runtime instruction queued behind user messages (pykka reads `message`)."""

    __slots__ = ("message", "reply_to")

    def __init__(self, instruction: str) -> None:
        self.message = instruction
        self.reply_to = None

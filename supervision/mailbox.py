"""Bounded mailboxes that outlive the actor instances reading them.

A `Mailbox` belongs to a child for its whole life. Each incarnation of the
child (a pykka actor) reads it through its own `HostInbox`, which adds a small
unbounded lane for control messages (stop, ping, passivate) that jump the
queue. When an incarnation ends, pykka drains only that control lane; the user
messages stay in the mailbox, in order, for the next incarnation.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any

from supervision.envelope import Envelope
from supervision.errors import ActorStopped, MailboxFull


class Mailbox:
    """A FIFO of envelopes with a capacity, a retry slot at the front, and parking.

    `parked` means no incarnation is reading and none is scheduled: a put
    into a parked mailbox unparks it and tells the sender to activate a reader
    (the keyed supervisor's reactivation on the next message).
    """

    def __init__(self, capacity: int, *, parked: bool = False) -> None:
        if capacity < 1:
            raise ValueError("mailbox capacity must be at least 1")
        self.capacity = capacity
        self.lock = threading.Lock()
        # One condition for readers and blocked senders (every notify is notify_all):
        # two would cost a kilobyte more per idle keyed actor.
        self.readable = threading.Condition(self.lock)
        self._writable = self.readable
        self._queue: deque[Envelope] = deque()
        self._blocked_senders = 0
        self.parked = parked
        self.closed = False
        self.reader: HostInbox | None = None

    def put(self, envelope: Envelope, timeout: float) -> bool:
        """Append an envelope, waiting up to `timeout` for room; True if a reader must start."""
        with self.lock:
            if self.closed:
                raise ActorStopped("mailbox is closed")
            queue = self._queue
            if len(queue) >= self.capacity:
                self._wait_for_room(timeout)
            queue.append(envelope)
            if self.reader is not None:
                # notify_all: a detached incarnation may still be waiting for its stop.
                self.readable.notify_all()
            if self.parked:
                self.parked = False
                return True
            return False

    def _wait_for_room(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        self._blocked_senders += 1
        try:
            while len(self._queue) >= self.capacity:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise MailboxFull(
                        f"mailbox full ({self.capacity} messages) for {timeout:.3f} s"
                    )
                self._writable.wait(remaining)
                if self.closed:
                    raise ActorStopped("mailbox closed while waiting for room")
        finally:
            self._blocked_senders -= 1

    def put_front(self, envelope: Envelope) -> None:
        """Put a failed envelope back at the head, for the next incarnation to retry first."""
        with self.lock:
            self._queue.appendleft(envelope)

    def put_last(self, item: Any) -> None:
        """Append a marker behind every queued message, ignoring the capacity."""
        with self.lock:
            self._queue.append(item)
            self.readable.notify_all()

    def try_park(self) -> bool:
        """Park the mailbox if it holds nothing; False when work is waiting."""
        with self.lock:
            if self._queue:
                return False
            self.parked = True
            return True

    def close(self) -> list[Envelope]:
        """Refuse further puts and take every queued envelope out; wakes blocked senders."""
        with self.lock:
            self.closed = True
            left = [e for e in self._queue if isinstance(e, Envelope)]
            self._queue.clear()
            self._writable.notify_all()
            return left

    def refuse(self) -> None:
        """Refuse further puts but keep the queued envelopes (a graceful drain follows)."""
        with self.lock:
            self.closed = True
            self._writable.notify_all()

    def depth(self) -> int:
        """Number of queued envelopes (approximate while senders are active)."""
        return len(self._queue)

    def take(self, inbox: HostInbox) -> Any:
        """Block until the inbox's control lane or the queue has an item, and return it."""
        with self.lock:
            control = inbox.control
            queue = self._queue
            while True:
                if control:
                    return control.popleft()
                if queue and inbox.attached:
                    item = queue.popleft()
                    if self._blocked_senders:
                        self._writable.notify_all()
                    return item
                self.readable.wait()

    def push_control(self, inbox: HostInbox, item: Any) -> None:
        """Queue a control item for one incarnation and wake it."""
        with self.lock:
            inbox.control.append(item)
            self.readable.notify_all()


class HostInbox:
    """One incarnation's view of a mailbox, in the shape pykka's actor loop reads."""

    __slots__ = ("attached", "control", "mailbox")

    def __init__(self, mailbox: Mailbox) -> None:
        self.mailbox = mailbox
        self.control: deque[Any] = deque()
        self.attached = True
        with mailbox.lock:
            mailbox.reader = self

    def put(self, item: Any) -> None:
        """pykka's own messages (stop, ask) arrive here and go to the control lane."""
        self.mailbox.push_control(self, item)

    def get(self) -> Any:
        """The next control item, else the next queued envelope."""
        return self.mailbox.take(self)

    def empty(self) -> bool:
        """pykka drains what is "not empty" at teardown: only the control lane is ours to drain."""
        return not self.control

    def detach(self) -> None:
        """Stop reading user messages; they stay queued for the next incarnation."""
        mailbox = self.mailbox
        with mailbox.lock:
            self.attached = False
            if mailbox.reader is self:
                mailbox.reader = None

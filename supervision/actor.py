"""The base class of every supervised actor: the hooks the runtime calls."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any


class ActorContext:
    """What an actor instance may tell the runtime about itself."""

    __slots__ = ("degraded", "key", "name", "stop_requested")

    def __init__(self, name: str, key: Hashable | None = None) -> None:
        self.name = name
        self.key = key
        self.degraded = False
        self.stop_requested = False


class SupervisedActor:
    """Subclass this and implement `handle`; every other hook is optional.

    An instance lives in one thread and sees one message at a time. When a
    message raises, the instance is thrown away and a fresh one is built by
    the factory: `on_start` is the single start-up and recovery path (load
    the state your actor owns), and runs in the actor's own thread.
    """

    context: ActorContext

    def on_start(self) -> None:
        """Recover state before the first message; an exception here is a failed start."""

    def handle(self, message: Any) -> Any:
        """Process one message; the return value is the reply to an ask."""
        raise NotImplementedError

    def on_passivate(self) -> None:
        """Persist state before an idle keyed actor is stopped to save a thread."""

    def on_stop(self) -> None:
        """Release resources when the actor stops normally (not after a crash)."""

    def describe(self) -> dict[str, Any] | None:
        """A short JSON-able description of the actor's state for the console."""
        return None

    def set_degraded(self, degraded: bool = True) -> None:
        """Report the actor as working but impaired (shown as state `degraded`)."""
        self.context.degraded = degraded

    def stop_self(self) -> None:
        """Stop normally after the current message (transient and temporary children stay down)."""
        self.context.stop_requested = True

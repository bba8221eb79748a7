"""What every actor and supervisor reports, as frozen JSON-able data for a console."""

from __future__ import annotations

import dataclasses
import enum
import time
from dataclasses import dataclass, field
from typing import Any


class ActorState(enum.StrEnum):
    """The life-cycle state of a supervised child."""

    STARTING = "starting"
    RUNNING = "running"
    DEGRADED = "degraded"
    RESTARTING = "restarting"
    PASSIVATED = "passivated"
    STOPPED = "stopped"
    FAILED = "failed"


@dataclass
class ActorStats:
    """Counters of one child across all its incarnations; written by its own thread.

    `started_at` is when the current incarnation started (uptime counts from it).
    """

    state: ActorState = ActorState.STARTING
    processed: int = 0
    failed: int = 0
    dead_lettered: int = 0
    restarts: int = 0
    last_error: str | None = None
    last_error_at: float | None = None
    last_message_at: float | None = None
    started_at: float = field(default_factory=time.time)


@dataclass(frozen=True)
class ActorInfo:
    """One actor as plain data: name, class, state, mailbox depth and counters."""

    name: str
    actor_class: str
    state: str
    mailbox_depth: int
    processed: int
    failed: int
    dead_lettered: int
    restarts: int
    last_error: str | None
    last_error_at: float | None
    last_message_at: float | None
    uptime_seconds: float
    description: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        """The info as a JSON-able dict."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class SupervisorInfo:
    """A supervisor and its children (actors or supervisors), as plain data."""

    name: str
    kind: str
    state: str
    strategy: str
    restarts_in_window: int
    children: tuple[ActorInfo | SupervisorInfo, ...] = ()
    summary: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The whole subtree as a JSON-able dict."""
        return dataclasses.asdict(self)


def actor_info(
    name: str,
    actor_class: str,
    stats: ActorStats,
    depth: int,
    description: dict[str, Any] | None,
) -> ActorInfo:
    """Snapshot one child's counters into an ActorInfo."""
    return ActorInfo(
        name=name,
        actor_class=actor_class,
        state=stats.state.value,
        mailbox_depth=depth,
        processed=stats.processed,
        failed=stats.failed,
        dead_lettered=stats.dead_lettered,
        restarts=stats.restarts,
        last_error=stats.last_error,
        last_error_at=stats.last_error_at,
        last_message_at=stats.last_message_at,
        uptime_seconds=max(0.0, time.time() - stats.started_at),
        description=description,
    )

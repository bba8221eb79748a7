"""What a dead letter holds, and the one method through which the runtime sends it."""

from __future__ import annotations

import os
import socket
import uuid
from datetime import UTC, datetime
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field


def _now() -> datetime:
    return datetime.now(UTC)


class DeadLetter(BaseModel):
    """A message taken out of the stream of work, with everything needed to judge it.

    `payload` is the message as JSON-able data, already redacted. `original`
    is the raw document as it arrived from outside (for example an ingress
    entry's JSON), kept so an operator can replay it; `source_id` says where
    it came from (for example the stream entry id).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    actor: str
    message_type: str
    payload: dict[str, Any] = Field(default_factory=dict)
    reason: str = "failed"
    error_type: str = ""
    error_message: str = ""
    traceback: str = ""
    attempts: int = 0
    first_failed_at: datetime = Field(default_factory=_now)
    last_failed_at: datetime = Field(default_factory=_now)
    host: str = Field(default_factory=socket.gethostname)
    pid: int = Field(default_factory=os.getpid)
    version: str = ""
    original: str | None = None
    source_id: str | None = None


class DeadLetterSink(Protocol):
    """Where the runtime sends dead letters; must not block the sender for long."""

    def deliver(self, letter: DeadLetter) -> None:
        """Accept one dead letter for durable storage."""

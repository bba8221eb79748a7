"""Turning a failed envelope into a redacted DeadLetter and handing it to the sink."""

from __future__ import annotations

import traceback
from datetime import UTC, datetime
from typing import Any

import structlog
from pydantic import BaseModel

from supervision.deadletters.letter import DeadLetter
from supervision.envelope import Envelope
from supervision.policy import RuntimeConfig
from supervision.redaction import Redactor

log = structlog.get_logger(__name__)


def _when(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def payload_of(message: Any, redactor: Redactor) -> dict[str, Any]:
    """A pydantic message as its JSON dump, anything else as its repr; redacted.

    A field JSON cannot hold (a reply Future) is kept as its repr: raising here
    would kill the actor's host while it dead-letters the message.
    """
    if isinstance(message, BaseModel):
        data: Any = message.model_dump(mode="json", fallback=repr)
        if not isinstance(data, dict):
            data = {"value": data}
    else:
        data = {"repr": repr(message)}
    redacted: dict[str, Any] = redactor.value(data)
    return redacted


def _optional_text(message: Any, attribute: str, redactor: Redactor) -> str | None:
    value = getattr(message, attribute, None)
    return None if value is None else redactor.text(str(value))


def build_letter(
    actor: str,
    *,
    envelope: Envelope,
    error: BaseException,
    reason: str,
    config: RuntimeConfig,
    failed_at: float,
) -> DeadLetter:
    """The dead letter for `envelope`, which failed with `error` (redacted throughout).

    A message may carry `original` (the raw document it came from) and
    `source_id` (where it came from) as attributes; they go into the letter
    so the ingress can replay it.
    """
    redactor = config.redactor
    message = envelope.payload
    text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    first = envelope.first_failed_at if envelope.first_failed_at is not None else failed_at
    return DeadLetter(
        actor=actor,
        message_type=type(message).__name__,
        payload=payload_of(message, redactor),
        reason=reason,
        error_type=type(error).__name__,
        error_message=redactor.text(str(error)),
        traceback=redactor.text(text),
        attempts=envelope.attempts,
        first_failed_at=_when(first),
        last_failed_at=_when(failed_at),
        version=config.version,
        original=_optional_text(message, "original", redactor),
        source_id=_optional_text(message, "source_id", redactor),
    )


def send_letter(letter: DeadLetter, config: RuntimeConfig) -> None:
    """Deliver to the configured sink; a sink failure is logged, never raised into the actor."""
    sink = config.dead_letters
    if sink is None:
        log.error(
            "dead_letter_without_sink",
            actor=letter.actor,
            message_type=letter.message_type,
            letter_id=letter.id,
        )
        return
    try:
        sink.deliver(letter)
    except Exception:
        log.exception("dead_letter_delivery_failed", actor=letter.actor, letter_id=letter.id)

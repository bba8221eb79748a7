"""Secrets out of a dead letter before it is stored anywhere (Redis or the spill file)."""

from __future__ import annotations

import json
from typing import Any

from supervision.deadletters.letter import DeadLetter
from supervision.redaction import Redactor


def redact_letter(letter: DeadLetter, redactor: Redactor) -> DeadLetter:
    """A copy of `letter` whose payload, original, error message and traceback are masked.

    Redacting twice gives the same letter, so every layer may redact again safely.
    """
    payload: dict[str, Any] = redactor.mapping(letter.payload)
    original = None if letter.original is None else _redact_document(letter.original, redactor)
    return letter.model_copy(
        update={
            "payload": payload,
            "original": original,
            "error_message": redactor.text(letter.error_message),
            "traceback": redactor.text(letter.traceback),
        }
    )


def _redact_document(original: str, redactor: Redactor) -> str:
    """Mask a raw document; JSON is redacted by key too, and rewritten only if it changed.

    Any text is accepted, hostile ingress documents included: JSON nested too deep
    to walk is redacted as text, and a rewrite escapes what UTF-8 cannot hold (a
    lone surrogate written as an escape), so the letter can always be stored.
    """
    try:
        parsed: Any = json.loads(original)
        masked = redactor.value(parsed)
        if masked == parsed:
            return original
        rewritten = json.dumps(masked, separators=(",", ":"), ensure_ascii=False)
    except (ValueError, RecursionError):
        return redactor.text(original)
    try:
        rewritten.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(masked, separators=(",", ":"))
    return rewritten

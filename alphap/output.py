"""What commands print for people and programs (stdout), kept apart from logs (stderr)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from typing import Any

from supervision.redaction import DEFAULT_REDACTOR


def say(text: str) -> None:
    """One line for the operator, redacted like everything alphap shows."""
    sys.stdout.write(DEFAULT_REDACTOR.text(text) + "\n")
    sys.stdout.flush()


def emit_json(data: Any) -> None:
    """Machine-readable output, redacted, one JSON document."""
    sys.stdout.write(json.dumps(DEFAULT_REDACTOR.value(data), default=str, indent=2) + "\n")
    sys.stdout.flush()


def emit_json_lines(rows: Iterable[Any]) -> int:
    """One redacted JSON document per line (for files and pipes); returns how many."""
    count = 0
    for row in rows:
        sys.stdout.write(json.dumps(DEFAULT_REDACTOR.value(row), default=str) + "\n")
        count += 1
    sys.stdout.flush()
    return count


def note(text: str) -> None:
    """One line for the operator on stderr (prompts, counts), redacted; stdout stays data."""
    sys.stderr.write(DEFAULT_REDACTOR.text(text) + "\n")
    sys.stderr.flush()

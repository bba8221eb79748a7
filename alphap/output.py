"""What commands print for people and programs (stdout), kept apart from logs (stderr)."""

from __future__ import annotations

import json
import sys
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

"""structlog configuration: JSON lines for journald, readable lines on a terminal.

Every event passes through the redactor before it is rendered, so a secret that
reaches a log call by mistake is still never written.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog

from supervision.redaction import DEFAULT_REDACTOR, Redactor


def redact_processor(redactor: Redactor = DEFAULT_REDACTOR) -> structlog.types.Processor:
    """A structlog processor that masks secrets anywhere in the event."""

    def redact(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        return redactor.mapping(event_dict)

    return redact


def configure_logging(
    level: str = "INFO",
    fmt: str = "auto",
    stream: TextIO | None = None,
    redactor: Redactor = DEFAULT_REDACTOR,
) -> None:
    """Configure structlog once for the process; safe to call again (SIGHUP reload)."""
    out = stream or sys.stderr
    use_json = fmt == "json" or (fmt == "auto" and not out.isatty())
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if use_json
        else structlog.dev.ConsoleRenderer(colors=out.isatty())
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            redact_processor(redactor),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.WriteLoggerFactory(file=out),
        cache_logger_on_first_use=False,
    )

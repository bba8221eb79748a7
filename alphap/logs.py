"""structlog configuration: JSON lines for journald, readable lines on a terminal.

Every event passes through the redactor before it is rendered, so a secret that
reaches a log call by mistake is still never written. Records of the libraries'
standard-library loggers (psycopg_pool, kiteconnect, urllib3, alembic) take the
same path: left to logging's last-resort handler they would reach stderr
unredacted (a pool warning quotes libpq's error, which can quote a password).
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


class _StdlibBridge(logging.Handler):
    """Hands standard-library log records to structlog, hence to the redactor."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            structlog.get_logger(record.name).log(
                record.levelno,
                record.getMessage(),
                logger=record.name,
                exc_info=record.exc_info or False,
            )
        except Exception:  # logging must never raise into the caller
            self.handleError(record)


def _bridge_stdlib_logging() -> None:
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _StdlibBridge)]:
        root.removeHandler(handler)
    root.addHandler(_StdlibBridge())


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
    _bridge_stdlib_logging()

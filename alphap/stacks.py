"""SIGUSR1: every thread's stack, as one log event an operator can read in the journal.

faulthandler would write to stderr only, unstructured and unredacted; this goes
through structlog like every other event, so it reaches journald as one JSON line.
"""

from __future__ import annotations

import sys
import threading
import traceback
from typing import Any

import structlog

log = structlog.get_logger("alphap.stacks")


def thread_stacks() -> list[dict[str, Any]]:
    """Name, ident, daemon flag and formatted stack of every live thread, by name."""
    threads = {thread.ident: thread for thread in threading.enumerate()}
    stacks = []
    for ident, frame in sys._current_frames().items():
        thread = threads.get(ident)
        stacks.append(
            {
                "name": thread.name if thread is not None else f"thread-{ident}",
                "ident": ident,
                "daemon": thread.daemon if thread is not None else None,
                "stack": "".join(traceback.format_stack(frame)),
            }
        )
    return sorted(stacks, key=lambda s: (s["name"], s["ident"]))


def log_thread_stacks() -> int:
    """Log every thread's stack (at WARNING, so a quiet log level still shows it); the count."""
    stacks = thread_stacks()
    log.warning("thread_stacks", count=len(stacks), threads=stacks)
    return len(stacks)

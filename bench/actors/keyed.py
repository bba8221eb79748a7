"""Start time, threads and memory of many keyed actors (one process per measurement)."""

from __future__ import annotations

import threading
import time
from collections.abc import Hashable
from pathlib import Path
from typing import Any

from supervision import KeyedSupervisor, RuntimeConfig, SupervisedActor


class _Portfolio(SupervisedActor):
    def __init__(self, key: Hashable) -> None:
        self.key = key
        self.seen = 0

    def handle(self, message: Any) -> Any:
        self.seen += 1
        return self.seen


def rss_mib() -> float:
    """Resident set size of this process, from /proc (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measure(keys: int, max_live: int | None) -> dict[str, float]:
    """Send one message to each of `keys` keys and wait until each has answered one ask."""
    base_rss = rss_mib()
    base_threads = threading.active_count()
    keyed = KeyedSupervisor(
        "bench",
        _Portfolio,
        idle_after=None,
        max_live=max_live,
        mailbox_size=16,
        config=RuntimeConfig(),
    ).start()
    peak_threads = 0
    try:
        started = time.perf_counter()
        for key in range(keys):
            keyed.tell(key, "open")
        for key in range(keys):
            keyed.ask(key, "check", timeout=120)
            if key % 500 == 0:
                peak_threads = max(peak_threads, threading.active_count())
        elapsed = time.perf_counter() - started
        peak_threads = max(peak_threads, threading.active_count())
        rss = rss_mib()
    finally:
        keyed.stop()
    return {
        "start_s": elapsed,
        "threads": peak_threads - base_threads,
        "rss_mib": rss - base_rss,
    }

"""`python -m alphap run` as a child process: started, signalled, watched and measured."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

LOG_TAIL_CHARS = 6000


@dataclass
class UnexpectedExit:
    """The daemon ended without being told to."""

    at_seconds: float
    status: int
    log_tail: str


@dataclass
class RssSamples:
    """VmRSS in KiB, sampled per incarnation."""

    peak_kib: int = 0
    samples: list[int] = field(default_factory=list)

    def add(self, kib: int) -> None:
        self.peak_kib = max(self.peak_kib, kib)
        self.samples.append(kib)


def vm_rss_kib(pid: int) -> int | None:
    """A process's resident set size from /proc (None once it has gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


class DaemonProcess:
    """The daemon under test; a watcher thread restarts it after an exit nobody asked for."""

    def __init__(self, env: dict[str, str], log_path: Path, started_at: float) -> None:
        self.env = env
        self.log_path = log_path
        self.started_at = started_at
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.unexpected: list[UnexpectedExit] = []
        self.rss: list[RssSamples] = []
        self._lock = threading.RLock()
        self._told = False
        self._closing = threading.Event()
        self._watcher = threading.Thread(target=self._watch, name="chaos-watch", daemon=True)

    def start(self) -> None:
        with self._lock:
            self.starts += 1
            self._told = False
            self.rss.append(RssSamples())
            with self.log_path.open("ab") as out:
                self.process = subprocess.Popen(
                    [sys.executable, "-m", "alphap", "run"],
                    env=self.env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
        if not self._watcher.is_alive():
            self._watcher.start()

    def signal(self, signum: int) -> None:
        """Send a signal the daemon is expected to end on."""
        with self._lock:
            assert self.process is not None
            self._told = True
            self.process.send_signal(signum)

    def wait(self, timeout: float) -> int:
        assert self.process is not None
        return self.process.wait(timeout)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def close(self) -> None:
        """Stop watching, and SIGKILL the daemon if it still runs."""
        self._closing.set()
        with self._lock:
            self._told = True
            if self.process is not None and self.process.poll() is None:
                self.process.kill()
                self.process.wait(10)

    def log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-LOG_TAIL_CHARS:]
        except OSError:
            return ""

    def _watch(self) -> None:
        while not self._closing.wait(1.0):
            with self._lock:
                process = self.process
                if process is None:
                    continue
                status = process.poll()
                if status is None:
                    kib = vm_rss_kib(process.pid)
                    if kib is not None:
                        self.rss[-1].add(kib)
                    continue
                if self._told:
                    continue
                self.unexpected.append(
                    UnexpectedExit(
                        round(time.monotonic() - self.started_at, 1), status, self.log_tail()
                    )
                )
                self.start()

"""`alphap` as a subprocess for end-to-end tests: its JSON log and its sd_notify datagrams."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

DEADLINE = 30.0


def clean_environment() -> dict[str, str]:
    """The test process's environment without ALPHAP_* and systemd variables."""
    dropped = ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "CREDENTIALS_DIRECTORY")
    return {k: v for k, v in os.environ.items() if not k.startswith("ALPHAP_") and k not in dropped}


class AlphapProcess:
    """`python -m alphap ARGS` with stdout and stderr in a log file of JSON lines."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, *args: str) -> None:
        with self.log_path.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "alphap", *args],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def signal(self, signum: int) -> None:
        assert self.process is not None
        self.process.send_signal(signum)

    def wait(self, timeout: float = DEADLINE) -> int:
        assert self.process is not None
        return self.process.wait(timeout)

    def stop_now(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def events(self) -> list[dict[str, Any]]:
        """Every JSON log line written so far."""
        found = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict):
                found.append(event)
        return found

    def wait_for_event(
        self, predicate: Callable[[dict[str, Any]], bool], what: str, timeout: float = DEADLINE
    ) -> dict[str, Any]:
        """The first logged event matching `predicate`, waiting up to `timeout` for it."""
        end = time.monotonic() + timeout
        while True:
            for event in self.events():
                if predicate(event):
                    return event
            if self.process is not None and self.process.poll() is not None:
                # Exited: one last read, then fail with the log.
                matching = [e for e in self.events() if predicate(e)]
                if matching:
                    return matching[0]
                raise AssertionError(f"exited before {what}:\n{self.log_tail()}")
            if time.monotonic() > end:
                raise AssertionError(f"timed out waiting for {what}:\n{self.log_tail()}")
            time.sleep(0.05)

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]


class NotifyListener:
    """A datagram socket in the abstract namespace, as systemd's NOTIFY_SOCKET is."""

    def __init__(self) -> None:
        self.address = f"@alphap-test-{uuid.uuid4().hex}"
        self.messages: list[dict[str, str]] = []
        self._changed = threading.Condition()
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._socket.bind("\0" + self.address[1:])
        self._socket.settimeout(0.2)
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._receive, name="notify-listener", daemon=True)
        self._thread.start()

    def _receive(self) -> None:
        while not self._closed.is_set():
            try:
                data = self._socket.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            fields = dict(line.split("=", 1) for line in data.decode().splitlines() if "=" in line)
            with self._changed:
                self.messages.append(fields)
                self._changed.notify_all()

    def wait_for(
        self, predicate: Callable[[dict[str, str]], bool], what: str, timeout: float = DEADLINE
    ) -> dict[str, str]:
        """The first datagram matching `predicate` (already received or arriving in time)."""
        with self._changed:
            found: list[dict[str, str]] = []

            def matched() -> bool:
                found[:] = [m for m in self.messages if predicate(m)]
                return bool(found)

            if not self._changed.wait_for(matched, timeout):
                raise AssertionError(f"no sd_notify datagram {what}: got {self.messages}")
            return found[0]

    def close(self) -> None:
        self._closed.set()
        self._socket.close()
        self._thread.join(5)

"""The console client: connect, check the daemon's protocol version, run commands."""

from __future__ import annotations

import contextlib
import itertools
import select
import socket
from pathlib import Path
from typing import Any

from supervision.console.errors import (
    AccessRefused,
    CommandFailed,
    ConsoleError,
    DaemonNotRunning,
    ProtocolError,
    ProtocolMismatch,
)
from supervision.console.protocol import (
    MAX_LINE_BYTES,
    PROTOCOL_VERSION,
    decode,
    encode,
    mismatch_message,
)

DEFAULT_CLIENT_TIMEOUT_SECONDS = 30.0


class ConsoleClient:
    """One connection to a console server; reconnects when the daemon closed an idle one."""

    def __init__(
        self,
        path: Path,
        *,
        timeout: float = DEFAULT_CLIENT_TIMEOUT_SECONDS,
        protocol: int = PROTOCOL_VERSION,
    ) -> None:
        self.path = Path(path)
        self.timeout = timeout
        self.protocol = protocol
        self.hello: dict[str, Any] = {}
        self._socket: socket.socket | None = None
        self._reader: Any = None
        self._ids = itertools.count(1)

    def connect(self) -> dict[str, Any]:
        """Connect and read the daemon's hello; raises a ConsoleError saying what is wrong."""
        self.close()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(str(self.path))
        except (FileNotFoundError, ConnectionRefusedError):
            sock.close()
            raise DaemonNotRunning(
                f"the daemon is not running (nothing listens on {self.path}); "
                "start it with `alphap run`, or point ALPHAP_CONSOLE_SOCKET at its socket"
            ) from None
        except PermissionError:
            sock.close()
            raise AccessRefused(
                f"permission denied on {self.path}: run the console as the daemon's user or root"
            ) from None
        except OSError as exc:
            sock.close()
            raise DaemonNotRunning(f"cannot connect to {self.path}: {exc}") from None
        self._socket = sock
        self._reader = sock.makefile("rb")
        hello = self._read()
        if "refused" in hello:
            self.close()
            raise AccessRefused(f"the daemon refused this console: {hello['refused']}")
        if hello.get("protocol") != self.protocol:
            self.close()
            raise ProtocolMismatch(mismatch_message(hello.get("protocol"), self.protocol))
        self.hello = hello
        return hello

    def call(self, command: str, args: list[str] | tuple[str, ...] = ()) -> Any:
        """Run one command; its result, or CommandFailed with the daemon's message and code."""
        if self._socket is None or self._closed_by_daemon():
            self.connect()
        assert self._socket is not None, "connect() sets the socket or raises"
        request_id = next(self._ids)
        try:
            self._socket.sendall(encode({"id": request_id, "command": command, "args": list(args)}))
            response = self._read()
        except TimeoutError:
            self.close()
            raise CommandFailed(
                f"no answer from the daemon within {self.timeout:g} s", "timeout"
            ) from None
        if response.get("id") != request_id:
            self.close()
            raise ProtocolError(f"answer to request {response.get('id')!r}, not {request_id}")
        if not response.get("ok"):
            raise CommandFailed(str(response.get("error")), str(response.get("code", "failed")))
        return response.get("result")

    def close(self) -> None:
        """Close the connection (idempotent)."""
        if self._reader is not None:
            with contextlib.suppress(OSError):
                self._reader.close()
        if self._socket is not None:
            with contextlib.suppress(OSError):
                self._socket.close()
        self._socket = None
        self._reader = None

    def __enter__(self) -> ConsoleClient:
        self.connect()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _read(self) -> dict[str, Any]:
        line = self._reader.readline(MAX_LINE_BYTES + 1)
        if not line:
            self.close()
            raise ConsoleError(f"the daemon closed the console connection ({self.path})")
        return decode(line)

    def _closed_by_daemon(self) -> bool:
        # A readable socket between requests means the daemon closed it (idle or stopping).
        assert self._socket is not None
        readable, _, _ = select.select([self._socket], [], [], 0)
        return bool(readable)

"""The console server: a Unix socket (mode 0600) that serves only its own user and root.

One thread per connection, at most `max_connections`; each request runs in its
own worker thread and is answered within `request_timeout` even when an actor
is stuck (the worker is then left to finish on its own, bounded by `max_workers`).
Nothing listens on TCP.
"""

from __future__ import annotations

import contextlib
import os
import socket
import stat
import threading
import time
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import structlog

from supervision.console.commands import CommandSet
from supervision.console.errors import CommandFailed, ConsoleError, ProtocolError, UsageError
from supervision.console.peer import PeerCredentials, peer_allowed, peer_credentials
from supervision.console.protocol import (
    MAX_LINE_BYTES,
    PROTOCOL_VERSION,
    Request,
    decode,
    encode,
    failure,
    parse_request,
    success,
)
from supervision.redaction import DEFAULT_REDACTOR, Redactor

log = structlog.get_logger(__name__)

DEFAULT_REQUEST_TIMEOUT_SECONDS = 15.0
DEFAULT_MAX_CONNECTIONS = 8
DEFAULT_MAX_WORKERS = 16
DEFAULT_IDLE_SECONDS = 900.0
DEFAULT_ADMIN_HINT = "start the daemon with console admin commands enabled"


class ConsoleServer:
    """Serves a CommandSet on a Unix socket; `start()` binds it, `stop()` removes it."""

    def __init__(
        self,
        path: Path,
        commands: CommandSet,
        *,
        version: str = "",
        server: str = "supervision",
        admin: bool = False,
        admin_hint: str = DEFAULT_ADMIN_HINT,
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT_SECONDS,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        max_workers: int = DEFAULT_MAX_WORKERS,
        idle_timeout: float = DEFAULT_IDLE_SECONDS,
        redactor: Redactor = DEFAULT_REDACTOR,
        own_uid: int | None = None,
    ) -> None:
        self.path = Path(path)
        self.commands = commands
        self.version = version
        self.server = server
        self.admin = admin
        self.admin_hint = admin_hint
        self.request_timeout = request_timeout
        self.idle_timeout = idle_timeout
        self.redactor = redactor
        self.own_uid = os.getuid() if own_uid is None else own_uid
        self._connections = threading.BoundedSemaphore(max_connections)
        self._workers = threading.BoundedSemaphore(max_workers)
        self._listener: socket.socket | None = None
        self._accept_thread: threading.Thread | None = None
        self._open: set[socket.socket] = set()
        self._threads: set[threading.Thread] = set()
        self._lock = threading.Lock()
        self._stopping = threading.Event()

    # Life cycle

    def start(self) -> ConsoleServer:
        """Bind the socket (removing a stale one), mode 0600, and start accepting."""
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        _remove_stale(self.path)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            # Process-wide for a moment: the socket must never exist with a wider mode.
            previous = os.umask(0o177)
            try:
                listener.bind(str(self.path))
            finally:
                os.umask(previous)
            self.path.chmod(0o600)
            listener.listen(16)
        except OSError:
            listener.close()
            raise
        self._listener = listener
        self._accept_thread = threading.Thread(
            target=self._accept_loop, name="console-accept", daemon=True
        )
        self._accept_thread.start()
        log.info("console_listening", socket=str(self.path), admin=self.admin)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop accepting, close every connection and remove the socket file."""
        if self._listener is None or self._stopping.is_set():
            return
        self._stopping.set()
        listener = self._listener
        with contextlib.suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)
        listener.close()
        with self._lock:
            connections = list(self._open)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + timeout
        if self._accept_thread is not None:
            self._accept_thread.join(timeout)
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        log.info("console_stopped", socket=str(self.path))

    def __enter__(self) -> ConsoleServer:
        return self if self._listener is not None else self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # Connections

    def _accept_loop(self) -> None:
        listener = self._listener
        assert listener is not None, "the loop starts after bind"
        while not self._stopping.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:
                if not self._stopping.is_set():
                    log.exception("console_accept_failed")
                return
            if not self._connections.acquire(blocking=False):
                self._refuse(connection, "too many console connections; try again shortly")
                continue
            thread = threading.Thread(
                target=self._serve, args=(connection,), name="console-connection", daemon=True
            )
            self._track(thread)
            with self._lock:
                self._open.add(connection)
            thread.start()

    def _serve(self, connection: socket.socket) -> None:
        try:
            peer = peer_credentials(connection)
            if not peer_allowed(peer.uid, self.own_uid):
                log.warning("console_refused", uid=peer.uid, pid=peer.pid, gid=peer.gid)
                self._refuse(
                    connection,
                    f"uid {peer.uid} may not use this console: only uid {self.own_uid} "
                    "(the daemon's user) and root are served",
                )
                return
            log.info("console_attached", uid=peer.uid, pid=peer.pid)
            connection.settimeout(self.idle_timeout)
            self._send(connection, self._hello())
            self._conversation(connection, peer)
        except (OSError, ValueError) as exc:
            if not self._stopping.is_set():
                log.info("console_connection_ended", reason=type(exc).__name__)
        finally:
            with contextlib.suppress(OSError):
                connection.close()
            with self._lock:
                self._open.discard(connection)
            self._connections.release()

    def _conversation(self, connection: socket.socket, peer: PeerCredentials) -> None:
        with connection.makefile("rb") as reader:
            while not self._stopping.is_set():
                line = reader.readline(MAX_LINE_BYTES + 1)
                if not line:
                    return
                if len(line) > MAX_LINE_BYTES:
                    self._send(connection, failure(None, "request line too long", "protocol"))
                    return
                try:
                    request = parse_request(decode(line))
                except ProtocolError as exc:
                    self._send(connection, failure(None, str(exc), "protocol"))
                    continue
                self._send(connection, self._answer(request, peer))

    def _track(self, thread: threading.Thread) -> None:
        # Finished threads are dropped here, so stop() can join every one still listed.
        with self._lock:
            self._threads = {t for t in self._threads if t.ident is None or t.is_alive()}
            self._threads.add(thread)

    def _hello(self) -> dict[str, Any]:
        return {
            "protocol": PROTOCOL_VERSION,
            "server": self.server,
            "version": self.version,
            "admin": self.admin,
            "pid": os.getpid(),
        }

    def _refuse(self, connection: socket.socket, reason: str) -> None:
        with contextlib.suppress(OSError):
            connection.sendall(encode({"protocol": PROTOCOL_VERSION, "refused": reason}))
        with contextlib.suppress(OSError):
            connection.close()

    def _send(self, connection: socket.socket, message: dict[str, Any]) -> None:
        connection.sendall(encode(self.redactor.value(message)))

    # Requests

    def _answer(self, request: Request, peer: PeerCredentials) -> dict[str, Any]:
        command = self.commands.get(request.command)
        if command is None:
            return failure(
                request.id,
                f"unknown command {request.command!r} (`help` lists the commands)",
                "unknown_command",
            )
        if command.admin:
            if not self.admin:
                return failure(
                    request.id,
                    f"`{command.name}` is an admin command and admin commands are disabled "
                    f"in this daemon; to enable them, {self.admin_hint}",
                    "admin_disabled",
                )
            log.warning(
                "console_admin_command",
                command=command.name,
                args=list(request.args),
                uid=peer.uid,
                pid=peer.pid,
            )
        try:
            return success(request.id, self._run(command.name, command.handler, request.args))
        except CommandFailed as exc:
            return failure(request.id, str(exc), exc.code)
        except UsageError as exc:
            return failure(request.id, str(exc), "usage")
        except Exception as exc:
            log.warning("console_command_failed", command=command.name, error=type(exc).__name__)
            return failure(request.id, f"{type(exc).__name__}: {exc}", "failed")

    def _run(self, name: str, handler: Any, args: tuple[str, ...]) -> Any:
        """The handler's result, in a worker thread, within `request_timeout`."""
        if not self._workers.acquire(timeout=self.request_timeout):
            raise CommandFailed("the console is busy with stuck requests", "busy")
        outcome: Future[Any] = Future()

        def work() -> None:
            try:
                outcome.set_result(handler(args))
            except Exception as exc:
                outcome.set_exception(exc)
            finally:
                self._workers.release()

        worker = threading.Thread(target=work, name=f"console-{name}", daemon=True)
        self._track(worker)
        worker.start()
        try:
            return outcome.result(timeout=self.request_timeout)
        except TimeoutError:
            log.warning("console_request_timeout", command=name)
            raise CommandFailed(
                f"no answer within {self.request_timeout:g} s (an actor may be stuck: "
                "try `health`)",
                "timeout",
            ) from None


def _remove_stale(path: Path) -> None:
    """Remove a socket nobody listens on; refuse to touch a live one or a non-socket."""
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise ConsoleError(f"{path} exists and is not a socket; not replacing it")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(str(path))
    except (ConnectionRefusedError, FileNotFoundError):
        path.unlink(missing_ok=True)
        log.info("console_stale_socket_removed", socket=str(path))
        return
    finally:
        probe.close()
    raise ConsoleError(f"another process is listening on {path}")

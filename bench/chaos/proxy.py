"""A TCP proxy between the daemon and one server, able to cut or stall the link.

`cut()` resets every open connection and refuses new ones until `heal()`;
`stall()` keeps connections open but forwards nothing (new connections are
accepted and held) until `heal()`, when what waited is delivered in order.
Threads, one pair per connection: the daemon holds a few dozen at most.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading

_CHUNK = 65536
_ACCEPT_POLL_SECONDS = 0.2


def _reset(sock: socket.socket) -> None:
    """End a connection with a reset (SO_LINGER 0), waking any thread blocked on it.

    shutdown() first: close() alone leaves a thread blocked in recv() on the socket,
    the kernel keeps the connection open, and the peer never learns it was cut.
    """
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()


class Proxy:
    """Listens on a free port of 127.0.0.1 and forwards to `host`:`upstream`."""

    def __init__(self, name: str, upstream: int, host: str = "127.0.0.1") -> None:
        self.name = name
        self.upstream = upstream
        self.host = host
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(_ACCEPT_POLL_SECONDS)
        self.port: int = self._listener.getsockname()[1]
        self._open = threading.Event()
        self._open.set()
        self._refusing = False
        self._lock = threading.Lock()
        self._pairs: set[tuple[socket.socket, socket.socket]] = set()
        self._closed = threading.Event()
        self.connections = 0
        self._thread = threading.Thread(target=self._accept_loop, name=f"proxy-{name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def cut(self) -> None:
        """Reset every connection and refuse new ones."""
        with self._lock:
            self._refusing = True
            pairs = list(self._pairs)
            self._pairs.clear()
        self._open.set()
        for client, server in pairs:
            _reset(client)
            _reset(server)

    def stall(self) -> None:
        """Keep connections, forward nothing."""
        self._open.clear()

    def heal(self) -> None:
        with self._lock:
            self._refusing = False
        self._open.set()

    def close(self) -> None:
        self._closed.set()
        self.cut()
        self._thread.join(5)
        self._listener.close()

    def _accept_loop(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                refusing = self._refusing
            if refusing:
                _reset(client)
                continue
            threading.Thread(
                target=self._connect, args=(client,), name=f"proxy-{self.name}-conn", daemon=True
            ).start()

    def _connect(self, client: socket.socket) -> None:
        # A stalled link holds new connections too: connect upstream only once open.
        self._open.wait()
        try:
            server = socket.create_connection((self.host, self.upstream), timeout=5)
        except OSError:
            _reset(client)
            return
        server.settimeout(None)
        pair = (client, server)
        with self._lock:
            if self._refusing:
                _reset(client)
                _reset(server)
                return
            self._pairs.add(pair)
            self.connections += 1
        for source, sink in ((client, server), (server, client)):
            threading.Thread(
                target=self._pump,
                args=(pair, source, sink),
                name=f"proxy-{self.name}-pump",
                daemon=True,
            ).start()

    def _pump(
        self, pair: tuple[socket.socket, socket.socket], source: socket.socket, sink: socket.socket
    ) -> None:
        try:
            while True:
                data = source.recv(_CHUNK)
                if not data:
                    break
                self._open.wait()
                sink.sendall(data)
        except OSError:
            pass
        with self._lock:
            known = pair in self._pairs
            self._pairs.discard(pair)
        if known:
            for sock in pair:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                with contextlib.suppress(OSError):
                    sock.close()

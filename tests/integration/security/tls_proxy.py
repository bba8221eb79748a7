"""A TLS front for a PostgreSQL whose build has no TLS (the embedded wheel's).

It speaks the start of PostgreSQL's protocol as a TLS-enabled server does:
answers a GSSENCRequest with 'N' and an SSLRequest with 'S', performs the TLS
handshake with the given certificate, then relays the decrypted bytes to the
real server. libpq cannot tell it from a PostgreSQL with ssl=on, so the
client's verification (sslmode, sslrootcert) is exercised for real.
"""

from __future__ import annotations

import contextlib
import select
import socket
import ssl
import struct
import threading
from pathlib import Path
from typing import Self

_SSL_REQUEST = 80877103
_GSSENC_REQUEST = 80877104


class TlsProxy:
    """Listens on 127.0.0.1:`port`; relays to 127.0.0.1:`backend_port`."""

    def __init__(self, backend_port: int, cert: Path, key: Path) -> None:
        self.backend_port = backend_port
        self._context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._context.load_cert_chain(cert, key)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self.handshakes_failed = 0
        self._thread = threading.Thread(target=self._accept, name="tls-proxy", daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        # shutdown() wakes the thread blocked in accept(); close() alone does not.
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        self._thread.join(timeout=10)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        with contextlib.ExitStack() as stack:
            stack.enter_context(client)
            first = _read_exact(client, 8)
            if len(first) == 8 and struct.unpack("!II", first)[1] == _GSSENC_REQUEST:
                client.sendall(b"N")
                first = _read_exact(client, 8)
            if len(first) < 8:
                return
            if struct.unpack("!II", first)[1] == _SSL_REQUEST:
                client.sendall(b"S")
                try:
                    tls = self._context.wrap_socket(client, server_side=True)
                except (ssl.SSLError, OSError):
                    self.handshakes_failed += 1
                    return
                client = stack.enter_context(tls)
                first = b""
            backend = stack.enter_context(
                socket.create_connection(("127.0.0.1", self.backend_port), timeout=10)
            )
            backend.sendall(first)
            _relay(client, backend)


def _read_exact(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


def _relay(client: socket.socket, backend: socket.socket) -> None:
    """Copy bytes both ways until either side closes (one thread, TLS-safe)."""
    with contextlib.suppress(OSError):
        while True:
            readable, _, _ = select.select([client, backend], [], [], 30)
            if not readable:
                return
            if client in readable:
                data = client.recv(65536)
                while isinstance(client, ssl.SSLSocket) and client.pending():
                    data += client.recv(client.pending())
                if not data:
                    return
                backend.sendall(data)
            if backend in readable:
                data = backend.recv(65536)
                if not data:
                    return
                client.sendall(data)

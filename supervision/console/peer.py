"""Who is on the other end of a Unix socket (SO_PEERCRED), and whether they may use it."""

from __future__ import annotations

import os
import socket
import struct
from dataclasses import dataclass

_UCRED = struct.Struct("3i")  # struct ucred: pid_t pid; uid_t uid; gid_t gid


@dataclass(frozen=True)
class PeerCredentials:
    """The process that connected, as the kernel saw it at connect time."""

    pid: int
    uid: int
    gid: int


def peer_credentials(connection: socket.socket) -> PeerCredentials:
    """The peer's pid, uid and gid from the kernel (not from anything the peer says)."""
    raw = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _UCRED.size)
    pid, uid, gid = _UCRED.unpack(raw)
    return PeerCredentials(pid, uid, gid)


def peer_allowed(uid: int, own_uid: int | None = None) -> bool:
    """Only the server's own user and root are served."""
    own = os.getuid() if own_uid is None else own_uid
    return uid in (own, 0)

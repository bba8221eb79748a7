"""The console protocol: JSON lines over a Unix socket, versioned by the server's hello.

Server, on connect: {"protocol": 1, "server": ..., "version": ..., "admin": bool}
(or {"protocol": 1, "refused": reason}, then it closes). Client, per request:
{"id": 7, "command": "inspect", "args": ["journal"]}. Server, per request:
{"id": 7, "ok": true, "result": ...} or {"id": 7, "ok": false, "error": text,
"code": "usage" | "unknown_command" | "admin_disabled" | "timeout" | "busy" | "failed"}.
A new protocol version is needed only when one of these shapes changes;
new commands and new result fields are not protocol changes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from supervision.console.errors import ProtocolError

PROTOCOL_VERSION = 1
MAX_LINE_BYTES = 1 << 20


@dataclass(frozen=True)
class Request:
    """One command to run, with its arguments as words (like a command line)."""

    id: int | str | None
    command: str
    args: tuple[str, ...] = ()


def encode(message: dict[str, Any]) -> bytes:
    """One protocol line."""
    return json.dumps(message, default=str, separators=(",", ":")).encode() + b"\n"


def decode(line: bytes) -> dict[str, Any]:
    """The object on one protocol line."""
    try:
        message = json.loads(line)
    except ValueError as exc:
        raise ProtocolError(f"not a JSON line: {exc}") from None
    if not isinstance(message, dict):
        raise ProtocolError("a console message is a JSON object")
    return message


def parse_request(message: dict[str, Any]) -> Request:
    """A request from its decoded line, or ProtocolError saying what is wrong."""
    command = message.get("command")
    args = message.get("args", [])
    request_id = message.get("id")
    if not isinstance(command, str) or not command:
        raise ProtocolError("a request needs a non-empty string 'command'")
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise ProtocolError("'args' must be a list of strings")
    if request_id is not None and not isinstance(request_id, int | str):
        raise ProtocolError("'id' must be an integer or a string")
    return Request(request_id, command, tuple(args))


def success(request_id: int | str | None, result: Any) -> dict[str, Any]:
    """A successful response."""
    return {"id": request_id, "ok": True, "result": result}


def failure(request_id: int | str | None, error: str, code: str) -> dict[str, Any]:
    """A failed response."""
    return {"id": request_id, "ok": False, "error": error, "code": code}


def mismatch_message(daemon: object, console: int = PROTOCOL_VERSION) -> str:
    """What a console tells its user when the daemon speaks another protocol version."""
    newer = "this console" if isinstance(daemon, int) and daemon < console else "the daemon"
    older = "the daemon" if newer == "this console" else "this console"
    return (
        f"daemon speaks console protocol {daemon}, this console speaks {console}; "
        f"upgrade {older} to the version of {newer} (the same alphap release on both sides)"
    )

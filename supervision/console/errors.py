"""Errors of the introspection console, on both ends of its socket."""

from __future__ import annotations

from supervision.errors import SupervisionError


class ConsoleError(SupervisionError):
    """Base of every console error."""


class ProtocolError(ConsoleError):
    """A line that is not a valid console protocol message."""


class ProtocolMismatch(ConsoleError):  # noqa: N818 - reads as what happened
    """The daemon speaks another version of the console protocol."""


class DaemonNotRunning(ConsoleError):  # noqa: N818 - reads as what happened
    """Nothing listens on the console socket."""


class AccessRefused(ConsoleError):  # noqa: N818 - reads as what happened
    """The daemon refused this user (peer credentials) or the socket's mode did."""


class UsageError(ConsoleError):
    """A command was given arguments it cannot use (raised by command handlers)."""


class CommandFailed(ConsoleError):  # noqa: N818 - reads as what happened
    """The daemon answered a request with an error; `code` says which kind."""

    def __init__(self, message: str, code: str = "failed") -> None:
        super().__init__(message)
        self.code = code

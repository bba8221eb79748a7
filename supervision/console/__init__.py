"""The actor-introspection console: a Unix-socket server inside the daemon and its client.

Protocol, commands and security model: docs/CONSOLE.md. Generic commands over
a supervision tree are here (tree_commands); applications add their own.
"""

from supervision.console.client import ConsoleClient
from supervision.console.commands import Command, CommandSet
from supervision.console.errors import (
    AccessRefused,
    CommandFailed,
    ConsoleError,
    DaemonNotRunning,
    ProtocolError,
    ProtocolMismatch,
    UsageError,
)
from supervision.console.protocol import PROTOCOL_VERSION
from supervision.console.server import ConsoleServer
from supervision.console.tree_commands import TreeCommands

__all__ = [
    "PROTOCOL_VERSION",
    "AccessRefused",
    "Command",
    "CommandFailed",
    "CommandSet",
    "ConsoleClient",
    "ConsoleError",
    "ConsoleServer",
    "DaemonNotRunning",
    "ProtocolError",
    "ProtocolMismatch",
    "TreeCommands",
    "UsageError",
]

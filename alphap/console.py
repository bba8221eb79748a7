"""The console inside the daemon: where its socket is, and what it answers.

supervision.console serves the generic tree commands; alphap.console_commands
adds the trading ones. Protocol and security model: docs/CONSOLE.md.
"""

from __future__ import annotations

import os
from pathlib import Path

import structlog

from alphap import __version__
from alphap.console_commands import TradingCommands
from alphap.settings import Settings
from supervision import Supervisor
from supervision.console import CommandSet, ConsoleError, ConsoleServer, TreeCommands
from supervision.deadletters import dead_letter_client
from supervision.redaction import DEFAULT_REDACTOR

log = structlog.get_logger(__name__)

SOCKET_NAME = "console.sock"
ADMIN_HINT = "set ALPHAP_CONSOLE_ADMIN=true and restart the daemon"
SYSTEMD_SOCKET = Path("/run/alphap") / SOCKET_NAME


def console_socket_path(settings: Settings) -> Path:
    """ALPHAP_CONSOLE_SOCKET, else systemd's runtime directory, else the state directory."""
    if settings.console_socket is not None:
        return settings.console_socket
    runtime = os.environ.get("RUNTIME_DIRECTORY")
    if runtime:
        return Path(runtime.split(":")[0]) / SOCKET_NAME
    return Path(settings.state_dir) / SOCKET_NAME


def find_console_socket(settings: Settings) -> Path:
    """The socket a console should use: the daemon's own choice, else the unit's runtime one.

    A shell has no RUNTIME_DIRECTORY, so `sudo alphap console` next to the shipped
    unit (RuntimeDirectory=alphap) would look in the state directory; it finds
    /run/alphap/console.sock instead when only that exists.
    """
    path = console_socket_path(settings)
    if settings.console_socket is None and not path.exists() and SYSTEMD_SOCKET.exists():
        return SYSTEMD_SOCKET
    return path


class DaemonConsole:
    """The daemon's console server; a console that could not bind is logged, not fatal."""

    def __init__(self, settings: Settings, root: Supervisor, redis_url: str) -> None:
        self.trading = TradingCommands(root, dead_letter_client(redis_url), settings.redis_prefix)
        commands = CommandSet(TreeCommands(root).commands())
        commands.extend(self.trading.commands())
        self.server = ConsoleServer(
            console_socket_path(settings),
            commands,
            version=__version__,
            server="alphap",
            admin=settings.console_admin,
            admin_hint=ADMIN_HINT,
            redactor=DEFAULT_REDACTOR,
        )

    def start(self) -> DaemonConsole:
        try:
            self.server.start()
        except (OSError, ConsoleError) as exc:
            # Not fatal: the daemon runs on without a console; the reason is in the line.
            log.error(  # noqa: TRY400 - a traceback adds nothing to the OS error text
                "console_unavailable", socket=str(self.server.path), error=str(exc)
            )
        return self

    def stop(self) -> None:
        self.server.stop()
        self.trading.close()


def start_console(settings: Settings, root: Supervisor, redis_url: str) -> DaemonConsole:
    """Start the console on a running root (stop it before the root stops)."""
    return DaemonConsole(settings, root, redis_url).start()

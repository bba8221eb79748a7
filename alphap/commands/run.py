"""`alphap run`: the state daemon in the foreground (systemd runs it as Type=notify)."""

from __future__ import annotations

import argparse
from typing import Any

from alphap.daemon import run_daemon, settings_failed
from alphap.settings import Settings
from alphap.trading import trading_parts


def register(subparsers: Any) -> None:
    run = subparsers.add_parser(
        "run",
        help="run the daemon in the foreground",
        description=(
            "Start the supervision tree and process the ingress stream until SIGTERM or "
            "SIGINT (a second signal stops at once); SIGHUP reloads the log level and the "
            "schedules, SIGUSR1 logs every thread's stack. Refuses to start unless the "
            "database schema is at head. Exit status: 0 after a graceful stop, 1 root "
            "escalation, 69 database unreachable, 75 stop timeout, 78 invalid settings or "
            "schema not at head, 130 second signal (deploy/README.md)."
        ),
    )
    run.add_argument(
        "--migrate", action="store_true", help="upgrade the database schema to head first"
    )
    run.set_defaults(handler=run_command, settings_failed=settings_failed)


def run_command(settings: Settings, args: argparse.Namespace) -> int:
    return run_daemon(settings, trading_parts, migrate=args.migrate)

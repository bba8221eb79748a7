"""`alphap run`: the state daemon in the foreground (systemd runs it as Type=notify)."""

from __future__ import annotations

import argparse
from typing import Any

from alphap.daemon import run_daemon
from alphap.settings import Settings
from alphap.trading import trading_parts


def register(subparsers: Any) -> None:
    run = subparsers.add_parser(
        "run",
        help="run the daemon in the foreground",
        description=(
            "Start the supervision tree and process the ingress stream until SIGTERM or "
            "SIGINT (a second signal stops at once). Refuses to start unless the database "
            "schema is at head."
        ),
    )
    run.add_argument(
        "--migrate", action="store_true", help="upgrade the database schema to head first"
    )
    run.set_defaults(handler=run_command)


def run_command(settings: Settings, args: argparse.Namespace) -> int:
    return run_daemon(settings, trading_parts, migrate=args.migrate)

"""The `alphap` command: parses arguments and hands each subcommand its settings.

Each subcommand lives in alphap/commands/<name>.py and exposes
`register(subparsers)`; this module only wires them together.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import structlog

from alphap import __version__
from alphap.commands import COMMAND_MODULES
from alphap.errors import AlphapError, SettingsError
from alphap.logs import configure_logging
from alphap.settings import load_settings
from supervision.redaction import DEFAULT_REDACTOR


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="alphap", description="State daemon of a Zerodha Kite trading system."
    )
    parser.add_argument("--version", action="version", version=f"alphap {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMAND_MODULES:
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; the return value is the process's exit status."""
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
        DEFAULT_REDACTOR.register(settings.secret_values())
        configure_logging(settings.log_level, settings.log_format)
        status: int = args.handler(settings, args)
    except SettingsError as exc:
        # A daemon command says why in its log (the journal), with its own exit status.
        settings_failed = getattr(args, "settings_failed", None)
        if settings_failed is not None:
            return int(settings_failed(exc))
        sys.stderr.write(f"alphap: {DEFAULT_REDACTOR.text(str(exc))}\n")
        return 2
    except AlphapError as exc:
        sys.stderr.write(f"alphap: {DEFAULT_REDACTOR.text(str(exc))}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("alphap: interrupted\n")
        return 130
    except Exception as exc:
        structlog.get_logger("alphap").exception("command_failed", command=args.command)
        sys.stderr.write(f"alphap: {type(exc).__name__}: {DEFAULT_REDACTOR.text(str(exc))}\n")
        return 1
    return status

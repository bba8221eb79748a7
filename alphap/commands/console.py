"""`alphap console`: attach to the running daemon's actor-introspection console.

Without a command: an interactive session (history in the state directory,
tab completion of commands and actor names, `help`). With one: run it, print
the answer (tables, or JSON with --json) and exit non-zero on any error.
`top` is the client's own live view over `actors`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shlex
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from alphap.console import find_console_socket
from alphap.errors import AlphapError
from alphap.output import emit_json, say
from alphap.settings import Settings
from supervision.console import CommandFailed, ConsoleClient, ConsoleError
from supervision.console.render import render, render_actors
from supervision.redaction import DEFAULT_REDACTOR

HISTORY_FILE = "console_history"
HISTORY_LENGTH = 1000
CLIENT_COMMANDS = ("top", "quit", "exit")
TOP_USAGE = "top [--sort mailbox|failures] [--interval SECONDS] [--limit N] [--once]"


def register(subparsers: Any) -> None:
    console = subparsers.add_parser(
        "console",
        help="attach to the running daemon's actor console",
        description=(
            "Inspect the running daemon's actors over its Unix socket. Without COMMAND: an "
            "interactive session; `help` lists the commands. Admin commands need the daemon "
            "started with ALPHAP_CONSOLE_ADMIN=true."
        ),
    )
    console.add_argument("--json", action="store_true", help="print JSON for every command")
    console.add_argument(
        "--socket", type=Path, help="the daemon's console socket (default: ALPHAP_CONSOLE_SOCKET)"
    )
    console.add_argument(
        "words", nargs=argparse.REMAINDER, metavar="COMMAND [ARGS]", help="e.g. inspect journal"
    )
    console.set_defaults(handler=run_console)


def run_console(settings: Settings, args: argparse.Namespace) -> int:
    words = [w for w in args.words if w != "--json"]
    as_json = args.json or len(words) != len(args.words)
    client = ConsoleClient(args.socket or find_console_socket(settings))
    try:
        client.connect()
        if not words:
            return Session(client, Path(settings.state_dir), as_json).run()
        return run_words(client, words, as_json)
    except ConsoleError as exc:
        raise AlphapError(str(exc)) from None
    finally:
        client.close()


def run_words(client: ConsoleClient, words: Sequence[str], as_json: bool) -> int:
    """Run one command line; 0, or 1 after printing the daemon's error."""
    command, args = words[0], list(words[1:])
    if command == "top":
        return top(client, args, as_json)
    try:
        result = client.call(command, args)
    except CommandFailed as exc:
        if as_json:
            emit_json({"ok": False, "error": str(exc), "code": exc.code})
        sys.stderr.write(f"alphap console: {DEFAULT_REDACTOR.text(str(exc))}\n")
        return 1
    if as_json:
        emit_json(result)
    else:
        for line in render(command, result):
            say(line)
    return 0


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise AlphapError(f"{message}; usage: {TOP_USAGE}")


def _top_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="top", add_help=False)
    parser.add_argument("--sort", choices=("mailbox", "failures"), default="mailbox")
    parser.add_argument("--interval", type=float, default=2.0)
    parser.add_argument("--limit", type=int, default=25)
    parser.add_argument("--once", action="store_true")
    return parser


def sorted_actors(rows: list[dict[str, Any]], by: str) -> list[dict[str, Any]]:
    """Busiest (mailbox) or most failing (failures) first; the other counter breaks ties."""
    if by == "failures":
        return sorted(rows, key=lambda r: (-r["failed"], -r["restarts"], -r["mailbox"], r["name"]))
    return sorted(rows, key=lambda r: (-r["mailbox"], -r["failed"], r["name"]))


def top(client: ConsoleClient, argv: Sequence[str], as_json: bool) -> int:
    """Refresh the actors table every `--interval` seconds until Ctrl-C (or once)."""
    options = _top_parser().parse_args(list(argv))
    if options.interval <= 0:
        raise AlphapError("--interval must be positive")
    pause = threading.Event()
    live = sys.stdout.isatty() and not options.once
    with contextlib.suppress(KeyboardInterrupt):
        while True:
            health = client.call("health")
            rows = sorted_actors(client.call("actors"), options.sort)[: options.limit]
            view = {
                "time": time.time(),
                "healthy": health["healthy"],
                "sort": options.sort,
                "actors": rows,
            }
            if as_json:
                say(json.dumps(view, default=str))
            else:
                if live:
                    sys.stdout.write("\x1b[H\x1b[2J")
                verdict = "healthy" if health["healthy"] else "NOT healthy"
                say(
                    f"alphap top  {time.strftime('%H:%M:%S')}  {verdict}  "
                    f"{health['live_actors']} actors, sorted by {options.sort}"
                    + ("  (Ctrl-C quits)" if live else "")
                )
                for line in render_actors(rows):
                    say(line)
            if options.once or pause.wait(options.interval):
                break
    return 0


class Session:
    """The interactive console: a prompt with history and completion."""

    def __init__(self, client: ConsoleClient, state_dir: Path, as_json: bool) -> None:
        self.client = client
        self.history = state_dir / HISTORY_FILE
        self.as_json = as_json
        self.commands: list[dict[str, Any]] = client.call("help")
        self.actor_names: list[str] = []

    def run(self) -> int:
        hello = self.client.hello
        admin = "on" if hello.get("admin") else "off"
        say(
            f"alphap {hello.get('version', '?')} console (protocol {hello.get('protocol')}, "
            f"admin commands {admin}); `help` lists commands, Ctrl-D quits"
        )
        readline = self._readline()
        try:
            while True:
                self._refresh_names()
                try:
                    line = input("alphap> ")
                except EOFError:
                    say("")
                    return 0
                except KeyboardInterrupt:
                    say("")
                    continue
                if readline is not None and line.strip():
                    readline.add_history(line)
                if self.once(line) is None:
                    return 0
        finally:
            if readline is not None:
                with contextlib.suppress(OSError):
                    self.history.parent.mkdir(parents=True, exist_ok=True)
                    readline.write_history_file(str(self.history))
                    self.history.chmod(0o600)

    def once(self, line: str) -> int | None:
        """Run one typed line; None when the user asked to quit."""
        try:
            words = shlex.split(line)
        except ValueError as exc:
            say(f"cannot read that line: {exc}")
            return 1
        if not words:
            return 0
        if words[0] in ("quit", "exit"):
            return None
        as_json = self.as_json or "--json" in words
        try:
            return run_words(self.client, [w for w in words if w != "--json"], as_json)
        except (AlphapError, ConsoleError) as exc:
            say(f"error: {exc}")
            return 1

    def _refresh_names(self) -> None:
        with contextlib.suppress(ConsoleError):
            self.actor_names = [row["name"] for row in self.client.call("actors")]

    def complete(self, text: str, state: int, line: str) -> str | None:
        """readline's completer: command names first, then actor names after such commands."""
        words = line.split()
        first = not words or (len(words) == 1 and not line.endswith(" "))
        if first:
            names = [c["name"] for c in self.commands] + list(CLIENT_COMMANDS)
        elif any(c["name"] == words[0] and c.get("takes_actor") for c in self.commands):
            names = self.actor_names
        else:
            names = []
        matches = sorted(n for n in names if n.startswith(text))
        return matches[state] if state < len(matches) else None

    def _readline(self) -> Any:
        try:
            import readline  # noqa: PLC0415 - optional: absent on some Pythons
        except ImportError:
            return None
        with contextlib.suppress(OSError):
            readline.read_history_file(str(self.history))
        readline.set_history_length(HISTORY_LENGTH)
        readline.set_auto_history(False)  # added by run(), terminal or not
        readline.set_completer_delims(" \t")
        readline.set_completer(
            lambda text, state: self.complete(text, state, readline.get_line_buffer())
        )
        readline.parse_and_bind("tab: complete")
        return readline

"""The console's commands: a name, a handler over argument words, a summary, an admin flag.

The generic commands over a supervision tree live in `tree_commands`; an
application registers its own beside them (each handler returns JSON-able data).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from supervision.console.errors import UsageError

Handler = Callable[[Sequence[str]], Any]


@dataclass(frozen=True)
class Command:
    """One console command; `usage` is the argument synopsis shown by `help`."""

    name: str
    handler: Handler
    summary: str
    usage: str = ""
    admin: bool = False
    takes_actor: bool = False
    """Its first argument is an actor name (the interactive console completes it)."""

    def describe(self) -> dict[str, Any]:
        """What `help` shows of this command."""
        return {
            "name": self.name,
            "usage": f"{self.name} {self.usage}".strip(),
            "summary": self.summary,
            "admin": self.admin,
            "takes_actor": self.takes_actor,
        }


class CommandSet:
    """The commands a console server answers; `help` is always there."""

    def __init__(self, commands: Iterable[Command] = ()) -> None:
        self._commands: dict[str, Command] = {}
        self.add(Command("help", self._help, "the commands this daemon answers"))
        for command in commands:
            self.add(command)

    def add(self, command: Command) -> None:
        """Register a command; a name may be registered once."""
        if command.name in self._commands:
            raise ValueError(f"console command {command.name!r} is already registered")
        self._commands[command.name] = command

    def extend(self, commands: Iterable[Command]) -> None:
        """Register several commands."""
        for command in commands:
            self.add(command)

    def get(self, name: str) -> Command | None:
        """The command called `name`, if any."""
        return self._commands.get(name)

    def names(self) -> list[str]:
        """Every command name, sorted."""
        return sorted(self._commands)

    def _help(self, args: Sequence[str]) -> list[dict[str, Any]]:
        expect_args(args, 0, "help")
        return [self._commands[name].describe() for name in self.names()]


def expect_args(args: Sequence[str], count: int, usage: str) -> None:
    """UsageError unless exactly `count` arguments were given."""
    if len(args) != count:
        raise UsageError(f"usage: {usage}")


def options(
    args: Sequence[str], names: Iterable[str], usage: str, flags: Iterable[str] = ()
) -> tuple[list[str], dict[str, str]]:
    """Split words into positional arguments, `--name value` options and `--flag`s."""
    switches = set(flags)
    allowed = set(names) | switches
    positional: list[str] = []
    found: dict[str, str] = {}
    words = list(args)
    while words:
        word = words.pop(0)
        if not word.startswith("--"):
            positional.append(word)
            continue
        name, has_value, value = word[2:].partition("=")
        if name not in allowed:
            raise UsageError(f"unknown option --{name}; usage: {usage}")
        if name in switches:
            found[name] = "true"
            continue
        if not has_value:
            if not words:
                raise UsageError(f"--{name} needs a value; usage: {usage}")
            value = words.pop(0)
        found[name] = value
    return positional, found


def number(value: str, name: str, kind: Callable[[str], Any] = int) -> Any:
    """A numeric option, or UsageError naming it."""
    try:
        parsed = kind(value)
    except ValueError:
        raise UsageError(f"--{name} must be a number, got {value!r}") from None
    if parsed < 0:
        raise UsageError(f"--{name} must not be negative")
    return parsed

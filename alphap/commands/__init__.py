"""Subcommands of `alphap`, one module each, listed in the order `--help` shows them."""

from types import ModuleType

from alphap.commands import console, db, demo, dlq, events, instruments, keys, login, portfolio, run

COMMAND_MODULES: tuple[ModuleType, ...] = (
    db,
    keys,
    login,
    run,
    demo,
    events,
    instruments,
    portfolio,
    dlq,
    console,
)

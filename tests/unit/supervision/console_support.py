"""Helpers for the console tests: a short socket directory and a small tree of test actors."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from supervision import ChildSpec, KeyedSupervisor, Supervisor
from supervision.console import CommandSet, ConsoleServer, TreeCommands
from supervision.redaction import Redactor
from tests.unit.supervision.support import Journal, MemorySink, Recorder, fast_config

SECRET = "s3cr3t-console-value"  # noqa: S105 - a made-up value the redactor must hide


@contextmanager
def socket_dir() -> Iterator[Path]:
    """A short directory for sockets (AF_UNIX paths are limited to 107 bytes)."""
    path = Path(tempfile.mkdtemp(prefix="con-", dir="/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


class Described(Recorder):
    """A recorder that describes itself, with a secret that must never reach the console."""

    def describe(self) -> dict[str, Any]:
        return {
            "handled": len(self.journal.handled),
            "api_secret": "plain-secret-under-a-secret-key",
            "note": f"contains {SECRET} inline",
            "positions": {"5": {"quantity": 3, "average_price": "101.5"}},
        }


def build_tree(journal: Journal, sink: MemorySink) -> Supervisor:
    """root: worker (described), keys (keyed recorders), other (plain recorder)."""
    return Supervisor(
        "root",
        [
            ChildSpec("worker", lambda: Described(journal, "worker")),
            ChildSpec(
                "keys",
                lambda: KeyedSupervisor(
                    "keys", lambda key: Recorder(journal, key), idle_after=None
                ),
                subtree=True,
            ),
            ChildSpec("other", lambda: Recorder(journal, "other")),
        ],
        config=fast_config(sink),
    )


@contextmanager
def served_tree(
    directory: Path,
    journal: Journal,
    sink: MemorySink,
    *,
    admin: bool = False,
    deadline: float = 5.0,
) -> Iterator[tuple[Supervisor, ConsoleServer]]:
    """A started tree and a console server on `directory/console.sock`; both stopped after."""
    root = build_tree(journal, sink).start()
    redactor = Redactor([SECRET])
    commands = CommandSet(TreeCommands(root, deadline=deadline, action_timeout=10.0).commands())
    server = ConsoleServer(
        directory / "console.sock",
        commands,
        version="9.9.9",
        admin=admin,
        admin_hint="set TEST_ADMIN=1",
        redactor=redactor,
    )
    try:
        server.start()
        yield root, server
    finally:
        server.stop()
        root.stop()

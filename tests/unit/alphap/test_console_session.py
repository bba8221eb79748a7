"""The interactive console and `top` against a real console server over a small test tree."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from alphap.commands.console import Session, run_words, sorted_actors
from alphap.console import console_socket_path, find_console_socket
from alphap.errors import AlphapError
from alphap.settings import Settings
from supervision.console import ConsoleClient, ConsoleServer
from tests.unit.supervision.console_support import SECRET, served_tree, socket_dir
from tests.unit.supervision.support import Journal, MemorySink, no_leftovers


@pytest.fixture
def served() -> Iterator[tuple[ConsoleServer, Journal]]:
    journal = Journal()
    with (
        no_leftovers(),
        socket_dir() as directory,
        served_tree(directory, journal, MemorySink()) as (root, server),
    ):
        root.ref("worker").ask("hello")
        yield server, journal


def test_completion_of_commands_and_actor_names(
    served: tuple[ConsoleServer, Journal], tmp_path: Path
) -> None:
    server, _ = served
    with ConsoleClient(server.path) as client:
        session = Session(client, tmp_path, as_json=False)
        session._refresh_names()
        assert session.complete("in", 0, "in") == "inspect"
        assert session.complete("in", 1, "in") is None
        assert session.complete("t", 0, "t") == "top"
        assert session.complete("t", 1, "t") == "tree"
        assert session.complete("w", 0, "inspect w") == "worker"
        assert session.complete("o", 0, "restart o") == "other"
        assert session.complete("w", 0, "tree w") is None


def test_an_interactive_session_runs_lines_and_keeps_history(
    served: tuple[ConsoleServer, Journal],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server, _ = served
    lines = "help\ninspect worker\nactors --json\nrestart worker\nnope\ninspect 'unclosed\nquit\n"
    monkeypatch.setattr("sys.stdin", io.StringIO(lines))
    with ConsoleClient(server.path) as client:
        assert Session(client, tmp_path, as_json=False).run() == 0
    out, err = capsys.readouterr()
    assert "admin commands off" in out
    assert "inspect NAME" in out and "(admin)" in out
    assert "actor_class: Described" in out
    assert '"name": "worker"' in out
    assert "admin commands are disabled" in err
    assert "unknown command 'nope'" in err
    assert "cannot read that line" in out
    assert SECRET not in out + err
    history = tmp_path / "console_history"
    assert history.stat().st_mode & 0o777 == 0o600
    assert "inspect worker" in history.read_text()


def test_top_once_sorted_by_mailbox_or_failures_in_both_forms(
    served: tuple[ConsoleServer, Journal], capsys: pytest.CaptureFixture[str]
) -> None:
    server, _ = served
    with ConsoleClient(server.path) as client:
        assert run_words(client, ["top", "--once", "--sort", "failures"], as_json=False) == 0
        human, _ = capsys.readouterr()
        assert run_words(client, ["top", "--once"], as_json=True) == 0
        view = json.loads(capsys.readouterr()[0])
        with pytest.raises(AlphapError, match="usage: top"):
            run_words(client, ["top", "--sort", "age"], as_json=False)
    lines = human.splitlines()
    title = next(i for i, line in enumerate(lines) if line.startswith("alphap top"))
    assert "sorted by failures" in lines[title] and "healthy" in lines[title]
    assert lines[title + 1].split()[:3] == ["name", "state", "mailbox"]
    assert view["sort"] == "mailbox" and {r["name"] for r in view["actors"]} == {"worker", "other"}


def test_sorting_puts_the_busiest_or_the_failing_first() -> None:
    rows = [
        {"name": "a", "mailbox": 1, "failed": 5, "restarts": 0},
        {"name": "b", "mailbox": 9, "failed": 0, "restarts": 0},
        {"name": "c", "mailbox": 0, "failed": 5, "restarts": 2},
    ]
    assert [r["name"] for r in sorted_actors(rows, "mailbox")] == ["b", "a", "c"]
    assert [r["name"] for r in sorted_actors(rows, "failures")] == ["c", "a", "b"]


def test_the_socket_path_follows_the_setting_then_systemd_then_the_state_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RUNTIME_DIRECTORY", raising=False)
    plain = Settings(state_dir=tmp_path / "state", _env_file=None)  # type: ignore[call-arg]
    assert console_socket_path(plain) == tmp_path / "state" / "console.sock"
    monkeypatch.setenv("RUNTIME_DIRECTORY", f"{tmp_path}/run:{tmp_path}/other")
    assert console_socket_path(plain) == tmp_path / "run" / "console.sock"
    chosen = Settings(  # type: ignore[call-arg]
        state_dir=tmp_path, console_socket=tmp_path / "c.sock", _env_file=None
    )
    assert console_socket_path(chosen) == find_console_socket(chosen) == tmp_path / "c.sock"

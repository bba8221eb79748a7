"""The console server: socket mode, stale sockets, peer credentials, protocol, timeouts, admin."""

from __future__ import annotations

import json
import os
import select
import socket
import stat
import subprocess
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from supervision.console import (
    AccessRefused,
    Command,
    CommandFailed,
    CommandSet,
    ConsoleClient,
    ConsoleError,
    ConsoleServer,
    DaemonNotRunning,
    ProtocolMismatch,
)
from supervision.console.peer import peer_allowed, peer_credentials
from supervision.console.protocol import PROTOCOL_VERSION, mismatch_message
from supervision.redaction import Redactor
from tests.unit.supervision.console_support import SECRET, socket_dir

NOBODY = 65534


@pytest.fixture
def directory() -> Iterator[Path]:
    with socket_dir() as path:
        yield path


def echo_commands(gate: threading.Event | None = None) -> CommandSet:
    def echo(args: Sequence[str]) -> Any:
        return {"args": list(args), "secret": SECRET, "password": "hunter2hunter2"}

    def stuck(_: Sequence[str]) -> Any:
        assert gate is not None
        gate.wait(10.0)
        return "late"

    def boom(_: Sequence[str]) -> Any:
        raise RuntimeError(f"broken with {SECRET}")

    def reset(_: Sequence[str]) -> Any:
        return "reset done"

    return CommandSet(
        [
            Command("echo", echo, "echo the arguments"),
            Command("stuck", stuck, "wait for the gate"),
            Command("boom", boom, "fail"),
            Command("reset", reset, "an admin action", admin=True),
        ]
    )


def serve(directory: Path, **kwargs: Any) -> ConsoleServer:
    return ConsoleServer(
        directory / "console.sock", kwargs.pop("commands", None) or echo_commands(),
        version="1.2.3", redactor=Redactor([SECRET]), **kwargs,
    ).start()  # fmt: skip


def test_socket_is_created_with_mode_0600_and_removed_on_stop(directory: Path) -> None:
    server = serve(directory)
    try:
        mode = (directory / "console.sock").stat().st_mode
        assert stat.S_ISSOCK(mode)
        assert stat.S_IMODE(mode) == 0o600
    finally:
        server.stop()
    assert not (directory / "console.sock").exists()


def test_a_stale_socket_is_replaced_but_a_live_one_or_a_file_is_not(directory: Path) -> None:
    path = directory / "console.sock"
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(path))
    stale.close()  # the file stays behind, as after a crash
    server = serve(directory)
    try:
        with ConsoleClient(path) as client:
            assert client.call("echo", ["x"])["args"] == ["x"]
        with pytest.raises(ConsoleError, match="another process is listening"):
            serve(directory)
    finally:
        server.stop()
    path.write_text("not a socket")
    with pytest.raises(ConsoleError, match="is not a socket"):
        serve(directory)
    assert path.read_text() == "not a socket"


def test_hello_names_protocol_version_and_admin(directory: Path) -> None:
    with serve(directory, admin=True), ConsoleClient(directory / "console.sock") as client:
        assert client.hello["protocol"] == PROTOCOL_VERSION
        assert client.hello["version"] == "1.2.3"
        assert client.hello["admin"] is True
        assert client.hello["pid"] == os.getpid()


def test_peer_credentials_are_the_kernels(directory: Path) -> None:
    with serve(directory):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(str(directory / "console.sock"))
        try:
            assert peer_credentials(sock).uid == os.getuid()
            assert peer_credentials(sock).pid == os.getpid()
        finally:
            sock.close()


def test_only_the_own_user_and_root_are_allowed() -> None:
    assert peer_allowed(1000, own_uid=1000)
    assert peer_allowed(0, own_uid=1000)
    assert not peer_allowed(1001, own_uid=1000)
    assert not peer_allowed(NOBODY, own_uid=0)


CLIENT = """
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
try:
    s.connect(sys.argv[1])
except PermissionError:
    print("EACCES")
    sys.exit(0)
print(s.makefile("rb").readline().decode().strip())
"""


@pytest.mark.skipif(os.getuid() != 0, reason="running a client as another user needs root")
def test_another_user_is_refused_by_mode_and_by_peer_credentials(directory: Path) -> None:
    directory.chmod(0o755)
    path = directory / "console.sock"
    # A system interpreter another user can run (a venv under /root is not reachable).
    python = "/usr/bin/python3"
    if not os.access(python, os.X_OK):
        pytest.skip("no system python3 to run as another user")

    def as_nobody() -> str:
        return subprocess.run(
            [python, "-c", CLIENT, str(path)],
            user=NOBODY, cwd="/", capture_output=True, text=True, check=True, timeout=30,
        ).stdout.strip()  # fmt: skip

    with serve(directory):
        assert as_nobody() == "EACCES"
        path.chmod(0o666)  # a mistaken mode: the peer check still refuses
        with capture_logs() as logs:
            answer = json.loads(as_nobody())
        assert answer["protocol"] == PROTOCOL_VERSION
        assert f"uid {NOBODY} may not use this console" in answer["refused"]
        refused = [e for e in logs if e["event"] == "console_refused"]
        assert refused and refused[0]["uid"] == NOBODY


def fake_daemon(path: Path, hello: dict[str, Any]) -> threading.Thread:
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(1)

    def answer() -> None:
        connection, _ = listener.accept()
        connection.sendall(json.dumps(hello).encode() + b"\n")
        connection.close()
        listener.close()

    thread = threading.Thread(target=answer)
    thread.start()
    return thread


def test_an_older_daemon_is_named_clearly(directory: Path) -> None:
    thread = fake_daemon(directory / "old.sock", {"protocol": 0, "version": "0.0.1"})
    with pytest.raises(ProtocolMismatch) as caught:
        ConsoleClient(directory / "old.sock").connect()
    thread.join(10)
    assert str(caught.value) == (
        f"daemon speaks console protocol 0, this console speaks {PROTOCOL_VERSION}; "
        "upgrade the daemon to the version of this console (the same alphap release on both sides)"
    )


def test_a_newer_daemon_tells_the_console_to_upgrade(directory: Path) -> None:
    with serve(directory), pytest.raises(ProtocolMismatch) as caught:
        ConsoleClient(directory / "console.sock", protocol=PROTOCOL_VERSION - 1).connect()
    assert str(caught.value) == mismatch_message(PROTOCOL_VERSION, PROTOCOL_VERSION - 1)
    assert "upgrade this console" in str(caught.value)


def test_no_daemon_names_the_socket(directory: Path) -> None:
    with pytest.raises(DaemonNotRunning, match=str(directory / "absent.sock")):
        ConsoleClient(directory / "absent.sock").connect()


def test_results_and_errors_are_redacted(directory: Path) -> None:
    with serve(directory), ConsoleClient(directory / "console.sock") as client:
        result = client.call("echo", [f"with {SECRET}"])
        assert result == {"args": ["with ***"], "secret": "***", "password": "***"}
        with pytest.raises(CommandFailed) as caught:
            client.call("boom")
    assert caught.value.code == "failed"
    assert str(caught.value) == "RuntimeError: broken with ***"


def test_unknown_command_and_bad_lines_are_answered_not_fatal(directory: Path) -> None:
    with serve(directory):
        with ConsoleClient(directory / "console.sock") as client:
            with pytest.raises(CommandFailed) as caught:
                client.call("nope")
            assert caught.value.code == "unknown_command"
            assert "`help` lists the commands" in str(caught.value)
            assert [c["name"] for c in client.call("help")] == [
                "boom", "echo", "help", "reset", "stuck",
            ]  # fmt: skip
        raw = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        raw.connect(str(directory / "console.sock"))
        with raw, raw.makefile("rb") as reader:
            reader.readline()
            raw.sendall(b"this is not json\n")
            assert json.loads(reader.readline())["code"] == "protocol"
            raw.sendall(b'{"id": 3, "command": "echo", "args": [1]}\n')
            assert json.loads(reader.readline())["code"] == "protocol"
            raw.sendall(b'{"id": 4, "command": "echo", "args": ["ok"]}\n')
            assert json.loads(reader.readline()) == {
                "id": 4, "ok": True, "result": {"args": ["ok"], "secret": "***", "password": "***"},
            }  # fmt: skip


def test_a_stuck_command_times_out_and_the_console_goes_on(directory: Path) -> None:
    gate = threading.Event()
    with (
        serve(directory, commands=echo_commands(gate), request_timeout=0.2),
        ConsoleClient(directory / "console.sock") as client,
    ):
        with pytest.raises(CommandFailed) as caught:
            client.call("stuck")
        assert caught.value.code == "timeout"
        assert "try `health`" in str(caught.value)
        assert client.call("echo", ["after"])["args"] == ["after"]
        gate.set()


def test_admin_commands_are_refused_unless_enabled(directory: Path) -> None:
    with (
        serve(directory),
        ConsoleClient(directory / "console.sock") as client,
        pytest.raises(CommandFailed) as caught,
    ):
        client.call("reset")
    assert caught.value.code == "admin_disabled"
    assert "admin commands are disabled" in str(caught.value)
    assert "to enable them, start the daemon with console admin" in str(caught.value)
    with (
        capture_logs() as logs,
        serve(directory, admin=True),
        ConsoleClient(directory / "console.sock") as client,
    ):
        assert client.call("reset") == "reset done"
    assert any(e["event"] == "console_admin_command" and e["command"] == "reset" for e in logs)


def test_connections_beyond_the_bound_are_refused(directory: Path) -> None:
    with serve(directory, max_connections=1), ConsoleClient(directory / "console.sock") as first:
        with pytest.raises(AccessRefused, match="too many console connections"):
            ConsoleClient(directory / "console.sock").connect()
        assert first.call("echo")["args"] == []


def test_the_client_reconnects_after_the_daemon_closed_an_idle_connection(directory: Path) -> None:
    with serve(directory, idle_timeout=0.05), ConsoleClient(directory / "console.sock") as client:
        # The server ends the idle connection; wait until the client's socket shows it.
        assert client._socket is not None
        readable, _, _ = select.select([client._socket], [], [], 10.0)
        assert readable
        assert client.call("echo", ["again"])["args"] == ["again"]

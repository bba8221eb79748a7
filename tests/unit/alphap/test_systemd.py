"""The notify protocol reaches a real datagram socket, abstract or not."""

from __future__ import annotations

import os
import socket
import uuid
from pathlib import Path

import pytest

from alphap.systemd import Notifier, watchdog_interval


def _listener(address: str) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + address[1:] if address.startswith("@") else address)
    sock.settimeout(5)
    return sock


@pytest.mark.parametrize("abstract", [False, True])
def test_ready_status_watchdog_stopping_arrive(tmp_path: Path, abstract: bool) -> None:
    address = f"@alphap-test-{uuid.uuid4().hex}" if abstract else str(tmp_path / "notify")
    listener = _listener(address)
    notifier = Notifier(address)
    assert notifier.ready("running")
    assert listener.recv(4096).decode().split("\n")[:2] == ["READY=1", "STATUS=running"]
    assert notifier.watchdog()
    assert listener.recv(4096) == b"WATCHDOG=1"
    assert notifier.stopping()
    assert listener.recv(4096).decode().startswith("STOPPING=1")
    notifier.close()
    listener.close()


def test_without_notify_socket_nothing_is_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    notifier = Notifier()
    assert not notifier.enabled
    assert not notifier.ready("running")


def test_watchdog_interval_is_half_of_watchdog_usec(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", "10000000")
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    assert watchdog_interval() == 5.0
    monkeypatch.setenv("WATCHDOG_PID", "1")
    assert watchdog_interval() is None
    monkeypatch.delenv("WATCHDOG_USEC")
    assert watchdog_interval() is None

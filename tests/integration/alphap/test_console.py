"""`alphap console` against `alphap run` as a process: every command in both output forms.

The daemon runs with a fake NOTIFY_SOCKET (READY=1 says the console is up) and
its console socket in a short private directory; the console runs in-process
through alphap.cli.main, as an operator's shell would run it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import tempfile
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import redis

from alphap.cli import main
from persistence.cipher import generate_key
from tests.e2e.daemon_helpers import AlphapProcess, NotifyListener, clean_environment
from tests.fixtures.stream import append, fill, tick

DEADLINE = 30.0
PORTFOLIO = "portfolios/paper/C1"
READ_ONLY = (
    ["help"], ["tree"], ["actors"], ["health"], ["session"], ["ingress"], ["dlq"],
    ["inspect", "journal"], ["inspect", PORTFOLIO], ["inspect", "portfolios"],
    ["top", "--once"], ["top", "--once", "--sort", "failures"],
)  # fmt: skip


class Console:
    """Runs `alphap console ...` in this process and keeps what it printed."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys
        self.printed: list[str] = []

    def run(self, *words: str) -> tuple[int, str, str]:
        status = main(["console", *words])
        out, err = self.capsys.readouterr()
        self.printed += [out, err]
        return status, out, err

    def json(self, *words: str) -> Any:
        status, out, err = self.run("--json", *words)
        assert status == 0, err
        return json.loads(out)

    def until(self, check: Callable[[], bool], what: str) -> None:
        end = time.monotonic() + DEADLINE
        while not check():
            if time.monotonic() > end:
                raise AssertionError(f"timed out waiting for {what}")
            time.sleep(0.05)


@pytest.fixture
def socket_path() -> Iterator[Path]:
    directory = Path(tempfile.mkdtemp(prefix="con-", dir="/tmp"))
    try:
        yield directory / "console.sock"
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def secret() -> str:
    return generate_key()


@pytest.fixture
def console(
    cli_env: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    socket_path: Path,
    secret: str,
) -> Console:
    monkeypatch.setenv("ALPHAP_CONSOLE_SOCKET", str(socket_path))
    monkeypatch.setenv("ALPHAP_TOKEN_KEYS", secret)
    return Console(capsys)


@pytest.fixture
def start_daemon(  # noqa: PLR0917 - pytest hands fixtures in by name
    database_url: str,
    redis_server_url: str,
    redis_prefix: str,
    socket_path: Path,
    secret: str,
    tmp_path: Path,
) -> Iterator[Callable[[bool], AlphapProcess]]:
    processes: list[tuple[AlphapProcess, NotifyListener]] = []

    def start(admin: bool) -> AlphapProcess:
        listener = NotifyListener()
        env = {
            **clean_environment(),
            "ALPHAP_DATABASE_URL": database_url,
            "ALPHAP_REDIS_URL": redis_server_url,
            "ALPHAP_REDIS_PREFIX": redis_prefix,
            "ALPHAP_STATE_DIR": str(tmp_path / "daemon-state"),
            "ALPHAP_ENV_FILE": str(tmp_path / "no.env"),
            "ALPHAP_LOG_FORMAT": "json",
            "ALPHAP_INGRESS_CONSUMER": "console-test",
            "ALPHAP_TOKEN_KEYS": secret,
            "ALPHAP_CONSOLE_SOCKET": str(socket_path),
            "ALPHAP_CONSOLE_ADMIN": "true" if admin else "false",
            "NOTIFY_SOCKET": listener.address,
        }
        process = AlphapProcess(env, tmp_path / "daemon.log")
        processes.append((process, listener))
        process.start("run")
        listener.wait_for(lambda m: m.get("READY") == "1", "READY=1")
        return process

    yield start
    for process, listener in processes:
        process.stop_now()
        listener.close()


def unrealized(inspected: dict[str, Any]) -> Decimal:
    return Decimal(inspected["description"]["total_unrealized_pnl"])


def stop(process: AlphapProcess, socket_path: Path) -> None:
    process.signal(signal.SIGTERM)
    assert process.wait() == 0, process.log_tail()
    assert not socket_path.exists()


def feed(redis_client: redis.Redis, prefix: str) -> None:
    append(
        redis_client,
        prefix,
        [
            fill("C1", quantity=10, price="100", instrument_token=256265),
            tick(256265, "104"),
            "not json at all",
        ],
    )


def test_every_read_only_command_in_both_forms_and_admin_refused(  # noqa: PLR0917 - fixtures
    console: Console,
    start_daemon: Callable[[bool], AlphapProcess],
    socket_path: Path,
    redis_client: redis.Redis,
    redis_prefix: str,
    secret: str,
) -> None:
    daemon = start_daemon(False)
    assert stat.S_IMODE(socket_path.stat().st_mode) == 0o600
    feed(redis_client, redis_prefix)
    console.until(lambda: console.json("dlq")["total"] == 1, "the malformed document dead-lettered")
    console.until(
        lambda: unrealized(console.json("inspect", PORTFOLIO)) == 40,
        "the fill and the tick applied",
    )

    for words in READ_ONLY:
        status, out, err = console.run(*words)
        assert status == 0, (words, err)
        assert out.strip(), words
        as_json = console.json(*words)
        assert as_json is not None, words

    assert {c["name"] for c in console.json("help")} >= {
        "tree", "actors", "inspect", "health", "session", "ingress", "dlq",
        "restart", "snapshot", "passivate", "fault",
    }  # fmt: skip
    names = {row["name"] for row in console.json("actors")}
    assert names >= {"journal", "session", "instruments", "snapshots", "ingress", PORTFOLIO}
    assert console.json("health")["healthy"] is True
    assert console.json("session")["state"] == "login required"
    ingress = console.json("ingress")
    assert ingress["pending"] == 0 and ingress["lag"] == 0 and ingress["length"] == 3
    assert ingress["acked"] == 3
    assert console.json("dlq")["by_actor"] == {"ingress": 1}
    portfolio = console.json("inspect", PORTFOLIO)["description"]
    assert portfolio["positions"]["256265"]["quantity"] == 10
    assert Decimal(portfolio["total_pnl"]) == Decimal("39.75")  # 40 unrealized, 0.25 fees
    top = console.json("top", "--once")
    assert top["healthy"] is True and {r["name"] for r in top["actors"]} == names

    _, human, _ = console.run("inspect", PORTFOLIO)
    assert "positions:" in human and "total_pnl: 39.75" in human
    assert any(line.split()[:2] == ["256265", "10"] for line in human.splitlines())
    _, table, _ = console.run("actors")
    assert table.splitlines()[0].split()[:3] == ["name", "state", "mailbox"]

    for words in (["restart", "journal"], ["snapshot", "--all"], ["passivate", PORTFOLIO],
                  ["fault", "journal", "raise"]):  # fmt: skip
        status, _, err = console.run(*words)
        assert status == 1, words
        assert "ALPHAP_CONSOLE_ADMIN=true" in err
    status, out, _ = console.run("--json", "restart", "journal")
    assert status == 1 and json.loads(out)["code"] == "admin_disabled"
    assert console.json("inspect", "journal")["restarts"] == 0

    assert not any(secret in text for text in console.printed)
    stop(daemon, socket_path)


def test_admin_commands_act_on_the_running_daemon(
    console: Console,
    start_daemon: Callable[[bool], AlphapProcess],
    socket_path: Path,
    redis_client: redis.Redis,
    redis_prefix: str,
) -> None:
    daemon = start_daemon(True)
    append(redis_client, redis_prefix, [fill("C1", quantity=5, price="200")])
    console.until(lambda: PORTFOLIO in {r["name"] for r in console.json("actors")}, "portfolio")

    assert console.json("restart", "session")["restarts"] == 1
    console.until(lambda: console.json("inspect", "session")["state"] == "degraded", "session up")
    assert console.json("snapshot", PORTFOLIO)["portfolio"] == "paper/C1"
    assert console.json("snapshot", "--all")["all"] is True
    status, _, err = console.run("snapshot", "paper/NOBODY")
    assert status == 1 and "no portfolio actor paper/NOBODY" in err

    passivated = console.json("passivate", PORTFOLIO)
    assert passivated["state"] == "passivated"

    rule = console.json("fault", PORTFOLIO, "raise")
    assert rule["effect"] == "raise" and rule["messages"] == 1
    append(redis_client, redis_prefix, [fill("C1", quantity=1, price="201")])
    console.until(
        lambda: console.json("dlq")["by_actor"].get(PORTFOLIO) == 1,
        "the faulted fill dead-lettered",
    )
    inspected = console.json("inspect", PORTFOLIO)
    assert inspected["dead_lettered"] == 1 and inspected["failed"] >= 1
    assert console.json("fault", PORTFOLIO, "clear")["cleared"] == 1
    stop(daemon, socket_path)


def test_no_daemon_is_a_clear_error_naming_the_socket(console: Console, socket_path: Path) -> None:
    status, out, err = console.run("health")
    assert status != 0
    assert out == ""
    assert f"nothing listens on {socket_path}" in err
    assert os.fspath(socket_path) in err

"""`alphap run` as systemd sees it: notify datagrams, signals, exit statuses and why."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from alphap.daemon import EXIT_CONFIG, EXIT_ESCALATED, EXIT_UNAVAILABLE
from tests.e2e.daemon_helpers import DEADLINE, AlphapProcess, NotifyListener, clean_environment

NOT_RESPONDING = "not responding (watchdog withheld)"


@pytest.fixture
def notify() -> Iterator[NotifyListener]:
    listener = NotifyListener()
    yield listener
    listener.close()


def daemon_env(tmp_path: Path, database_url: str, redis_url: str, prefix: str) -> dict[str, str]:
    return {
        **clean_environment(),
        "ALPHAP_DATABASE_URL": database_url,
        "ALPHAP_REDIS_URL": redis_url,
        "ALPHAP_REDIS_PREFIX": prefix,
        "ALPHAP_STATE_DIR": str(tmp_path / "state"),
        "ALPHAP_INGRESS_CONSUMER": "e2e",
        "ALPHAP_LOG_FORMAT": "json",
        "ALPHAP_ENV_FILE": str(tmp_path / "alphap.env"),
    }


@pytest.fixture
def daemon(
    tmp_path: Path, database_url: str, redis_server_url: str, redis_prefix: str
) -> Iterator[AlphapProcess]:
    (tmp_path / "alphap.env").write_text("ALPHAP_LOG_LEVEL=INFO\n")
    process = AlphapProcess(
        daemon_env(tmp_path, database_url, redis_server_url, redis_prefix), tmp_path / "run.log"
    )
    yield process
    process.stop_now()


def test_notify_signals_and_graceful_stop(
    daemon: AlphapProcess, notify: NotifyListener, tmp_path: Path
) -> None:
    daemon.env["NOTIFY_SOCKET"] = notify.address
    # Half of this is 5 minutes: one ping right after start-up, no other within the test.
    daemon.env["WATCHDOG_USEC"] = "600000000"
    daemon.start("run")

    ready = notify.wait_for(lambda m: m.get("READY") == "1", "READY=1")
    # No Kite credentials in the test: paper trading runs, the session needs a login.
    assert ready["STATUS"] == "running; login required"
    assert ready["MAINPID"] == str(daemon.process.pid if daemon.process else None)
    notify.wait_for(lambda m: m.get("WATCHDOG") == "1", "WATCHDOG=1 while healthy")
    assert not [e for e in daemon.events() if e.get("level") == "debug"]

    daemon.signal(signal.SIGUSR1)
    stacks = daemon.wait_for_event(lambda e: e.get("event") == "thread_stacks", "thread stacks")
    names = {thread["name"] for thread in stacks["threads"]}
    assert "MainThread" in names
    assert len(names) > 3  # the actors' threads too
    main = next(t for t in stacks["threads"] if t["name"] == "MainThread")
    assert "alphap/daemon.py" in main["stack"]

    # A reload applies the valid settings and keeps the old value of an invalid one.
    (tmp_path / "alphap.env").write_text(
        "ALPHAP_LOG_LEVEL=DEBUG\nALPHAP_SESSION_SWEEP_SECONDS=-5\n"
        "ALPHAP_SNAPSHOT_INTERVAL_SECONDS=2\n"
    )
    daemon.signal(signal.SIGHUP)
    reloaded = daemon.wait_for_event(lambda e: e.get("event") == "daemon_reloaded", "reload")
    assert set(reloaded["changed"]) == {"log_level", "snapshot_interval_seconds"}
    assert reloaded["rejected"] == ["session_sweep_seconds"]
    rejected = daemon.wait_for_event(
        lambda e: e.get("event") == "daemon_reload_rejected", "the rejected setting"
    )
    assert "ALPHAP_SESSION_SWEEP_SECONDS" in rejected["problem"]
    daemon.wait_for_event(
        lambda e: e.get("event") == "snapshot_interval_changed", "snapshot interval applied"
    )
    daemon.wait_for_event(lambda e: e.get("level") == "debug", "a DEBUG event after the reload")

    daemon.signal(signal.SIGTERM)
    assert daemon.wait() == 0, daemon.log_tail()
    notify.wait_for(lambda m: m.get("STOPPING") == "1", "STOPPING=1")
    assert [e for e in daemon.events() if e.get("event") == "daemon_stopped"]
    # Pings follow WATCHDOG_USEC/2, not the main loop's pace (a turn a second at most).
    assert [m.get("WATCHDOG") for m in notify.messages].count("1") == 1


def _start_failure(process: AlphapProcess) -> dict[str, object]:
    failures = [e for e in process.events() if e.get("level") == "critical"]
    assert len(failures) == 1, process.log_tail()
    return failures[0]


def test_schema_not_at_head_exits_78_saying_so(
    tmp_path: Path, empty_database_url: str, redis_server_url: str, redis_prefix: str
) -> None:
    process = AlphapProcess(
        daemon_env(tmp_path, empty_database_url, redis_server_url, redis_prefix),
        tmp_path / "run.log",
    )
    process.start("run")
    assert process.wait() == EXIT_CONFIG
    failure = _start_failure(process)
    assert failure["event"] == "daemon_start_failed"
    assert failure["reason"] == "schema not at head"
    assert "alphap migrate" in str(failure["error"])


def test_unreachable_database_exits_69_after_its_budget(
    tmp_path: Path, redis_server_url: str, redis_prefix: str
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    env = daemon_env(
        tmp_path,
        f"postgresql://alphap:secret-pw@127.0.0.1:{closed_port}/alphap",
        redis_server_url,
        redis_prefix,
    )
    env["ALPHAP_DB_STARTUP_TIMEOUT_SECONDS"] = "1"
    process = AlphapProcess(env, tmp_path / "run.log")
    process.start("run")
    assert process.wait() == EXIT_UNAVAILABLE
    failure = _start_failure(process)
    assert failure["reason"] == "database unreachable"
    assert f"127.0.0.1:{closed_port}" in str(failure["error"])
    assert "secret-pw" not in process.log_path.read_text()


def test_invalid_settings_exit_78_saying_which(tmp_path: Path) -> None:
    env = {
        **clean_environment(),
        "ALPHAP_LOG_FORMAT": "json",
        "ALPHAP_SNAPSHOT_INTERVAL_SECONDS": "-1",
        "ALPHAP_ENV_FILE": str(tmp_path / "none.env"),
    }
    process = AlphapProcess(env, tmp_path / "run.log")
    process.start("run")
    assert process.wait() == EXIT_CONFIG
    failure = _start_failure(process)
    assert failure["reason"] == "invalid settings"
    assert "ALPHAP_SNAPSHOT_INTERVAL_SECONDS" in str(failure["error"])


@pytest.fixture
def drill_env(tmp_path: Path, daemon: AlphapProcess, notify: NotifyListener) -> Iterator[Path]:
    """The daemon with its console's admin commands on (a short socket path) and notify socket."""
    directory = Path(tempfile.mkdtemp(prefix="drill-", dir="/tmp"))
    daemon.env.update(
        {
            "ALPHAP_CONSOLE_ADMIN": "true",
            "ALPHAP_CONSOLE_SOCKET": str(directory / "console.sock"),
            "ALPHAP_SNAPSHOT_INTERVAL_SECONDS": "1",
            "NOTIFY_SOCKET": notify.address,
            "WATCHDOG_USEC": "1000000",
        }
    )
    try:
        yield directory / "console.sock"
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def console(daemon: AlphapProcess, *words: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "alphap", "console", *words],
        env=daemon.env,
        capture_output=True,
        text=True,
        timeout=DEADLINE,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_watchdog_withheld_while_an_actor_hangs(
    daemon: AlphapProcess, notify: NotifyListener, drill_env: Path
) -> None:
    daemon.start("run")
    notify.wait_for(lambda m: m.get("READY") == "1", "READY=1")
    notify.wait_for(lambda m: m.get("WATCHDOG") == "1", "WATCHDOG=1 while healthy")

    # The snapshot writer wakes every second; its next message hangs it (for longer than the test).
    console(daemon, "fault", "snapshots", "hang", "--messages", "0", "--seconds", "600")
    withheld = notify.wait_for(
        lambda m: NOT_RESPONDING in m.get("STATUS", ""), "the withheld STATUS"
    )
    # Each SIGHUP is handled by one turn of the main loop, which sends RELOADING=1 before its
    # health check: once the second RELOADING=1 is here, a whole turn after the STATUS is too.
    for reloads in (1, 2):
        daemon.signal(signal.SIGHUP)
        notify.wait_for(
            lambda m, n=reloads: sum(1 for x in notify.messages if x.get("RELOADING") == "1") >= n,
            f"RELOADING=1 number {reloads}",
        )
    received = list(notify.messages)
    after = received[received.index(withheld) :]
    last_reload = max(i for i, m in enumerate(after) if m.get("RELOADING") == "1")
    assert not [m for m in after[:last_reload] if m.get("WATCHDOG") == "1"], received

    daemon.signal(signal.SIGUSR1)
    stacks = daemon.wait_for_event(lambda e: e.get("event") == "thread_stacks", "thread stacks")
    assert any("supervision/faults.py" in t["stack"] for t in stacks["threads"])


def test_escalation_from_the_root_exits_non_zero(
    daemon: AlphapProcess, notify: NotifyListener, drill_env: Path
) -> None:
    daemon.start("run")
    notify.wait_for(lambda m: m.get("READY") == "1", "READY=1")

    # Every start of the (permanent) session actor fails from now on; a restart begins the loop.
    console(daemon, "fault", "session", "fail_start", "--messages", "0")
    console(daemon, "restart", "session")
    # Backoff grows to 5 s between restarts, so the root gives up after about half a minute.
    assert daemon.wait(timeout=4 * DEADLINE) == EXIT_ESCALATED, daemon.log_tail()
    escalated = daemon.wait_for_event(
        lambda e: e.get("event") == "daemon_root_escalated", "the escalation line"
    )
    assert "session" in str(escalated["error"])
    exit_line = daemon.wait_for_event(lambda e: e.get("event") == "daemon_exit", "the exit line")
    assert exit_line["status"] == EXIT_ESCALATED
    notify.wait_for(lambda m: m.get("STOPPING") == "1", "STOPPING=1")

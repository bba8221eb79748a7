"""`alphap demo` as a subprocess: on the test servers (--force) and on embedded ones (README path).

Each run feeds a 10 s session and must exit 0 with a summary whose numbers add
up: every fill and trading event fed is journaled, the malformed and refused
documents are dead letters, the injected crash shows as a restart, and each
portfolio's positions equal the sum of its journaled fills (the fill the crash
interrupted was applied exactly once).
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from subprocess import Popen

import psycopg
import pytest
import redis

from alphap.embedded import EmbeddedPostgres, EmbeddedRedis
from persistence.repositories import snapshots
from tests.e2e.daemon_helpers import DEADLINE, clean_environment

TIMEOUT = 4 * DEADLINE
PORTFOLIOS = ("paper/demo-momentum", "paper/demo-meanrev", "paper/demo-futures")
REFUSED_DOCUMENTS = 5


@dataclass(frozen=True)
class Summary:
    """The numbers of a demo's printed summary."""

    fed: int
    fills: int
    events: int
    ticks: int
    refused: int
    journaled: int
    letters: int
    restarts: int
    restarted: dict[str, str]
    portfolios: dict[str, str]


def _number(pattern: str, text: str) -> int:
    found = re.search(pattern, text, re.MULTILINE)
    assert found, f"no {pattern!r} in:\n{text}"
    return int(found.group(1))


def parse_summary(output: str) -> Summary:
    assert "\nsummary\n" in output, output
    text = output[output.index("\nsummary\n") :]
    fed = re.search(
        r"documents fed\s+(\d+) in \d+ s: (\d+) fills, (\d+) trading events, (\d+) ticks, "
        r"(\d+) malformed or refused",
        text,
    )
    assert fed, text
    restarted = dict(re.findall(r"^    (portfolios/\S+|\w+)\s+\d+\s+(\w+):", text, re.MULTILINE))
    portfolios = dict(
        re.findall(r"^    (paper/demo-\S+)\s+(?:\d+|-)\s+\S+\s+\S+\s+(\S+)$", text, re.MULTILINE)
    )
    return Summary(
        fed=int(fed.group(1)),
        fills=int(fed.group(2)),
        events=int(fed.group(3)),
        ticks=int(fed.group(4)),
        refused=int(fed.group(5)),
        journaled=_number(r"journaled\s+(\d+) of the", text),
        letters=_number(r"dead letters\s+(\d+)$", text),
        restarts=_number(r"^  restarts\s+(\d+)$", text),
        restarted=restarted,
        portfolios=portfolios,
    )


def check_summary(output: str) -> Summary:
    summary = parse_summary(output)
    assert summary.fed == summary.fills + summary.events + summary.ticks + summary.refused
    assert summary.fills > 0 and summary.events > 0 and summary.ticks > 0
    assert summary.journaled == summary.fills + summary.events
    assert summary.refused == REFUSED_DOCUMENTS
    assert summary.letters == REFUSED_DOCUMENTS
    assert summary.restarts >= 1
    assert summary.restarted["portfolios/paper/demo-momentum"] == "InjectedFault"
    assert set(summary.portfolios) == set(PORTFOLIOS)
    assert all(re.fullmatch(r"-?[\d,]+\.\d\d", pnl) for pnl in summary.portfolios.values())
    assert "alphap console" in output
    assert "alphap portfolio show paper/demo-momentum" in output
    assert "alphap dlq list" in output
    return summary


def run_demo(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "alphap", "demo", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


@pytest.fixture
def server_env(
    tmp_path: Path, database_url: str, redis_server_url: str, redis_prefix: str
) -> dict[str, str]:
    return {
        **clean_environment(),
        "ALPHAP_DATABASE_URL": database_url,
        "ALPHAP_REDIS_URL": redis_server_url,
        "ALPHAP_REDIS_PREFIX": redis_prefix,
        "ALPHAP_STATE_DIR": str(tmp_path / "state"),
        "ALPHAP_ENV_FILE": str(tmp_path / "none.env"),
    }


def journaled_positions(conn: psycopg.Connection[object], portfolio_id: str) -> dict[str, int]:
    """Each instrument's net quantity from the journaled fills (closed positions left out)."""
    rows = conn.execute(
        "SELECT instrument_token, event_data->>'side', (event_data->>'quantity')::bigint"
        " FROM trading_events WHERE event_type = 'order_filled' AND portfolio_id = %s",
        (portfolio_id,),
    ).fetchall()
    held: Counter[str] = Counter()
    for token, side, quantity in rows:
        held[str(token)] += quantity if side == "BUY" else -quantity
    return {token: quantity for token, quantity in held.items() if quantity}


def test_demo_refuses_configured_servers_then_runs_on_them(
    server_env: dict[str, str],
    database_url: str,
    redis_prefix: str,
    redis_client: redis.Redis,
) -> None:
    refused = run_demo(server_env, "--duration", "10")
    assert refused.returncode == 2
    assert "--force" in refused.stderr
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT count(*) FROM strategy_configurations").fetchone()
    assert row == (0,)

    done = run_demo(server_env, "--force", "--duration", "10")
    assert done.returncode == 0, done.stdout + done.stderr
    summary = check_summary(done.stdout)

    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT count(*) FROM trading_events").fetchone()
        assert row == (summary.journaled,)
        for key in PORTFOLIOS:
            namespace, portfolio_id = key.split("/")
            snapshot = snapshots.get(conn, namespace, portfolio_id)
            assert snapshot is not None, key
            held = {t: p.quantity for t, p in snapshot.positions.items() if p.quantity}
            assert held == journaled_positions(conn, portfolio_id), key
    assert not redis_client.exists(f"{redis_prefix}:ingress")
    assert redis_client.exists(f"{redis_prefix}-demo:ingress")


@pytest.fixture
def home() -> Iterator[Path]:
    # Short: the embedded servers' Unix sockets live under it.
    directory = Path(tempfile.mkdtemp(prefix="demo-", dir="/tmp"))
    try:
        yield directory
    finally:
        EmbeddedRedis(directory / "state" / "redis").stop()
        EmbeddedPostgres(directory / "state" / "postgres").stop("immediate")
        shutil.rmtree(directory, ignore_errors=True)


def test_demo_on_embedded_servers_as_the_readme_runs_it(home: Path) -> None:
    env = {
        **clean_environment(),
        "HOME": str(home),
        "ALPHAP_STATE_DIR": str(home / "state"),
        "ALPHAP_ENV_FILE": str(home / "none.env"),
    }
    done = run_demo(env, "--duration", "10")
    assert done.returncode == 0, done.stdout + done.stderr
    check_summary(done.stdout)
    assert f"embedded servers in {home / 'state'}" in done.stdout
    assert "loaded 20000 generated instruments" in done.stdout
    assert (home / "state" / "demo.log").stat().st_size > 0


def _wait_for(path: Path, text: str, process: subprocess.Popen[str]) -> None:
    end = time.monotonic() + TIMEOUT
    while not path.exists() or text not in path.read_text():
        assert process.poll() is None, f"exited before {text!r}"
        assert time.monotonic() < end, f"no {text!r} in {path}"
        time.sleep(0.05)


@pytest.fixture
def demo_process(server_env: dict[str, str], tmp_path: Path) -> Iterator[Callable[[], Popen[str]]]:
    processes: list[subprocess.Popen[str]] = []

    def start() -> subprocess.Popen[str]:
        with (tmp_path / "demo.out").open("w") as sink:
            process = subprocess.Popen(
                [sys.executable, "-m", "alphap", "demo", "--force", "--duration", "300"],
                env=server_env,
                stdout=sink,
                stderr=subprocess.STDOUT,
                text=True,
            )
        processes.append(process)
        _wait_for(tmp_path / "demo.out", "demo feeding", process)
        return process

    yield start
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def test_ctrl_c_ends_the_feeding_with_the_summary_and_exit_0(
    demo_process: Callable[[], Popen[str]], tmp_path: Path
) -> None:
    process = demo_process()
    process.send_signal(signal.SIGINT)
    output = tmp_path / "demo.out"
    assert process.wait(TIMEOUT) == 0, output.read_text()
    summary = parse_summary(output.read_text())
    assert summary.journaled == summary.fills + summary.events
    assert summary.fed < 20 * 300


def test_console_attaches_to_the_demo_and_a_second_ctrl_c_stops_at_once(
    demo_process: Callable[[], Popen[str]], server_env: dict[str, str], tmp_path: Path
) -> None:
    socket_dir = Path(tempfile.mkdtemp(prefix="demo-con-", dir="/tmp"))
    server_env["ALPHAP_CONSOLE_SOCKET"] = str(socket_dir / "console.sock")
    try:
        process = demo_process()

        def console(*words: str) -> str:
            done = subprocess.run(
                [sys.executable, "-m", "alphap", "console", *words],
                env=server_env,
                capture_output=True,
                text=True,
                timeout=TIMEOUT,
                check=False,
            )
            assert done.returncode == 0, done.stdout + done.stderr
            return done.stdout

        assert "portfolios/paper/demo-" in console("actors")
        # A hung journal: nothing more is acknowledged, so the graceful stop cannot finish.
        console("fault", "journal", "hang", "--messages", "0", "--seconds", "300")
        process.send_signal(signal.SIGINT)
        _wait_for(tmp_path / "state" / "demo.log", "daemon_stop_requested", process)
        process.send_signal(signal.SIGINT)
        # Whether the summary got out before the second signal is a race; the status is not.
        assert process.wait(TIMEOUT) == 130
    finally:
        shutil.rmtree(socket_dir, ignore_errors=True)

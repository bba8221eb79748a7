"""`alphap demo` end to end against the test servers: refused without --force, then run twice."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import psycopg
import redis

from alphap import demo
from tests.e2e.daemon_helpers import DEADLINE, clean_environment

TIMEOUT = 2 * DEADLINE


def run_demo(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "alphap", "demo", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def portfolios(output: str) -> dict[str, list[str]]:
    """Each printed portfolio's position and totals lines (snapshot times left out)."""
    shown: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in output.splitlines():
        header = re.match(r"portfolio (\S+)  \(strategy", line)
        if header:
            current = shown.setdefault(header.group(1), [])
        elif not line.strip():
            current = None
        elif current is not None and not line.startswith("snapshot "):
            current.append(line)
    return shown


def test_demo_refuses_configured_servers_then_runs_idempotently(
    tmp_path: Path,
    database_url: str,
    redis_server_url: str,
    redis_prefix: str,
    redis_client: redis.Redis,
) -> None:
    env = {
        **clean_environment(),
        "ALPHAP_DATABASE_URL": database_url,
        "ALPHAP_REDIS_URL": redis_server_url,
        "ALPHAP_REDIS_PREFIX": redis_prefix,
        "ALPHAP_STATE_DIR": str(tmp_path / "state"),
        "ALPHAP_ENV_FILE": str(tmp_path / "none.env"),
        "ALPHAP_LOG_FORMAT": "json",
    }
    refused = run_demo(env)
    assert refused.returncode == 2
    assert "--force" in refused.stderr
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT count(*) FROM strategy_configurations").fetchone()
    assert row == (0,)

    first = run_demo(env, "--force")
    assert first.returncode == 0, first.stdout + first.stderr
    shown = portfolios(first.stdout)
    assert set(shown) == set(demo.PORTFOLIOS)
    momentum = "\n".join(shown["paper/demo-momentum"])
    assert re.search(r"\s60\s+1412\.5", momentum), momentum  # bought 100, sold 40
    assert re.search(r"\s50\s+1510", momentum), momentum
    assert re.search(r"\s10\s+962", "\n".join(shown["zerodha/demo-live"]))
    assert re.search(r"dead letter \w+ \(entry [\d-]+\): InvalidDocumentError", first.stdout)

    with psycopg.connect(database_url) as conn:
        namespaces = dict(
            conn.execute(
                "SELECT broker_namespace, count(*) FROM trading_events GROUP BY 1"
            ).fetchall()
        )
    assert namespaces["zerodha"] == 2  # the order_placed event and the live fill
    assert namespaces["paper"] >= 4

    second = run_demo(env, "--force")
    assert second.returncode == 0, second.stdout + second.stderr
    assert portfolios(second.stdout) == shown
    assert not redis_client.exists(f"{redis_prefix}:ingress")
    assert redis_client.exists(f"{redis_prefix}-demo:ingress")

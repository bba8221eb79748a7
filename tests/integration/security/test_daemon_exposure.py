"""`alphap run` as operators run it: no TCP listener, no secret in argv, logs or dead letters.

The daemon gets every secret alphap knows through its environment (a DSN with
a password, the Kite API secret and access token, a Fernet key), logs at DEBUG
as JSON, and is fed poison documents carrying the access token and the DSN.
The embedded servers are checked for where they listen and what `ps` shows.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
import redis

from actors.stream import stream_key
from alphap.embedded import EmbeddedPostgres, EmbeddedRedis
from persistence.cipher import generate_key
from supervision.deadletters import DeadLetterRegistry, LetterFilter
from tests.fixtures.fake_kite import FakeKite
from tests.integration.security.exposure import children, command_line, listeners
from tests.integration.security.secrets_support import (
    database_text,
    json_lines,
    kite_secrets,
    leaks,
    redis_text,
)

DB_PASSWORD = "Db-Pa55word-daemon-5"  # noqa: S105 - the server trusts local users; a marker
DEADLINE = 40.0


def wait_for(condition: Callable[[], bool], what: str) -> None:
    end = time.monotonic() + DEADLINE
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


class Daemon:
    """`python -m alphap run`, its output in a file."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        with log_path.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "alphap", "run"],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def logged(self, event: str) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"the daemon exited early:\n{self.log()[-3000:]}")
        return f'"event": "{event}"' in self.log()


@pytest.fixture
def secrets(fake_kite: FakeKite) -> dict[str, str]:
    return {**kite_secrets(fake_kite), "db_password": DB_PASSWORD, "token_key": generate_key()}


@pytest.fixture
def daemon(
    database_url: str,
    redis_server_url: str,
    redis_prefix: str,
    *,
    fake_kite: FakeKite,
    secrets: dict[str, str],
    tmp_path: Path,
) -> Iterator[Daemon]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("ALPHAP_")},
        "ALPHAP_DATABASE_URL": f"{database_url} password={DB_PASSWORD}",
        "ALPHAP_REDIS_URL": redis_server_url,
        "ALPHAP_REDIS_PREFIX": redis_prefix,
        "ALPHAP_STATE_DIR": str(tmp_path / "state"),
        "ALPHAP_ENV_FILE": str(tmp_path / "absent.env"),
        "ALPHAP_INGRESS_CONSUMER": "security",
        "ALPHAP_LOG_LEVEL": "DEBUG",
        "ALPHAP_LOG_FORMAT": "json",
        "ALPHAP_KITE_API_KEY": fake_kite.api_key,
        "ALPHAP_KITE_API_SECRET": fake_kite.api_secret,
        "ALPHAP_KITE_ACCESS_TOKEN": fake_kite.access_token,
        "ALPHAP_KITE_ROOT": fake_kite.url,
        "ALPHAP_TOKEN_KEYS": secrets["token_key"],
    }
    env.pop("CREDENTIALS_DIRECTORY", None)
    process = Daemon(env, tmp_path / "daemon.log")
    yield process
    if process.process.poll() is None:
        process.process.kill()
        process.process.wait(10)


def test_the_daemon_listens_on_no_tcp_port_and_shows_no_secret(
    daemon: Daemon,
    fake_kite: FakeKite,
    secrets: dict[str, str],
    *,
    database_url: str,
    redis_client: redis.Redis,
    redis_prefix: str,
) -> None:
    wait_for(lambda: daemon.logged("daemon_ready"), "the daemon to be ready")
    key = stream_key(redis_prefix)
    poison = [
        json.dumps({"type": "order_filled", "access_token": fake_kite.access_token, "qty": "x"}),
        f"not json: token {fake_kite.api_key}:{fake_kite.access_token} via "
        f"postgresql://alphap:{DB_PASSWORD}@db/alphap and {fake_kite.api_secret}",
    ]
    for text in poison:
        redis_client.xadd(key, {"data": text})
    registry = DeadLetterRegistry(redis_client, redis_prefix)
    wait_for(
        lambda: registry.count(LetterFilter(actor="ingress")) == len(poison), "two dead letters"
    )

    pid = daemon.process.pid
    assert listeners(pid) == []
    assert leaks(command_line(pid), secrets) == []

    daemon.process.send_signal(signal.SIGTERM)
    assert daemon.process.wait(DEADLINE) == 0, daemon.log()[-3000:]

    log = daemon.log()
    events = json_lines(log)
    assert "debug" in {e["level"] for e in events}
    assert leaks(log, secrets) == []
    assert leaks(redis_text(redis_client, redis_prefix, exclude=[key]), secrets) == []
    assert leaks(database_text(database_url), secrets) == []
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM trading_sessions").fetchone() == (1,)


def test_the_listener_check_sees_a_listener() -> None:
    """The check above could fail: this process listens (the fake Kite) and it sees that."""
    with FakeKite() as fake:
        port = int(fake.url.rsplit(":", 1)[1])
        assert [(s.address, s.port) for s in listeners(os.getpid())].count(("127.0.0.1", port)) == 1


def test_embedded_servers_listen_on_loopback_only_and_show_no_password(
    own_postgres: EmbeddedPostgres, own_redis: EmbeddedRedis
) -> None:
    postmaster = int((own_postgres.data_dir / "postmaster.pid").read_text().split()[0])
    valkey = int((own_redis.data_dir / "valkey.pid").read_text().split()[0])
    with psycopg.connect(own_postgres.url):  # a backend process shows its title too
        for pid in (postmaster, valkey):
            found = listeners(pid)
            assert found, pid
            assert {s.address for s in found} == {"127.0.0.1"}
        titles = [command_line(pid) for pid in (postmaster, valkey, *children(postmaster))]
    assert any("127.0.0.1" in title for title in titles)
    for title in titles:
        assert "password" not in title.lower() and "requirepass" not in title.lower()

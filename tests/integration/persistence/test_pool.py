"""The pool against real servers: types, identity, TLS settings, and healing after faults."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from psycopg.types.json import Jsonb
from psycopg_pool import PoolTimeout
from structlog.testing import capture_logs

from alphap.embedded import EmbeddedPostgres, free_port
from persistence.errors import DatabaseUnavailableError, PersistenceError
from persistence.pool import Pool, PoolConfig, ReconnectFailed, open_pool

PoolFactory = Callable[..., Pool]


@pytest.fixture
def make_pool() -> Iterator[PoolFactory]:
    """Opens pools for a test and closes them all afterwards."""
    pools: list[Pool] = []

    def make(
        conninfo: str, *, on_reconnect_failed: ReconnectFailed | None = None, **options: object
    ) -> Pool:
        config = PoolConfig(conninfo=conninfo, **options)  # type: ignore[arg-type]
        pool = open_pool(config, wait_timeout=30, on_reconnect_failed=on_reconnect_failed)
        pools.append(pool)
        return pool

    yield make
    for pool in pools:
        pool.close()


def _backend_pid(pool: Pool) -> int:
    with pool.connection() as conn:
        row = conn.execute("SELECT pg_backend_pid()").fetchone()
    assert row is not None
    return int(row[0])


def test_numeric_is_decimal_and_jsonb_writes_decimal_as_string(
    make_pool: PoolFactory, database_url: str
) -> None:
    pool = make_pool(database_url)
    with pool.connection() as conn:
        numeric = conn.execute("SELECT 12345678901234567890.123456789::numeric").fetchone()
        dumped = conn.execute("SELECT %s::text", (Jsonb({"p": Decimal("0.10")}),)).fetchone()
        loaded = conn.execute("""SELECT '{"x": 0.1, "n": 3}'::jsonb""").fetchone()
    assert numeric == (Decimal("12345678901234567890.123456789"),)
    assert dumped == ('{"p": "0.10"}',)
    assert loaded == ({"x": Decimal("0.1"), "n": 3},)


def test_application_name_is_visible_in_pg_stat_activity(
    make_pool: PoolFactory, database_url: str
) -> None:
    pool = make_pool(database_url, application_name="alphap-pool-test", min_size=2, max_size=2)
    pid = _backend_pid(pool)
    with psycopg.connect(database_url) as admin:
        row = admin.execute(
            "SELECT application_name FROM pg_stat_activity WHERE pid = %s", (pid,)
        ).fetchone()
    assert row == ("alphap-pool-test",)


def test_connections_detect_a_silent_server_with_keepalives_and_a_user_timeout(
    make_pool: PoolFactory, database_url: str
) -> None:
    pool = make_pool(database_url)
    with pool.connection() as conn:
        parameters = conn.info.get_parameters()
    assert {k: parameters.get(k) for k in ("keepalives", "keepalives_idle")} == {
        "keepalives": "1",
        "keepalives_idle": "10",
    }
    assert parameters.get("tcp_user_timeout") == "30000"


def test_terminated_backend_is_replaced_on_next_checkout(
    make_pool: PoolFactory, database_url: str
) -> None:
    pool = make_pool(database_url, min_size=1, max_size=1)
    old_pid = _backend_pid(pool)
    with psycopg.connect(database_url, autocommit=True) as admin:
        # The timeout makes the call wait until the backend has really exited.
        assert admin.execute("SELECT pg_terminate_backend(%s, 10000)", (old_pid,)).fetchone() == (
            True,
        )
    with pool.connection() as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    assert _backend_pid(pool) != old_pid


def test_pool_recovers_after_the_server_restarts(
    make_pool: PoolFactory, own_postgres: EmbeddedPostgres
) -> None:
    pool = make_pool(own_postgres.url, min_size=1, max_size=2, reconnect_timeout=60)
    old_pid = _backend_pid(pool)
    own_postgres.stop()
    with pytest.raises(PoolTimeout), pool.connection(timeout=1) as conn:
        conn.execute("SELECT 1")
    own_postgres.start()
    with pool.connection(timeout=30) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    assert _backend_pid(pool) != old_pid


def test_reconnect_failure_is_logged_and_reported(
    make_pool: PoolFactory, own_postgres: EmbeddedPostgres
) -> None:
    failed = threading.Event()
    pool = make_pool(
        own_postgres.url,
        min_size=1,
        max_size=1,
        reconnect_timeout=0.5,
        connect_timeout=2,
        on_reconnect_failed=lambda _: failed.set(),
    )
    own_postgres.stop()
    with capture_logs() as logs:
        with pytest.raises(PoolTimeout), pool.connection(timeout=1) as conn:
            conn.execute("SELECT 1")
        assert failed.wait(30)
    assert any(e["event"] == "db_pool_reconnect_failed" for e in logs)


def test_unreachable_database_raises_a_clear_error_without_the_password() -> None:
    port = free_port()
    config = PoolConfig(
        conninfo=f"postgresql://alice:hunter22secret@127.0.0.1:{port}/alphap",
        connect_timeout=2,
        reconnect_timeout=1,
    )
    with pytest.raises(DatabaseUnavailableError) as caught:
        open_pool(config, wait_timeout=1)
    message = str(caught.value)
    assert f"127.0.0.1:{port}/alphap" in message
    assert "unreachable" in message
    assert "hunter22secret" not in message
    assert "hunter22secret" not in repr(config)
    assert isinstance(caught.value, PersistenceError)
    assert isinstance(caught.value, psycopg.Error)


def test_sslmode_reaches_libpq(database_url: str) -> None:
    config = PoolConfig(conninfo=database_url, sslmode="require", reconnect_timeout=1)
    with pytest.raises(DatabaseUnavailableError, match="SSL was required"):
        open_pool(config, wait_timeout=1)


def test_sslrootcert_reaches_libpq(database_url: str, tmp_path: Path) -> None:
    # The embedded server is built without TLS; direct negotiation makes libpq
    # load the root certificate before the server is asked anything.
    config = PoolConfig(
        conninfo=f"{database_url} sslnegotiation=direct",
        sslmode="verify-full",
        sslrootcert=str(tmp_path / "no-such-root.crt"),
        reconnect_timeout=1,
    )
    with pytest.raises(DatabaseUnavailableError, match=r"no-such-root\.crt"):
        open_pool(config, wait_timeout=1)

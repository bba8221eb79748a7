"""The database as the settings describe it: pool configuration, pool, token cipher."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

import psycopg
import structlog
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_delay,
    stop_when_event_set,
    wait_exponential,
)

from alphap.settings import Settings
from persistence.cipher import TokenCipher
from persistence.errors import DatabaseUnavailableError
from persistence.pool import Pool, PoolConfig, ReconnectFailed, describe_target, open_pool

log = structlog.get_logger("alphap.database")


def pool_config(settings: Settings, conninfo: str, *, name: str = "alphap") -> PoolConfig:
    """The pool configuration for `conninfo` from the ALPHAP_DB_* settings."""
    return PoolConfig(
        conninfo=conninfo,
        min_size=settings.db_pool_min_size,
        max_size=max(settings.db_pool_max_size, settings.db_pool_min_size),
        timeout=settings.db_pool_timeout,
        max_lifetime=settings.db_pool_max_lifetime,
        max_idle=settings.db_pool_max_idle,
        reconnect_timeout=settings.db_pool_reconnect_timeout,
        connect_timeout=settings.db_connect_timeout,
        application_name=settings.db_application_name,
        sslmode=settings.db_sslmode,
        sslrootcert=str(settings.db_sslrootcert) if settings.db_sslrootcert else None,
        name=name,
    )


def token_cipher(settings: Settings) -> TokenCipher:
    """The token cipher from ALPHAP_TOKEN_KEYS (or its systemd credential), newest first."""
    keys = settings.token_keys.get_secret_value() if settings.token_keys else None
    return TokenCipher.from_text(keys)


@contextlib.contextmanager
def database_pool(
    settings: Settings, conninfo: str, *, on_reconnect_failed: ReconnectFailed | None = None
) -> Iterator[Pool]:
    """An open pool for the run of a command or the daemon, closed on exit."""
    config = pool_config(settings, conninfo)
    pool = open_pool(
        config, wait_timeout=settings.db_pool_timeout, on_reconnect_failed=on_reconnect_failed
    )
    try:
        yield pool
    finally:
        pool.close()


def wait_for_database(
    conninfo: str,
    budget: float,
    *,
    connect_timeout: int = 10,
    cancel: threading.Event | None = None,
) -> bool:
    """Retry a connection with backoff for up to `budget` seconds; False if `cancel` was set.

    Raises DatabaseUnavailableError (with libpq's reason, never the password)
    once the budget is spent.
    """
    cancel = cancel or threading.Event()
    target = describe_target(conninfo)
    deadline = time.monotonic() + budget

    def waiting(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        log.warning(
            "database_unreachable_retrying",
            target=target,
            attempt=state.attempt_number,
            error=str(error).strip() if error else None,
        )

    def pause(seconds: float) -> None:
        cancel.wait(seconds)

    retrying = Retrying(
        retry=retry_if_exception_type(psycopg.OperationalError),
        stop=stop_after_delay(budget) | stop_when_event_set(cancel),
        wait=wait_exponential(multiplier=0.2, max=5.0),
        sleep=pause,
        before_sleep=waiting,
        reraise=True,
    )
    try:
        for attempt in retrying:
            with attempt:
                if cancel.is_set():
                    return False
                remaining = max(1, min(connect_timeout, int(deadline - time.monotonic()) + 1))
                with psycopg.connect(conninfo, connect_timeout=remaining) as conn:
                    conn.execute("SELECT 1")
    except psycopg.OperationalError as exc:
        if cancel.is_set():
            return False
        reason = str(exc).strip() or type(exc).__name__
        raise DatabaseUnavailableError(
            f"database {target} unreachable after {budget:g} s: {reason}"
        ) from None
    return True

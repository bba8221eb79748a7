"""The database as the settings describe it: pool configuration, pool, token cipher."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from alphap.settings import Settings
from persistence.cipher import TokenCipher
from persistence.pool import Pool, PoolConfig, ReconnectFailed, open_pool


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

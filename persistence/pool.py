"""The connection pool: psycopg_pool's sync ConnectionPool, checked and self-healing.

Connections are checked on checkout (a killed backend is replaced before anyone
sees it), recycled after `max_lifetime` and closed after `max_idle`. While the
server is down the pool keeps reconnecting in the background; when it gives up
after `reconnect_timeout` it logs `db_pool_reconnect_failed` and calls the
optional callback, then goes on trying as clients ask for connections.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg
import structlog
from psycopg import conninfo as pg_conninfo
from psycopg.types.json import set_json_dumps, set_json_loads
from psycopg_pool import ConnectionPool, PoolTimeout

from persistence import jsonb
from persistence.errors import DatabaseUnavailableError

log = structlog.get_logger(__name__)

Pool = ConnectionPool[psycopg.Connection[Any]]
ReconnectFailed = Callable[[Pool], None]


@dataclass(frozen=True)
class PoolConfig:
    """How to reach the database and size the pool (the conninfo is never shown)."""

    conninfo: str = field(repr=False)
    min_size: int = 1
    max_size: int = 10
    timeout: float = 30.0
    max_lifetime: float = 3600.0
    max_idle: float = 600.0
    reconnect_timeout: float = 300.0
    connect_timeout: int = 10
    application_name: str = "alphap"
    sslmode: str | None = None
    sslrootcert: str | None = None
    name: str = "alphap"
    # A server that vanishes without a FIN or RST (a dead host, dropped NAT state) would
    # otherwise hold a checked-out connection for the kernel's two hours.
    keepalives_idle: int = 10
    keepalives_interval: int = 5
    keepalives_count: int = 3
    tcp_user_timeout_ms: int = 30_000

    def connection_kwargs(self) -> dict[str, Any]:
        """libpq parameters added to (and overriding) the conninfo."""
        kwargs: dict[str, Any] = {
            "application_name": self.application_name,
            "connect_timeout": self.connect_timeout,
            "keepalives": 1,
            "keepalives_idle": self.keepalives_idle,
            "keepalives_interval": self.keepalives_interval,
            "keepalives_count": self.keepalives_count,
            "tcp_user_timeout": self.tcp_user_timeout_ms,
        }
        if self.sslmode is not None:
            kwargs["sslmode"] = self.sslmode
        if self.sslrootcert is not None:
            kwargs["sslrootcert"] = self.sslrootcert
        return kwargs

    @property
    def target(self) -> str:
        """user@host:port/dbname, for logs and errors (no password)."""
        return describe_target(self.conninfo)


def describe_target(conninfo: str) -> str:
    """Where a conninfo points, without its password."""
    try:
        info = pg_conninfo.conninfo_to_dict(conninfo)
    except psycopg.ProgrammingError:
        return "an unparsable conninfo"
    host = info.get("host") or info.get("hostaddr") or "localhost"
    return f"{info.get('user') or ''}@{host}:{info.get('port') or 5432}/{info.get('dbname') or ''}"


def register_types(conn: psycopg.Connection[Any]) -> None:
    """Adapt JSON on `conn` so Decimal round-trips exactly (NUMERIC is Decimal already)."""
    set_json_dumps(jsonb.dumps, context=conn)
    set_json_loads(jsonb.loads, context=conn)


def _reconnect_failed_hook(config: PoolConfig, callback: ReconnectFailed | None) -> ReconnectFailed:
    def hook(pool: Pool) -> None:
        log.error(
            "db_pool_reconnect_failed",
            pool=config.name,
            target=config.target,
            reconnect_timeout=config.reconnect_timeout,
        )
        if callback is not None:
            callback(pool)

    return hook


def create_pool(config: PoolConfig, *, on_reconnect_failed: ReconnectFailed | None = None) -> Pool:
    """A pool built from `config`, not yet open (see `open_pool`)."""
    return ConnectionPool(
        config.conninfo,
        kwargs=config.connection_kwargs(),
        min_size=config.min_size,
        max_size=max(config.max_size, config.min_size, 1),
        open=False,
        configure=register_types,
        check=ConnectionPool.check_connection,
        name=config.name,
        timeout=config.timeout,
        max_lifetime=config.max_lifetime,
        max_idle=config.max_idle,
        reconnect_timeout=config.reconnect_timeout,
        reconnect_failed=_reconnect_failed_hook(config, on_reconnect_failed),
    )


def open_pool(
    config: PoolConfig,
    *,
    wait_timeout: float = 30.0,
    on_reconnect_failed: ReconnectFailed | None = None,
) -> Pool:
    """Open a pool and prove the database answers, or raise DatabaseUnavailableError."""
    pool = create_pool(config, on_reconnect_failed=on_reconnect_failed)
    try:
        pool.open(wait=True, timeout=wait_timeout)
        with pool.connection(timeout=wait_timeout) as conn:
            conn.execute("SELECT 1")
    except (PoolTimeout, psycopg.OperationalError):
        pool.close()
        raise DatabaseUnavailableError(
            f"database {config.target} unreachable after {wait_timeout:g} s: {_reason(config)}"
        ) from None
    log.info(
        "db_pool_opened",
        pool=config.name,
        target=config.target,
        min_size=config.min_size,
        max_size=config.max_size,
    )
    return pool


def _reason(config: PoolConfig) -> str:
    """Why a direct connection fails now; libpq may quote a malformed DSN, password included,
    so callers log this through the redactor, which knows the configured passwords."""
    try:
        with psycopg.connect(config.conninfo, **config.connection_kwargs()):
            return "connections time out in the pool"
    except psycopg.Error as exc:
        return str(exc).strip() or type(exc).__name__

"""Where the servers are: the configured URLs, or embedded servers in the state dir."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import structlog

from alphap.embedded import embedded_servers
from alphap.settings import Settings

log = structlog.get_logger("alphap.wiring")


@dataclass(frozen=True)
class ServerUrls:
    """Connection URLs for this run; never logged whole (they may hold passwords)."""

    database: str
    redis: str


@contextlib.contextmanager
def server_urls(
    settings: Settings, *, need_redis: bool = True, need_database: bool = True
) -> Iterator[ServerUrls]:
    """Yield the URLs to use, starting embedded servers for those not configured.

    A server not needed is not started; its URL is "" unless configured.
    """
    want_pg = need_database and settings.database_url is None
    want_redis = need_redis and settings.redis_url is None
    with embedded_servers(settings.state_dir, postgres=want_pg, redis=want_redis) as (pg, rd):
        if want_pg or want_redis:
            log.info(
                "embedded_servers",
                postgres=pg or None,
                redis=rd or None,
                state_dir=str(settings.state_dir),
            )
        database = settings.database_url.get_secret_value() if settings.database_url else pg
        redis = settings.redis_url.get_secret_value() if settings.redis_url else rd
        yield ServerUrls(database=database, redis=redis)

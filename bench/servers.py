"""Servers for a benchmark: embedded ones in a work directory, or those the environment names.

ALPHAP_BENCH_DATABASE_URL and ALPHAP_BENCH_REDIS_URL point a benchmark at
servers of one's own; otherwise it starts embedded PostgreSQL (durable
settings) and Valkey in `workdir` and stops them afterwards.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import psycopg
from psycopg import sql

from alphap.embedded import EmbeddedPostgres, EmbeddedRedis
from persistence import schema


def migrated_database(server: str, database: str) -> str:
    """Drop and recreate `database` on `server`, migrate it, and return its URL."""
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(database)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    info = psycopg.conninfo.conninfo_to_dict(server)
    info["dbname"] = database
    url = psycopg.conninfo.make_conninfo(**{k: str(v) for k, v in info.items()})
    schema.upgrade(url)
    return url


@contextlib.contextmanager
def bench_servers(workdir: Path, database: str) -> Iterator[tuple[str, str]]:
    """(URL of a freshly migrated database named `database`, Redis URL)."""
    pg = EmbeddedPostgres(workdir / "pg", durable=True)
    rd = EmbeddedRedis(workdir / "redis", durable=False)
    server = os.environ.get("ALPHAP_BENCH_DATABASE_URL") or pg.start()
    redis_url = os.environ.get("ALPHAP_BENCH_REDIS_URL") or rd.start()
    try:
        yield migrated_database(server, database), redis_url
    finally:
        if "ALPHAP_BENCH_REDIS_URL" not in os.environ:
            rd.stop()
        if "ALPHAP_BENCH_DATABASE_URL" not in os.environ:
            pg.stop("fast")

"""Unit of work: one connection, exactly one transaction, one place that commits.

    with unit_of_work(pool) as uow:
        sessions.save(uow.conn, session)
        events.append(uow.conn, batch)

commits both on normal exit and rolls both back on any exception. Repositories
take the connection and never commit or roll back; psycopg enforces that, since
`commit()` inside a transaction block raises.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg

from persistence.pool import Pool


@dataclass(frozen=True)
class UnitOfWork:
    """The connection of one transaction; pass `conn` to repositories."""

    conn: psycopg.Connection[Any]

    @contextlib.contextmanager
    def savepoint(self) -> Iterator[None]:
        """A nested block whose failure rolls back only itself."""
        with self.conn.transaction():
            yield


@contextlib.contextmanager
def transaction(conn: psycopg.Connection[Any]) -> Iterator[UnitOfWork]:
    """A unit of work on a connection the caller owns (not from a pool)."""
    with conn.transaction():
        yield UnitOfWork(conn)


@contextlib.contextmanager
def unit_of_work(pool: Pool, *, timeout: float | None = None) -> Iterator[UnitOfWork]:
    """Check out a connection and run one transaction on it (commit or roll back)."""
    with pool.connection(timeout=timeout) as conn, transaction(conn) as uow:
        yield uow

"""Alembic environment: runs hand-written migrations over a psycopg connection.

The connection comes from `config.attributes["connection"]` (tests and
`persistence.schema`) or is opened from `config.attributes["conninfo"]`.
"""

from __future__ import annotations

import psycopg
from alembic import context
from sqlalchemy import Connection, create_engine, pool


def _run(connection: Connection) -> None:
    context.configure(connection=connection, transaction_per_migration=False)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    conninfo = context.config.attributes["conninfo"]
    engine = create_engine(
        "postgresql+psycopg://",
        creator=lambda: psycopg.connect(conninfo),
        poolclass=pool.NullPool,
    )
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) mode is not supported: use `alphap migrate --dry-run`")
run_migrations_online()

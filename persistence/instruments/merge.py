"""The staged rows merged into instruments, absent ones deactivated, the registry kept in step.

One INSERT ... ON CONFLICT DO UPDATE whose WHERE skips rows that did not
change, so a reload writes only what is new or different.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg

from persistence.instruments import session
from persistence.instruments.staging import STAGE

_COLUMNS = (
    "instrument_token", "exchange_token", "tradingsymbol", "name", "last_price", "expiry",
    "strike", "tick_size", "lot_size", "instrument_type", "segment", "exchange",
)  # fmt: skip
_INSERTED = (*_COLUMNS, "active")
_COMPARED = _INSERTED[1:]


def _staged(column: str) -> str:
    if column == "expiry":
        return "nullif(s.expiry, '')::date"
    return "true" if column == "active" else f"s.{column}"


# The LEFT JOIN keeps unchanged rows out of the upsert: ON CONFLICT would
# otherwise lock (and so write) every existing row, changed or not.
_MERGE = (
    "WITH merged AS ("  # noqa: S608 - constant identifiers and expressions only
    f" INSERT INTO instruments AS i ({', '.join(_INSERTED)})"
    f" SELECT {', '.join(_staged(c) for c in _INSERTED)} FROM {STAGE} s"
    " LEFT JOIN instruments o ON o.instrument_token = s.instrument_token"
    f" WHERE o.instrument_token IS NULL OR ({', '.join(f'o.{c}' for c in _COMPARED)})"
    f" IS DISTINCT FROM ({', '.join(_staged(c) for c in _COMPARED)})"
    " ON CONFLICT (instrument_token) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _COMPARED)
    + ", updated_at = now()"  # noqa: S608 - constant identifiers and expressions only
    f" WHERE ({', '.join(f'i.{c}' for c in _COMPARED)})"
    f" IS DISTINCT FROM ({', '.join(f'excluded.{c}' for c in _COMPARED)})"
    " RETURNING (xmax = 0) AS inserted)"
    " SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM merged"
)

_INSERT_ALL = (
    f"INSERT INTO instruments ({', '.join(_INSERTED)})"  # noqa: S608 - constant identifiers
    f" SELECT {', '.join(_staged(c) for c in _INSERTED)} FROM {STAGE} s"
)

# The indexes of instruments that no constraint (primary key, foreign key) relies on.
_PLAIN_INDEXES = (
    "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index"
    " WHERE indrelid = 'instruments'::regclass"
    " AND NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conindid = indexrelid)"
)

_COUNTS = (
    "SELECT count(*) FILTER (WHERE active), count(*) FILTER (WHERE NOT active) FROM instruments"
)

_DEACTIVATE = (
    "UPDATE instruments i SET active = false, updated_at = now()"  # noqa: S608 - constant identifiers and expressions only
    f" WHERE i.active AND NOT EXISTS (SELECT 1 FROM {STAGE} s"
    "  WHERE s.instrument_token = i.instrument_token)"
    " AND i.instrument_token <> ALL(%s)"
)

_SYNC_REGISTRY = (
    "UPDATE instrument_registry r SET is_active = i.active, tradingsymbol = i.tradingsymbol,"
    " exchange = i.exchange, updated_at = now()"
    " FROM instruments i WHERE i.instrument_token = r.instrument_token"
    " AND (r.is_active, r.tradingsymbol, r.exchange)"
    " IS DISTINCT FROM (i.active, i.tradingsymbol, i.exchange)"
)


def counts(conn: psycopg.Connection[Any]) -> tuple[int, int]:
    """(active, inactive) instruments."""
    row = conn.execute(_COUNTS).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def insert_all(conn: psycopg.Connection[Any], where: str = "true") -> int:
    """Insert the staged rows matching `where` into an empty instruments table; returns how many.

    The plain indexes are dropped and built again afterwards, which is several times
    cheaper than updating them row by row; the primary key stays. `where` is a
    constant SQL condition on the stage's columns.
    """
    indexes = conn.execute(_PLAIN_INDEXES).fetchall()
    for name, _ in indexes:
        conn.execute(f"DROP INDEX {name}".encode())
    inserted = conn.execute(f"{_INSERT_ALL} WHERE {where}".encode()).rowcount
    for _, definition in indexes:
        conn.execute(definition.encode())
    return inserted


def upsert(conn: psycopg.Connection[Any]) -> tuple[int, int]:
    """Insert new and update changed staged rows; returns (inserted, updated)."""
    with session.work_mem(conn):
        row = conn.execute(_MERGE).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def deactivate_absent(conn: psycopg.Connection[Any], also_present: Sequence[int]) -> int:
    """Mark active instruments the dump does not list inactive; returns how many."""
    return conn.execute(_DEACTIVATE, (list(also_present),)).rowcount


def sync_registry(conn: psycopg.Connection[Any]) -> int:
    """Make registry rows follow their instrument's state, symbol and exchange."""
    return conn.execute(_SYNC_REGISTRY).rowcount

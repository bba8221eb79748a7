"""Journal append rate: per-row inserts (baseline), unnest (alphap), COPY variants (limits).

    .venv/bin/python bench/journal_append.py [conninfo]

Without a conninfo an embedded server is started in a temporary directory.
Each method appends the same fresh events in batches of 100, 1,000 and 5,000,
one transaction per batch, and the table shows events per second and the
ratio to alphap's method.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import uuid4

import psycopg

from alphap.embedded import EmbeddedPostgres
from persistence import jsonb, schema
from persistence.repositories import events
from persistence.repositories.events import Event

Method = Callable[[psycopg.Connection[Any], list[Event]], None]
COLUMNS = (
    "event_id, event_type, broker_namespace, portfolio_id, strategy_id, instrument_token,"
    " correlation_id, event_timestamp, event_data"
)


def _row(e: Event) -> tuple[Any, ...]:
    return (
        e.event_id, e.event_type, e.broker_namespace, e.portfolio_id, e.strategy_id,
        e.instrument_token, e.correlation_id, e.event_timestamp, jsonb.dumps(e.event_data),
    )  # fmt: skip


def per_row(conn: psycopg.Connection[Any], batch: list[Event]) -> None:
    with conn.cursor() as cur:
        cur.executemany(
            f"INSERT INTO trading_events ({COLUMNS}) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s::jsonb)"  # noqa: S608 - constants
            " ON CONFLICT (event_id) DO NOTHING RETURNING journal_id",
            [_row(e) for e in batch],
            returning=True,
        )


def unnest(conn: psycopg.Connection[Any], batch: list[Event]) -> None:
    events.append(conn, batch)


def copy_then_insert(conn: psycopg.Connection[Any], batch: list[Event]) -> None:
    conn.execute(
        "CREATE TEMP TABLE IF NOT EXISTS journal_in (ord bigint, event_id uuid, event_type text,"
        " broker_namespace text, portfolio_id text, strategy_id text, instrument_token bigint,"
        " correlation_id text, event_timestamp timestamptz, event_data jsonb)"
        " ON COMMIT DELETE ROWS"
    )
    with conn.cursor().copy(f"COPY journal_in (ord, {COLUMNS}) FROM STDIN") as copy:
        for n, e in enumerate(batch):
            copy.write_row((n, *_row(e)))
    conn.execute(
        f"INSERT INTO trading_events ({COLUMNS}) SELECT {COLUMNS} FROM journal_in ORDER BY ord"  # noqa: S608 - constants
        " ON CONFLICT (event_id) DO NOTHING RETURNING event_id, journal_id"
    ).fetchall()
    conn.execute(
        "SELECT e.event_id, e.journal_id FROM trading_events e JOIN journal_in USING (event_id)"
    ).fetchall()


def copy_only(conn: psycopg.Connection[Any], batch: list[Event]) -> None:
    """The physical limit: COPY straight in, no duplicate handling, no ids back."""
    with conn.cursor().copy(f"COPY trading_events ({COLUMNS}) FROM STDIN") as copy:
        for e in batch:
            copy.write_row(_row(e))


def _events(n: int) -> list[Event]:
    now = datetime.now(UTC)
    return [
        Event(
            event_id=uuid4(), event_type="order_filled", broker_namespace="paper",
            portfolio_id=f"p{i % 50}", strategy_id="s", instrument_token=256265 + i % 20,
            correlation_id=f"c{i}", event_timestamp=now,
            event_data={"side": "BUY", "quantity": 5, "price": Decimal("101.25") + i},
        )
        for i in range(n)
    ]  # fmt: skip


def _rate(conn: psycopg.Connection[Any], method: Method, size: int, total: int) -> float:
    batches = [_events(size) for _ in range(max(1, total // size))]
    start = time.perf_counter()
    for batch in batches:
        with conn.transaction():
            method(conn, batch)
    return sum(map(len, batches)) / (time.perf_counter() - start)


def run(conninfo: str) -> None:
    schema.upgrade(conninfo)
    methods: dict[str, Method] = {
        "per-row executemany (baseline)": per_row,
        "unnest (alphap)": unnest,
        "COPY temp + INSERT": copy_then_insert,
        "COPY only (limit)": copy_only,
    }
    with psycopg.connect(conninfo) as conn:
        print(f"{'method':34}{'batch':>7}{'events/s':>12}{'vs alphap':>11}")
        for size in (100, 1000, 5000):
            _rate(conn, unnest, size, 2 * size)  # warm up
            rates = {name: _rate(conn, m, size, 20_000) for name, m in methods.items()}
            for name, rate in rates.items():
                ratio = rate / rates["unnest (alphap)"]
                print(f"{name:34}{size:>7}{rate:>12,.0f}{ratio:>10.2f}x")


def main() -> None:
    if len(sys.argv) > 1:
        run(sys.argv[1])
        return
    with tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedPostgres(Path(tmp) / "pg", durable=False)
        url = server.start()
        try:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("CREATE DATABASE bench")
            run(url.rsplit("/", 1)[0] + "/bench")
        finally:
            server.stop("immediate")


if __name__ == "__main__":
    main()

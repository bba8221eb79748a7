"""The two reference points of the ingest benchmark, on the same events.

- the old pattern: one INSERT and one COMMIT per event (what the replaced
  system did); slow, so it runs on a sample and is extrapolated;
- the limit: binary COPY straight into trading_events, 5,000 rows per
  transaction, with no parsing, routing or duplicate handling at all;
- the parse ceiling: the ingress's parsing and routing alone, on one thread,
  which bounds any design that parses in one Python process.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from actors.documents import MarketTick, OrderFilled, parse_document
from actors.ingress_batch import route
from actors.stream import StreamEntry
from persistence import jsonb
from persistence.repositories.events import Event

COPY_BATCH = 5_000
COLUMNS = (
    "event_id, event_type, broker_namespace, portfolio_id, strategy_id, instrument_token,"
    " correlation_id, event_timestamp, event_data"
)


def journal_events(documents: Sequence[str]) -> list[Event]:
    """The events a correct ingress journals from these documents (first of each event_id)."""
    seen: set[Any] = set()
    result = []
    for text in documents:
        try:
            document = parse_document(text)
        except ValueError:
            continue
        if isinstance(document, MarketTick) or document.event_id in seen:
            continue
        seen.add(document.event_id)
        result.append(Event.model_construct(**document.to_journal_record()))
    return result


def _row(e: Event) -> tuple[Any, ...]:
    return (
        e.event_id, e.event_type, e.broker_namespace, e.portfolio_id, e.strategy_id,
        e.instrument_token, e.correlation_id, e.event_timestamp,
        Jsonb(e.event_data, jsonb.dumps),
    )  # fmt: skip


def _empty(conn: psycopg.Connection[Any]) -> None:
    conn.execute("TRUNCATE trading_events RESTART IDENTITY")
    conn.commit()


def old_pattern(conninfo: str, events: Sequence[Event], sample: int) -> tuple[float, int]:
    """Events per second with one INSERT + COMMIT each, measured on `sample` events."""
    chosen = list(events[:sample])
    with psycopg.connect(conninfo) as conn:
        _empty(conn)
        start = time.perf_counter()
        for event in chosen:
            conn.execute(
                f"INSERT INTO trading_events ({COLUMNS}) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s)"  # noqa: S608 - constants
                " ON CONFLICT (event_id) DO NOTHING",
                _row(event),
            )
            conn.commit()
        elapsed = time.perf_counter() - start
        _empty(conn)
    return len(chosen) / elapsed, len(chosen)


def copy_limit(conninfo: str, events: Sequence[Event]) -> float:
    """Events per second with binary COPY into trading_events, one transaction per 5,000."""
    with psycopg.connect(conninfo) as conn:
        _empty(conn)
        start = time.perf_counter()
        for first in range(0, len(events), COPY_BATCH):
            with (
                conn.cursor() as cur,
                cur.copy(f"COPY trading_events ({COLUMNS}) FROM STDIN (FORMAT BINARY)") as copy,
            ):
                copy.set_types(
                    ["uuid", "text", "text", "text", "text", "int8", "text", "timestamptz", "jsonb"]
                )
                for event in events[first : first + COPY_BATCH]:
                    copy.write_row(_row(event))
            conn.commit()
        elapsed = time.perf_counter() - start
        _empty(conn)
    return len(events) / elapsed


def parse_ceiling(documents: Sequence[str], batch: int = 500) -> float:
    """Journaled events per second of parsing and routing alone, on one thread.

    The ingress parses every document on its own thread, so no in-process design
    can ingest faster than this, whatever the journal and the portfolios cost.
    """
    entries = [StreamEntry(f"{n}-0", text.encode()) for n, text in enumerate(documents, start=1)]
    journaled = 0
    started = time.perf_counter()
    for start in range(0, len(entries), batch):
        routed = route(
            start, entries[start : start + batch], stream="bench", refusal=_accept, version="bench"
        )
        journaled += len(routed.events)
    return journaled / (time.perf_counter() - started)


def _accept(_: OrderFilled) -> None:
    return None

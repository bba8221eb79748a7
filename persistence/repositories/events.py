"""The event journal (trading_events): batched, idempotent appends; fills in journal order.

A batch is appended with one statement that unnests column arrays (sent in
binary) into INSERT ... ON CONFLICT (event_id) DO NOTHING RETURNING; a second
statement looks up the stored ids of duplicates, only when there are any.
bench/journal_append.py compares it with COPY into a temporary table.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from persistence import jsonb

ORDER_FILLED = "order_filled"
PortfolioKey = tuple[str, str]


def _holds_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_holds_nul(v) for v in value)
    return False


class Event(BaseModel):
    """A journaled event; Decimal values in `event_data` are stored as exact strings."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: UUID
    event_type: str = Field(min_length=1)
    broker_namespace: str = Field(min_length=1)
    portfolio_id: str | None = None
    strategy_id: str | None = None
    instrument_token: int | None = None
    correlation_id: str | None = None
    event_timestamp: AwareDatetime
    event_data: dict[str, Any] = Field(default_factory=dict)

    @field_validator("event_data")
    @classmethod
    def _storable_in_jsonb(cls, value: dict[str, Any]) -> dict[str, Any]:
        # JSONB cannot hold NUL; refusing the one event here keeps it out of a whole batch.
        if _holds_nul(value):
            raise ValueError("event_data must not contain NUL characters")
        return value


class JournaledEvent(BaseModel):
    """An event as stored: its place in the journal and when it was recorded."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    journal_id: int
    recorded_at: AwareDatetime
    event: Event


@dataclass(frozen=True)
class AppendResult:
    """Per input event: where it is in the journal, and whether this append stored it."""

    event_id: UUID
    journal_id: int
    inserted: bool


_APPEND = """
INSERT INTO trading_events (event_id, event_type, broker_namespace, portfolio_id, strategy_id,
                            instrument_token, correlation_id, event_timestamp, event_data)
SELECT event_id, event_type, broker_namespace, portfolio_id, strategy_id,
       instrument_token, correlation_id, event_timestamp, event_data
FROM unnest(
    %b::uuid[], %b::text[], %b::text[], %b::text[], %b::text[], %b::bigint[],
    %b::text[], %b::timestamptz[], %b::jsonb[]
) WITH ORDINALITY AS i(event_id, event_type, broker_namespace, portfolio_id, strategy_id,
                       instrument_token, correlation_id, event_timestamp, event_data, ord)
ORDER BY ord
ON CONFLICT (event_id) DO NOTHING
RETURNING event_id, journal_id
"""


def append(conn: psycopg.Connection[Any], events: Sequence[Event]) -> list[AppendResult]:
    """Append a batch in one statement; duplicates (in the batch or stored) are not stored again.

    Journal ids of new events follow the batch order. The result has one entry
    per input event, in input order; a duplicate gets the stored row's id.
    """
    unique: dict[UUID, Event] = {}
    for event in events:
        unique.setdefault(event.event_id, event)
    if not unique:
        return []
    batch = list(unique.values())
    found = {
        event_id: (journal_id, True)
        for event_id, journal_id in conn.execute(
            _APPEND,
            (
                [e.event_id for e in batch],
                [e.event_type for e in batch],
                [e.broker_namespace for e in batch],
                [e.portfolio_id for e in batch],
                [e.strategy_id for e in batch],
                [e.instrument_token for e in batch],
                [e.correlation_id for e in batch],
                [e.event_timestamp for e in batch],
                [Jsonb(e.event_data, jsonb.dumps) for e in batch],
            ),
        ).fetchall()
    }
    missing = [event_id for event_id in unique if event_id not in found]
    if missing:
        # Already journaled: only then is a second statement needed.
        rows = conn.execute(
            "SELECT event_id, journal_id FROM trading_events WHERE event_id = ANY(%b::uuid[])",
            (missing,),
        ).fetchall()
        found.update({event_id: (journal_id, False) for event_id, journal_id in rows})
    results = []
    reported: set[UUID] = set()
    for event in events:
        journal_id, inserted = found[event.event_id]
        first = event.event_id not in reported
        reported.add(event.event_id)
        results.append(AppendResult(event.event_id, journal_id, inserted and first))
    return results


_FILLS = """
SELECT k.ns AS key_ns, k.pid AS key_pid, e.journal_id, e.recorded_at, e.event_id, e.event_type,
       e.broker_namespace, e.portfolio_id, e.strategy_id, e.instrument_token,
       e.correlation_id, e.event_timestamp, e.event_data
FROM unnest(%s::text[], %s::text[], %s::bigint[]) AS k(ns, pid, after)
JOIN trading_events e
  ON e.broker_namespace = k.ns AND e.portfolio_id = k.pid AND e.journal_id > k.after
WHERE e.event_type = 'order_filled'
ORDER BY e.journal_id
"""


# Distinct portfolios with fills, one index probe each (a skip scan of the partial
# index ix_trading_events_portfolio_journal), less those that have a snapshot.
_UNSNAPSHOTTED = """
WITH RECURSIVE keys AS (
  (SELECT broker_namespace, portfolio_id FROM trading_events
   WHERE event_type = 'order_filled' ORDER BY broker_namespace, portfolio_id LIMIT 1)
  UNION ALL
  SELECT n.broker_namespace, n.portfolio_id FROM keys k CROSS JOIN LATERAL (
    SELECT broker_namespace, portfolio_id FROM trading_events
    WHERE event_type = 'order_filled'
      AND (broker_namespace, portfolio_id) > (k.broker_namespace, k.portfolio_id)
    ORDER BY broker_namespace, portfolio_id LIMIT 1) n
)
SELECT k.broker_namespace, k.portfolio_id FROM keys k
WHERE NOT EXISTS (
  SELECT 1 FROM portfolio_snapshots s
  WHERE s.broker_namespace = k.broker_namespace AND s.portfolio_id = k.portfolio_id)
"""


def unsnapshotted_portfolios(conn: psycopg.Connection[Any]) -> list[PortfolioKey]:
    """Portfolios with journaled fills but no snapshot (a crash came before their first)."""
    return [(ns, pid) for ns, pid in conn.execute(_UNSNAPSHOTTED)]


def _journaled(row: dict[str, Any]) -> JournaledEvent:
    journal_id, recorded_at = row.pop("journal_id"), row.pop("recorded_at")
    return JournaledEvent(journal_id=journal_id, recorded_at=recorded_at, event=Event(**row))


def fills_after_many(
    conn: psycopg.Connection[Any], positions: Iterable[tuple[str, str, int]]
) -> dict[PortfolioKey, list[JournaledEvent]]:
    """For each (namespace, portfolio, journal id): its journaled fills after that id, in order.

    Every requested portfolio is a key of the result, with an empty list if it has none.
    """
    wanted = {(ns, pid): after for ns, pid, after in positions}
    result: dict[PortfolioKey, list[JournaledEvent]] = {key: [] for key in wanted}
    if not wanted:
        return result
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            _FILLS,
            (
                [ns for ns, _ in wanted],
                [pid for _, pid in wanted],
                list(wanted.values()),
            ),
        )
        for row in cur:
            key = (row.pop("key_ns"), row.pop("key_pid"))
            result[key].append(_journaled(row))
    return result


def fills_after(
    conn: psycopg.Connection[Any], broker_namespace: str, portfolio_id: str, journal_id: int
) -> list[JournaledEvent]:
    """The portfolio's journaled fills after `journal_id`, in journal order."""
    return fills_after_many(conn, [(broker_namespace, portfolio_id, journal_id)])[
        (broker_namespace, portfolio_id)
    ]

"""Retention of the event journal: delete old trading_events in small batches.

Each batch is its own short transaction deleting at most `batch_size` rows found
through the (broker_namespace, event_timestamp) index, one namespace at a time.
A DELETE takes only ROW EXCLUSIVE on the table, which never conflicts with the
writer's INSERTs, and the rows it locks are old ones no writer touches; keeping
each transaction short also lets autovacuum reclaim space as the prune goes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import structlog

log = structlog.get_logger(__name__)

DEFAULT_BATCH_SIZE = 10_000
_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
_AGE = re.compile(r"^\s*(\d+)\s*([hdw])\s*$", re.IGNORECASE)

# Distinct namespaces by skipping through the index rather than reading every row.
_NAMESPACES = """
WITH RECURSIVE ns AS (
    (SELECT broker_namespace FROM trading_events ORDER BY broker_namespace LIMIT 1)
    UNION ALL
    SELECT (SELECT t.broker_namespace FROM trading_events t
            WHERE t.broker_namespace > ns.broker_namespace
            ORDER BY t.broker_namespace LIMIT 1)
    FROM ns WHERE ns.broker_namespace IS NOT NULL
)
SELECT broker_namespace FROM ns WHERE broker_namespace IS NOT NULL
"""
_DELETE_BATCH = """
DELETE FROM trading_events WHERE journal_id IN (
    SELECT journal_id FROM trading_events
    WHERE broker_namespace = %(namespace)s AND event_timestamp < %(cutoff)s
    LIMIT %(limit)s
)
"""
_COUNT = "SELECT count(*) FROM trading_events WHERE event_timestamp < %s"


def parse_age(text: str) -> timedelta:
    """An age like "90d", "12h" or "2w" (hours, days, weeks) as a timedelta."""
    match = _AGE.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not an age like 90d, 12h or 2w")
    count, unit = int(match.group(1)), match.group(2).lower()
    if count <= 0:
        raise ValueError(f"{text!r}: the age must be more than zero")
    return count * _UNITS[unit]


def prune_events(
    target: psycopg.Connection[Any] | str,
    older_than: timedelta,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    dry_run: bool = False,
    now: datetime | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> int:
    """Delete (or with `dry_run` only count) events whose event_timestamp is older than
    `older_than` before `now`; return how many.

    `target` is a conninfo string or an idle connection; with a connection each batch
    runs in a transaction of its own. `on_batch` is called with the running total
    after each batch commits.
    """
    if batch_size <= 0:
        raise ValueError("batch_size must be positive")
    cutoff = (now or datetime.now(UTC)) - older_than
    if isinstance(target, str):
        with psycopg.connect(target, autocommit=True) as conn:
            return _prune(conn, cutoff, batch_size, dry_run, on_batch)
    if target.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        raise ValueError("prune_events needs a connection outside any transaction")
    return _prune(target, cutoff, batch_size, dry_run, on_batch)


def _prune(
    conn: psycopg.Connection[Any],
    cutoff: datetime,
    batch_size: int,
    dry_run: bool,
    on_batch: Callable[[int], None] | None,
) -> int:
    if dry_run:
        with conn.transaction():
            row = conn.execute(_COUNT, [cutoff]).fetchone()
        return int(row[0]) if row else 0
    with conn.transaction():
        namespaces = [row[0] for row in conn.execute(_NAMESPACES)]
    total = 0
    for namespace in namespaces:
        while True:
            with conn.transaction():
                deleted = conn.execute(
                    _DELETE_BATCH, {"namespace": namespace, "cutoff": cutoff, "limit": batch_size}
                ).rowcount
            total += deleted
            if deleted:
                log.debug("events_pruned_batch", namespace=namespace, deleted=deleted)
                if on_batch is not None:
                    on_batch(total)
            if deleted < batch_size:
                break
    log.info("events_pruned", deleted=total, cutoff=cutoff.isoformat())
    return total

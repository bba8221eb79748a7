"""Portfolio snapshots: one row per (broker_namespace, portfolio_id), fenced by journal id.

An upsert only replaces a row whose `last_journal_id` is not newer than its
own, so a stale writer (a paused zombie, a slow duplicate) never overwrites
newer state; the caller learns which rows it actually wrote.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any, NamedTuple

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from persistence import jsonb

SnapshotKey = tuple[str, str]


class Position(BaseModel):
    """One instrument's position; decimals are stored as exact strings.

    `priced_by_tick` (beyond the contract's four keys) says `last_price` came from
    a market tick, so fills replayed after the snapshot must not replace it. It is
    stored only when true and left out of `model_dump`, so readers of the
    contract's shape see exactly the four keys.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    quantity: int
    average_price: Decimal
    realized_pnl: Decimal
    last_price: Decimal
    priced_by_tick: bool = Field(default=False, exclude=True)


class Snapshot(BaseModel):
    """A portfolio's state including every journaled fill up to `last_journal_id`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    broker_namespace: str = Field(min_length=1)
    portfolio_id: str = Field(min_length=1)
    strategy_id: str = ""
    positions: dict[str, Position] = Field(default_factory=dict)
    cash: Decimal
    total_realized_pnl: Decimal = Decimal(0)
    total_unrealized_pnl: Decimal = Decimal(0)
    total_pnl: Decimal = Decimal(0)
    last_journal_id: int = Field(default=0, ge=0)
    snapshot_time: AwareDatetime

    @field_validator("positions", mode="before")
    @classmethod
    def _token_keys_as_strings(cls, value: object) -> object:
        if isinstance(value, dict):
            return {str(token): position for token, position in value.items()}
        return value

    @property
    def key(self) -> SnapshotKey:
        return (self.broker_namespace, self.portfolio_id)


_COLUMNS = """broker_namespace, portfolio_id, strategy_id, positions, cash, total_realized_pnl,
              total_unrealized_pnl, total_pnl, last_journal_id, snapshot_time"""


def _newest_per_key(snapshots: Iterable[Snapshot]) -> list[Snapshot]:
    # One statement cannot update a row twice, so keep one snapshot per key:
    # the highest journal id, the later one on a tie.
    chosen: dict[SnapshotKey, Snapshot] = {}
    for snapshot in snapshots:
        current = chosen.get(snapshot.key)
        if current is None or snapshot.last_journal_id >= current.last_journal_id:
            chosen[snapshot.key] = snapshot
    return list(chosen.values())


def _position_json(position: Position) -> dict[str, Any]:
    stored = position.model_dump(mode="json")
    if position.priced_by_tick:
        stored["priced_by_tick"] = True
    return stored


def upsert_many(conn: psycopg.Connection[Any], snapshots: Iterable[Snapshot]) -> set[SnapshotKey]:
    """Write many snapshots in one statement; return the keys written (others were stale)."""
    batch = _newest_per_key(snapshots)
    if not batch:
        return set()
    rows = conn.execute(
        f"""
        INSERT INTO portfolio_snapshots AS p ({_COLUMNS})
        SELECT * FROM unnest(
            %s::text[], %s::text[], %s::text[], %s::jsonb[], %s::numeric[], %s::numeric[],
            %s::numeric[], %s::numeric[], %s::bigint[], %s::timestamptz[]
        )
        ON CONFLICT (broker_namespace, portfolio_id) DO UPDATE SET
            strategy_id = EXCLUDED.strategy_id,
            positions = EXCLUDED.positions,
            cash = EXCLUDED.cash,
            total_realized_pnl = EXCLUDED.total_realized_pnl,
            total_unrealized_pnl = EXCLUDED.total_unrealized_pnl,
            total_pnl = EXCLUDED.total_pnl,
            last_journal_id = EXCLUDED.last_journal_id,
            snapshot_time = EXCLUDED.snapshot_time
        WHERE p.last_journal_id <= EXCLUDED.last_journal_id
        RETURNING broker_namespace, portfolio_id
        """,  # noqa: S608 - the interpolated text is a constant column list
        (
            [s.broker_namespace for s in batch],
            [s.portfolio_id for s in batch],
            [s.strategy_id for s in batch],
            [
                Jsonb({t: _position_json(p) for t, p in s.positions.items()}, jsonb.dumps)
                for s in batch
            ],
            [s.cash for s in batch],
            [s.total_realized_pnl for s in batch],
            [s.total_unrealized_pnl for s in batch],
            [s.total_pnl for s in batch],
            [s.last_journal_id for s in batch],
            [s.snapshot_time for s in batch],
        ),
    ).fetchall()
    return {(ns, pid) for ns, pid in rows}


def _select(conn: psycopg.Connection[Any], where: str, params: dict[str, Any]) -> list[Snapshot]:
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            f"SELECT {_COLUMNS} FROM portfolio_snapshots {where} "  # noqa: S608 - constants only
            "ORDER BY broker_namespace, portfolio_id",
            params,
        ).fetchall()
    return [Snapshot.model_validate(row) for row in rows]


def get(conn: psycopg.Connection[Any], broker_namespace: str, portfolio_id: str) -> Snapshot | None:
    """The snapshot of one portfolio, or None."""
    found = _select(
        conn,
        "WHERE broker_namespace = %(ns)s AND portfolio_id = %(pid)s",
        {"ns": broker_namespace, "pid": portfolio_id},
    )
    return found[0] if found else None


def list_snapshots(
    conn: psycopg.Connection[Any], broker_namespace: str | None = None
) -> list[Snapshot]:
    """Every snapshot (of one namespace, if given), ordered by key."""
    return _select(
        conn,
        "WHERE %(ns)s::text IS NULL OR broker_namespace = %(ns)s::text",
        {"ns": broker_namespace},
    )


class StoredState(NamedTuple):
    """What recovery needs of a snapshot row, its positions as the JSON holds them.

    Not validated here: rebuilding the portfolio (`Portfolio.from_snapshot`)
    checks every field exactly, and a second pass through `Snapshot` doubled
    the cost of a warm start.
    """

    strategy_id: str
    cash: Decimal
    positions: dict[str, Any]
    last_journal_id: int


def load_all_states(conn: psycopg.Connection[Any]) -> dict[SnapshotKey, StoredState]:
    """Every snapshot row keyed by (broker_namespace, portfolio_id), for the warm start."""
    rows = conn.execute(
        "SELECT broker_namespace, portfolio_id, strategy_id, cash, positions, last_journal_id"
        " FROM portfolio_snapshots"
    ).fetchall()
    return {(ns, pid): StoredState(*rest) for ns, pid, *rest in rows}


def load_all(conn: psycopg.Connection[Any]) -> dict[SnapshotKey, Snapshot]:
    """Every snapshot keyed by (broker_namespace, portfolio_id), for recovery."""
    return {s.key: s for s in _select(conn, "", {})}

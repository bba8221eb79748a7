"""portfolio_snapshots: one row per portfolio, newer journal position wins, exact decimals."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from persistence.pool import Pool, PoolConfig, open_pool
from persistence.repositories import snapshots
from persistence.repositories.snapshots import Position, Snapshot
from persistence.uow import transaction, unit_of_work

T0 = datetime(2026, 11, 27, 9, 15, tzinfo=UTC)


@pytest.fixture
def pool(database_url: str) -> Iterator[Pool]:
    pool = open_pool(PoolConfig(conninfo=database_url, min_size=1, max_size=4))
    yield pool
    pool.close()


def _snapshot(pid: str = "p1", journal: int = 1, ns: str = "paper", **changes: Any) -> Snapshot:
    values: dict[str, Any] = {
        "broker_namespace": ns,
        "portfolio_id": pid,
        "strategy_id": "momentum",
        "positions": {
            256265: Position(
                quantity=-15,
                average_price=Decimal("24150.55"),
                realized_pnl=Decimal("-12.3456789"),
                last_price=Decimal("24100.05"),
            )
        },
        "cash": Decimal("1000000.00"),
        "total_realized_pnl": Decimal("-12.3456789"),
        "total_unrealized_pnl": Decimal("757.50"),
        "total_pnl": Decimal("745.1543211"),
        "last_journal_id": journal,
        "snapshot_time": T0 + timedelta(seconds=journal % 86_400),
    }
    values.update(changes)
    return Snapshot(**values)


def test_upsert_get_list_and_load_all(pool: Pool) -> None:
    batch = [_snapshot("p1"), _snapshot("p2", 5), _snapshot("z1", 3, ns="zerodha")]
    with unit_of_work(pool) as uow:
        written = snapshots.upsert_many(uow.conn, batch)
    assert written == {("paper", "p1"), ("paper", "p2"), ("zerodha", "z1")}
    with unit_of_work(pool) as uow:
        assert snapshots.get(uow.conn, "paper", "p2") == batch[1]
        assert snapshots.get(uow.conn, "paper", "nope") is None
        assert snapshots.list_snapshots(uow.conn, "paper") == batch[:2]
        assert snapshots.list_snapshots(uow.conn) == batch
        assert snapshots.load_all(uow.conn) == {s.key: s for s in batch}


def test_positions_are_stored_as_the_documented_json(pool: Pool) -> None:
    with unit_of_work(pool) as uow:
        snapshots.upsert_many(uow.conn, [_snapshot()])
    with pool.connection() as conn:
        row = conn.execute("SELECT positions::text FROM portfolio_snapshots").fetchone()
    assert row == (
        '{"256265": {"quantity": -15, "last_price": "24100.05", '
        '"realized_pnl": "-12.3456789", "average_price": "24150.55"}}',
    )


def test_a_newer_snapshot_replaces_and_a_stale_one_is_fenced_off(pool: Pool) -> None:
    with unit_of_work(pool) as uow:
        snapshots.upsert_many(uow.conn, [_snapshot(journal=10, cash=Decimal(10))])
    with unit_of_work(pool) as uow:
        stale = snapshots.upsert_many(uow.conn, [_snapshot(journal=9, cash=Decimal(9))])
        same = snapshots.upsert_many(uow.conn, [_snapshot(journal=10, cash=Decimal(11))])
        newer = snapshots.upsert_many(uow.conn, [_snapshot(journal=12, cash=Decimal(12))])
    assert (stale, same, newer) == (set(), {("paper", "p1")}, {("paper", "p1")})
    with unit_of_work(pool) as uow:
        stored = snapshots.get(uow.conn, "paper", "p1")
    assert stored is not None
    assert (stored.last_journal_id, stored.cash) == (12, Decimal(12))


def test_one_batch_with_the_same_portfolio_twice_keeps_the_newest(pool: Pool) -> None:
    batch = [_snapshot(journal=7, cash=Decimal(7)), _snapshot(journal=3, cash=Decimal(3))]
    with unit_of_work(pool) as uow:
        assert snapshots.upsert_many(uow.conn, batch) == {("paper", "p1")}
        stored = snapshots.get(uow.conn, "paper", "p1")
    assert stored is not None
    assert stored.cash == Decimal(7)


def test_concurrent_writers_leave_one_row_and_the_newest_journal_id_wins(
    database_url: str,
) -> None:
    writers, rounds = 4, 15

    def write(pid: str, journal: int, barrier: threading.Barrier) -> None:
        snapshot = _snapshot(pid, journal, cash=Decimal(journal))
        with psycopg.connect(database_url) as conn, transaction(conn) as uow:
            barrier.wait(timeout=30)
            snapshots.upsert_many(uow.conn, [snapshot])

    with ThreadPoolExecutor(writers) as executor:
        for n in range(rounds):
            barrier = threading.Barrier(writers)
            journals = [(n * 7 + w * 13) % 50 + 1 for w in range(writers)]
            futures = [executor.submit(write, f"p{n}", j, barrier) for j in journals]
            for future in futures:
                future.result(timeout=60)
            with psycopg.connect(database_url) as conn:
                rows = conn.execute(
                    "SELECT last_journal_id, cash FROM portfolio_snapshots WHERE portfolio_id = %s",
                    (f"p{n}",),
                ).fetchall()
            assert rows == [(max(journals), Decimal(max(journals)))]


money = st.decimals(allow_nan=False, allow_infinity=False, places=None).filter(
    lambda d: abs(d) < Decimal("1e30") and (d == 0 or abs(d) > Decimal("1e-30"))
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    amounts=st.tuples(money, money, money),
    quantity=st.integers(min_value=-(2**62), max_value=2**62),
    journal=st.integers(min_value=0, max_value=2**62),
)
def test_decimals_round_trip_exactly_through_numeric_and_jsonb(
    pool: Pool, amounts: tuple[Decimal, Decimal, Decimal], quantity: int, journal: int
) -> None:
    cash, realized, average = amounts
    snapshot = _snapshot(
        "prop",
        journal,
        cash=cash,
        total_realized_pnl=realized,
        total_unrealized_pnl=average,
        total_pnl=cash + realized,
        snapshot_time=T0,
        positions={
            "1": Position(
                quantity=quantity, average_price=average, realized_pnl=realized, last_price=cash
            )
        },
    )
    with unit_of_work(pool) as uow:
        uow.conn.execute("DELETE FROM portfolio_snapshots")
        snapshots.upsert_many(uow.conn, [snapshot])
        stored = snapshots.get(uow.conn, "paper", "prop")
    assert stored is not None
    assert stored == snapshot
    position = stored.positions["1"]
    # JSONB keeps the exact text, scale and exponent included
    assert str(position.average_price) == str(average)
    assert stored.cash == cash

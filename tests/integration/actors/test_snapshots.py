"""The snapshot writer against real PostgreSQL: timed and commanded flushes, fencing, chunks."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from structlog.testing import capture_logs

from actors.messages import FlushSnapshots, PortfolioKey
from actors.portfolio_state import PortfolioState
from actors.snapshots import DirtySnapshots, SnapshotWriter, SnapshotWriterConfig
from persistence.pool import Pool
from persistence.repositories import snapshots
from persistence.uow import unit_of_work
from supervision import ChildSpec, Supervisor
from tests.integration.actors.trading_support import (
    WAIT,
    Signals,
    fill,
    observed_writer,
    opened_pool,
)
from tests.unit.supervision.support import MemorySink, fast_config

NOW = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


@pytest.fixture
def pool(database_url: str) -> Iterator[Pool]:
    with opened_pool(database_url) as opened:
        yield opened


def state(number: int, journal_id: int = 1) -> PortfolioState:
    key = PortfolioKey("paper", f"P{number}")
    return PortfolioState.opened(key).applied(fill(5, "BUY", number + 1, "10", key=key), journal_id)


def writer_tree(
    pool: Pool, dirty: DirtySnapshots, signals: Signals, config: SnapshotWriterConfig
) -> Supervisor:
    holder: dict[str, Supervisor] = {}

    def build() -> SnapshotWriter:
        return observed_writer(
            lambda: SnapshotWriter(pool, dirty, config, lambda: holder["root"].ref("writer")),
            signals,
        )

    root = Supervisor("root", [ChildSpec("writer", build)], config=fast_config(MemorySink()))
    holder["root"] = root
    return root.start()


def stored(pool: Pool) -> dict[tuple[str, str], snapshots.Snapshot]:
    with unit_of_work(pool) as uow:
        return snapshots.load_all(uow.conn)


def test_the_timer_flushes_what_changed(pool: Pool) -> None:
    dirty, signals = DirtySnapshots(), Signals()
    root = writer_tree(pool, dirty, signals, SnapshotWriterConfig(interval=0.01))
    try:
        count = signals.counts.get("flush", 0)
        dirty.publish(state(1))
        signals.wait("flush", count + 2)
        assert dirty.dirty_count() == 0
        assert set(stored(pool)) == {("paper", "P1")}
        count = signals.counts["flush"]
        dirty.publish(state(2))
        signals.wait("flush", count + 2)
        assert set(stored(pool)) == {("paper", "P1"), ("paper", "P2")}
    finally:
        root.stop()


def test_flush_snapshots_writes_many_in_chunks_and_stop_writes_the_rest(pool: Pool) -> None:
    dirty, signals = DirtySnapshots(), Signals()
    config = SnapshotWriterConfig(interval=3600, chunk_rows=7)
    root = writer_tree(pool, dirty, signals, config)
    try:
        for number in range(50):
            dirty.publish(state(number))
        assert root.ref("writer").ask(FlushSnapshots(), WAIT) == 50
        assert len(stored(pool)) == 50
        dirty.publish(state(60))
    finally:
        root.stop()
    rows = stored(pool)
    assert len(rows) == 51
    assert rows["paper", "P60"].positions["5"].quantity == 61


def test_a_stale_state_is_fenced_and_logged(pool: Pool) -> None:
    dirty, signals = DirtySnapshots(), Signals()
    newer = state(1, journal_id=9)
    with unit_of_work(pool) as uow:
        snapshots.upsert_many(uow.conn, [newer.to_snapshot(NOW)])
    root = writer_tree(pool, dirty, signals, SnapshotWriterConfig(interval=3600))
    try:
        dirty.publish(state(1, journal_id=3))
        dirty.publish(state(2, journal_id=3))
        with capture_logs() as logs:
            assert root.ref("writer").ask(FlushSnapshots(), WAIT) == 1
    finally:
        root.stop()
    fenced = [entry for entry in logs if entry["event"] == "snapshots_fenced"]
    assert [entry["keys"] for entry in fenced] == [["paper/P1"]]
    assert stored(pool)["paper", "P1"].last_journal_id == 9


def test_the_buffer_keeps_newer_states_over_restored_ones() -> None:
    dirty = DirtySnapshots()
    old, new = state(1, journal_id=1), state(1, journal_id=2)
    dirty.publish(old)
    taken = dirty.take()
    dirty.publish(new)
    dirty.restore(taken)
    assert dirty.take() == [new]
    dirty.restore([old])
    dirty.written(old)
    assert dirty.take() == []
    assert dirty.latest(new.key) is new
    dirty.forget(new.key, old)
    assert dirty.latest(new.key) is new
    dirty.forget(new.key, new)
    assert dirty.latest(new.key) is None
